"""A turn of the agent run to its end: its events and its one final result."""

from __future__ import annotations

from agent.events import AgentEvent, FinalEvent, TurnResult
from agent.graph import Agent


def run(agent: Agent, question: str, **kwargs: object) -> tuple[list[AgentEvent], TurnResult]:
    events = list(agent.run(question, **kwargs))  # type: ignore[arg-type]
    assert isinstance(events[-1], FinalEvent)
    assert sum(isinstance(e, FinalEvent) for e in events) == 1
    return events, events[-1].result
