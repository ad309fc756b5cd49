"""A patient's FHIR R4 record as an EHR exports it, read by FHIR's rules.

What: a Bundle of any type (an EHR export, a transaction, a search result) or NDJSON of one
patient, up to tens of megabytes, turned into the facts the planner and the safety checks use:
age, sex, active problems (resolved ones kept apart as history), current medications (stopped
ones apart), allergies, and the latest value of each lab. Every fact keeps its provenance: the
resource it came from ("Observation/<id>"), its code and its date.

The rules it follows, each the FHIR R4 specification's:
- references are resolved as the Bundle rules say: relative ("Medication/7"), absolute, by
  `fullUrl` ("urn:uuid:…", Synthea's style) and contained ("#med1");
- `entered-in-error` is dropped everywhere; a Condition counts by its clinicalStatus (active,
  recurrence, relapse; inactive, remission and resolved are history) unless its
  verificationStatus is refuted; a MedicationRequest is current when active or on-hold, a
  MedicationStatement when active, intended or on-hold (not-taken is no medication at all); an
  AllergyIntolerance counts unless refuted or inactive/resolved, and "no known allergy" codes are
  no allergy;
- labs are keyed by LOINC code, never by name: serum creatinine is 2160-0 or 38483-4 (mass) and
  14682-9 or 59826-8 (moles), and the latest value by effective date wins; eGFR is kept apart
  from creatinine; a urine creatinine (2161-8) has its own code and is never used as serum;
- quantities are converted by their UCUM code (`ucumvert`, a UCUM grammar over `pint`), read
  before the display unit, so 185 `[lb_av]` is 83.9 kg whatever the display says;
- age comes from a full or partial birthDate ("1958", "1958-07") at today's date, or at death.

Resources are validated one by one with `fhir.resources` (R4B models, which read R4 resources
of these types); one that does not validate is skipped and counted in `warnings`, so one bad
Observation does not cost the whole record. Types the tools do not use (Encounter, Claim,
ExplanationOfBenefit, ...) are not validated at all, which is most of an export's bytes.
Identity (names, identifiers, addresses, telecom) is never read, and the birth date is used for
the age only.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from agent.errors import AgentError

__all__ = [
    "FhirError",
    "LabKind",
    "Record",
    "read_fhir",
    "resources_of",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SYSTEM_NAMES: Mapping[str, str] = {
    LOINC: "LOINC",
    SNOMED: "SNOMED CT",
    RXNORM: "RxNorm",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/ndc": "NDC",
}
READ_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "AllergyIntolerance",
        "Observation",
        "DiagnosticReport",
    }
)

ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
PAST_CONDITION = frozenset({"inactive", "remission", "resolved"})
CURRENT_REQUEST = frozenset({"active", "on-hold"})
CURRENT_STATEMENT = frozenset({"active", "intended", "on-hold"})
NOT_A_MEDICATION = frozenset({"entered-in-error", "not-taken"})
NO_RESULT = frozenset({"registered", "cancelled", "entered-in-error"})
# SNOMED CT situations that record the absence of allergies, not an allergy.
NO_KNOWN_ALLERGY = frozenset({"716186003", "409137002", "428607008", "429625007", "428197003"})
NO_KNOWN_ALLERGY_TEXT = re.compile(r"^\s*(?:no known\b|nkda\b|nka\b|none known\b)", re.I)
# SNOMED CT: pregnancy as an active condition (normal pregnancy, pregnant).
PREGNANCY_CONDITIONS = frozenset({"72892002", "77386006"})


class FhirError(AgentError):
    """A record that cannot be read at all; `str` is the sentence to show."""


@dataclass(frozen=True)
class LabKind:
    """What a LOINC code means to the tools: a canonical name, and the unit values are kept in
    (converted by UCUM when the record used another unit of the same dimension)."""

    name: str
    unit: str  # UCUM


EGFR_CODES = (
    "33914-3", "48642-3", "48643-4", "50044-7", "62238-1", "69405-9", "77147-7", "88293-6",
    "88294-4", "98979-8", "98980-6",
)  # fmt: skip
# The LOINC codes the tools read. Anything else is kept under its own code and display name.
# Creatinine in mass and in moles are one lab ("creatinine"): the latest of either is used.
LAB_KINDS: Mapping[str, LabKind] = {
    "2160-0": LabKind("creatinine", "mg/dL"),  # Creatinine [Mass/volume] in Serum or Plasma
    "38483-4": LabKind("creatinine", "mg/dL"),  # Creatinine [Mass/volume] in Blood
    "14682-9": LabKind("creatinine", "umol/L"),  # Creatinine [Moles/volume] in Serum or Plasma
    "59826-8": LabKind("creatinine", "umol/L"),  # Creatinine [Moles/volume] in Blood
    # eGFR, every equation: shown, never taken for creatinine (the calculators compute their own)
    **{code: LabKind("egfr", "mL/min/{1.73_m2}") for code in EGFR_CODES},
    "2823-3": LabKind("potassium", "mmol/L"),
    "6298-4": LabKind("potassium", "mmol/L"),
    "2951-2": LabKind("sodium", "mmol/L"),
    "2947-0": LabKind("sodium", "mmol/L"),
    "6301-6": LabKind("inr", "{INR}"),
    "34714-6": LabKind("inr", "{INR}"),
    "4548-4": LabKind("hba1c", "%"),
    "17856-6": LabKind("hba1c", "%"),
    "718-7": LabKind("hemoglobin", "g/dL"),
    "777-3": LabKind("platelets", "10*3/uL"),
    "26515-7": LabKind("platelets", "10*3/uL"),
    "1742-6": LabKind("alt", "U/L"),
    "1975-2": LabKind("bilirubin", "mg/dL"),
    "3094-0": LabKind("urea", "mg/dL"),
    "6299-2": LabKind("urea", "mg/dL"),
}
WEIGHT_CODES = frozenset({"29463-7", "3141-9"})  # body weight; measured
HEIGHT_CODES = frozenset({"8302-2", "8306-3", "3137-7"})  # body height; lying; measured
PREGNANCY_CODES = frozenset({"82810-3"})  # Pregnancy status
# Display units that are not UCUM but common in exports; anything else must parse as UCUM.
_DISPLAY_UNITS: Mapping[str, str] = {
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "pound": "[lb_av]",
    "pounds": "[lb_av]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "ft": "[ft_i]",
    "feet": "[ft_i]",
    "oz": "[oz_av]",
    "µmol/l": "umol/L",
    "μmol/l": "umol/L",
}
PREGNANCY_CURRENT_DAYS = 300  # an older pregnancy status says nothing about today


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# Why a resource was left out, as the warning line says it.
_DROPPED: Mapping[str, Callable[[int], str]] = {
    "entered in error": lambda n: (
        f"{_plural(n, 'resource', 'resources')} marked entered-in-error left out."
    ),
    "refuted": lambda n: (
        f"{_plural(n, 'refuted condition or allergy', 'refuted conditions or allergies')} left out."
    ),
    "not taken": lambda n: (
        f"{_plural(n, 'medication', 'medications')} recorded as not taken or not to be given "
        "left out."
    ),
    "inactive allergy": lambda n: (
        f"{_plural(n, 'allergy', 'allergies')} recorded as inactive or resolved left out."
    ),
}


# --------------------------------------------------------------------------- units


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@functools.lru_cache(maxsize=256)
def _ucum_factor(unit: str, target: str) -> float | None:
    """The factor taking `unit` to `target` (both UCUM), or None when they do not convert."""
    registry = _registry()
    try:
        return float((1 * registry.from_ucum(unit)).to(registry.from_ucum(target)).magnitude)
    except Exception:  # ucumvert and pint raise several kinds for units that do not parse or fit
        return None


def convert(value: float, unit: str, target: str) -> float | None:
    """`value` in `unit` (UCUM, or a common display unit) expressed in `target` (UCUM)."""
    cleaned = unit.strip()
    ucum = _DISPLAY_UNITS.get(cleaned.lower(), cleaned)
    if ucum == target:
        return value
    factor = _ucum_factor(ucum, target) if ucum else None
    return None if factor is None else value * factor


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


class _References:
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


def _validated(
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
            reasons.setdefault(kind, _invalid_reason(exc))
            continue
        yield url, kind, model
    for kind, count in sorted(skipped.items()):
        # the field's path and the error's kind only: a value may be a patient's
        record.warnings.append(
            f"{count} {kind} resource{'s' if count > 1 else ''} skipped: not valid FHIR R4 "
            f"({reasons[kind]})."
        )


def _invalid_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))
        return f"{where or 'the resource'}: {first['type'].replace('_', ' ')}"
    return "unreadable"


# --------------------------------------------------------------------------- helpers


def _codes(concept: Any, system: str | None = None) -> list[str]:
    return [
        str(c.code)
        for c in (getattr(concept, "coding", None) or [])
        if c.code and (system is None or c.system == system)
    ]


def _status(concept: Any) -> str | None:
    codes = _codes(concept)
    return codes[0] if codes else None


# SNOMED CT's semantic tag ends a fully specified name: "Anemia (disorder)" is "Anemia".
_SEMANTIC_TAG = re.compile(
    r"\s+\((?:disorder|finding|situation|morphologic abnormality|clinical drug|substance|"
    r"observable entity|event|procedure|product|medicinal product)\)$"
)


def _text(concept: Any) -> str | None:
    """A concept's name: its text, else its first coding's display, without a SNOMED tag."""
    if concept is None:
        return None
    texts = [getattr(concept, "text", None)]
    texts += [getattr(c, "display", None) for c in getattr(concept, "coding", None) or []]
    for text in texts:
        cleaned = _SEMANTIC_TAG.sub("", " ".join(str(text or "").split()))[:200]
        if cleaned:
            return cleaned
    return None


def _coding(concept: Any, preferred: Iterable[str] = ()) -> tuple[str | None, str | None]:
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


def _when(*values: Any) -> tuple[str | None, str]:
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


def _birth_day(value: Any) -> dt.date | None:
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


def _age(birth: dt.date, at: dt.date) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def _source(kind: str, resource: Any, url: str | None) -> str:
    if getattr(resource, "id", None):
        return f"{kind}/{resource.id}"
    return url or kind


# --------------------------------------------------------------------------- the reader


def read_fhir(data: Any, today: dt.date | None = None) -> Record:
    """The record held by parsed FHIR JSON (a Bundle, a list of resources from NDJSON, or one
    resource); raises FhirError for what cannot be read at all (two patients, no resources)."""
    today = today or dt.date.today()
    record = Record()
    references = _References()
    read: list[tuple[str | None, str, Any]] = []
    raw = resources_of(data)
    if not raw:
        raise FhirError("The FHIR record holds no resources.")
    for url, kind, resource in _validated(raw, record):
        references.add(url, kind, resource)
        read.append((url, kind, resource))
    patients = [r for _, kind, r in read if kind == "Patient"]
    distinct = {(p.id or id(p)) for p in patients}
    if len(distinct) > 1:
        raise FhirError(
            f"The FHIR record holds {len(distinct)} patients; a case must be one patient's record."
        )
    if patients:
        _patient(patients[0], record, today)
    else:
        record.warnings.append("The record has no Patient resource: age and sex are unknown.")
    dropped: Counter[str] = Counter()
    readers: Mapping[str, Callable[[Any, str, _Reading], None]] = {
        "Condition": _condition,
        "MedicationRequest": _medication,
        "MedicationStatement": _medication,
        "AllergyIntolerance": _allergy,
        "Observation": _observation,
        "DiagnosticReport": _report,
    }
    reading = _Reading(record, references, today, dropped)
    for url, kind, resource in read:
        if kind in readers:
            if getattr(resource, "status", None) == "entered-in-error" or (
                _status(getattr(resource, "verificationStatus", None)) == "entered-in-error"
            ):
                dropped["entered in error"] += 1
                continue
            readers[kind](resource, _source(kind, resource, url), reading)
    reading.finish()
    for why, count in sorted(dropped.items()):
        record.warnings.append(_DROPPED[why](count))
    return record


def _patient(patient: Any, record: Record, today: dt.date) -> None:
    gender = str(patient.gender or "unknown")
    record.sex = gender if gender in ("female", "male", "other") else "unknown"
    birth = _birth_day(patient.birthDate)
    died = getattr(patient, "deceasedDateTime", None)
    at = today
    if died is not None or getattr(patient, "deceasedBoolean", None):
        record.deceased = True
        if died is not None:
            at = died.date() if isinstance(died, dt.datetime) else (_birth_day(died) or today)
            record.warnings.append("The record says the patient has died: age is given at death.")
        else:
            record.warnings.append("The record says the patient has died.")
    if birth is None:
        if patient.birthDate is not None:
            record.warnings.append("The birth date could not be read: the age is unknown.")
        return
    if not isinstance(patient.birthDate, dt.date):
        record.warnings.append(
            "The birth date is partial: the age is counted from its last possible day."
        )
    age = _age(birth, at)
    if 0 <= age <= 120:
        record.age_years = age
    else:
        record.warnings.append("The birth date gives an age outside 0-120 years: not used.")


@dataclass
class _Reading:
    """The state of one pass over a record's resources."""

    record: Record
    references: _References
    today: dt.date
    dropped: Counter[str]
    problems: dict[str, Fact] = field(default_factory=dict)
    past: dict[str, Fact] = field(default_factory=dict)
    current: dict[str, Fact] = field(default_factory=dict)
    stopped: dict[str, Fact] = field(default_factory=dict)
    allergies: dict[str, Fact] = field(default_factory=dict)
    labs: dict[str, LabValue] = field(default_factory=dict)
    vitals: dict[str, LabValue] = field(default_factory=dict)
    pregnancy: tuple[str, bool] | None = None  # (sort key, pregnant)
    unresolved: int = 0
    unconverted: Counter[str] = field(default_factory=Counter)

    @staticmethod
    def keep_latest(store: dict[str, Any], key: str, fact: Any) -> None:
        held = store.get(key)
        if held is None or fact.sort_key > held.sort_key:
            store[key] = fact

    def finish(self) -> None:
        record = self.record
        record.problems = _by_date(self.problems.values())
        record.past_problems = _by_date(f for k, f in self.past.items() if k not in self.problems)
        record.medications = _by_date(self.current.values())
        record.past_medications = _by_date(
            f for k, f in self.stopped.items() if k not in self.current
        )
        record.allergies = list(self.allergies.values())
        record.labs = sorted(self.labs.values(), key=lambda lab: (not lab.canonical, lab.name))
        record.vitals = list(self.vitals.values())
        weight = self.vitals.get("weight")
        if weight is not None:
            record.weight_kg = round(weight.value, 1)
        height = self.vitals.get("height")
        if height is not None:
            record.height_cm = round(height.value, 1)
        if self.pregnancy is not None:
            when, pregnant = self.pregnancy
            try:
                age_days = (self.today - dt.date.fromisoformat(when[:10])).days
            except ValueError:
                age_days = PREGNANCY_CURRENT_DAYS + 1
            if age_days <= PREGNANCY_CURRENT_DAYS:
                record.pregnant = pregnant
        if any(f.code in PREGNANCY_CONDITIONS for f in record.problems):
            record.pregnant = True
        if self.unresolved:
            record.warnings.append(
                f"{self.unresolved} medication reference{'s' if self.unresolved > 1 else ''} "
                "could not be resolved to a Medication in the record: not listed."
            )
        for what, count in sorted(self.unconverted.items()):
            record.warnings.append(
                f"{count} {what} value{'s' if count > 1 else ''} in a unit that does not "
                "convert (UCUM) left out."
            )
        creatinine = self.labs.get("creatinine")
        if creatinine is not None and creatinine.date:
            try:
                age_days = (self.today - dt.date.fromisoformat(creatinine.date)).days
            except ValueError:
                age_days = 0
            if age_days > 365:
                record.warnings.append(
                    f"The latest serum creatinine is from {creatinine.date}, over a year ago: "
                    "renal function may have changed."
                )


def _by_date(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda fact: fact.sort_key, reverse=True)


def _condition(resource: Any, source: str, reading: _Reading) -> None:
    verification = _status(resource.verificationStatus)
    if verification == "refuted":
        reading.dropped["refuted"] += 1
        return
    name = _text(resource.code)
    if not name:
        return
    clinical = _status(resource.clinicalStatus)
    code, system = _coding(resource.code, (SNOMED,))
    date, key = _when(
        getattr(resource, "onsetDateTime", None),
        getattr(resource, "onsetPeriod", None),
        getattr(resource, "recordedDate", None),
    )
    if clinical is None:  # FHIR: no clinicalStatus with an abatement means it has ended
        ended = any(
            getattr(resource, f"abatement{kind}", None) is not None
            for kind in ("DateTime", "Age", "Period", "Range", "String")
        )
        clinical = "resolved" if ended else "active"
    fact = Fact(name, source, code, system, date, clinical, key)
    identity = code or name.lower()
    if clinical in ACTIVE_CONDITION:
        reading.keep_latest(reading.problems, identity, fact)
    elif clinical in PAST_CONDITION:
        reading.keep_latest(reading.past, identity, fact)


def _medication(resource: Any, source: str, reading: _Reading) -> None:
    status = str(resource.status or "unknown")
    kind = resource.get_resource_type()
    if status in NOT_A_MEDICATION or getattr(resource, "doNotPerform", None):
        reading.dropped["not taken"] += 1
        return
    concept = getattr(resource, "medicationCodeableConcept", None)
    reference = getattr(resource, "medicationReference", None)
    if concept is None and reference is not None and reference.reference:
        target = reading.references.resolve(str(reference.reference), resource)
        if target is None or target.get_resource_type() != "Medication":
            reading.unresolved += 1
            return
        concept = target.code
    name = _text(concept)
    if not name:
        return
    code, system = _coding(concept, (RXNORM,))
    date, key = _when(
        getattr(resource, "authoredOn", None),
        getattr(resource, "effectiveDateTime", None),
        getattr(resource, "effectivePeriod", None),
        getattr(resource, "dateAsserted", None),
    )
    fact = Fact(name, source, code, system, date, status, key)
    current = CURRENT_REQUEST if kind == "MedicationRequest" else CURRENT_STATEMENT
    identity = code or name.lower()
    reading.keep_latest(reading.current if status in current else reading.stopped, identity, fact)


def _allergy(resource: Any, source: str, reading: _Reading) -> None:
    if _status(resource.verificationStatus) == "refuted":
        reading.dropped["refuted"] += 1
        return
    if _status(resource.clinicalStatus) in ("inactive", "resolved"):
        reading.dropped["inactive allergy"] += 1
        return
    name = _text(resource.code)
    codes = set(_codes(resource.code))
    if not name or codes & NO_KNOWN_ALLERGY or NO_KNOWN_ALLERGY_TEXT.match(name):
        return
    code, system = _coding(resource.code, (SNOMED, RXNORM))
    date, key = _when(getattr(resource, "onsetDateTime", None), resource.recordedDate)
    reading.keep_latest(
        reading.allergies, code or name.lower(), Fact(name, source, code, system, date, None, key)
    )


def _observation(resource: Any, source: str, reading: _Reading) -> None:
    if resource.status in NO_RESULT:
        return
    date, key = _when(
        resource.effectiveDateTime,
        resource.effectivePeriod,
        resource.effectiveInstant,
        resource.issued,
    )
    codes = _codes(resource.code, LOINC)
    if set(codes) & PREGNANCY_CODES:
        answer = (_text(resource.valueCodeableConcept) or "").lower()
        if answer and (reading.pregnancy is None or key > reading.pregnancy[0]):
            reading.pregnancy = (key, "not" not in answer and "pregnant" in answer)
        return
    if resource.valueQuantity is not None:
        _quantity(resource.code, resource.valueQuantity, source, date, key, reading)
    for component in resource.component or []:
        if component.valueQuantity is not None:
            _quantity(component.code, component.valueQuantity, source, date, key, reading)


def _quantity(
    concept: Any, quantity: Any, source: str, date: str | None, key: str, reading: _Reading
) -> None:
    if quantity.value is None:
        return
    value = float(quantity.value)
    # the UCUM code is the unit; the display unit is for people and is read only without one
    unit = str(quantity.code or "") if quantity.code and quantity.system in (UCUM, None) else ""
    unit = unit or str(quantity.unit or "")
    codes = _codes(concept, LOINC)
    loinc = codes[0] if codes else None
    for vital, wanted, target in (("weight", WEIGHT_CODES, "kg"), ("height", HEIGHT_CODES, "cm")):
        if loinc in wanted:
            converted = convert(value, unit, target)
            if converted is None:
                reading.unconverted[f"body {vital}"] += 1
                return
            lab = LabValue(vital, loinc, converted, target, source, date, key, True)
            reading.keep_latest(reading.vitals, vital, lab)
            return
    kind = LAB_KINDS.get(loinc or "")
    if kind is not None:
        converted = convert(value, unit, kind.unit) if unit else None
        if converted is None and kind.name == "creatinine":
            # mass and moles do not convert without a molar mass: keep the other kind's unit
            other = "umol/L" if kind.unit == "mg/dL" else "mg/dL"
            if (alternative := convert(value, unit, other)) is not None:
                converted, target = alternative, other
            else:
                reading.unconverted["creatinine"] += 1
                return
        elif converted is None:
            converted, target = value, unit
        else:
            target = kind.unit
        lab = LabValue(kind.name, loinc, converted, target, source, date, key, True)
        reading.keep_latest(reading.labs, kind.name, lab)
        return
    name = _text(concept) or loinc
    if not name:
        return
    lab = LabValue(name, loinc, value, unit, source, date, key, False)
    reading.keep_latest(reading.labs, loinc or name.lower(), lab)


def _report(resource: Any, source: str, reading: _Reading) -> None:
    if resource.status in NO_RESULT or not resource.conclusion:
        return
    date, key = _when(resource.effectiveDateTime, resource.effectivePeriod, resource.issued)
    conclusion = " ".join(str(resource.conclusion).split())[:200]
    reading.record.findings.append(Fact(conclusion, source, None, None, date, None, key))
