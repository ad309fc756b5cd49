"""The calculators as LangChain tools, one per calculator, each returning its result as JSON."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import ValidationError

from tools.calculators.atrial_fibrillation import (
    Cha2ds2VascInput,
    HasBledInput,
    cha2ds2_vasc,
    has_bled,
)
from tools.calculators.body_measures import BodySizeInput, body_size
from tools.calculators.models import CalculatorResult, InputT
from tools.calculators.pneumonia import Curb65Input, curb_65
from tools.calculators.pulmonary_embolism import WellsPeInput, wells_pe
from tools.calculators.renal import (
    CockcroftGaultInput,
    EgfrInput,
    creatinine_clearance_cockcroft_gault,
    egfr_ckd_epi_2021,
)
from tools.calculators.validation import validate_input, validation_sentence
from tools.errors import ToolError


def _calculator_tool(
    name: str,
    label: str,
    description: str,
    model: type[InputT],
    calculate: Callable[[InputT], CalculatorResult],
) -> BaseTool:
    def run(**arguments: object) -> str:
        try:
            return calculate(validate_input(model, arguments, label)).model_dump_json()
        except ToolError as exc:
            raise ToolException(str(exc)) from None

    def on_invalid_arguments(exc: object) -> str:
        # LangChain validates against args_schema before `run`; give the same sentence.
        if isinstance(exc, ValidationError):
            return validation_sentence(exc, label, model)
        return f"Cannot calculate {label}: the arguments are not valid."

    return StructuredTool.from_function(
        run,
        name=name,
        description=description,
        args_schema=model,
        handle_tool_error=True,
        handle_validation_error=on_invalid_arguments,
    )


def calculator_tools() -> list[BaseTool]:
    """One LangChain tool per calculator; each returns its result as JSON."""
    return [
        _calculator_tool(
            "egfr_ckd_epi_2021",
            "eGFR (CKD-EPI 2021)",
            "Estimate GFR in an adult with the race-free CKD-EPI 2021 creatinine equation and "
            "give the KDIGO G-stage. Give creatinine in mg/dL or µmol/L.",
            EgfrInput,
            egfr_ckd_epi_2021,
        ),
        _calculator_tool(
            "creatinine_clearance_cockcroft_gault",
            "creatinine clearance (Cockcroft-Gault)",
            "Estimate creatinine clearance in mL/min with the Cockcroft-Gault equation, for "
            "renal drug dosing in adults.",
            CockcroftGaultInput,
            creatinine_clearance_cockcroft_gault,
        ),
        _calculator_tool(
            "body_size",
            "BMI and body surface area",
            "Body mass index with its WHO category, and body surface area (Mosteller by "
            "default, or Du Bois), from weight in kg and height in cm.",
            BodySizeInput,
            body_size,
        ),
        _calculator_tool(
            "cha2ds2_vasc",
            "CHA2DS2-VASc",
            "CHA2DS2-VASc stroke risk score in atrial fibrillation, with the anticoagulation "
            "threshold it implies.",
            Cha2ds2VascInput,
            cha2ds2_vasc,
        ),
        _calculator_tool(
            "has_bled",
            "HAS-BLED",
            "HAS-BLED one-year major bleeding risk score for anticoagulated atrial fibrillation.",
            HasBledInput,
            has_bled,
        ),
        _calculator_tool(
            "curb_65",
            "CURB-65",
            "CURB-65 severity score for community-acquired pneumonia, with the suggested "
            "treatment setting. Give urea in mmol/L or BUN in mg/dL.",
            Curb65Input,
            curb_65,
        ),
        _calculator_tool(
            "wells_pe",
            "Wells score for PE",
            "Wells score for pulmonary embolism, with the three-tier and two-tier "
            "(PE likely/unlikely) interpretations.",
            WellsPeInput,
            wells_pe,
        ),
    ]
