"""A FHIR R4 record (`agent.case.fhir_reader`) as a case reading: every fact with its resource,
code and date; the case the tools use, capped, without any of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from agent.case.model import MAX_ITEMS, MAX_LABS, Case, CaseError, Lab, one_sentence
from agent.case.reading import AllergyRead, CaseReading, LabRead, MedicationRead, ProblemRead
from tools.sex import Sex


def reading_from_fhir(data: Any, today: dt.date | None = None) -> CaseReading:
    """A FHIR R4 record read by FHIR's rules (`agent.case.fhir_reader`)."""
    from agent.case.fhir_reader import FhirError, read_fhir

    try:
        record = read_fhir(data, today)
    except FhirError as exc:
        raise CaseError(str(exc)) from None
    warnings = list(record.warnings)

    def capped(items: list[Any], what: str, most: int = MAX_ITEMS) -> list[Any]:
        if len(items) > most:
            warnings.append(f"Only the latest {most} of {len(items):,} {what} are used.")
        return items[:most]

    problems = capped(record.problems, "active problems")
    past = capped(record.past_problems, "past problems")
    medications = capped(record.medications, "current medications")
    allergies = capped(record.allergies, "allergies")
    labs = capped(record.labs, "labs", MAX_LABS)
    try:
        case = Case(
            age_years=record.age_years,
            sex=Sex(record.sex),
            weight_kg=_measurable("weight_kg", record.weight_kg),
            height_cm=_measurable("height_cm", record.height_cm),
            pregnant=record.pregnant,
            diagnoses=list(dict.fromkeys(p.name for p in problems)),
            past_problems=list(dict.fromkeys(p.name for p in past)),
            medications=list(dict.fromkeys(_medication_name(m) for m in medications)),
            allergies=list(dict.fromkeys(_medication_name(a) for a in allergies)),
            labs=[
                Lab(name=lab.name[:120], value=lab.value, unit=lab.unit[:40], loinc=lab.loinc)
                for lab in labs
            ],
            imaging_findings=[f.name for f in record.findings[:MAX_ITEMS]],
        )
    except ValidationError as exc:
        raise one_sentence(exc, "FHIR case") from None
    for what, value, kept in (
        ("body weight", record.weight_kg, case.weight_kg),
        ("body height", record.height_cm, case.height_cm),
    ):
        if value is not None and kept is None:
            warnings.append(
                f"The {what} ({value:g}) is outside what a person can measure: not used."
            )
    return CaseReading(
        kind="fhir",
        age_years=case.age_years,
        sex=case.sex,
        deceased=record.deceased,
        weight_kg=case.weight_kg,
        height_cm=case.height_cm,
        pregnant=case.pregnant,
        problems=[_problem(p) for p in record.problems],
        past_problems=[_problem(p) for p in record.past_problems],
        medications=[_medication_read(m) for m in record.medications],
        past_medications=[_medication_read(m) for m in record.past_medications],
        allergies=[
            AllergyRead(name=a.name, code=a.code, system=a.system, source=a.source)
            for a in record.allergies
        ],
        labs=[
            LabRead(
                name=lab.name,
                loinc=lab.loinc,
                value=lab.value,
                unit=lab.unit,
                date=lab.date,
                source=lab.source,
            )
            for lab in record.labs
        ],
        imaging_findings=case.imaging_findings,
        warnings=warnings,
        case=case,
    )


def _measurable(field: str, value: float | None) -> float | None:
    """`value` when the case's own bounds for `field` admit it, else None (a warning says so)."""
    if value is None:
        return None
    try:
        Case.model_validate({field: value})
    except ValidationError:
        return None
    return value


def _problem(fact: Any) -> ProblemRead:
    return ProblemRead(
        name=fact.name,
        code=fact.code,
        system=fact.system,
        onset=fact.date,
        status=fact.status,
        source=fact.source,
    )


def _medication_read(fact: Any) -> MedicationRead:
    return MedicationRead(
        name=fact.name,
        code=fact.code,
        system=fact.system,
        status=fact.status,
        date=fact.date,
        source=fact.source,
    )


def _medication_name(fact: Any) -> str:
    """The name the tools check: the record's own, with the drug its RxNorm or SNOMED CT code
    names first when the code is one the interaction check knows (brand packs, misspellings)."""
    from tools.interactions import generic_for_code

    coded = generic_for_code(fact.system, fact.code) if fact.code and fact.system else None
    return f"{coded} ({fact.name})" if coded else str(fact.name)
