"""The graph's state is typed end to end: what a turn leaves in its session's checkpoint reads
back as the same types (parts, passages, flags, tool trace, answer mode), a later turn starts
clean, and a checkpoint that names any other type does not get it built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.events import ToolTrace
from agent.flags import Flag
from agent.graph import Agent
from agent.grounding import AnswerMode
from agent.settings import Settings
from agent.state import PartState, QuoteRef
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import Passage
from tests.corpus import always_covered_model, write_corpus

CASE = "61-year-old man. Meds: simvastatin 40 mg, clarithromycin 500 mg. Creatinine 1.1 mg/dL."


@pytest.fixture
def agent(make_kb: Callable[..., KnowledgeBase], tmp_path: Path) -> Iterator[Agent]:
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [corpus])
    settings = Settings(
        data_dir=data_dir,
        corpus_dirs=[corpus],
        coverage_model=always_covered_model(tmp_path),
    )
    agent = Agent(settings, make_kb(data_dir), None)
    yield agent
    agent.close()


def checkpoint(agent: Agent, session: str) -> dict[str, object]:
    return dict(agent.state(session))


def test_a_turn_reads_back_from_its_checkpoint_typed(agent: Agent) -> None:
    result = agent.ask("Which drugs reduce hot flashes?", session_id="typed-1", case=CASE)
    state = checkpoint(agent, "typed-1")
    parts, passages = state["parts"], state["passages"]
    assert isinstance(parts, list) and all(isinstance(p, PartState) for p in parts)
    assert isinstance(passages, list) and passages
    assert all(isinstance(p, Passage) for p in passages)
    covered = [p for p in parts if p.answerable]
    assert covered and all(isinstance(q, QuoteRef) for p in covered for q in p.quotes)
    # every quote names a passage the state keeps, so the answer can be rebuilt from it
    kept = {p.id for p in passages}
    quoted = {q.passage_id for p in covered for q in p.quotes}
    assert quoted and quoted <= kept
    assert state["mode"] is AnswerMode(result.mode)
    trace = state["trace"]
    assert isinstance(trace, list) and trace and all(isinstance(t, ToolTrace) for t in trace)
    assert [t.name for t in trace] == [t.name for t in result.tool_calls]
    flags = state["flags"]
    assert isinstance(flags, list) and all(isinstance(f, Flag) for f in flags)
    assert [f.kind for f in flags] == [f.kind for f in result.flags]


def test_the_next_turn_starts_clean_but_keeps_the_case(agent: Agent) -> None:
    agent.ask("Is simvastatin with clarithromycin a problem?", session_id="typed-2", case=CASE)
    agent.ask("Which drugs reduce hot flashes?", session_id="typed-2")
    state = checkpoint(agent, "typed-2")
    assert state["case_json"]  # the case given on the first turn is still the session's
    assert [p.text for p in state["parts"]] == ["Which drugs reduce hot flashes?"]  # type: ignore[attr-defined]
    assert len(state["history"]) == 4  # type: ignore[arg-type]


BUILT: list[str] = []


@dataclass
class Planted:
    """A type a tampered checkpoint might name; building it would run its code."""

    name: str

    def __post_init__(self) -> None:
        BUILT.append(self.name)


def test_a_checkpoint_builds_only_the_states_own_types(agent: Agent) -> None:
    serde = agent.checkpointer.serde
    stored = serde.dumps_typed({"parts": [PartState("q", False, "q")], "x": Planted("planted")})
    BUILT.clear()
    read = serde.loads_typed(stored)
    assert isinstance(read["parts"][0], PartState)
    assert not isinstance(read["x"], Planted) and BUILT == []
