"""Deterministic clinical calculators, as pure functions and as LangChain tools for the agent.

A language model must never do clinical arithmetic itself: it rounds, mixes up units and
misremembers coefficients. These calculators take typed, range-checked inputs whose field names
carry their units (`creatinine_mg_dl`, `weight_kg`), compute the published formula or score
exactly, and return a typed result holding the value, its interpretation, the inputs echoed back
and the source publication, so the answer the clinician reads can be checked against the paper.

Calculators: eGFR (CKD-EPI 2021, race-free) with the KDIGO G-stage, creatinine clearance
(Cockcroft-Gault), BMI with the WHO category and BSA (Mosteller or Du Bois), CHA2DS2-VASc,
HAS-BLED, CURB-65 and the Wells score for pulmonary embolism.

Inputs are frozen pydantic models: an impossible value (negative age, creatinine of 0) fails
validation, and `validate_input` / the tools turn that into one sentence a user can act on
(`ToolError`, or the error content of a `ToolMessage`).

One module per concept: `models` (the input and result bases, bounded quantities, score items),
`renal` (eGFR, Cockcroft-Gault), `body_measures` (BMI, BSA), `atrial_fibrillation`
(CHA2DS2-VASc, HAS-BLED), `pneumonia` (CURB-65), `pulmonary_embolism` (Wells PE), `validation`
(the one-sentence input errors) and `tool` (the LangChain tools); every public name is
re-exported here.
"""

from __future__ import annotations

from tools.calculators.atrial_fibrillation import (
    REF_CHA2DS2_VASC,
    REF_HAS_BLED,
    Cha2ds2VascInput,
    Cha2ds2VascResult,
    HasBledInput,
    HasBledResult,
    cha2ds2_vasc,
    has_bled,
)
from tools.calculators.body_measures import (
    REF_BMI,
    REF_DU_BOIS,
    REF_MOSTELLER,
    BmiCategory,
    BodySizeInput,
    BodySizeResult,
    BsaFormula,
    bmi_category,
    body_size,
)
from tools.calculators.models import (
    ADULT_AGE_YEARS,
    MAX_AGE_YEARS,
    MAX_HEIGHT_CM,
    MAX_WEIGHT_KG,
    MIN_HEIGHT_CM,
    AgeYears,
    CalculatorInput,
    CalculatorResult,
    FemaleOrMale,
    HeightCm,
    ScoreItem,
    WeightKg,
)
from tools.calculators.pneumonia import (
    REF_CURB_65,
    Curb65Input,
    Curb65Result,
    Curb65RiskGroup,
    curb_65,
)
from tools.calculators.pulmonary_embolism import (
    REF_WELLS_PE,
    WellsPeInput,
    WellsPeResult,
    WellsThreeTier,
    WellsTwoTier,
    wells_pe,
)
from tools.calculators.renal import (
    CREATININE_UMOL_L_PER_MG_DL,
    MAX_CREATININE_MG_DL,
    MAX_CREATININE_UMOL_L,
    REF_CKD_EPI_2021,
    REF_COCKCROFT_GAULT,
    CkdStage,
    CockcroftGaultInput,
    CreatinineClearanceResult,
    EgfrInput,
    EgfrResult,
    ckd_stage,
    creatinine_clearance_cockcroft_gault,
    egfr_ckd_epi_2021,
)
from tools.calculators.tool import (
    calculator_tools,
)
from tools.calculators.validation import (
    validate_input,
    validation_sentence,
)
from tools.sex import Sex

__all__ = [
    "ADULT_AGE_YEARS",
    "CREATININE_UMOL_L_PER_MG_DL",
    "MAX_AGE_YEARS",
    "MAX_CREATININE_MG_DL",
    "MAX_CREATININE_UMOL_L",
    "MAX_HEIGHT_CM",
    "MAX_WEIGHT_KG",
    "MIN_HEIGHT_CM",
    "REF_BMI",
    "REF_CHA2DS2_VASC",
    "REF_CKD_EPI_2021",
    "REF_COCKCROFT_GAULT",
    "REF_CURB_65",
    "REF_DU_BOIS",
    "REF_HAS_BLED",
    "REF_MOSTELLER",
    "REF_WELLS_PE",
    "AgeYears",
    "BmiCategory",
    "BodySizeInput",
    "BodySizeResult",
    "BsaFormula",
    "CalculatorInput",
    "CalculatorResult",
    "Cha2ds2VascInput",
    "Cha2ds2VascResult",
    "CkdStage",
    "CockcroftGaultInput",
    "CreatinineClearanceResult",
    "Curb65Input",
    "Curb65Result",
    "Curb65RiskGroup",
    "EgfrInput",
    "EgfrResult",
    "FemaleOrMale",
    "HasBledInput",
    "HasBledResult",
    "HeightCm",
    "ScoreItem",
    "Sex",
    "WeightKg",
    "WellsPeInput",
    "WellsPeResult",
    "WellsThreeTier",
    "WellsTwoTier",
    "bmi_category",
    "body_size",
    "calculator_tools",
    "cha2ds2_vasc",
    "ckd_stage",
    "creatinine_clearance_cockcroft_gault",
    "curb_65",
    "egfr_ckd_epi_2021",
    "has_bled",
    "validate_input",
    "validation_sentence",
    "wells_pe",
]
