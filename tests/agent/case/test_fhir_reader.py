"""FHIR R4 records read by FHIR's rules: the 15 shared Synthea patients checked against a reading
the test makes itself, and one test per rule the first reader broke (each failed before)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from agent.case import CaseError, CaseReading, calculator_calls, read_case
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
