"""The graph's state, typed: what a turn carries from node to node, checkpointed per session.

A turn's parts, passages, flags, tool calls and trace are frozen dataclasses; the checkpointer
stores them with LangGraph's msgpack serializer and, on reading them back, builds only the
types in `CHECKPOINT_TYPES` (any other type named in a checkpoint is refused, not imported).
What outlives a turn is the history, the case (as its de-identified JSON, so a checkpoint of
any version reads back) and the session's image ids; `intake` resets everything else.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from agent.case import Case
from agent.coverage import Judgement
from agent.events import AgentEvent, FlagEvent, ToolTrace
from agent.flags import Flag, FlagKind
from agent.grounding import AnswerMode, Quote
from agent.questions import QuestionPart
from knowledge.types import Passage


@dataclass(frozen=True)
class PendingCall:
    """A tool call to run next."""

    name: str
    args: dict[str, Any]
    by: Literal["policy", "model"]  # the rules that always run, or the model's own choice


@dataclass(frozen=True)
class QuoteRef:
    """A quotable sentence naming its passage by id: the passages are kept once, in
    `passages`."""

    passage_id: str
    position: int
    text: str
    relevance: float
    overlap: float = 0.0
    fit: float = 0.0

    @classmethod
    def of(cls, quote: Quote) -> QuoteRef:
        return cls(passage_id=quote.passage.id, **{n: getattr(quote, n) for n in _QUOTE_FIELDS})

    def quote(self, passage: Passage) -> Quote:
        return Quote(passage=passage, **{n: getattr(self, n) for n in _QUOTE_FIELDS})


# Quote's fields besides its passage: what a QuoteRef keeps of it
_QUOTE_FIELDS = tuple(f.name for f in dataclasses.fields(Quote) if f.name != "passage")


@dataclass(frozen=True)
class PartState:
    """One part of the question: what its search found, then whether the knowledge base
    addresses it (None for a part about an image, which the imaging tools answer)."""

    text: str  # as the clinician wrote it
    about_image: bool
    query: str  # what was searched and judged
    found: list[Passage] = field(default_factory=list)  # until coverage has judged it
    covered: bool | None = None
    probability: float | None = None
    nearest: list[Passage] = field(default_factory=list)
    quotes: list[QuoteRef] = field(default_factory=list)

    @classmethod
    def searched(cls, part: QuestionPart, found: list[Passage]) -> PartState:
        return cls(part.text, part.about_image, part.query, found=found)

    def judged(self, judgement: Judgement) -> PartState:
        return dataclasses.replace(
            self,
            found=[],
            covered=judgement.covered,
            probability=round(judgement.probability, 4),
            nearest=judgement.nearest(),
            quotes=[QuoteRef.of(q) for q in judgement.quotes()],
        )

    @property
    def question_part(self) -> QuestionPart:
        return QuestionPart(self.text, self.about_image, self.query)

    @property
    def answerable(self) -> bool:
        """A guideline part the knowledge base addresses."""
        return not self.about_image and bool(self.covered)


# What a checkpoint may hold besides plain data; nothing else is built when it is read.
CHECKPOINT_TYPES: tuple[type, ...] = (
    PendingCall,
    QuoteRef,
    PartState,
    Passage,
    Flag,
    FlagKind,
    ToolTrace,
    AnswerMode,
)


class InputState(TypedDict):
    question: str
    session_id: str
    new_images: list[str]  # ids of the images admitted this turn (decoded before the graph)
    new_case: dict[str, Any] | None  # the de-identified case given this turn, if any
    intake_flags: list[Flag]


class State(InputState, total=False):
    history: Annotated[list[dict[str, str]], operator.add]  # kept across turns
    case_json: dict[str, Any] | None  # kept across turns: later questions use the same case
    image_ids: list[str]
    parts: list[PartState]  # the question's parts, what each searched and found, coverage
    passages: list[Passage]  # those of documents that address a covered part
    retrieval_error: str | None  # the store could not be searched this turn (one sentence)
    pending: list[PendingCall]
    trace: list[ToolTrace]
    steps: int
    policy_done: bool
    answer: str  # the guideline answer (what verify checks)
    preface: str  # shown before it: what the imaging tools found
    notes: str  # shown after it: what the guidelines do not cover
    model_answer: str  # the model's own words, kept when verification replaced them
    mode: AnswerMode
    cited: list[int]  # the answer's valid markers, as verify found them (into `passages`)
    given: int  # how many of `passages` (best first) the model's answer prompt held; 0: all
    flags: list[Flag]
    llm_s: float
    started: float


def joined(*texts: str | None) -> str:
    return "\n\n".join(text for text in texts if text)


def case_of(state: State) -> Case | None:
    data = state.get("case_json")
    return Case.model_validate(data) if data else None


def emit(event: AgentEvent) -> None:
    """Hand an event to the run's stream (LangGraph's custom stream mode)."""
    from langgraph.config import get_stream_writer

    get_stream_writer()(event)


def raise_flag(flags: list[Flag], flag: Flag) -> None:
    flags.append(flag)
    emit(FlagEvent(flag))
