"""The calculators a case allows: the case's sex is the calculators' own enum; a case whose sex
is other or unknown is offered no formula with sex terms, and one that is female or male gets
arguments the calculators accept."""

from __future__ import annotations

import pytest

import agent.case
import tools.calculators
from agent.case import Case, Lab, Sex, calculator_calls
from tools.calculators import calculator_tools


def case_with(sex: Sex) -> Case:
    return Case(
        age_years=70,
        sex=sex,
        weight_kg=70,
        height_cm=170,
        labs=[Lab(name="creatinine", value=1.2, unit="mg/dL")],
    )


def test_the_case_and_the_calculators_share_one_sex() -> None:
    assert agent.case.Sex is tools.calculators.Sex
    assert Case.model_validate({"sex": "other"}).sex is tools.calculators.Sex.OTHER


@pytest.mark.parametrize("sex", [Sex.OTHER, Sex.UNKNOWN])
def test_other_or_unknown_sex_gets_no_formula_with_sex_terms(sex: Sex) -> None:
    assert [call["name"] for call in calculator_calls(case_with(sex))] == ["body_size"]


@pytest.mark.parametrize("sex", [Sex.FEMALE, Sex.MALE])
def test_female_or_male_gets_the_renal_calculators_and_they_accept_the_arguments(
    sex: Sex,
) -> None:
    calls = calculator_calls(case_with(sex))
    assert [call["name"] for call in calls] == [
        "egfr_ckd_epi_2021",
        "creatinine_clearance_cockcroft_gault",
        "body_size",
    ]
    tools = {tool.name: tool for tool in calculator_tools()}
    for call in calls:
        assert call["args"].get("sex", sex.value) == sex.value
        message = tools[call["name"]].invoke(
            {"type": "tool_call", "id": "1", "name": call["name"], "args": call["args"]}
        )
        assert message.status == "success", message.content
