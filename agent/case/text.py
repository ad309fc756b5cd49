"""A case pasted as free text, read deterministically (no LLM) for the facts the tools need:
age, sex, weight, height, pregnancy, problems, medications, allergies and labs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from agent.case.model import MAX_ITEMS, Case, one_sentence
from agent.case.reading import CaseReading, reading_of

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


def add_item(items: list[str], value: str | None) -> None:
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
                add_item(items, cleaned)
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
        raise one_sentence(exc, "case text") from None
    return reading_of(case, "text", [])
