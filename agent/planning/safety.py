"""A plan's safety checks: the calculators the case allows, the interaction and allergy check
(the case's medications with the drugs the plan recommends), duplicate therapy, what was not
checked, and reduced renal function."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.case import Case, calculator_calls
from agent.flags import FlagKind
from agent.planning.models import Calculation, PlanFlag, PlanProblem


def calculations_for(case: Case, tools: list[Any]) -> list[Calculation]:
    by_name = {tool.name: tool for tool in tools}
    results = []
    for call in calculator_calls(case):
        message = by_name[call["name"]].invoke(
            {"type": "tool_call", "id": call["name"], "name": call["name"], "args": call["args"]}
        )
        if message.status != "error":
            results.append(Calculation(calculator=call["name"], result=json.loads(message.content)))
    return results


def plan_medications(case: Case, problems: Sequence[PlanProblem], table: Any) -> list[str]:
    """The case's medications and the drugs the plan recommends (not those it says to avoid)."""
    from tools.interactions import recommended_medications

    recommended: list[str] = []
    for problem in problems:
        for option in problem.options:
            recommended += recommended_medications(f"{option.treatment} {option.rationale}", table)
    return list(dict.fromkeys([*case.medications, *recommended]))


def safety_flags(
    case: Case, problems: Sequence[PlanProblem], folder: Any, extra_dirs: Sequence[Any] = ()
) -> list[PlanFlag]:
    from tools.errors import ToolError
    from tools.interactions import InteractionKnowledge, check_interactions

    try:
        table = InteractionKnowledge.load(folder, extra_dirs)
    except ToolError as exc:
        return [
            PlanFlag(kind=FlagKind.INTERACTION, message=f"Interactions were not checked: {exc}")
        ]
    medications = plan_medications(case, problems, table)
    return report_flags(check_interactions(medications, case.allergies, table=table))


def report_flags(report: Any) -> list[PlanFlag]:
    """The flags an interaction report raises (`tools.interactions.InteractionReport`):
    interactions, allergy conflicts, duplicate therapy and what was not checked."""
    flags = [
        PlanFlag(
            kind=FlagKind.INTERACTION,
            message=item.describe(),
            drugs=[item.drug_a, item.drug_b],
        )
        for item in report.interactions
    ]
    flags += [
        PlanFlag(kind=FlagKind.ALLERGY, message=item.describe(), drugs=[item.medication])
        for item in report.allergy_conflicts
    ]
    flags += [
        PlanFlag(
            kind=FlagKind.DUPLICATE,
            message=f"{given}: the same drug as another of the listed medications; check for "
            "duplicate therapy.",
        )
        for given in report.duplicates
    ]
    if report.unrecognised:
        # what no table knows was not checked at all: said, so that no flag is not read as safe
        flags.append(
            PlanFlag(
                kind=FlagKind.NOT_CHECKED,
                message=f"Not on any interaction table consulted, so not checked: "
                f"{'; '.join(report.unrecognised)}. {report.scope}",
                drugs=list(report.unrecognised),
            )
        )
    return flags


def renal_flags(case: Case, calculations: Sequence[Calculation]) -> list[PlanFlag]:
    """A reduced renal function, measured two ways where the case allows: the check it asks for
    is each drug's own renal dosing; it does not know which drugs need a change, so it names
    none."""
    by_name = {c.calculator: c.result for c in calculations}
    egfr = by_name.get("egfr_ckd_epi_2021")
    crcl = by_name.get("creatinine_clearance_cockcroft_gault")
    values = [
        float(result[key])
        for result, key in ((egfr, "egfr_ml_min_1_73m2"), (crcl, "creatinine_clearance_ml_min"))
        if result is not None
    ]
    if not values or min(values) >= 60:
        return []
    measured = []
    if egfr is not None:
        measured.append(f"eGFR {float(egfr['egfr_ml_min_1_73m2']):g} mL/min/1.73m2 (CKD-EPI 2021)")
    if crcl is not None:
        measured.append(
            f"creatinine clearance {float(crcl['creatinine_clearance_ml_min']):g} mL/min "
            "(Cockcroft-Gault)"
        )
    creatinine = case.lab("creatinine")
    basis = (
        f" from creatinine {creatinine.value:g} {creatinine.unit}".rstrip()
        if creatinine is not None
        else ""
    )
    level = "below 30" if min(values) < 30 else "below 60"
    return [
        PlanFlag(
            kind=FlagKind.RENAL_DOSE,
            message=f"Renal function {level}: {' and '.join(measured)}{basis}. Check each "
            "drug's renal dosing (its labelling or a renal dosing reference) before it is "
            "started or continued; this flag does not say which drugs need a change.",
        )
    ]
