"""The vocabulary of what an answer can be and what is flagged beside it, and the results
of checking an answer's sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from agent.grounding.sentences import is_claim
from knowledge.types import Passage


class AnswerMode(Enum):
    GENERATED = "generated"  # the model's words, verified sentence by sentence
    EXTRACTIVE = "extractive"  # sentences quoted from the passages
    ABSTAINED = "abstained"  # the knowledge base had no adequate evidence


class FlagKind(Enum):
    UNSUPPORTED = "unsupported_sentence"
    UNCITED = "uncited_sentence"
    INVALID_CITATION = "invalid_citation"
    NUMBER_NOT_FOUND = "number_not_in_source"
    ABSTAINED = "abstained"
    NOT_COVERED = "not_covered"  # a question (or one of its parts) the guidelines do not address
    FALLBACK = "extractive_fallback"
    INTERACTION = "interaction"
    ALLERGY = "allergy"
    IMAGE = "image"
    STEP_BUDGET = "step_budget"
    ENGINE = "engine"


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    message: str
    sentence: str | None = None


@dataclass(frozen=True)
class Citation:
    """A marker in the answer and the passage it names."""

    marker: int
    passage: Passage


@dataclass(frozen=True)
class SentenceCheck:
    text: str
    markers: tuple[int, ...]
    support: float  # share of the sentence's content terms found in its cited passages
    missing_numbers: tuple[str, ...]
    ok: bool


@dataclass
class Verification:
    sentences: list[SentenceCheck] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)

    @property
    def supported_share(self) -> float:
        claims = [s for s in self.sentences if s.markers or is_claim(s.text)]
        return sum(s.ok for s in claims) / len(claims) if claims else 0.0

    @property
    def valid_marker_share(self) -> float:
        markers = [m for s in self.sentences for m in s.markers]
        valid = {c.marker for c in self.citations}
        return sum(m in valid for m in markers) / len(markers) if markers else 0.0
