"""Cases from free text, a JSON form and a FHIR R4 Bundle; identity never read; bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from agent.case import Case, CaseError, Sex, parse_case, read_case

FHIR_CANARIES = ("QUILLFEATHER", "MRN-5531907", "42 Lark Street", "1951-06-17")


def fhir_bundle() -> dict[str, Any]:
    """A realistic R4 Bundle with identity planted in every field a patient record has."""

    def coded(system: str, code: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    loinc, snomed = "http://loinc.org", "http://snomed.info/sct"
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [{"system": "urn:mrn", "value": "MRN-5531907"}],
                    "name": [{"family": "QUILLFEATHER", "given": ["Ada"]}],
                    "gender": "female",
                    "birthDate": "1951-06-17",
                    "address": [{"line": ["42 Lark Street"], "city": "Springfield"}],
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": coded(
                        "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "active",
                        "Active",
                    ),
                    "code": coded(snomed, "49436004", "Atrial fibrillation"),
                    "subject": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": coded(
                        "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "resolved",
                        "Resolved",
                    ),
                    "code": {"text": "Appendicitis"},
                    "subject": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "medicationCodeableConcept": {"text": "Warfarin 5 mg tablet"},
                    "subject": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "Medication",
                    "id": "m2",
                    "code": {"text": "Fluconazole"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "medicationReference": {"reference": "Medication/m2"},
                    "subject": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "stopped",
                    "medicationCodeableConcept": {"text": "Amiodarone"},
                    "subject": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "AllergyIntolerance",
                    "code": {"text": "Penicillin"},
                    "patient": {"reference": "Patient/p1"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": coded(loinc, "29463-7", "Body weight"),
                    "valueQuantity": {"value": 154, "unit": "lb"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": coded(loinc, "8302-2", "Body height"),
                    "valueQuantity": {"value": 1.62, "unit": "m"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": coded(loinc, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
                    "valueQuantity": {"value": 1.4, "unit": "mg/dL"},
                }
            },
        ],
    }


def test_fhir_bundle_gives_clinical_facts_and_no_identity() -> None:
    reading = read_case(json.dumps(fhir_bundle()), today=dt.date(2026, 11, 29))
    case = reading.case
    assert case.age_years == 75 and case.sex is Sex.FEMALE
    assert case.diagnoses == ["Atrial fibrillation"]  # the resolved condition is left out
    assert case.medications == ["Warfarin 5 mg tablet", "Fluconazole"]  # not the stopped one
    assert case.allergies == ["Penicillin"]
    assert case.weight_kg == pytest.approx(69.9, abs=0.1) and case.height_cm == 162.0
    creatinine = case.lab("creatinine")
    assert creatinine is not None and creatinine.value == 1.4 and creatinine.unit == "mg/dL"
    dumped = case.model_dump_json() + case.summary()
    # what is shown to the clinician names no one either (the birth date gives the age only)
    dumped += reading.model_dump_json() + reading.to_markdown()
    for canary in FHIR_CANARIES:
        assert canary not in dumped


def test_parse_case_recognises_fhir_json_form_and_text() -> None:
    assert parse_case(json.dumps(fhir_bundle())).medications[1] == "Fluconazole"
    form = parse_case('{"age_years": 50, "sex": "male", "medications": ["aspirin"]}')
    assert form == Case(age_years=50, sex=Sex.MALE, medications=["aspirin"])
    text = parse_case(
        "72-year-old woman, 68 kg, 160 cm, history of atrial fibrillation and hypertension. "
        "Meds: warfarin 5 mg daily, simvastatin 40 mg; Allergies: penicillin. "
        "Creatinine 1.3 mg/dL, INR 3.1."
    )
    assert (text.age_years, text.sex, text.weight_kg, text.height_cm) == (
        72,
        Sex.FEMALE,
        68.0,
        160.0,
    )
    assert text.diagnoses == ["atrial fibrillation", "hypertension"]
    assert text.medications == ["warfarin 5 mg daily", "simvastatin 40 mg"]
    assert text.allergies == ["penicillin"]
    assert {lab.name for lab in text.labs} >= {"creatinine", "inr"}
    assert "72-year-old female" in text.summary() and "warfarin" in text.summary()


def test_no_known_allergies_and_not_pregnant_are_read_as_such() -> None:
    case = parse_case("34 yo F, not pregnant. Allergies: NKDA. Meds: none.")
    assert case.allergies == [] and case.medications == [] and case.pregnant is False
    assert case.sex is Sex.FEMALE and case.age_years == 34


@pytest.mark.parametrize(
    "text, problems",
    [
        (
            "62-year-old woman with troublesome hot flashes. Meds: venlafaxine.",
            ["troublesome hot flashes"],
        ),
        ("70 yo man presenting with nausea and vomiting on cisplatin.", ["nausea", "vomiting"]),
        ("58-year-old woman with atrial fibrillation who takes warfarin.", ["atrial fibrillation"]),
        ("Diagnoses: CKD 3. 80-year-old man with a cough.", ["CKD 3"]),  # a field wins
        ("Follow-up visit. Patient with pain.", []),  # no age stated: the first sentence only
        (
            "Patient: Ada Q, MRN 553. 62-year-old woman with hot flashes. Meds: venlafaxine.",
            ["hot flashes"],
        ),
    ],
)
def test_the_presenting_problem_of_a_narrative_case_is_its_diagnosis(
    text: str, problems: list[str]
) -> None:
    assert parse_case(text).diagnoses == problems


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("{not json", "does not parse"),
        ('{"resourceType": "Patient"}', "must be a Bundle"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": "oops"}', "not valid R4"),
        ('{"age_years": 300}', "invalid age_years"),
        ('{"age_years": 40, "shoe_size": 9}', r"unknown field \(the 2nd\); its fields are age"),
        ("[1, 2]", None),
    ],
)
def test_bad_cases_are_one_sentence(text: str, message: str | None) -> None:
    if message is None:  # not JSON-object-looking: read as free text, which knows nothing here
        assert parse_case(text) == Case()
        return
    with pytest.raises(CaseError, match=message) as caught:
        parse_case(text)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_a_field_name_the_user_made_up_is_never_echoed() -> None:
    # A patient's name typed into the wrong field must not reach the message (or a log).
    for text in ('{"age_years": 40, "QUILLFEATHER": 1}', '{"Jane Doe, MRN-5531907": "x"}'):
        with pytest.raises(CaseError) as caught:
            parse_case(text)
        message = str(caught.value)
        assert "QUILLFEATHER" not in message and "Jane" not in message
        assert "MRN-5531907" not in message and "unknown field" in message


def test_a_50_mb_paste_is_refused_with_its_size() -> None:
    with pytest.raises(CaseError, match=r"too long \(52,428,800 characters; the limit is 33,5"):
        parse_case("x" * (50 * 1024 * 1024))
