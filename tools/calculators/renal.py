"""Renal function: eGFR by CKD-EPI 2021 (race-free) with the KDIGO G-stage, and creatinine
clearance by Cockcroft-Gault."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import Field, field_validator, model_validator

from tools.calculators.models import (
    ADULT_AGE_YEARS,
    AgeYears,
    CalculatorInput,
    CalculatorResult,
    FemaleOrMale,
    WeightKg,
)
from tools.sex import Sex

CREATININE_UMOL_L_PER_MG_DL: Final = 88.4
MAX_CREATININE_MG_DL: Final = 30.0
MAX_CREATININE_UMOL_L: Final = MAX_CREATININE_MG_DL * CREATININE_UMOL_L_PER_MG_DL

REF_CKD_EPI_2021: Final = (
    "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations to "
    "estimate GFR without race. N Engl J Med 2021;385(19):1737-1749; stages: KDIGO 2012 "
    "Clinical Practice Guideline for the Evaluation and Management of CKD. Kidney Int Suppl "
    "2013;3(1):1-150."
)
REF_COCKCROFT_GAULT: Final = (
    "Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. "
    "Nephron 1976;16(1):31-41."
)


class CkdStage(StrEnum):
    G1 = "G1"
    G2 = "G2"
    G3A = "G3a"
    G3B = "G3b"
    G4 = "G4"
    G5 = "G5"


class _CreatinineInput(CalculatorInput):
    """Serum creatinine in exactly one unit; both units would invite a silent disagreement."""

    creatinine_mg_dl: float | None = Field(
        default=None,
        gt=0,
        le=MAX_CREATININE_MG_DL,
        description="Serum creatinine in mg/dL (give this or creatinine_umol_l).",
    )
    creatinine_umol_l: float | None = Field(
        default=None,
        gt=0,
        le=MAX_CREATININE_UMOL_L,
        description="Serum creatinine in µmol/L (give this or creatinine_mg_dl).",
    )

    @model_validator(mode="after")
    def _one_creatinine_unit(self) -> _CreatinineInput:
        given = (self.creatinine_mg_dl is not None) + (self.creatinine_umol_l is not None)
        if given != 1:
            raise ValueError(
                "give serum creatinine exactly once, as creatinine_mg_dl or creatinine_umol_l"
            )
        return self

    def creatinine_in_mg_dl(self) -> float:
        if self.creatinine_mg_dl is not None:
            return self.creatinine_mg_dl
        assert self.creatinine_umol_l is not None  # guaranteed by _one_creatinine_unit
        return self.creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL


class EgfrInput(_CreatinineInput):
    age_years: AgeYears
    sex: FemaleOrMale

    @field_validator("age_years")
    @classmethod
    def _adults_only(cls, age: int) -> int:
        # CKD-EPI was developed and validated in adults; children need a paediatric equation.
        if age < ADULT_AGE_YEARS:
            raise ValueError(
                "the CKD-EPI 2021 equation is for adults (18 years or older); for children "
                "use a paediatric equation such as the bedside Schwartz equation"
            )
        return age


class CockcroftGaultInput(_CreatinineInput):
    age_years: AgeYears
    sex: FemaleOrMale
    weight_kg: WeightKg

    @field_validator("age_years")
    @classmethod
    def _adults_only(cls, age: int) -> int:
        # Derived in adult men aged 18-92; (140 - age) has no meaning for a child's muscle mass.
        if age < ADULT_AGE_YEARS:
            raise ValueError(
                "the Cockcroft-Gault equation is for adults (18 years or older), not children"
            )
        return age


class EgfrResult(CalculatorResult):
    egfr_ml_min_1_73m2: float
    ckd_stage: CkdStage
    creatinine_mg_dl_used: float
    inputs: EgfrInput


class CreatinineClearanceResult(CalculatorResult):
    creatinine_clearance_ml_min: float
    creatinine_mg_dl_used: float
    inputs: CockcroftGaultInput


_CKD_STAGES: Final = (
    (90.0, CkdStage.G1, "normal or high"),
    (60.0, CkdStage.G2, "mildly decreased"),
    (45.0, CkdStage.G3A, "mildly to moderately decreased"),
    (30.0, CkdStage.G3B, "moderately to severely decreased"),
    (15.0, CkdStage.G4, "severely decreased"),
    (0.0, CkdStage.G5, "kidney failure"),
)


def ckd_stage(egfr_ml_min_1_73m2: float) -> CkdStage:
    """KDIGO 2012 GFR category; each lower bound belongs to its category (60.0 is G2)."""
    return next(stage for bound, stage, _ in _CKD_STAGES if egfr_ml_min_1_73m2 >= bound)


def egfr_ckd_epi_2021(inputs: EgfrInput) -> EgfrResult:
    """eGFR by the race-free CKD-EPI 2021 creatinine equation, with its KDIGO G-stage."""
    scr = inputs.creatinine_in_mg_dl()
    female = inputs.sex is Sex.FEMALE
    kappa = 0.7 if female else 0.9
    alpha = -0.241 if female else -0.302
    ratio = scr / kappa
    egfr = (
        142.0
        * min(ratio, 1.0) ** alpha
        * max(ratio, 1.0) ** -1.200
        * 0.9938**inputs.age_years
        * (1.012 if female else 1.0)
    )
    # Stage the value the user sees, so "60.0, G3a" can never be shown.
    shown = round(egfr, 1)
    stage = ckd_stage(shown)
    description = next(text for _, s, text in _CKD_STAGES if s is stage)
    return EgfrResult(
        calculator="eGFR, CKD-EPI 2021 creatinine equation (race-free)",
        egfr_ml_min_1_73m2=shown,
        ckd_stage=stage,
        creatinine_mg_dl_used=round(scr, 3),
        interpretation=(
            f"eGFR {shown:.1f} mL/min/1.73m²: KDIGO GFR category {stage} ({description}). "
            "CKD needs abnormalities present for more than 3 months, and G1-G2 count only with "
            "markers of kidney damage such as albuminuria; the estimate assumes a stable "
            "creatinine and is unreliable in acute kidney injury."
        ),
        reference=REF_CKD_EPI_2021,
        inputs=inputs,
    )


def creatinine_clearance_cockcroft_gault(inputs: CockcroftGaultInput) -> CreatinineClearanceResult:
    """Creatinine clearance (mL/min, not normalised to BSA) by Cockcroft-Gault."""
    scr = inputs.creatinine_in_mg_dl()
    clearance = (140 - inputs.age_years) * inputs.weight_kg / (72.0 * scr)
    if inputs.sex is Sex.FEMALE:
        clearance *= 0.85
    shown = round(clearance, 1)
    return CreatinineClearanceResult(
        calculator="Creatinine clearance, Cockcroft-Gault",
        creatinine_clearance_ml_min=shown,
        creatinine_mg_dl_used=round(scr, 3),
        interpretation=(
            f"Estimated creatinine clearance {shown:.1f} mL/min with actual body weight, as in "
            "the original equation; use it with the drug's renal dosing table. It overestimates "
            "clearance in obesity and is unreliable when creatinine is not stable."
        ),
        reference=REF_COCKCROFT_GAULT,
        inputs=inputs,
    )
