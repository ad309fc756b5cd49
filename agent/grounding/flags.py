"""What an answer can be, and the results of checking its sentences (the flags raised are
`agent.flags`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from agent.flags import Flag
from agent.grounding.sentences import is_claim
from knowledge.types import Passage


class AnswerMode(StrEnum):
    GENERATED = "generated"  # the model's words, verified sentence by sentence
    EXTRACTIVE = "extractive"  # sentences quoted from the passages
    ABSTAINED = "abstained"  # the knowledge base had no adequate evidence


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
