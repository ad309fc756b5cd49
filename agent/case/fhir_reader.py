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
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.case.fhir_bundle import (
    Fact,
    LabValue,
    Record,
    References,
    age_at,
    birth_day,
    codes_of,
    coding_of,
    resources_of,
    source_of,
    status_of,
    text_of,
    validated,
    when_of,
)
from agent.case.fhir_codes import (
    ACTIVE_CONDITION,
    CURRENT_REQUEST,
    CURRENT_STATEMENT,
    DROPPED,
    HEIGHT_CODES,
    LAB_KINDS,
    LOINC,
    NO_KNOWN_ALLERGY,
    NO_KNOWN_ALLERGY_TEXT,
    NO_RESULT,
    NOT_A_MEDICATION,
    PAST_CONDITION,
    PREGNANCY_CODES,
    PREGNANCY_CONDITIONS,
    PREGNANCY_CURRENT_DAYS,
    RXNORM,
    SNOMED,
    UCUM,
    WEIGHT_CODES,
    FhirError,
    convert,
)

__all__ = ["FhirError", "Record", "read_fhir"]

# --------------------------------------------------------------------------- the reader


def read_fhir(data: Any, today: dt.date | None = None) -> Record:
    """The record held by parsed FHIR JSON (a Bundle, a list of resources from NDJSON, or one
    resource); raises FhirError for what cannot be read at all (two patients, no resources)."""
    today = today or dt.date.today()
    record = Record()
    references = References()
    read: list[tuple[str | None, str, Any]] = []
    raw = resources_of(data)
    if not raw:
        raise FhirError("The FHIR record holds no resources.")
    for url, kind, resource in validated(raw, record):
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
                status_of(getattr(resource, "verificationStatus", None)) == "entered-in-error"
            ):
                dropped["entered in error"] += 1
                continue
            readers[kind](resource, source_of(kind, resource, url), reading)
    reading.finish()
    for why, count in sorted(dropped.items()):
        record.warnings.append(DROPPED[why](count))
    return record


def _patient(patient: Any, record: Record, today: dt.date) -> None:
    gender = str(patient.gender or "unknown")
    record.sex = gender if gender in ("female", "male", "other") else "unknown"
    birth = birth_day(patient.birthDate)
    died = getattr(patient, "deceasedDateTime", None)
    at = today
    if died is not None or getattr(patient, "deceasedBoolean", None):
        record.deceased = True
        if died is not None:
            at = died.date() if isinstance(died, dt.datetime) else (birth_day(died) or today)
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
    age = age_at(birth, at)
    if 0 <= age <= 120:
        record.age_years = age
    else:
        record.warnings.append("The birth date gives an age outside 0-120 years: not used.")


@dataclass
class _Reading:
    """The state of one pass over a record's resources."""

    record: Record
    references: References
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

    def days_since(self, when: str) -> int | None:
        """Days from an ISO date (or dateTime) to today; None for a partial or unreadable one."""
        try:
            return (self.today - dt.date.fromisoformat(when[:10])).days
        except ValueError:
            return None

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
            age_days = self.days_since(when)
            # an undatable status is taken as old: it says nothing about today
            if age_days is not None and age_days <= PREGNANCY_CURRENT_DAYS:
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
            age_days = self.days_since(creatinine.date)
            if age_days is not None and age_days > 365:
                record.warnings.append(
                    f"The latest serum creatinine is from {creatinine.date}, over a year ago: "
                    "renal function may have changed."
                )


def _by_date(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda fact: fact.sort_key, reverse=True)


def _condition(resource: Any, source: str, reading: _Reading) -> None:
    verification = status_of(resource.verificationStatus)
    if verification == "refuted":
        reading.dropped["refuted"] += 1
        return
    name = text_of(resource.code)
    if not name:
        return
    clinical = status_of(resource.clinicalStatus)
    code, system = coding_of(resource.code, (SNOMED,))
    date, key = when_of(
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
    name = text_of(concept)
    if not name:
        return
    code, system = coding_of(concept, (RXNORM,))
    date, key = when_of(
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
    if status_of(resource.verificationStatus) == "refuted":
        reading.dropped["refuted"] += 1
        return
    if status_of(resource.clinicalStatus) in ("inactive", "resolved"):
        reading.dropped["inactive allergy"] += 1
        return
    name = text_of(resource.code)
    codes = set(codes_of(resource.code))
    if not name or codes & NO_KNOWN_ALLERGY or NO_KNOWN_ALLERGY_TEXT.match(name):
        return
    code, system = coding_of(resource.code, (SNOMED, RXNORM))
    date, key = when_of(getattr(resource, "onsetDateTime", None), resource.recordedDate)
    reading.keep_latest(
        reading.allergies, code or name.lower(), Fact(name, source, code, system, date, None, key)
    )


def _observation(resource: Any, source: str, reading: _Reading) -> None:
    if resource.status in NO_RESULT:
        return
    date, key = when_of(
        resource.effectiveDateTime,
        resource.effectivePeriod,
        resource.effectiveInstant,
        resource.issued,
    )
    codes = codes_of(resource.code, LOINC)
    if set(codes) & PREGNANCY_CODES:
        answer = (text_of(resource.valueCodeableConcept) or "").lower()
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
    codes = codes_of(concept, LOINC)
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
    name = text_of(concept) or loinc
    if not name:
        return
    lab = LabValue(name, loinc, value, unit, source, date, key, False)
    reading.keep_latest(reading.labs, loinc or name.lower(), lab)


def _report(resource: Any, source: str, reading: _Reading) -> None:
    if resource.status in NO_RESULT or not resource.conclusion:
        return
    date, key = when_of(resource.effectiveDateTime, resource.effectivePeriod, resource.issued)
    conclusion = " ".join(str(resource.conclusion).split())[:200]
    reading.record.findings.append(Fact(conclusion, source, None, None, date, None, key))
