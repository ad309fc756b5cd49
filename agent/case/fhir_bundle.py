"""A FHIR record's resources, the facts read from them, and the small readers of FHIR's data
types (codeable concepts, dates, partial dates, references) that every resource reader uses."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agent.case.fhir_codes import READ_TYPES, SYSTEM_NAMES, FhirError

# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Fact:
    """One thing the record says, with where it says it."""

    name: str
    source: str  # "Condition/<id>": the resource it was read from
    code: str | None = None
    system: str | None = None
    date: str | None = None  # ISO date (onset, authored, effective)
    status: str | None = None
    sort_key: str = ""


@dataclass(frozen=True)
class LabValue:
    name: str
    loinc: str | None
    value: float
    unit: str
    source: str
    date: str | None
    sort_key: str
    canonical: bool  # a lab the tools read (LAB_KINDS)


@dataclass
class Record:
    """What a record says, by FHIR's rules, before it becomes a case."""

    age_years: int | None = None
    sex: str = "unknown"
    deceased: bool = False
    weight_kg: float | None = None
    height_cm: float | None = None
    pregnant: bool | None = None
    problems: list[Fact] = field(default_factory=list)
    past_problems: list[Fact] = field(default_factory=list)
    medications: list[Fact] = field(default_factory=list)
    past_medications: list[Fact] = field(default_factory=list)
    allergies: list[Fact] = field(default_factory=list)
    labs: list[LabValue] = field(default_factory=list)
    findings: list[Fact] = field(default_factory=list)
    vitals: list[LabValue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- resources


def resources_of(data: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """(fullUrl, resource) for every resource of a Bundle (any type, nested Bundles opened), a
    list of resources (NDJSON), or one resource."""
    if isinstance(data, list):
        found: list[tuple[str | None, dict[str, Any]]] = []
        for item in data:
            found += resources_of(item)
        return found
    if not isinstance(data, dict):
        raise FhirError("A FHIR record must hold resources (JSON objects with a resourceType).")
    if data.get("resourceType") != "Bundle":
        return [(None, data)]
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise FhirError("The FHIR Bundle is not valid R4 (its entry is not a list).")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise FhirError("The FHIR Bundle is not valid R4 (an entry is not an object).")
        resource = entry.get("resource")
        if resource is None:
            continue  # a transaction-response or a deleted entry: nothing to read
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirError(
                "The FHIR Bundle is not valid R4 (an entry has an unknown or missing resourceType)."
            )
        if resource["resourceType"] == "Bundle":
            found += resources_of(resource)
            continue
        url = entry.get("fullUrl")
        found.append((url if isinstance(url, str) else None, resource))
    return found


class References:
    """Resources by every name a reference may use: fullUrl, "Type/id" and absolute URLs."""

    def __init__(self) -> None:
        self._by: dict[str, Any] = {}

    def add(self, url: str | None, kind: str, resource: Any) -> None:
        if url:
            self._by[url] = resource
        if getattr(resource, "id", None):
            self._by[f"{kind}/{resource.id}"] = resource

    def resolve(self, reference: str, holder: Any) -> Any:
        if reference.startswith("#"):
            contained = getattr(holder, "contained", None) or []
            return next((r for r in contained if getattr(r, "id", None) == reference[1:]), None)
        if reference in self._by:
            return self._by[reference]
        # "https://ehr.example/fhir/Medication/7/_history/2" -> "Medication/7"
        match = re.search(r"([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", reference)
        return self._by.get(match.group(1)) if match else None


def validated(
    resources: Iterable[tuple[str | None, dict[str, Any]]], record: Record
) -> Iterable[tuple[str | None, str, Any]]:
    from fhir.resources.R4B import get_fhir_model_class

    skipped: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    for url, raw in resources:
        kind = raw.get("resourceType")
        if kind not in READ_TYPES:
            continue
        try:
            model = get_fhir_model_class(kind).model_validate(raw)
        except (ValidationError, ValueError, TypeError, KeyError) as exc:
            skipped[kind] += 1
            reasons.setdefault(kind, invalid_reason(exc))
            continue
        yield url, kind, model
    for kind, count in sorted(skipped.items()):
        # the field's path and the error's kind only: a value may be a patient's
        record.warnings.append(
            f"{count} {kind} resource{'s' if count > 1 else ''} skipped: not valid FHIR R4 "
            f"({reasons[kind]})."
        )


def invalid_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))
        return f"{where or 'the resource'}: {first['type'].replace('_', ' ')}"
    return "unreadable"


# --------------------------------------------------------------------------- helpers


def codes_of(concept: Any, system: str | None = None) -> list[str]:
    return [
        str(c.code)
        for c in (getattr(concept, "coding", None) or [])
        if c.code and (system is None or c.system == system)
    ]


def status_of(concept: Any) -> str | None:
    codes = codes_of(concept)
    return codes[0] if codes else None


# SNOMED CT's semantic tag ends a fully specified name: "Anemia (disorder)" is "Anemia".
SEMANTIC_TAG = re.compile(
    r"\s+\((?:disorder|finding|situation|morphologic abnormality|clinical drug|substance|"
    r"observable entity|event|procedure|product|medicinal product)\)$"
)


def text_of(concept: Any) -> str | None:
    """A concept's name: its text, else its first coding's display, without a SNOMED tag."""
    if concept is None:
        return None
    texts = [getattr(concept, "text", None)]
    texts += [getattr(c, "display", None) for c in getattr(concept, "coding", None) or []]
    for text in texts:
        cleaned = SEMANTIC_TAG.sub("", " ".join(str(text or "").split()))[:200]
        if cleaned:
            return cleaned
    return None


def coding_of(concept: Any, preferred: Iterable[str] = ()) -> tuple[str | None, str | None]:
    """(code, system name) of a concept: a preferred system's coding first."""
    codings = [c for c in (getattr(concept, "coding", None) or []) if c.code]
    for wanted in preferred:
        for coding in codings:
            if coding.system == wanted:
                return str(coding.code), SYSTEM_NAMES.get(wanted, wanted)
    if codings:
        system = str(codings[0].system or "")
        return str(codings[0].code), SYSTEM_NAMES.get(system, system or None)
    return None, None


def when_of(*values: Any) -> tuple[str | None, str]:
    """(ISO date to show, sortable key) of the first present FHIR date/dateTime/instant/Period."""
    for value in values:
        if value is None:
            continue
        if hasattr(value, "end") or hasattr(value, "start"):  # a Period: its end, else start
            value = getattr(value, "end", None) or getattr(value, "start", None)
            if value is None:
                continue
        if isinstance(value, dt.datetime):
            moment = value.astimezone(dt.UTC) if value.tzinfo else value
            return moment.date().isoformat(), moment.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat(), value.isoformat()
        text = str(value)
        if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
            return text, text  # a partial date ("2019", "2019-03") sorts before its days
    return None, ""


def birth_day(value: Any) -> dt.date | None:
    """The last day a full or partial birthDate may mean ("1958" -> 1958-12-31): the age it
    gives is the one the patient has certainly reached."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", str(value or ""))
    if not match:
        return None
    year, month, day = match.groups()
    if day:
        return dt.date(int(year), int(month), int(day))
    if month:
        following = dt.date(int(year) + int(month) // 12, int(month) % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    return dt.date(int(year), 12, 31)


def age_at(birth: dt.date, at: dt.date) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def source_of(kind: str, resource: Any, url: str | None) -> str:
    if getattr(resource, "id", None):
        return f"{kind}/{resource.id}"
    return url or kind
