"""A patient case read from a form (JSON), a FHIR R4 record (`agent.case.fhir_reader`), or
pasted free text.

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
from typing import Any

from agent.case.form import reading_from_form
from agent.case.model import MAX_CASE_CHARS, Case, CaseError
from agent.case.reading import CaseReading
from agent.case.record import reading_from_fhir
from agent.case.text import reading_from_text


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
