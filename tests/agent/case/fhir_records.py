"""FHIR R4 test records: the shared Synthea patients, the reading FHIR's rules give of each
(made here, independently of the reader), and builders for hand-made resources and Bundles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from agent.case import CaseReading, read_case
from tests.conftest import SHARED

SYNTHEA = SHARED / "data" / "fhir-synthea-sample"
TODAY = dt.date(2026, 11, 30)
LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
SERUM_CREATININE = {"2160-0", "38483-4", "14682-9", "59826-8"}


def synthea_files() -> list[Path]:
    files = sorted(SYNTHEA.glob("*.json"))
    if not files:
        pytest.skip("the shared Synthea records are not present")
    return files


# --------------------------------------------------------------------------- builders


def coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def patient(birth: str = "1951-06-17", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": birth, **extra}


def observation(
    code: str,
    display: str,
    value: float,
    unit: str,
    *,
    ucum: str | None = None,
    when: str = "2025-01-10",
    status: str = "final",
    rid: str | None = None,
) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum is not None:
        quantity |= {"system": UCUM, "code": ucum}
    return {
        "resourceType": "Observation",
        "id": rid or f"o-{code}-{when}-{value}",
        "status": status,
        "code": coded(LOINC, code, display),
        "effectiveDateTime": when,
        "valueQuantity": quantity,
    }


def creatinine(value: float, when: str, **kw: Any) -> dict[str, Any]:
    return observation(
        "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", value, "mg/dL", ucum="mg/dL",
        when=when, **kw,
    )  # fmt: skip


def condition(
    name: str, code: str, clinical: str, verification: str = "confirmed"
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"c-{code}",
        "clinicalStatus": coded(CLINICAL, clinical, clinical),
        "verificationStatus": coded(VERIFICATION, verification, verification),
        "code": coded(SNOMED, code, name),
        "subject": {"reference": "Patient/p1"},
    }


def bundle(*resources: dict[str, Any], full_urls: bool = False) -> dict[str, Any]:
    entries = []
    for index, resource in enumerate(resources):
        entry: dict[str, Any] = {"resource": resource}
        if full_urls:
            entry["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def read(*resources: dict[str, Any], **kw: Any) -> CaseReading:
    return read_case(json.dumps(bundle(patient(), *resources, **kw)), today=TODAY)


# --------------------------------------------------------------------------- the shared records


def expected_by_fhir_rules(data: dict[str, Any]) -> dict[str, Any]:
    """The test's own reading of a Synthea Bundle, from the raw JSON by the FHIR rules."""
    resources = [entry["resource"] for entry in data["entry"]]
    person = next(r for r in resources if r["resourceType"] == "Patient")
    born = dt.date.fromisoformat(person["birthDate"][:10])
    died = person.get("deceasedDateTime")
    at = dt.date.fromisoformat(died[:10]) if died else TODAY
    age = (at - born).days / 365.2425

    def code(concept: dict[str, Any]) -> str:
        return str(concept["coding"][0]["code"])

    active_meds = {
        code(r["medicationCodeableConcept"])
        for r in resources
        if r["resourceType"] == "MedicationRequest" and r["status"] == "active"
    }
    stopped_only = {
        code(r["medicationCodeableConcept"])
        for r in resources
        if r["resourceType"] == "MedicationRequest" and r["status"] == "stopped"
    } - active_meds
    statuses: dict[str, set[str]] = {}
    for r in resources:
        if r["resourceType"] == "Condition":
            statuses.setdefault(code(r["code"]), set()).add(code(r["clinicalStatus"]))
    active = {c for c, s in statuses.items() if "active" in s}
    resolved_only = {c for c, s in statuses.items() if s == {"resolved"}}
    creatinines = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and {c["code"] for c in r["code"]["coding"]} & SERUM_CREATININE
        and r.get("status") != "entered-in-error"
    ]
    latest = max(creatinines, key=lambda r: r["effectiveDateTime"])
    return {
        "age": age,
        "active_meds": active_meds,
        "stopped_only": stopped_only,
        "active": active,
        "resolved_only": resolved_only,
        "creatinine": (latest["valueQuantity"]["value"], latest["effectiveDateTime"][:10]),
    }
