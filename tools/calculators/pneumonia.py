"""CURB-65: severity of community-acquired pneumonia and the treatment setting it suggests."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import Field, model_validator

from tools.calculators.models import (
    AgeYears,
    CalculatorInput,
    CalculatorResult,
    ScoreItem,
    score_items,
)

REF_CURB_65: Final = (
    "Lim WS, van der Eerden MM, Laing R, et al. Defining community acquired pneumonia severity "
    "on presentation to hospital: an international derivation and validation study. Thorax "
    "2003;58(5):377-382."
)


class Curb65RiskGroup(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    SEVERE = "severe"


class Curb65Input(CalculatorInput):
    confusion: bool = Field(description="New mental confusion (disorientation).")
    urea_mmol_l: float | None = Field(
        default=None, ge=0, le=150, description="Serum urea in mmol/L (or give bun_mg_dl)."
    )
    bun_mg_dl: float | None = Field(
        default=None,
        ge=0,
        le=420,
        description="Blood urea nitrogen in mg/dL (or give urea_mmol_l).",
    )
    respiratory_rate_per_min: int = Field(ge=0, le=100, description="Breaths per minute.")
    systolic_bp_mmhg: int = Field(ge=0, le=300, description="Systolic blood pressure, mmHg.")
    diastolic_bp_mmhg: int = Field(ge=0, le=250, description="Diastolic blood pressure, mmHg.")
    age_years: AgeYears

    @model_validator(mode="after")
    def _consistent(self) -> Curb65Input:
        if (self.urea_mmol_l is None) == (self.bun_mg_dl is None):
            raise ValueError("give urea exactly once, as urea_mmol_l or bun_mg_dl")
        if self.diastolic_bp_mmhg > self.systolic_bp_mmhg:
            raise ValueError(
                "diastolic_bp_mmhg cannot be higher than systolic_bp_mmhg "
                f"({self.diastolic_bp_mmhg} > {self.systolic_bp_mmhg})"
            )
        return self


class Curb65Result(CalculatorResult):
    score: int
    risk_group: Curb65RiskGroup
    suggested_setting: str
    items: tuple[ScoreItem, ...]
    inputs: Curb65Input


def curb_65(inputs: Curb65Input) -> Curb65Result:
    """CURB-65 severity score for community-acquired pneumonia (0-5)."""
    if inputs.urea_mmol_l is not None:
        raised_urea = inputs.urea_mmol_l > 7.0
        urea_label = "Urea > 7 mmol/L"
    else:
        assert inputs.bun_mg_dl is not None  # guaranteed by Curb65Input._consistent
        raised_urea = inputs.bun_mg_dl > 19.0
        urea_label = "BUN > 19 mg/dL"
    low_bp = inputs.systolic_bp_mmhg < 90 or inputs.diastolic_bp_mmhg <= 60
    items = score_items(
        [
            ("Confusion", inputs.confusion, 1),
            (urea_label, raised_urea, 1),
            ("Respiratory rate 30/min or more", inputs.respiratory_rate_per_min >= 30, 1),
            ("SBP < 90 mmHg or DBP 60 mmHg or less", low_bp, 1),
            ("Age 65 years or older", inputs.age_years >= 65, 1),
        ]
    )
    score = int(sum(item.points for item in items))
    if score <= 1:
        group = Curb65RiskGroup.LOW
        setting = "low risk: consider home treatment"
    elif score == 2:
        group = Curb65RiskGroup.MODERATE
        setting = (
            "moderate risk: consider short-stay inpatient or hospital-supervised outpatient "
            "treatment"
        )
    else:
        group = Curb65RiskGroup.SEVERE
        setting = "severe pneumonia: manage in hospital"
        if score >= 4:
            setting += " and assess for intensive care admission"
    return Curb65Result(
        calculator="CURB-65",
        score=score,
        risk_group=group,
        suggested_setting=setting,
        items=items,
        interpretation=f"CURB-65 {score}: {setting} (Lim et al. 2003); clinical judgement "
        "and social circumstances also decide the setting.",
        reference=REF_CURB_65,
        inputs=inputs,
    )
