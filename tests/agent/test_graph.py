"""The agent graph (agent/graph.py) without the LLM: attachments, sessions that survive a
restart, and bad input as one sentence.

The engine-backed (generated) path is in test_agent_engine.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.graph import Agent
from agent.grounding import AnswerMode
from tests.agent.turns import run


def test_bad_attachment_is_one_flag_and_its_name_is_never_shown(
    agent_factory: Callable[..., Agent], tmp_path: Path
) -> None:
    bad = tmp_path / "ZEBRAFINCH_QUENTIN_MRN88231977.dcm"
    bad.write_bytes(b"\x00" * 64)
    agent = agent_factory()
    _, result = run(agent, "Which drugs reduce hot flashes?", attachments=[bad])
    assert result.mode is AnswerMode.EXTRACTIVE  # the question is still answered
    image_flags = [f for f in result.flags if f.kind.value == "image"]
    assert len(image_flags) == 1 and image_flags[0].message.startswith("Attachment 1 was not used")
    shown = json.dumps(result.as_json()) + json.dumps(agent.audit.rows())
    assert "ZEBRAFINCH" not in shown and "88231977" not in shown


def test_a_restarted_agent_continues_the_session(agent_factory: Callable[..., Agent]) -> None:
    first = agent_factory()
    run(first, "Which drugs reduce hot flashes?", session_id="ward-7-bed-3")
    first.close()
    second = agent_factory()
    assert [m["role"] for m in second.history("ward-7-bed-3")] == ["user", "assistant"]
    run(second, "And what about night sweats?", session_id="ward-7-bed-3")
    history = second.history("ward-7-bed-3")
    assert [m["content"] for m in history[::2]] == [
        "Which drugs reduce hot flashes?",
        "And what about night sweats?",
    ]
    assert second.history("another-session") == []


@pytest.mark.parametrize(
    "question, session, message",
    [
        ("   ", None, "Type a question"),
        ("x" * 5000, None, "too long"),
        ("hot flashes", "../../etc", "session id"),
    ],
)
def test_bad_questions_are_one_sentence(
    agent_factory: Callable[..., Agent], question: str, session: str | None, message: str
) -> None:
    from agent.errors import AgentError

    with pytest.raises(AgentError, match=message):
        list(agent_factory().run(question, session_id=session))
