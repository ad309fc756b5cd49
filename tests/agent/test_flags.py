"""One flag vocabulary for answers and plans: every kind has a severity, safety conflicts
come first, and the JSON both send carries the kind's value and its severity."""

from __future__ import annotations

import json

from agent.flags import Flag, FlagKind, Severity
from agent.grounding import AnswerMode
from agent.planning import Plan, PlanFlag


def test_every_kind_has_a_severity_and_safety_conflicts_rank_first() -> None:
    ranked = sorted(FlagKind, key=lambda kind: kind.rank)
    assert {kind.severity for kind in FlagKind} <= set(Severity)
    assert ranked[:2] == [FlagKind.ALLERGY, FlagKind.INTERACTION]
    assert all(kind.severity is Severity.STOP for kind in ranked[:2])
    assert FlagKind.NOT_COVERED.rank < FlagKind.ENGINE.rank


def test_answers_and_plans_name_the_same_event_alike() -> None:
    answer = Flag(FlagKind.FALLBACK, "The model failed; the answer quotes the passages.")
    plan_flag = PlanFlag(kind=FlagKind.FALLBACK, message="An option was quoted instead.")
    from_plan = json.loads(plan_flag.model_dump_json())
    assert answer.as_json()["kind"] == from_plan["kind"] == "extractive_fallback"
    assert answer.as_json()["severity"] == from_plan["severity"] == "note"


def test_a_plan_reads_back_from_its_json_with_typed_kinds_and_mode() -> None:
    plan = Plan(
        case_summary="58-year-old woman.",
        mode=AnswerMode.EXTRACTIVE,
        problems=[],
        follow_up=[],
        open_questions=[],
        flags=[
            PlanFlag(kind=FlagKind.ALLERGY, message="penicillin allergy", drugs=["amoxicillin"])
        ],
        calculations=[],
    )
    data = json.loads(plan.model_dump_json())
    assert data["mode"] == "extractive" and data["flags"][0]["severity"] == "stop"
    again = Plan.model_validate(data)
    assert again.mode is AnswerMode.EXTRACTIVE and again.flags[0].kind is FlagKind.ALLERGY


def test_an_allergy_conflict_is_worded_once_for_chat_and_plans() -> None:
    from agent.toolbox import interaction_flags
    from tools.interactions import AllergyFlag, InteractionReport

    conflict = AllergyFlag(
        medication="amoxicillin",
        medication_as_given="amoxicillin 500 mg capsule",
        allergy="Penicillin",
        kind="same-class",
        reason="amoxicillin is one of the penicillins",
    )
    report = InteractionReport(allergy_conflicts=(conflict,), source="a test table", license="CC0")
    (flag,) = interaction_flags(report.model_dump_json())
    assert flag.kind is FlagKind.ALLERGY and flag.message == conflict.describe()
