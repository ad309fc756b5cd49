"""A case typed into the form (JSON of the `Case` fields)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agent.case.model import MAX_ITEMS, MAX_LABS, Case, one_sentence
from agent.case.reading import CaseReading, reading_of


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
        raise one_sentence(exc, "case form", data) from None
    return reading_of(case, "form", warnings)
