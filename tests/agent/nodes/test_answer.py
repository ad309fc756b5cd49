"""answer (agent/nodes/answer.py): the extractive answer quotes and cites only retrieved
passages."""

from __future__ import annotations

from collections.abc import Callable

from agent.events import CitationEvent, TokenEvent
from agent.graph import Agent
from agent.grounding import AnswerMode, markers_in, split_sentences
from tests.agent.turns import run


def test_in_scope_answer_cites_only_retrieved_passages(agent_factory: Callable[..., Agent]) -> None:
    agent = agent_factory()
    events, result = run(agent, "Which drugs reduce hot flashes after breast cancer?")
    assert result.mode is AnswerMode.EXTRACTIVE and not result.abstained
    assert result.citations and result.notice.startswith("clinassist supports")
    by_marker = {c.marker: c.passage for c in result.citations}
    sentences = split_sentences(result.answer)
    assert sentences[0].startswith("From *") and sentences[0].endswith("*:")  # its source first
    for sentence in sentences:
        if sentence.startswith("From *"):
            continue
        markers = markers_in(sentence)
        assert markers and all(m in by_marker for m in markers)
        assert sentence.rsplit(" [", 1)[0] in by_marker[markers[0]].body
    cited = [e.citation.marker for e in events if isinstance(e, CitationEvent)]
    assert cited == sorted(by_marker)
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == result.answer
    payload = result.as_json()
    assert set(payload) >= {"answer", "citations", "flags", "tool_calls", "abstained"}
    assert payload["citations"][0]["url"].startswith("https://guidelines.example.org/")
