"""A patient case as the planner, the calculators and the interaction check use it: clinical
facts only (age, never the birth date; no names, identifiers or dates), and the one-sentence
error for a case that does not validate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import AgentError
from tools.sex import Sex

MAX_CASE_CHARS = 32 * 1024 * 1024  # a whole-life EHR export; Synthea's run to a few MB
MAX_ITEMS = 200
MAX_LABS = 500
SUMMARY_CHARS = 3000  # what of a case reaches a prompt
SUMMARY_ITEMS = {"diagnoses": 25, "past_problems": 15, "medications": 30, "allergies": 20}
SUMMARY_OTHER_LABS = 10  # beside the labs the tools read


class CaseError(AgentError):
    """A case that cannot be read; `str` is the sentence to show."""


class Lab(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(max_length=120)
    value: float
    unit: str = Field(default="", max_length=40)
    loinc: str | None = Field(default=None, max_length=16)


class Case(BaseModel):
    """What the planner, the calculators and the interaction check need to know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    age_years: int | None = Field(default=None, ge=0, le=120)
    sex: Sex = Sex.UNKNOWN
    weight_kg: float | None = Field(default=None, gt=0, le=500)
    height_cm: float | None = Field(default=None, ge=30, le=272)
    pregnant: bool | None = None
    diagnoses: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    comorbidities: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    past_problems: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    medications: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    allergies: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    labs: list[Lab] = Field(default_factory=list, max_length=MAX_LABS)
    imaging_findings: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)

    def lab(self, *names: str) -> Lab | None:
        wanted = {n.lower() for n in names}
        return next((lab for lab in self.labs if lab.name.lower() in wanted), None)

    @property
    def problems(self) -> list[str]:
        return list(dict.fromkeys(self.diagnoses + self.comorbidities))

    def summary(self) -> str:
        """A compact, identifier-free description for prompts and retrieval queries, at most
        SUMMARY_CHARS long however large the record: long lists end with "and N more"."""
        parts = []
        who = " ".join(
            x
            for x in (
                f"{self.age_years}-year-old" if self.age_years is not None else "",
                self.sex.value if self.sex is not Sex.UNKNOWN else "patient",
            )
            if x
        )
        parts.append(who)
        if self.pregnant:
            parts.append("pregnant")
        if self.weight_kg:
            parts.append(f"weight {self.weight_kg:g} kg")
        if self.height_cm:
            parts.append(f"height {self.height_cm:g} cm")
        for label, name in (
            ("diagnoses", "diagnoses"),
            ("comorbidities", "comorbidities"),
            ("history", "past_problems"),
            ("medications", "medications"),
            ("allergies", "allergies"),
        ):
            items: list[str] = getattr(self, name)
            if items:
                parts.append(f"{label}: " + _listed(items, SUMMARY_ITEMS.get(name, 25)))
        if self.labs:
            from agent.case.fhir_codes import LAB_KINDS

            used = {kind.name for kind in LAB_KINDS.values()}
            shown = [lab for lab in self.labs if lab.name in used]
            shown += [lab for lab in self.labs if lab.name not in used][:SUMMARY_OTHER_LABS]
            labs = [f"{lab.name} {shown_number(lab.value)} {lab.unit}".strip() for lab in shown]
            parts.append("labs: " + _listed(labs, len(labs), len(self.labs)))
        if self.imaging_findings:
            parts.append("imaging: " + "; ".join(self.imaging_findings[:5]))
        text = "; ".join(parts)
        return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def shown_number(value: float) -> str:
    """A measured value as a person reads it: three significant digits, no exponent."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _listed(items: list[str], most: int, total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(items[:most])
    return shown if total <= most else f"{shown} and {total - most} more"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def one_sentence(exc: ValidationError, what: str, data: dict[str, Any] | None = None) -> CaseError:
    first = exc.errors()[0]
    loc = first["loc"]
    if first["type"] == "extra_forbidden" or (loc and loc[0] not in Case.model_fields):
        # A name the user made up (it may be a patient's, typed into the wrong field) is never
        # echoed: the sentence gives its position and the names a case has instead.
        keys = list(data or {})
        where = f" (the {_ordinal(keys.index(loc[0]) + 1)})" if loc and loc[0] in keys else ""
        return CaseError(
            f"The {what} has an unknown field{where}; its fields are "
            f"{', '.join(Case.model_fields)}."
        )
    where = ".".join(str(p) for p in loc) or "the case"
    return CaseError(f"The {what} has an invalid {where}: {first['msg']}.")
