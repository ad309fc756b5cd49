"""The graph's state (checkpointed per session as JSON) and how its parts are read and
written: flags, passages, quotes and coverage decisions as dicts; the events a node emits."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any, TypedDict

from agent.case import Case
from agent.coverage import Judgement
from agent.events import (
    AgentEvent,
    FlagEvent,
)
from agent.flags import Flag, FlagKind
from agent.grounding import Quote
from knowledge.types import Passage


class InputState(TypedDict):
    question: str
    session_id: str
    new_images: list[str]  # ids of the images admitted this turn (decoded before the graph)
    new_case: dict[str, Any] | None  # the de-identified case given this turn, if any
    intake_flags: list[dict[str, Any]]


class State(InputState, total=False):
    history: Annotated[list[dict[str, str]], operator.add]  # kept across turns
    case_json: dict[str, Any] | None  # kept across turns: later questions use the same case
    image_ids: list[str]
    parts: list[dict[str, Any]]  # the question's parts, what each searched and found, coverage
    passages: list[dict[str, Any]]  # those of documents that address a covered part
    retrieval_error: str | None  # the store could not be searched this turn (one sentence)
    pending: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    steps: int
    policy_done: bool
    answer: str  # the guideline answer (what verify checks)
    preface: str  # shown before it: what the imaging tools found
    notes: str  # shown after it: what the guidelines do not cover
    model_answer: str  # the model's own words, kept when verification replaced them
    mode: str
    cited: list[int]  # the answer's valid markers, as verify found them (into `passages`)
    given: int  # how many of `passages` (best first) the model's answer prompt held; 0: all
    flags: list[dict[str, Any]]
    llm_s: float
    started: float


def flag_dict(flag: Flag) -> dict[str, Any]:
    return {"kind": flag.kind.value, "message": flag.message, "sentence": flag.sentence}


def flag_of(data: dict[str, Any]) -> Flag:
    return Flag(FlagKind(data["kind"]), data["message"], data.get("sentence"))


def passage_of(data: dict[str, Any]) -> Passage:
    return Passage(**data)


QUOTE_FIELDS = dataclasses.fields(Quote)


def quote_parts(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A checkpointed quote as its passage id and the rest of its fields."""
    rest = dict(data)
    return str(rest.pop("passage_id")), rest


def joined(*texts: str | None) -> str:
    return "\n\n".join(text for text in texts if text)


def judgement_dict(judgement: Judgement) -> dict[str, Any]:
    """What the state keeps of a coverage decision (checkpointed as JSON)."""
    return {
        "covered": judgement.covered,
        "probability": round(judgement.probability, 4),
        "nearest": [dataclasses.asdict(p) for p in judgement.nearest()],
        # a quote names its passage by id: the passages themselves are kept once, in `passages`
        "quotes": [
            {
                "passage_id": q.passage.id,
                **{f.name: getattr(q, f.name) for f in QUOTE_FIELDS if f.name != "passage"},
            }
            for q in judgement.quotes()
        ],
    }


def case_of(state: State) -> Case | None:
    data = state.get("case_json")
    return Case.model_validate(data) if data else None


def emit(event: AgentEvent) -> None:
    """Hand an event to the run's stream (LangGraph's custom stream mode)."""
    from langgraph.config import get_stream_writer

    get_stream_writer()(event)


def raise_flag(flags: list[dict[str, Any]], flag: Flag) -> None:
    flags.append(flag_dict(flag))
    emit(FlagEvent(flag))
