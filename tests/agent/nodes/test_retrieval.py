"""retrieve and coverage (agent/nodes/retrieval.py): a question the guidelines do not
address abstains and shows the nearest."""

from __future__ import annotations

from collections.abc import Callable

from agent.events import FlagEvent
from agent.graph import Agent
from tests.agent.turns import run


def test_out_of_scope_question_abstains_and_shows_nearest(
    agent_factory: Callable[..., Agent],
) -> None:
    events, result = run(agent_factory(), "How do I rebuild the carburettor of a 1968 motorcycle?")
    assert result.abstained and result.citations == []
    assert result.answer.startswith(
        "The guidelines in this knowledge base do not address this question. Nearest: *"
    )
    assert [f.kind.value for f in result.flags] == ["not_covered"]
    assert any(isinstance(e, FlagEvent) and e.flag.kind.value == "not_covered" for e in events)
    assert [(c.covered, c.searched) for c in result.coverage] == [
        (False, "How do I rebuild the carburettor of a 1968 motorcycle?")
    ]
