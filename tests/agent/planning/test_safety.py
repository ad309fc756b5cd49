"""A plan's safety checks (agent/planning/safety.py): what every shared Synthea record's
medications trigger, and only the drugs a plan recommends join the interaction check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from agent.graph import Agent
from agent.service import Service
from tests.conftest import SHARED


def test_a_plan_for_every_shared_synthea_record_flags_what_its_medications_trigger(
    agent_factory: Callable[..., Agent],
) -> None:
    from tests.agent.case.fhir_records import synthea_files
    from tools.interactions import InteractionTable, check_interactions

    agent = agent_factory()
    service = Service(agent.settings, agent.kb, None)
    table = InteractionTable.load(agent.settings.interactions_dir)  # type: ignore[arg-type]
    seen: Counter[str] = Counter()  # how many records exercised each check
    for path in synthea_files():
        reading = service.read_case(path.read_text(encoding="utf-8"))
        plan = service.plan(reading)
        case = reading.case
        assert [p.problem for p in plan.problems] == case.problems[: len(plan.problems)]
        expected = check_interactions(case.medications, case.allergies, table=table)
        flagged = {frozenset(f.drugs) for f in plan.flags if f.kind == "interaction"}
        # exactly what the table says of the record's own medications: no pair missed, none
        # invented (the extractive plan recommends no drug that could join the check)
        assert {frozenset((i.drug_a, i.drug_b)) for i in expected.interactions} == flagged
        conflicts = {d for f in plan.flags if f.kind == "allergy" for d in f.drugs}
        assert {c.medication for c in expected.allergy_conflicts} == conflicts
        not_checked = [f for f in plan.flags if f.kind == "not_checked"]
        assert bool(not_checked) == bool(expected.unrecognised), path.name
        duplicates = [f for f in plan.flags if f.kind == "duplicate"]
        assert len(duplicates) == len(expected.duplicates), path.name
        renal = [f for f in plan.flags if f.kind == "renal_dose"]
        measured = [
            value
            for c in plan.calculations
            for key, value in c.result.items()
            if key in ("egfr_ml_min_1_73m2", "creatinine_clearance_ml_min")
        ]
        assert measured and bool(renal) == (min(measured) < 60), path.name
        # a stopped medication is never in what the plan checked or shows
        current = {m.code for m in reading.medications}
        stopped = [past for past in reading.past_medications if past.code not in current]
        for past in stopped:
            assert past.name not in plan.case_summary
        seen.update(
            check
            for check, hit in (
                ("interaction", expected.interactions),
                ("allergy", expected.allergy_conflicts),
                ("not_checked", expected.unrecognised),
                ("checked", not expected.unrecognised),
                ("duplicate", expected.duplicates),
                ("renal", renal),
                ("renal_ok", not renal),
                ("stopped", stopped),
            )
            if hit
        )
    # the records exercise both sides of each check (none of the 15 triggers an interaction
    # or an allergy conflict: those are asserted absent above, and present in
    # test_planner.py and below)
    exercised = ("not_checked", "checked", "renal", "renal_ok", "duplicate", "stopped")
    assert all(seen[check] for check in exercised), dict(seen)
    # one record that does trigger: furosemide twice (Lasix and an injection) is a duplicate
    dino = next(p for p in synthea_files() if p.name.startswith("Dino_Barton"))
    plan = service.plan(service.read_case(dino.read_text(encoding="utf-8")))
    assert any("Lasix" in f.message for f in plan.flags if f.kind == "duplicate")


def test_a_plan_flags_a_medication_the_case_is_allergic_to(
    agent_factory: Callable[..., Agent],
) -> None:
    agent = agent_factory()
    service = Service(agent.settings, agent.kb, None)

    def allergy_flags(allergies: str) -> list[list[str]]:
        reading = service.read_case(
            f"58-year-old woman with hot flashes. Meds: amoxicillin 500 mg. {allergies}"
        )
        return [f.drugs for f in service.plan(reading).flags if f.kind == "allergy"]

    assert allergy_flags("Allergies: penicillin.") == [["amoxicillin"]]
    assert allergy_flags("No known allergies.") == []


def test_only_drugs_a_plan_recommends_join_the_interaction_check() -> None:
    from agent.case import parse_case
    from agent.planning import PlanOption, PlanProblem, safety_flags

    folder = SHARED / "data" / "ddi-onc-high-priority"
    if not folder.exists():
        pytest.skip("the ONC interaction list is not present")
    case = parse_case("70-year-old man with pneumonia. Meds: simvastatin 40 mg.")

    def plan_saying(treatment: str) -> list[PlanProblem]:
        chosen = PlanOption(
            treatment=treatment, rationale="r", citations=[], strength_of_evidence="not stated"
        )
        return [PlanProblem(problem="pneumonia", options=[chosen], contraindications=[],
                            monitoring=[])]  # fmt: skip

    def pairs(treatment: str) -> list[set[str]]:
        flags = safety_flags(case, plan_saying(treatment), folder)
        return [set(f.drugs) for f in flags if f.kind == "interaction"]

    assert pairs("Avoid clarithromycin; give azithromycin.") == []
    assert pairs("Clarithromycin is not recommended with a statin.") == []
    # the premise: recommended, the same drug is flagged with the case's simvastatin
    assert pairs("Clarithromycin 500 mg twice daily.") == [{"clarithromycin", "simvastatin"}]
