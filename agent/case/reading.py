"""What was read from a case ("What was read from this record"): every fact with its source, a
warning line for everything left out, and the `Case` the tools use."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.case.model import Case, shown_number
from tools.sex import Sex


class ProblemRead(BaseModel):
    """A problem as read, with its provenance (the FHIR resource, or "form"/"text")."""

    model_config = ConfigDict(frozen=True)

    name: str
    code: str | None = None
    system: str | None = None
    onset: str | None = None
    status: str | None = None
    source: str


class MedicationRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    code: str | None = None
    system: str | None = None
    status: str | None = None
    date: str | None = None
    source: str


class AllergyRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    code: str | None = None
    system: str | None = None
    source: str


class LabRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    loinc: str | None = None
    value: float
    unit: str = ""
    date: str | None = None
    source: str


class CaseReading(BaseModel):
    """What was read from a case file ("What was read from this record"): each fact with its
    source, and a warning line for everything left out. `case` is what the tools use."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["fhir", "form", "text"]
    age_years: int | None = None
    sex: Sex = Sex.UNKNOWN
    deceased: bool = False
    weight_kg: float | None = None
    height_cm: float | None = None
    pregnant: bool | None = None
    problems: list[ProblemRead] = Field(default_factory=list)
    past_problems: list[ProblemRead] = Field(default_factory=list)
    medications: list[MedicationRead] = Field(default_factory=list)
    past_medications: list[MedicationRead] = Field(default_factory=list)
    allergies: list[AllergyRead] = Field(default_factory=list)
    labs: list[LabRead] = Field(default_factory=list)
    imaging_findings: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    case: Case

    def as_json(self) -> dict[str, Any]:
        """The `clinassist case --json` object: the reading without the derived case."""
        return self.model_dump(mode="json", exclude={"case"})

    def to_markdown(self) -> str:
        """ "What was read from this record", for the Case tab and `clinassist case`."""
        who = ", ".join(
            x
            for x in (
                f"{self.age_years} years" if self.age_years is not None else "age unknown",
                self.sex.value,
                "deceased" if self.deceased else "",
                "pregnant" if self.pregnant else "",
                f"{self.weight_kg:g} kg" if self.weight_kg else "",
                f"{self.height_cm:g} cm" if self.height_cm else "",
            )
            if x
        )
        lines = [f"**What was read from this {_KIND_NAMES[self.kind]}:** {who}"]
        sections: list[tuple[str, list[str]]] = [
            ("Problems", [_dated(p.name, p.onset, p.code, p.system) for p in self.problems]),
            ("Past problems", [_dated(p.name, p.onset) for p in self.past_problems]),
            (
                "Current medications",
                [_dated(m.name, m.date, m.code, m.system) for m in self.medications],
            ),
            ("Past medications", [_dated(m.name, m.date) for m in self.past_medications]),
            ("Allergies", [a.name for a in self.allergies]),
            (
                "Labs (latest of each)",
                [
                    _dated(f"{lab.name} {shown_number(lab.value)} {lab.unit}".strip(), lab.date)
                    for lab in self.labs
                ],
            ),
            ("Imaging findings", self.imaging_findings),
        ]
        for title, items in sections:
            if items:
                lines.append(f"- **{title}** ({len(items)}): " + "; ".join(items))
            elif title in ("Problems", "Current medications", "Allergies"):
                lines.append(f"- **{title}**: none recorded")
        lines += [f"- ⚠️ {warning}" for warning in self.warnings]
        # a record's names are data: no markup of theirs reaches the page
        return "\n".join(lines).replace("<", "&lt;").replace(">", "&gt;")


_KIND_NAMES = {"fhir": "record", "form": "form", "text": "text"}


def _dated(name: str, date: str | None, code: str | None = None, system: str | None = None) -> str:
    details = ", ".join(x for x in (f"{system} {code}" if code and system else code, date) if x)
    return f"{name} ({details})" if details else name


def reading_of(case: Case, kind: Literal["form", "text"], warnings: list[str]) -> CaseReading:
    """The reading of a case typed by a person: every fact's source is the form or the text."""
    return CaseReading(
        kind=kind,
        age_years=case.age_years,
        sex=case.sex,
        weight_kg=case.weight_kg,
        height_cm=case.height_cm,
        pregnant=case.pregnant,
        problems=[ProblemRead(name=p, source=kind) for p in case.problems],
        past_problems=[ProblemRead(name=p, source=kind) for p in case.past_problems],
        medications=[MedicationRead(name=m, source=kind) for m in case.medications],
        allergies=[AllergyRead(name=a, source=kind) for a in case.allergies],
        labs=[
            LabRead(name=lab.name, loinc=lab.loinc, value=lab.value, unit=lab.unit, source=kind)
            for lab in case.labs
        ],
        imaging_findings=case.imaging_findings,
        warnings=warnings,
        case=case,
    )
