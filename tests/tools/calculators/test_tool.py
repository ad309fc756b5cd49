"""The calculators' LangChain tools: their names and schemas, results as JSON, and the same
one-sentence errors for invalid arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

from tests.tools.calculators.sentences import assert_one_sentence, invalid
from tests.tools.calculators.test_atrial_fibrillation import NO_BLEEDING_RISK
from tools.calculators import (
    BodySizeInput,
    BodySizeResult,
    Cha2ds2VascResult,
    CkdStage,
    CreatinineClearanceResult,
    Curb65Result,
    EgfrResult,
    HasBledResult,
    WellsPeResult,
    calculator_tools,
)


def tools_by_name() -> dict[str, BaseTool]:
    return {tool.name: tool for tool in calculator_tools()}


def call(name: str, args: dict[str, Any]) -> ToolMessage:
    tool = tools_by_name()[name]
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "1"
    return message


def test_calculator_tools_are_the_seven_calculators() -> None:
    assert sorted(tools_by_name()) == [
        "body_size",
        "cha2ds2_vasc",
        "creatinine_clearance_cockcroft_gault",
        "curb_65",
        "egfr_ckd_epi_2021",
        "has_bled",
        "wells_pe",
    ]
    schema = tools_by_name()["egfr_ckd_epi_2021"].tool_call_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    properties = schema.model_json_schema()["properties"]
    assert {"age_years", "sex", "creatinine_mg_dl", "creatinine_umol_l"} <= set(properties)


def test_egfr_tool_returns_the_result_as_json() -> None:
    message = call(
        "egfr_ckd_epi_2021", {"age_years": 50, "sex": "female", "creatinine_umol_l": 88.4}
    )
    assert message.status == "success"
    result = EgfrResult.model_validate_json(str(message.content))
    assert result.egfr_ml_min_1_73m2 == pytest.approx(68.6, abs=0.05)
    assert result.ckd_stage is CkdStage.G2
    payload = json.loads(str(message.content))
    assert payload["inputs"] == {
        "age_years": 50,
        "sex": "female",
        "creatinine_mg_dl": None,
        "creatinine_umol_l": 88.4,
    }
    assert payload["reference"].startswith("Inker LA")


@pytest.mark.parametrize(
    ("name", "args", "result_type", "field", "expected"),
    [
        (
            "creatinine_clearance_cockcroft_gault",
            {"age_years": 60, "sex": "male", "weight_kg": 72, "creatinine_mg_dl": 1.0},
            CreatinineClearanceResult,
            "creatinine_clearance_ml_min",
            80.0,
        ),
        (
            "body_size",
            {"weight_kg": 80, "height_cm": 180},
            BodySizeResult,
            "bsa_m2",
            2.0,
        ),
        (
            "cha2ds2_vasc",
            {
                "age_years": 72,
                "sex": "female",
                "congestive_heart_failure": False,
                "hypertension": True,
                "diabetes": True,
                "stroke_tia_or_thromboembolism": False,
                "vascular_disease": False,
            },
            Cha2ds2VascResult,
            "score",
            4,
        ),
        (
            "has_bled",
            {"age_years": 70} | NO_BLEEDING_RISK | {"labile_inr": True},
            HasBledResult,
            "score",
            2,
        ),
        (
            "curb_65",
            {
                "confusion": True,
                "bun_mg_dl": 25,
                "respiratory_rate_per_min": 22,
                "systolic_bp_mmhg": 110,
                "diastolic_bp_mmhg": 70,
                "age_years": 80,
            },
            Curb65Result,
            "score",
            3,
        ),
        (
            "wells_pe",
            {
                "clinical_signs_of_dvt": False,
                "pe_most_likely_diagnosis": True,
                "heart_rate_bpm": 110,
                "immobilisation_3_days_or_surgery_past_4_weeks": False,
                "previous_dvt_or_pe": False,
                "haemoptysis": False,
                "malignancy": False,
            },
            WellsPeResult,
            "score",
            4.5,
        ),
    ],
)
def test_each_tool_returns_its_result_json(
    name: str, args: dict[str, Any], result_type: type[Any], field: str, expected: float
) -> None:
    message = call(name, args)
    assert message.status == "success"
    result = result_type.model_validate_json(str(message.content))
    assert getattr(result, field) == pytest.approx(expected)
    assert result.reference and result.interpretation


@pytest.mark.parametrize(
    ("name", "args", "mentions"),
    [
        (
            "egfr_ckd_epi_2021",
            {"age_years": 12, "sex": "male", "creatinine_mg_dl": 0.6},
            "for adults",
        ),
        (
            "egfr_ckd_epi_2021",
            {"age_years": 50, "sex": "male", "creatinine_mg_dl": -1},
            "creatinine_mg_dl must be greater than 0",
        ),
        ("body_size", {"weight_kg": 70, "height_cm": 300}, "height_cm must be at most 272"),
        ("body_size", {"weight": 70, "height_cm": 170}, "it takes weight_kg, height_cm"),
        ("wells_pe", {"heart_rate_bpm": 90}, "clinical_signs_of_dvt is required"),
    ],
)
def test_invalid_tool_arguments_return_the_error_sentence(
    name: str, args: dict[str, Any], mentions: str
) -> None:
    message = call(name, args)
    assert message.status == "error"
    content = str(message.content)
    assert_one_sentence(content)
    assert content.startswith("Cannot calculate") and mentions in content


def test_argument_names_it_does_not_take_are_never_echoed() -> None:
    # A name typed into the wrong field may be a patient's: the sentence counts such names
    # and lists the ones the calculator takes, and never repeats them.
    args = {"weight_kg": 70, "Jane Doe 1957": 1, "mrn_0042": 2}
    message = invalid(BodySizeInput, **args)
    assert "Jane" not in message and "mrn_0042" not in message
    assert "given 2 arguments it does not take" in message
    assert "it takes weight_kg, height_cm, bsa_formula" in message
    assert "height_cm is required" in message
    content = str(call("body_size", args).content)
    assert "Jane" not in content and "mrn_0042" not in content
    assert "given 2 arguments it does not take" in content


def test_tool_function_raises_tool_exception_with_the_same_sentence() -> None:
    tool = tools_by_name()["egfr_ckd_epi_2021"]
    assert isinstance(tool, StructuredTool) and tool.func is not None
    with pytest.raises(ToolException) as caught:
        tool.func(age_years=10, sex="female", creatinine_mg_dl=0.5)
    assert_one_sentence(str(caught.value))
    assert "for adults" in str(caught.value)
    message = call("egfr_ckd_epi_2021", {"age_years": 10, "sex": "female", "creatinine_mg_dl": 0.5})
    assert str(message.content) == str(caught.value)
