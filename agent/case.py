"""A patient case: from a form (JSON), a FHIR R4 Bundle, or pasted free text.

Only clinical facts are kept: age (never the birth date), sex, weight, height, pregnancy,
problems, medications, allergies, labs and imaging findings. Names, identifiers, addresses and
dates in a FHIR Bundle are never read. Free text is parsed deterministically (no LLM) for the
facts the tools need (age, sex, weight, creatinine, medications, allergies); the text itself
stays in the session only, never in logs or the audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import AgentError

MAX_CASE_CHARS = 100_000
MAX_ITEMS = 50

LOINC_WEIGHT = {"29463-7", "3141-9"}
LOINC_HEIGHT = {"8302-2", "8306-3"}
LOINC_PREGNANCY = {"82810-3", "2106-3"}


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
    medications: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    allergies: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    labs: list[Lab] = Field(default_factory=list, max_length=200)
    imaging_findings: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)

    def lab(self, *names: str) -> Lab | None:
        wanted = {n.lower() for n in names}
        return next((lab for lab in self.labs if lab.name.lower() in wanted), None)

    @property
    def problems(self) -> list[str]:
        return list(dict.fromkeys(self.diagnoses + self.comorbidities))

    def summary(self) -> str:
        """A compact, identifier-free description for prompts and retrieval queries."""
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
        if self.diagnoses:
            parts.append("diagnoses: " + ", ".join(self.diagnoses))
        if self.comorbidities:
            parts.append("comorbidities: " + ", ".join(self.comorbidities))
        if self.medications:
            parts.append("medications: " + ", ".join(self.medications))
        if self.allergies:
            parts.append("allergies: " + ", ".join(self.allergies))
        if self.labs:
            parts.append(
                "labs: "
                + ", ".join(f"{lab.name} {lab.value:g} {lab.unit}".strip() for lab in self.labs)
            )
        if self.imaging_findings:
            parts.append("imaging: " + "; ".join(self.imaging_findings))
        return "; ".join(parts)


def parse_case(text: str) -> Case:
    """A case from JSON (a form or a FHIR Bundle) or from free text."""
    if len(text) > MAX_CASE_CHARS:
        raise CaseError(
            f"The case is too long ({len(text):,} characters; the limit is {MAX_CASE_CHARS:,})."
        )
    stripped = text.strip()
    if not stripped:
        raise CaseError("The case is empty.")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise CaseError(f"The case looks like JSON but does not parse ({exc.msg}).") from None
        except RecursionError:  # json raises this, not JSONDecodeError, for deep nesting
            raise CaseError("The case looks like JSON but is nested too deeply.") from None
        if not isinstance(data, dict):
            raise CaseError("A JSON case must be an object.")
        if data.get("resourceType") == "Bundle":
            return case_from_fhir(data)
        if "resourceType" in data:
            kind = data["resourceType"]
            # Only a resource type's name is echoed: the value is the user's and may hold anything.
            if isinstance(kind, str) and re.fullmatch(r"[A-Z][A-Za-z]{0,63}", kind):
                raise CaseError(f"A FHIR case must be a Bundle, not a {kind}.")
            raise CaseError('A FHIR case must be a Bundle (resourceType "Bundle").')
        return case_from_form(data)
    return case_from_text(stripped)


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


def case_from_form(data: dict[str, Any]) -> Case:
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise _one_sentence(exc, "case form", data) from None


# --------------------------------------------------------------------------- FHIR


def _concept_text(concept: Any) -> str | None:
    if concept is None:
        return None
    if getattr(concept, "text", None):
        return str(concept.text)
    for coding in getattr(concept, "coding", None) or []:
        if getattr(coding, "display", None):
            return str(coding.display)
    return None


def _codes(concept: Any) -> set[str]:
    return {str(c.code) for c in (getattr(concept, "coding", None) or []) if c.code}


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _quantity(value: Any) -> tuple[float, str] | None:
    if value is None or getattr(value, "value", None) is None:
        return None
    return float(value.value), str(getattr(value, "unit", None) or getattr(value, "code", "") or "")


def case_from_fhir(data: dict[str, Any], today: dt.date | None = None) -> Case:
    """Patient, Condition, MedicationStatement/Request, AllergyIntolerance, Observation and
    DiagnosticReport resources of an R4 Bundle; everything else (and every identifier) ignored."""
    from fhir.resources.R4B.bundle import Bundle

    try:
        bundle = Bundle.model_validate(data)
    except (ValidationError, ValueError) as exc:
        message = str(exc).splitlines()[0][:160]
        raise CaseError(f"The FHIR Bundle is not valid R4 ({message}).") from None
    except (TypeError, KeyError):  # fhir.resources looks the resource class up by name
        raise CaseError(
            "The FHIR Bundle is not valid R4 (an entry has an unknown or missing resourceType)."
        ) from None
    # typed loosely: each resource type has its own fields, read by name below
    resources: list[Any] = [e.resource for e in bundle.entry or [] if e.resource is not None]
    medications_by_id = {
        f"Medication/{r.id}": _concept_text(r.code)
        for r in resources
        if r.get_resource_type() == "Medication"
    }
    fields: dict[str, Any] = {
        "diagnoses": [],
        "medications": [],
        "allergies": [],
        "labs": [],
        "imaging_findings": [],
    }
    today = today or dt.date.today()
    for resource in resources:
        kind = resource.get_resource_type()
        if kind == "Patient":
            gender = str(resource.gender or "unknown")
            fields["sex"] = gender if gender in {s.value for s in Sex} else "unknown"
            fields["age_years"] = _age(resource.birthDate, today)
        elif kind == "Condition":
            status = _codes(resource.clinicalStatus)
            if not status or status & {"active", "recurrence", "relapse"}:
                _add(fields["diagnoses"], _concept_text(resource.code))
        elif kind in ("MedicationStatement", "MedicationRequest"):
            state = str(getattr(resource, "status", "") or "")
            if state in ("stopped", "cancelled", "entered-in-error", "completed"):
                continue
            name = _concept_text(getattr(resource, "medicationCodeableConcept", None))
            reference = getattr(resource, "medicationReference", None)
            if name is None and reference is not None:
                name = medications_by_id.get(str(reference.reference))
            _add(fields["medications"], name)
        elif kind == "AllergyIntolerance":
            _add(fields["allergies"], _concept_text(resource.code))
        elif kind == "Observation":
            _observation(resource, fields)
        elif kind == "DiagnosticReport" and resource.conclusion:
            _add(fields["imaging_findings"], str(resource.conclusion))
    try:
        return Case.model_validate(fields)
    except ValidationError as exc:
        raise _one_sentence(exc, "FHIR case") from None


def _add(items: list[str], value: str | None) -> None:
    if value and value.strip() and value.strip() not in items:
        items.append(value.strip()[:200])


def _observation(resource: Any, fields: dict[str, Any]) -> None:
    codes = _codes(resource.code)
    quantity = _quantity(getattr(resource, "valueQuantity", None))
    if codes & LOINC_PREGNANCY:
        answer = (_concept_text(getattr(resource, "valueCodeableConcept", None)) or "").lower()
        if answer:
            fields["pregnant"] = "not" not in answer and "pregnant" in answer
        return
    if quantity is None:
        return
    value, unit = quantity
    lowered = unit.lower()
    if codes & LOINC_WEIGHT:
        fields["weight_kg"] = (
            round(value * 0.45359237, 1) if lowered in ("lb", "[lb_av]") else value
        )
    elif codes & LOINC_HEIGHT:
        factor = {"m": 100.0, "in": 2.54, "[in_i]": 2.54}.get(lowered, 1.0)
        fields["height_cm"] = round(value * factor, 1)
    else:
        name = _concept_text(resource.code) or "observation"
        fields["labs"].append({"name": _lab_name(name), "value": value, "unit": unit})


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


def _lab_name(name: str) -> str:
    lowered = name.lower()
    for canonical, pattern in _LAB_NAMES.items():
        if re.search(pattern, lowered):
            return canonical
    return lowered[:120]


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


def case_from_text(text: str) -> Case:
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
        return Case.model_validate(fields)
    except ValidationError as exc:
        raise _one_sentence(exc, "case text") from None


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
