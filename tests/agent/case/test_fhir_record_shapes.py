"""FHIR records of every shape and size (NDJSON, two patients, invalid resources, 20 MB, long
notes and forms), and what a record hands the safety checks (referenced and coded medications)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.case import CaseError, read_case
from tests.agent.case.fhir_records import (
    RXNORM,
    SNOMED,
    TODAY,
    bundle,
    coded,
    condition,
    creatinine,
    expected_by_fhir_rules,
    patient,
    read,
    synthea_files,
)
from tests.conftest import SHARED

# --------------------------------------------------------------------------- shapes and sizes


def test_ndjson_of_one_patient_is_a_record() -> None:
    lines = [patient(), condition("Hypertension", "38341003", "active"), creatinine(1.0, "2025")]
    reading = read_case("\n".join(json.dumps(r) for r in lines), today=TODAY)
    assert reading.case.diagnoses == ["Hypertension"] and reading.age_years == 75


def test_two_patients_in_one_record_are_refused() -> None:
    other = patient() | {"id": "p2"}
    with pytest.raises(CaseError, match="2 patients"):
        read_case(json.dumps(bundle(patient(), other)), today=TODAY)


def test_an_invalid_resource_is_skipped_and_said_without_its_value() -> None:
    bad = creatinine(1.0, "2025-01-01")
    bad["valueQuantity"]["value"] = "QUILLFEATHER"  # a decimal that is not one
    reading = read(bad, condition("Hypertension", "38341003", "active"))
    assert reading.case.diagnoses == ["Hypertension"]
    assert reading.case.lab("creatinine") is None
    warning = next(w for w in reading.warnings if "skipped" in w)
    assert "1 Observation" in warning and "QUILLFEATHER" not in warning


def test_a_twenty_megabyte_record_is_read() -> None:
    path = synthea_files()[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    observations = [e for e in data["entry"] if e["resource"]["resourceType"] == "Observation"]
    padding: list[dict[str, Any]] = []
    size = len(json.dumps(data))
    while size < 20_000_000:  # older copies of every observation, as a long history has
        for index, entry in enumerate(observations):
            copy = json.loads(json.dumps(entry))
            copy["resource"]["id"] = f"copy-{len(padding)}-{index}"
            copy["resource"]["effectiveDateTime"] = "1990-01-01T00:00:00+00:00"
            padding.append(copy)
            size += len(json.dumps(copy)) + 2
    data["entry"] += padding
    text = json.dumps(data)
    assert len(text) > 20_000_000
    reading = read_case(text, today=TODAY)
    expected = expected_by_fhir_rules(json.loads(path.read_text(encoding="utf-8")))
    lab = reading.case.lab("creatinine")
    assert lab is not None and lab.value == pytest.approx(expected["creatinine"][0])


def test_a_long_free_text_note_is_read_not_refused() -> None:
    note = (
        "72-year-old woman with atrial fibrillation. Meds: warfarin 5 mg daily. "
        "Creatinine 1.3 mg/dL.\n"
        + "Nursing note: comfortable overnight, observations stable.\n"
        * 40_000
    )
    assert len(note) > 2_000_000
    case = read_case(note).case
    assert case.age_years == 72 and case.diagnoses == ["atrial fibrillation"]
    assert case.medications == ["warfarin 5 mg daily"]
    assert len(case.summary()) < 3001  # what reaches a model is bounded


def test_a_large_form_is_read_with_a_warning_not_refused() -> None:
    form = {"age_years": 60, "medications": [f"drug{i}" for i in range(400)]}
    reading = read_case(json.dumps(form))
    assert len(reading.case.medications) == 200
    assert any("200 of 400 medications" in w for w in reading.warnings)
    assert "and 170 more" in reading.case.summary()


# --------------------------------------------------------------------------- the safety checks


def onc_table() -> Any:
    from tools.interactions import InteractionTable

    folder = SHARED / "data" / "ddi-onc-high-priority"
    if not folder.exists():
        pytest.skip("the ONC interaction list is not present")
    return InteractionTable.load(folder)


def test_a_referenced_medication_joins_the_interaction_check() -> None:
    from tools.interactions import check_interactions

    table = onc_table()
    cipro = {
        "resourceType": "Medication",
        "id": "cipro",
        "code": coded(RXNORM, "197511", "Ciprofloxacin 500 MG Oral Tablet"),
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000003"},
        "subject": {"reference": "Patient/p1"},
    }
    tizanidine = {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "medicationCodeableConcept": coded(RXNORM, "313399", "tiZANidine 4 MG Oral Tablet"),
        "subject": {"reference": "Patient/p1"},
    }
    case = read(request, tizanidine, cipro, full_urls=True).case
    report = check_interactions(case.medications, case.allergies, table=table)
    assert [(f.drug_a, f.drug_b) for f in report.interactions] == [("ciprofloxacin", "tizanidine")]


def test_a_coded_allergy_and_a_brand_pack_reach_the_check_by_their_codes() -> None:
    from tools.interactions import check_interactions

    table = onc_table()
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "code": coded(SNOMED, "91936005", "Allergy to penicillin"),
        "patient": {"reference": "Patient/p1"},
    }
    amoxicillin = {
        "resourceType": "MedicationRequest",
        "id": "mr2",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": coded(RXNORM, "308182", "Amoxicillin 250 MG Oral Capsule"),
        "subject": {"reference": "Patient/p1"},
    }
    case = read(allergy, amoxicillin).case
    report = check_interactions(case.medications, case.allergies, table=table)
    assert [f.medication for f in report.allergy_conflicts] == ["amoxicillin"]
    assert report.allergy_conflicts[0].kind == "same-class"
