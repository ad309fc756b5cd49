"""One vocabulary for what is flagged beside an answer or a plan, and how much each matters.

Answers (`Flag`) and plans (`agent.planning.PlanFlag`) name the same event with the same
`FlagKind`; the JSON, the audit trail and the UI carry its value, and the UI orders flags by
`severity` and picks each one's icon by its kind. The values are kept as the API has always
sent them, except that a plan's "fallback" is now the answers' "extractive_fallback".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Severity(IntEnum):
    """How soon a clinician must look at a flag; lower comes first."""

    STOP = 0  # a safety conflict to resolve before acting: an interaction, an allergy
    CAUTION = 1  # act with care: duplicate therapy, renal dosing, a sentence its source lacks
    LIMIT = 2  # what the answer cannot vouch for: not covered, not checked, removed
    NOTE = 3  # how the answer was made: the model failed, the step budget ran out

    @property
    def label(self) -> str:
        return self.name.lower()


class FlagKind(StrEnum):
    """Every kind of flag; within a severity, a plan's flags are sorted in this order (`rank`),
    while an answer's keep the order they were raised (the sentence order)."""

    # medication safety
    ALLERGY = "allergy"
    INTERACTION = "interaction"
    DUPLICATE = "duplicate"
    RENAL_DOSE = "renal_dose"
    # the answer's own sentences
    UNSUPPORTED = "unsupported_sentence"
    NUMBER_NOT_FOUND = "number_not_in_source"
    INVALID_CITATION = "invalid_citation"
    UNCITED = "uncited_sentence"
    IMAGE = "image"  # an image not used, or its quality doubtful
    # what the guidelines and tables do not cover
    NOT_CHECKED = "not_checked"  # medications no interaction table knows
    NOT_COVERED = "not_covered"  # a question (or one of its parts, or a problem) not addressed
    ABSTAINED = "abstained"  # no passage answers the question
    REMOVED_OPTION = "removed_option"  # a plan option its citations did not support
    REMOVED_TEXT = "removed_text"  # a plan item its passages did not support
    # how the answer was made
    FALLBACK = "extractive_fallback"  # the model's words were replaced by quotes
    ENGINE = "engine"  # the model could not be reached or failed
    STEP_BUDGET = "step_budget"  # the tool loop stopped at its step limit

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key: severity, then the order above."""
        return self.severity, _ORDER[self]


_SEVERITY: dict[FlagKind, Severity] = {
    FlagKind.ALLERGY: Severity.STOP,
    FlagKind.INTERACTION: Severity.STOP,
    FlagKind.DUPLICATE: Severity.CAUTION,
    FlagKind.RENAL_DOSE: Severity.CAUTION,
    FlagKind.UNSUPPORTED: Severity.CAUTION,
    FlagKind.NUMBER_NOT_FOUND: Severity.CAUTION,
    FlagKind.INVALID_CITATION: Severity.CAUTION,
    FlagKind.UNCITED: Severity.CAUTION,
    FlagKind.IMAGE: Severity.CAUTION,
    FlagKind.NOT_CHECKED: Severity.LIMIT,
    FlagKind.NOT_COVERED: Severity.LIMIT,
    FlagKind.ABSTAINED: Severity.LIMIT,
    FlagKind.REMOVED_OPTION: Severity.LIMIT,
    FlagKind.REMOVED_TEXT: Severity.LIMIT,
    FlagKind.FALLBACK: Severity.NOTE,
    FlagKind.ENGINE: Severity.NOTE,
    FlagKind.STEP_BUDGET: Severity.NOTE,
}
_ORDER = {kind: position for position, kind in enumerate(FlagKind)}


@dataclass(frozen=True)
class Flag:
    """A flag beside an answer; `sentence` is the answer's sentence it concerns, if any."""

    kind: FlagKind
    message: str
    sentence: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "severity": self.kind.severity.label,
            "message": self.message,
            "sentence": self.sentence,
        }
