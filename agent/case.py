"""A patient case: from a form (JSON), a FHIR R4 record (`agent.fhir`), or pasted free text.

`read_case` gives a `CaseReading`: what was read, each fact with its source (the FHIR resource,
the form or the text), codes and dates, and a warning line for everything left out. Its `case`
is what the planner, the calculators and the interaction check use: clinical facts only, age
(never the birth date), sex, weight, height, pregnancy, problems, medications, allergies, labs
and imaging findings, no names, identifiers or dates. Free text is parsed deterministically (no
LLM); the text itself stays in the session only, never in logs or the audit trail.

Size: a case may be as large as an EHR export (`MAX_CASE_CHARS`); what reaches a model is the
case's bounded `summary`, not the text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import AgentError

MAX_CASE_CHARS = 32 * 1024 * 1024  # a whole-life EHR export; Synthea's run to a few MB
MAX_ITEMS = 200
MAX_LABS = 500
SUMMARY_CHARS = 3000  # what of a case reaches a prompt
SUMMARY_ITEMS = {"diagnoses": 25, "past_problems": 15, "medications": 30, "allergies": 20}
SUMMARY_OTHER_LABS = 10  # beside the labs the tools read


class CaseError(AgentError):
    """A case that cannot be read; `str` is the sentence to show."""


class Sex(Enum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


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
            from agent.fhir import LAB_KINDS

            used = {kind.name for kind in LAB_KINDS.values()}
            shown = [lab for lab in self.labs if lab.name in used]
            shown += [lab for lab in self.labs if lab.name not in used][:SUMMARY_OTHER_LABS]
            labs = [f"{lab.name} {_number(lab.value)} {lab.unit}".strip() for lab in shown]
            parts.append("labs: " + _listed(labs, len(labs), len(self.labs)))
        if self.imaging_findings:
            parts.append("imaging: " + "; ".join(self.imaging_findings[:5]))
        text = "; ".join(parts)
        return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _number(value: float) -> str:
    """A measured value as a person reads it: three significant digits, no exponent."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _listed(items: list[str], most: int, total: int | None = None) -> str:
    total = len(items) if total is None else total
    shown = ", ".join(items[:most])
    return shown if total <= most else f"{shown} and {total - most} more"


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
                    _dated(f"{lab.name} {_number(lab.value)} {lab.unit}".strip(), lab.date)
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


def parse_case(text: str) -> Case:
    """A case from JSON (a form or a FHIR record) or from free text."""
    return read_case(text).case


def read_case(text: str, today: dt.date | None = None) -> CaseReading:
    """What a case file says: a FHIR R4 record (Bundle of any type, or NDJSON), a JSON form, or
    free text; raises CaseError with one sentence for what cannot be read."""
    if len(text) > MAX_CASE_CHARS:
        raise CaseError(
            f"The case is too long ({len(text):,} characters; the limit is {MAX_CASE_CHARS:,})."
        )
    stripped = text.strip()
    if not stripped:
        raise CaseError("The case is empty.")
    if stripped.startswith("{"):
        data = _json(stripped)
        if isinstance(data, list):  # NDJSON: one resource per line
            return reading_from_fhir(data, today)
        if not isinstance(data, dict):
            raise CaseError("A JSON case must be an object.")
        if data.get("resourceType") == "Bundle":
            return reading_from_fhir(data, today)
        if "resourceType" in data:
            kind = data["resourceType"]
            # Only a resource type's name is echoed: the value is the user's and may hold anything.
            if isinstance(kind, str) and re.fullmatch(r"[A-Z][A-Za-z]{0,63}", kind):
                raise CaseError(
                    f"A FHIR case must be a Bundle or NDJSON of one patient's resources, not a "
                    f"single {kind}."
                )
            raise CaseError('A FHIR case must be a Bundle (resourceType "Bundle").')
        return reading_from_form(data)
    return reading_from_text(stripped)


def _json(text: str) -> Any:
    """The parsed JSON of a case; NDJSON (an object per line) comes back as a list."""
    try:
        return json.loads(text)
    except RecursionError:  # json raises this, not JSONDecodeError, for deep nesting
        raise CaseError("The case looks like JSON but is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise CaseError(f"The case looks like JSON but does not parse ({exc.msg}).") from None
    lines: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise CaseError(
                f"The case looks like NDJSON but line {number:,} does not parse."
            ) from None
        if not isinstance(item, dict) or "resourceType" not in item:
            raise CaseError(
                f"The case looks like NDJSON but line {number:,} is not a FHIR resource."
            )
        lines.append(item)
    return lines


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _one_sentence(exc: ValidationError, what: str, data: dict[str, Any] | None = None) -> CaseError:
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


def reading_from_form(data: dict[str, Any]) -> CaseReading:
    """A JSON form (the Case fields); lists longer than a case holds are cut, with a warning."""
    warnings: list[str] = []
    data = dict(data)
    for name in ("diagnoses", "comorbidities", "past_problems", "medications", "allergies",
                 "imaging_findings", "labs"):  # fmt: skip
        most = MAX_LABS if name == "labs" else MAX_ITEMS
        value = data.get(name)
        if isinstance(value, list) and len(value) > most:
            warnings.append(f"Only the first {most} of {len(value):,} {name} were read.")
            data[name] = value[:most]
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        raise _one_sentence(exc, "case form", data) from None
    return _reading_of(case, "form", warnings)


def _reading_of(case: Case, kind: Literal["form", "text"], warnings: list[str]) -> CaseReading:
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


# --------------------------------------------------------------------------- FHIR


def reading_from_fhir(data: Any, today: dt.date | None = None) -> CaseReading:
    """A FHIR R4 record read by FHIR's rules (`agent.fhir`)."""
    from agent.fhir import FhirError, read_fhir

    try:
        record = read_fhir(data, today)
    except FhirError as exc:
        raise CaseError(str(exc)) from None
    warnings = list(record.warnings)

    def capped(items: list[Any], what: str, most: int = MAX_ITEMS) -> list[Any]:
        if len(items) > most:
            warnings.append(f"Only the latest {most} of {len(items):,} {what} are used.")
        return items[:most]

    problems = capped(record.problems, "active problems")
    past = capped(record.past_problems, "past problems")
    medications = capped(record.medications, "current medications")
    allergies = capped(record.allergies, "allergies")
    labs = capped(record.labs, "labs", MAX_LABS)
    try:
        case = Case(
            age_years=record.age_years,
            sex=Sex(record.sex),
            weight_kg=record.weight_kg if record.weight_kg and record.weight_kg <= 500 else None,
            height_cm=record.height_cm
            if record.height_cm and 30 <= record.height_cm <= 272
            else None,
            pregnant=record.pregnant,
            diagnoses=list(dict.fromkeys(p.name for p in problems)),
            past_problems=list(dict.fromkeys(p.name for p in past)),
            medications=list(dict.fromkeys(_medication_name(m) for m in medications)),
            allergies=list(dict.fromkeys(_medication_name(a) for a in allergies)),
            labs=[
                Lab(name=lab.name[:120], value=lab.value, unit=lab.unit[:40], loinc=lab.loinc)
                for lab in labs
            ],
            imaging_findings=[f.name for f in record.findings[:MAX_ITEMS]],
        )
    except ValidationError as exc:
        raise _one_sentence(exc, "FHIR case") from None
    for what, value, kept in (
        ("body weight", record.weight_kg, case.weight_kg),
        ("body height", record.height_cm, case.height_cm),
    ):
        if value is not None and kept is None:
            warnings.append(
                f"The {what} ({value:g}) is outside what a person can measure: not used."
            )
    return CaseReading(
        kind="fhir",
        age_years=case.age_years,
        sex=case.sex,
        deceased=record.deceased,
        weight_kg=case.weight_kg,
        height_cm=case.height_cm,
        pregnant=case.pregnant,
        problems=[_problem(p) for p in record.problems],
        past_problems=[_problem(p) for p in record.past_problems],
        medications=[_medication_read(m) for m in record.medications],
        past_medications=[_medication_read(m) for m in record.past_medications],
        allergies=[
            AllergyRead(name=a.name, code=a.code, system=a.system, source=a.source)
            for a in record.allergies
        ],
        labs=[
            LabRead(
                name=lab.name,
                loinc=lab.loinc,
                value=lab.value,
                unit=lab.unit,
                date=lab.date,
                source=lab.source,
            )
            for lab in record.labs
        ],
        imaging_findings=case.imaging_findings,
        warnings=warnings,
        case=case,
    )


def _problem(fact: Any) -> ProblemRead:
    return ProblemRead(
        name=fact.name,
        code=fact.code,
        system=fact.system,
        onset=fact.date,
        status=fact.status,
        source=fact.source,
    )


def _medication_read(fact: Any) -> MedicationRead:
    return MedicationRead(
        name=fact.name,
        code=fact.code,
        system=fact.system,
        status=fact.status,
        date=fact.date,
        source=fact.source,
    )


def _medication_name(fact: Any) -> str:
    """The name the tools check: the record's own, with the drug its RxNorm or SNOMED CT code
    names first when the code is one the interaction check knows (brand packs, misspellings)."""
    from tools.interactions import generic_for_code

    coded = generic_for_code(fact.system, fact.code) if fact.code and fact.system else None
    return f"{coded} ({fact.name})" if coded else str(fact.name)


# --------------------------------------------------------------------------- free text

_LAB_NAMES = {
    "creatinine": r"(?:serum )?creatinine|\bcr\b|\bscr\b",
    "egfr": r"\begfr\b",
    "potassium": r"potassium|\bk\+?(?=\s*[:=]?\s*\d)",
    "sodium": r"sodium|\bna\+?(?=\s*[:=]?\s*\d)",
    "inr": r"\binr\b",
    "hba1c": r"hba1c|a1c|glycated haemoglobin|glycated hemoglobin",
    "hemoglobin": r"ha?emoglobin|\bhgb\b|\bhb\b(?!a1c)",
    "platelets": r"platelets?|\bplt\b",
    "alt": r"\balt\b",
    "bilirubin": r"bilirubin",
    "urea": r"\burea\b|\bbun\b",
}
_UNIT = (
    r"(mg/dl|µmol/l|umol/l|mmol/l|mmol/mol|g/dl|g/l|%|x\s?10\^?9/l|/µl|u/l|ml/min(?:/1\.73\s?m2)?)?"
)


def _add(items: list[str], value: str | None) -> None:
    if value and value.strip() and value.strip() not in items:
        items.append(value.strip()[:200])


def _list_after(text: str, labels: Iterable[str]) -> list[str]:
    # "Meds: a, b" or "history of a and b" (labels ending in "of"/"to" need no colon)
    alternatives = "|".join(labels)
    pattern = rf"\b(?:{alternatives})(?:\s*[:\-]\s*|(?<=of)\s+|(?<=to)\s+)([^\n.;]+)"
    items: list[str] = []
    for match in re.finditer(pattern, text, flags=re.IGNORECASE):
        for part in re.split(r",|;|\band\b|\+", match.group(1)):
            cleaned = part.strip(" .")
            if cleaned and cleaned.lower() not in (
                "none",
                "nil",
                "nkda",
                "no known drug allergies",
            ):
                _add(items, cleaned)
    return items


_AGE_RE = re.compile(
    r"(\d{1,3})\s*(?:-|\s)?\s*(?:years?|yrs?|y)(?:\s*|-)(?:old|o\b|/o)|\bage[d:]?\s*(\d{1,3})\b"
    r"|(\d{1,3})\s*(?:yo|y/o|y\.o\.)\b"
)
# "62-year-old woman with troublesome hot flashes on tamoxifen." -> "troublesome hot flashes"
_PRESENTING_RE = re.compile(
    r"\b(?:presenting with|presents with|complaining of|c/o|with)\s+"
    r"(.+?)(?=\s+(?:on|who|taking|after|since|for|and is|and has)\b|[.;\n]|$)",
    re.IGNORECASE,
)


def _presenting_problems(text: str) -> list[str]:
    """The problem a case presents ("62-year-old woman with X"), when no field names one: read
    from its first sentence that states an age, else from its first sentence."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", text.strip()) if s.strip()]
    if not sentences:
        return []
    aged = [s for s in sentences[:6] if _AGE_RE.search(s.lower())]
    match = _PRESENTING_RE.search(aged[0] if aged else sentences[0])
    if not match:
        return []
    return [p.strip(" .") for p in re.split(r",|\band\b", match.group(1)) if p.strip(" .")]


def reading_from_text(text: str) -> CaseReading:
    lowered = text.lower()
    fields: dict[str, Any] = {}
    age = _AGE_RE.search(lowered)
    if age:
        fields["age_years"] = int(next(g for g in age.groups() if g))
    if re.search(r"\b(?:woman|female|lady|girl|mrs|she)\b|\b\d{1,3}\s*(?:yo|y/o)?\s*f\b", lowered):
        fields["sex"] = "female"
    elif re.search(r"\b(?:man|male|gentleman|boy|he)\b|\b\d{1,3}\s*(?:yo|y/o)?\s*m\b", lowered):
        fields["sex"] = "male"
    weight = re.search(r"(\d{2,3}(?:\.\d+)?)\s*kg\b", lowered)
    if weight:
        fields["weight_kg"] = float(weight.group(1))
    height = re.search(r"(\d{2,3}(?:\.\d+)?)\s*cm\b", lowered)
    if height:
        fields["height_cm"] = float(height.group(1))
    if re.search(r"\bnot pregnant\b|\bnon-?pregnant\b", lowered):
        fields["pregnant"] = False
    elif re.search(r"\bpregnant\b|\bpregnancy\b.*\bweeks?\b|\bgestation", lowered):
        fields["pregnant"] = True
    fields["medications"] = _list_after(
        text, ["current medications", "medications", "medication", "meds", "drugs"]
    )[:MAX_ITEMS]
    fields["allergies"] = _list_after(text, ["allergies", "allergic to", "allergy"])[:MAX_ITEMS]
    fields["diagnoses"] = _list_after(
        text,
        ["diagnoses", "diagnosis", "dx", "problems", "history of", "pmh", "past medical history"],
    )[:MAX_ITEMS] or _presenting_problems(text)
    fields["imaging_findings"] = _list_after(text, ["imaging", "x-ray", "ct", "mri", "cxr"])
    labs = []
    for canonical, pattern in _LAB_NAMES.items():
        match = re.search(
            rf"(?:{pattern})\s*(?:of|is|was|=|:)?\s*(\d+(?:\.\d+)?)\s*{_UNIT}", lowered
        )
        if match:
            labs.append(
                {"name": canonical, "value": float(match.group(1)), "unit": match.group(2) or ""}
            )
    fields["labs"] = labs
    try:
        case = Case.model_validate(fields)
    except ValidationError as exc:
        raise _one_sentence(exc, "case text") from None
    return _reading_of(case, "text", [])


# --------------------------------------------------------------------------- calculators


def _creatinine_argument(case: Case) -> dict[str, float] | None:
    lab = case.lab("creatinine")
    if lab is None:
        return None
    unit = lab.unit.lower().replace("μ", "µ")
    if unit in ("mg/dl", "mg/100ml"):
        return {"creatinine_mg_dl": lab.value}
    if unit in ("µmol/l", "umol/l"):
        return {"creatinine_umol_l": lab.value}
    if not unit and lab.value < 15:  # no unit: only the unambiguous magnitudes are used
        return {"creatinine_mg_dl": lab.value}
    if not unit and lab.value > 30:
        return {"creatinine_umol_l": lab.value}
    return None


def calculator_calls(case: Case) -> list[dict[str, Any]]:
    """The calculators a case's data allows: renal function (it drives dosing flags in plans)
    and body size. Scores that need findings the case does not state are left to the model."""
    calls: list[dict[str, Any]] = []
    creatinine = _creatinine_argument(case)
    adult = case.age_years is not None and case.age_years >= 18
    if creatinine and adult and case.sex.value in ("female", "male"):
        renal = {"age_years": case.age_years, "sex": case.sex.value, **creatinine}
        calls.append({"name": "egfr_ckd_epi_2021", "args": renal})
        if case.weight_kg:
            calls.append(
                {
                    "name": "creatinine_clearance_cockcroft_gault",
                    "args": {**renal, "weight_kg": case.weight_kg},
                }
            )
    if case.weight_kg and case.height_cm:
        calls.append(
            {
                "name": "body_size",
                "args": {"weight_kg": case.weight_kg, "height_cm": case.height_cm},
            }
        )
    return calls
