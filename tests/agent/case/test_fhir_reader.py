"""FHIR R4 records read by FHIR's rules: the 15 shared Synthea patients checked against a reading
the test makes itself (tests/agent/case/fhir_records.py), and one test per rule the first
reader broke (each failed before): units, statuses, dates and codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.case import calculator_calls, read_case
from tests.agent.case.fhir_records import (
    RXNORM,
    SERUM_CREATININE,
    SNOMED,
    TODAY,
    bundle,
    coded,
    condition,
    creatinine,
    expected_by_fhir_rules,
    observation,
    patient,
    read,
    synthea_files,
)


def test_every_shared_synthea_record_is_read_by_the_fhir_rules() -> None:
    for path in synthea_files():
        text = path.read_text(encoding="utf-8")
        assert len(text) > 100_000  # each is larger than the old limit refused
        data = json.loads(text)
        expected = expected_by_fhir_rules(data)
        reading = read_case(text, today=TODAY)
        assert reading.kind == "fhir"
        assert reading.age_years is not None
        assert abs(reading.age_years - expected["age"]) <= 1, path.name
        assert reading.sex.value in ("female", "male")
        listed = {m.code for m in reading.medications}
        assert listed == expected["active_meds"], path.name
        assert not listed & expected["stopped_only"]
        assert {m.code for m in reading.past_medications} == expected["stopped_only"]
        assert all(m.status == "active" for m in reading.medications)
        problems = {p.code for p in reading.problems}
        assert problems == expected["active"], path.name
        past = {p.code for p in reading.past_problems}
        assert past == expected["resolved_only"] and not past & problems
        lab = next(lab for lab in reading.labs if lab.name == "creatinine")
        assert (lab.value, lab.date) == pytest.approx(expected["creatinine"]), path.name
        assert lab.loinc in SERUM_CREATININE and lab.source.startswith("Observation/")
        # the case the tools use holds the same facts, without dates or resource ids
        case = reading.case
        assert len(case.medications) == len(reading.medications)
        assert case.lab("creatinine") is not None
        assert any(call["name"] == "egfr_ckd_epi_2021" for call in calculator_calls(case))
        dumped = case.model_dump_json() + case.summary()
        assert lab.date is not None and lab.date not in dumped and lab.source not in dumped


def test_the_json_a_hospital_engineer_reads_has_every_fact_with_its_source() -> None:
    path = synthea_files()[0]
    data = read_case(path.read_text(encoding="utf-8"), today=TODAY).as_json()
    assert {"age_years", "sex", "problems", "past_problems", "medications", "past_medications",
            "allergies", "labs", "warnings"} <= set(data)  # fmt: skip
    assert "case" not in data
    # the premise: the record has each kind of fact, so that every loop below checks one
    assert data["problems"] and data["medications"] and data["labs"]
    for problem in data["problems"]:
        assert {"name", "code", "onset", "source"} <= set(problem)
    for medication in data["medications"]:
        assert {"name", "code", "status", "source"} <= set(medication)
    for lab in data["labs"]:
        assert {"name", "loinc", "value", "unit", "date", "source"} <= set(lab)
    identity = json.loads(path.read_text(encoding="utf-8"))["entry"][0]["resource"]
    shown = json.dumps(data)
    for name in identity["name"]:
        assert name["family"] not in shown
    assert identity["birthDate"] not in shown


# --------------------------------------------------------------------------- units


def test_units_are_read_by_their_ucum_code_before_the_display_unit() -> None:
    # FHIR's own observation example: 185 lbs, UCUM [lb_av]
    weight = observation("29463-7", "Body Weight", 185, "lbs", ucum="[lb_av]")
    height = observation("8302-2", "Body height", 5.75, "ft", ucum="[ft_i]")
    reading = read(weight, height, creatinine(1.4, "2025-01-10"))
    assert reading.weight_kg == pytest.approx(83.9, abs=0.05)
    assert reading.height_cm == pytest.approx(175.3, abs=0.05)
    calls = {call["name"]: call["args"] for call in calculator_calls(reading.case)}
    assert calls["body_size"]["weight_kg"] == pytest.approx(83.9, abs=0.05)
    # the code wins over a display unit that says otherwise
    mislabelled = observation("29463-7", "Body Weight", 185, "kg", ucum="[lb_av]")
    assert read(mislabelled).weight_kg == pytest.approx(83.9, abs=0.05)


def test_a_weight_in_grams_and_a_unit_that_does_not_convert() -> None:
    grams = observation("29463-7", "Body Weight", 70500, "g", ucum="g")
    assert read(grams).weight_kg == 70.5
    odd = observation("29463-7", "Body Weight", 11, "stone-ish", when="2025-02-01")
    reading = read(grams, odd)  # the later value's unit is unknown: the earlier one stands
    assert reading.weight_kg == 70.5
    assert any("body weight" in w and "unit" in w for w in reading.warnings)


def test_a_creatinine_in_umol_per_litre_is_kept_in_its_own_unit() -> None:
    umol = observation(
        "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", 212, "µmol/L", ucum="umol/L"
    )
    lab = read(umol).case.lab("creatinine")
    assert lab is not None and (lab.value, lab.unit) == (212, "umol/L")
    egfr = next(c for c in calculator_calls(read(umol).case) if c["name"] == "egfr_ckd_epi_2021")
    assert egfr["args"]["creatinine_umol_l"] == 212


# --------------------------------------------------------------------------- statuses


def test_an_entered_in_error_creatinine_is_never_used() -> None:
    wrong = creatinine(9.9, "2025-06-01", status="entered-in-error")
    reading = read(creatinine(1.1, "2025-01-10"), wrong)
    lab = reading.case.lab("creatinine")
    assert lab is not None and lab.value == 1.1
    assert any("entered-in-error" in w for w in reading.warnings)


def test_refuted_and_resolved_conditions_are_not_active_problems() -> None:
    reading = read(
        condition("Atrial fibrillation", "49436004", "active"),
        condition("Pulmonary embolism", "59282003", "active", "refuted"),
        condition("Appendicitis", "74400008", "resolved"),
    )
    assert [p.name for p in reading.problems] == ["Atrial fibrillation"]
    assert [p.name for p in reading.past_problems] == ["Appendicitis"]
    assert reading.case.diagnoses == ["Atrial fibrillation"]
    assert "Pulmonary embolism" not in reading.case.summary()


def test_medications_not_taken_or_entered_in_error_are_not_listed() -> None:
    def statement(name: str, status: str) -> dict[str, Any]:
        return {
            "resourceType": "MedicationStatement",
            "id": f"ms-{name}",
            "status": status,
            "medicationCodeableConcept": {"text": name},
            "subject": {"reference": "Patient/p1"},
        }

    reading = read(
        statement("warfarin", "active"),
        statement("clarithromycin", "not-taken"),
        statement("amiodarone", "entered-in-error"),
        statement("digoxin", "completed"),
    )
    assert reading.case.medications == ["warfarin"]
    assert [m.name for m in reading.past_medications] == ["digoxin"]


def test_refuted_and_no_known_allergies_are_not_allergies() -> None:
    def allergy(name: str, code: str, verification: str = "confirmed") -> dict[str, Any]:
        return {
            "resourceType": "AllergyIntolerance",
            "id": f"a-{code}",
            "verificationStatus": coded(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                verification,
                verification,
            ),
            "code": coded(SNOMED, code, name),
            "patient": {"reference": "Patient/p1"},
        }

    reading = read(
        allergy("Allergy to penicillin", "91936005", "refuted"),
        allergy("No known allergy", "716186003"),
        allergy("Allergy to peanuts", "91935009"),
    )
    assert reading.case.allergies == ["Allergy to peanuts"]


# --------------------------------------------------------------------------- dates and codes


def test_the_latest_creatinine_by_date_is_used_whatever_the_order() -> None:
    reading = read(creatinine(0.9, "2019-03-01"), creatinine(2.4, "2025-05-02"))
    lab = next(lab for lab in reading.labs if lab.name == "creatinine")
    assert (lab.value, lab.date) == (2.4, "2025-05-02")
    egfr = next(c for c in calculator_calls(reading.case) if c["name"] == "egfr_ckd_epi_2021")
    assert egfr["args"]["creatinine_mg_dl"] == 2.4


def test_egfr_and_urine_creatinine_are_never_taken_for_serum_creatinine() -> None:
    egfr = observation(
        "98979-8", "eGFR CKD-EPI 2021", 29, "mL/min/{1.73_m2}", ucum="mL/min/{1.73_m2}",
        when="2025-05-02",
    )  # fmt: skip
    urine = observation(
        "2161-8", "Creatinine [Mass/volume] in Urine", 120, "mg/dL", ucum="mg/dL", when="2025-06-01"
    )
    reading = read(egfr, urine, creatinine(2.4, "2025-05-02"))
    serum = reading.case.lab("creatinine")
    assert serum is not None and serum.value == 2.4
    assert reading.case.lab("egfr") is not None  # kept apart, shown
    names = {lab.loinc: lab.name for lab in reading.labs}
    assert names["2161-8"] != "creatinine"
    only_urine = read(urine)
    assert only_urine.case.lab("creatinine") is None
    assert not any(c["name"] == "egfr_ckd_epi_2021" for c in calculator_calls(only_urine.case))


@pytest.mark.parametrize("style", ["urn:uuid", "relative", "contained"])
def test_a_medication_reference_is_resolved_in_every_style(style: str) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med1",
        "code": coded(RXNORM, "1234", "Ciprofloxacin 500 MG Oral Tablet"),
    }
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    resources: list[dict[str, Any]]
    if style == "contained":
        request |= {"contained": [medication], "medicationReference": {"reference": "#med1"}}
        resources = [request]
    elif style == "relative":
        request["medicationReference"] = {"reference": "Medication/med1"}
        resources = [request, medication]
    else:  # Synthea's style: entries named by fullUrl; the second entry is the Medication
        request["medicationReference"] = {
            "reference": "urn:uuid:00000000-0000-4000-8000-000000000002"
        }
        resources = [request, medication]
    reading = read(*resources, full_urls=True)
    assert [m.name for m in reading.medications] == ["Ciprofloxacin 500 MG Oral Tablet"]
    assert reading.medications[0].code == "1234"


def test_an_unresolvable_medication_reference_is_said_not_dropped_silently() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "urn:uuid:nowhere"},
        "subject": {"reference": "Patient/p1"},
    }
    reading = read(request)
    assert reading.medications == []
    assert any("could not be resolved" in w for w in reading.warnings)


@pytest.mark.parametrize(
    "birth, age", [("1958", 67), ("1958-07", 68), ("1958-12", 67), ("1958-07-03", 68)]
)
def test_a_partial_birth_date_gives_the_age_certainly_reached(birth: str, age: int) -> None:
    reading = read_case(json.dumps(bundle(patient(birth))), today=TODAY)
    assert reading.age_years == age
    if len(birth) < 10:
        assert any("partial" in w for w in reading.warnings)


def test_age_is_given_at_death() -> None:
    reading = read_case(
        json.dumps(bundle(patient("1941-08-11", deceasedDateTime="2021-03-01T15:24:23+00:00"))),
        today=TODAY,
    )
    assert reading.age_years == 79 and reading.deceased
