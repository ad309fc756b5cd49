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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Annotated, Final, TypeVar

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tools.errors import ToolError

CREATININE_UMOL_L_PER_MG_DL: Final = 88.4
MAX_AGE_YEARS: Final = 120
ADULT_AGE_YEARS: Final = 18
MAX_CREATININE_MG_DL: Final = 30.0
MAX_CREATININE_UMOL_L: Final = MAX_CREATININE_MG_DL * CREATININE_UMOL_L_PER_MG_DL
MAX_WEIGHT_KG: Final = 500.0
MIN_HEIGHT_CM: Final = 30.0
MAX_HEIGHT_CM: Final = 272.0

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
REF_BMI: Final = (
    "WHO. Obesity: preventing and managing the global epidemic. WHO Technical Report Series "
    "894. Geneva: World Health Organization; 2000."
)
REF_MOSTELLER: Final = (
    "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098."
)
REF_DU_BOIS: Final = (
    "Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height and "
    "weight be known. Arch Intern Med 1916;17(6):863-871."
)
REF_CHA2DS2_VASC: Final = (
    "Lip GYH, Nieuwlaat R, Pisters R, Lane DA, Crijns HJGM. Refining clinical risk "
    "stratification for predicting stroke and thromboembolism in atrial fibrillation using a "
    "novel risk factor-based approach: the Euro Heart Survey on atrial fibrillation. Chest "
    "2010;137(2):263-272; treatment thresholds: Hindricks G, et al. 2020 ESC Guidelines for "
    "the diagnosis and management of atrial fibrillation. Eur Heart J 2021;42(5):373-498."
)
REF_HAS_BLED: Final = (
    "Pisters R, Lane DA, Nieuwlaat R, de Vos CB, Crijns HJGM, Lip GYH. A novel user-friendly "
    "score (HAS-BLED) to assess 1-year risk of major bleeding in patients with atrial "
    "fibrillation: the Euro Heart Survey. Chest 2010;138(5):1093-1100."
)
REF_CURB_65: Final = (
    "Lim WS, van der Eerden MM, Laing R, et al. Defining community acquired pneumonia severity "
    "on presentation to hospital: an international derivation and validation study. Thorax "
    "2003;58(5):377-382."
)
REF_WELLS_PE: Final = (
    "Wells PS, Anderson DR, Rodger M, et al. Derivation of a simple clinical model to "
    "categorize patients probability of pulmonary embolism: increasing the models utility "
    "with the SimpliRED D-dimer. Thromb Haemost 2000;83(3):416-420."
)


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class CkdStage(StrEnum):
    G1 = "G1"
    G2 = "G2"
    G3A = "G3a"
    G3B = "G3b"
    G4 = "G4"
    G5 = "G5"


class BmiCategory(StrEnum):
    UNDERWEIGHT = "underweight"
    NORMAL_WEIGHT = "normal_weight"
    PRE_OBESITY = "pre_obesity"
    OBESITY_CLASS_I = "obesity_class_I"
    OBESITY_CLASS_II = "obesity_class_II"
    OBESITY_CLASS_III = "obesity_class_III"


class BsaFormula(StrEnum):
    MOSTELLER = "mosteller"
    DU_BOIS = "du_bois"


class Curb65RiskGroup(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    SEVERE = "severe"


class WellsThreeTier(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class WellsTwoTier(StrEnum):
    PE_UNLIKELY = "pe_unlikely"
    PE_LIKELY = "pe_likely"


# --------------------------------------------------------------------------- inputs

AgeYears = Annotated[
    int, Field(ge=0, le=MAX_AGE_YEARS, description="Age in completed years (0-120).")
]
WeightKg = Annotated[
    float, Field(gt=0, le=MAX_WEIGHT_KG, description="Actual body weight in kilograms.")
]
HeightCm = Annotated[
    float,
    Field(ge=MIN_HEIGHT_CM, le=MAX_HEIGHT_CM, description="Height in centimetres (30-272)."),
]


class CalculatorInput(BaseModel):
    # extra="forbid": an argument without its unit in the name ("creatinine", "weight") must
    # be refused, not silently dropped, or the model could believe it was used.
    # allow_inf_nan=False: NaN or infinity gets "a finite number" rather than a bound message
    # ("at most 30") that would send the caller looking for the wrong mistake.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


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
    sex: Sex

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
    sex: Sex
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


class BodySizeInput(CalculatorInput):
    weight_kg: WeightKg
    height_cm: HeightCm
    bsa_formula: BsaFormula = Field(
        default=BsaFormula.MOSTELLER, description="Body surface area formula."
    )


# Score inputs have no defaults on purpose: a criterion the caller forgot must be an error,
# not a silent "absent" that lowers the score.


class Cha2ds2VascInput(CalculatorInput):
    age_years: AgeYears
    sex: Sex
    congestive_heart_failure: bool = Field(
        description="Congestive heart failure or left ventricular dysfunction."
    )
    hypertension: bool = Field(description="Hypertension (treated or untreated).")
    diabetes: bool = Field(description="Diabetes mellitus.")
    stroke_tia_or_thromboembolism: bool = Field(
        description="Previous stroke, transient ischaemic attack or thromboembolism."
    )
    vascular_disease: bool = Field(
        description="Vascular disease: previous myocardial infarction, peripheral arterial "
        "disease or aortic plaque."
    )


class HasBledInput(CalculatorInput):
    age_years: AgeYears
    uncontrolled_hypertension: bool = Field(
        description="Uncontrolled hypertension, systolic blood pressure > 160 mmHg."
    )
    abnormal_renal_function: bool = Field(
        description="Dialysis, kidney transplant or serum creatinine >= 200 µmol/L."
    )
    abnormal_liver_function: bool = Field(
        description="Cirrhosis, or bilirubin > 2x upper limit with AST/ALT/ALP > 3x upper limit."
    )
    stroke: bool = Field(description="Previous stroke.")
    bleeding_history_or_predisposition: bool = Field(
        description="Previous major bleeding or a predisposition to bleeding (e.g. anaemia)."
    )
    labile_inr: bool = Field(
        description="Labile INR: unstable or high INRs, time in therapeutic range < 60%."
    )
    antiplatelet_or_nsaid: bool = Field(description="Concomitant antiplatelet drug or NSAID use.")
    alcohol_8_or_more_drinks_per_week: bool = Field(
        description="Alcohol use of 8 or more drinks per week."
    )


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


class WellsPeInput(CalculatorInput):
    clinical_signs_of_dvt: bool = Field(
        description="Clinical signs and symptoms of DVT (leg swelling, pain on palpation of "
        "the deep veins)."
    )
    pe_most_likely_diagnosis: bool = Field(
        description="PE is the most likely diagnosis (an alternative is less likely than PE)."
    )
    heart_rate_bpm: int = Field(ge=0, le=300, description="Heart rate, beats per minute.")
    immobilisation_3_days_or_surgery_past_4_weeks: bool = Field(
        description="Immobilisation for 3 or more days, or surgery in the previous 4 weeks."
    )
    previous_dvt_or_pe: bool = Field(description="Previously diagnosed DVT or PE.")
    haemoptysis: bool = Field(description="Haemoptysis.")
    malignancy: bool = Field(
        description="Active cancer: treated within the last 6 months or palliative."
    )


# --------------------------------------------------------------------------- results


class ScoreItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    present: bool
    points: int | float


class CalculatorResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    calculator: str
    interpretation: str
    reference: str


class EgfrResult(CalculatorResult):
    egfr_ml_min_1_73m2: float
    ckd_stage: CkdStage
    creatinine_mg_dl_used: float
    inputs: EgfrInput


class CreatinineClearanceResult(CalculatorResult):
    creatinine_clearance_ml_min: float
    creatinine_mg_dl_used: float
    inputs: CockcroftGaultInput


class BodySizeResult(CalculatorResult):
    bmi_kg_m2: float
    bmi_category: BmiCategory
    bsa_m2: float
    bsa_formula: BsaFormula
    inputs: BodySizeInput


class Cha2ds2VascResult(CalculatorResult):
    score: int
    items: tuple[ScoreItem, ...]
    inputs: Cha2ds2VascInput


class HasBledResult(CalculatorResult):
    score: int
    high_risk: bool
    items: tuple[ScoreItem, ...]
    inputs: HasBledInput


class Curb65Result(CalculatorResult):
    score: int
    risk_group: Curb65RiskGroup
    suggested_setting: str
    items: tuple[ScoreItem, ...]
    inputs: Curb65Input


class WellsPeResult(CalculatorResult):
    score: float
    three_tier: WellsThreeTier
    two_tier: WellsTwoTier
    items: tuple[ScoreItem, ...]
    inputs: WellsPeInput


# --------------------------------------------------------------------------- calculators

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


_BMI_CATEGORIES: Final = (
    (40.0, BmiCategory.OBESITY_CLASS_III, "obesity class III"),
    (35.0, BmiCategory.OBESITY_CLASS_II, "obesity class II"),
    (30.0, BmiCategory.OBESITY_CLASS_I, "obesity class I"),
    (25.0, BmiCategory.PRE_OBESITY, "pre-obesity (overweight)"),
    (18.5, BmiCategory.NORMAL_WEIGHT, "normal weight"),
    (0.0, BmiCategory.UNDERWEIGHT, "underweight"),
)


def bmi_category(bmi_kg_m2: float) -> BmiCategory:
    """WHO adult BMI category; each lower bound belongs to its category (25.0 is pre-obesity)."""
    return next(category for bound, category, _ in _BMI_CATEGORIES if bmi_kg_m2 >= bound)


def body_size(inputs: BodySizeInput) -> BodySizeResult:
    """BMI with its WHO category, and body surface area by Mosteller or Du Bois."""
    height_m = inputs.height_cm / 100.0
    bmi = round(inputs.weight_kg / height_m**2, 1)
    category = bmi_category(bmi)
    label = next(text for _, c, text in _BMI_CATEGORIES if c is category)
    if inputs.bsa_formula is BsaFormula.MOSTELLER:
        bsa = math.sqrt(inputs.height_cm * inputs.weight_kg / 3600.0)
        formula_name, bsa_reference = "Mosteller", REF_MOSTELLER
    else:
        bsa = 0.007184 * inputs.weight_kg**0.425 * inputs.height_cm**0.725
        formula_name, bsa_reference = "Du Bois", REF_DU_BOIS
    bsa = round(bsa, 2)
    return BodySizeResult(
        calculator="Body mass index and body surface area",
        bmi_kg_m2=bmi,
        bmi_category=category,
        bsa_m2=bsa,
        bsa_formula=inputs.bsa_formula,
        interpretation=(
            f"BMI {bmi:.1f} kg/m²: {label} by the WHO adult categories (for children use "
            f"BMI-for-age charts instead); body surface area {bsa:.2f} m² ({formula_name})."
        ),
        reference=f"BMI: {REF_BMI} BSA: {bsa_reference}",
        inputs=inputs,
    )


def _items(criteria: list[tuple[str, bool, int | float]]) -> tuple[ScoreItem, ...]:
    return tuple(
        ScoreItem(criterion=name, present=present, points=points if present else 0)
        for name, present, points in criteria
    )


def cha2ds2_vasc(inputs: Cha2ds2VascInput) -> Cha2ds2VascResult:
    """CHA2DS2-VASc stroke risk score in atrial fibrillation (0-9)."""
    age = inputs.age_years
    female = inputs.sex is Sex.FEMALE
    items = _items(
        [
            ("Congestive heart failure", inputs.congestive_heart_failure, 1),
            ("Hypertension", inputs.hypertension, 1),
            ("Age 75 years or older", age >= 75, 2),
            ("Diabetes mellitus", inputs.diabetes, 1),
            ("Stroke, TIA or thromboembolism", inputs.stroke_tia_or_thromboembolism, 2),
            ("Vascular disease", inputs.vascular_disease, 1),
            ("Age 65-74 years", 65 <= age < 75, 1),
            ("Female sex", female, 1),
        ]
    )
    score = int(sum(item.points for item in items))
    # Female sex is a risk modifier, not a risk factor: the ESC 2020 thresholds sit one point
    # higher for women, so compare the score without it.
    risk_factors = score - (1 if female else 0)
    if risk_factors == 0:
        advice = "low stroke risk; no antithrombotic therapy is indicated for stroke prevention"
    elif risk_factors == 1:
        advice = "oral anticoagulation should be considered, weighing bleeding risk"
    else:
        advice = "oral anticoagulation is recommended unless contraindicated"
    return Cha2ds2VascResult(
        calculator="CHA2DS2-VASc",
        score=score,
        items=items,
        interpretation=(
            f"CHA2DS2-VASc {score} ({inputs.sex}): {advice} (ESC 2020 thresholds, 0/1/2 or more "
            "for men and 1/2/3 or more for women); the 2024 ESC guideline scores CHA2DS2-VA, "
            "which leaves out sex."
        ),
        reference=REF_CHA2DS2_VASC,
        inputs=inputs,
    )


def has_bled(inputs: HasBledInput) -> HasBledResult:
    """HAS-BLED 1-year major bleeding risk score in anticoagulated atrial fibrillation (0-9)."""
    items = _items(
        [
            ("Uncontrolled hypertension (SBP > 160 mmHg)", inputs.uncontrolled_hypertension, 1),
            ("Abnormal renal function", inputs.abnormal_renal_function, 1),
            ("Abnormal liver function", inputs.abnormal_liver_function, 1),
            ("Stroke", inputs.stroke, 1),
            ("Bleeding history or predisposition", inputs.bleeding_history_or_predisposition, 1),
            ("Labile INR", inputs.labile_inr, 1),
            ("Elderly (age > 65 years)", inputs.age_years > 65, 1),
            ("Drugs: antiplatelet or NSAID", inputs.antiplatelet_or_nsaid, 1),
            ("Alcohol: 8 or more drinks per week", inputs.alcohol_8_or_more_drinks_per_week, 1),
        ]
    )
    score = int(sum(item.points for item in items))
    high = score >= 3
    if high:
        advice = (
            "high bleeding risk: correct the modifiable risk factors and review the patient more "
            "often; a high score alone is not a reason to withhold anticoagulation"
        )
    else:
        advice = "bleeding risk is not high (score below 3); still address modifiable factors"
    return HasBledResult(
        calculator="HAS-BLED",
        score=score,
        high_risk=high,
        items=items,
        interpretation=f"HAS-BLED {score}: {advice}.",
        reference=REF_HAS_BLED,
        inputs=inputs,
    )


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
    items = _items(
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


def wells_pe(inputs: WellsPeInput) -> WellsPeResult:
    """Wells score for pulmonary embolism, with its three-tier and two-tier readings."""
    items = _items(
        [
            ("Clinical signs and symptoms of DVT", inputs.clinical_signs_of_dvt, 3),
            ("PE is the most likely diagnosis", inputs.pe_most_likely_diagnosis, 3),
            ("Heart rate > 100 bpm", inputs.heart_rate_bpm > 100, 1.5),
            (
                "Immobilisation 3 days or more, or surgery in the previous 4 weeks",
                inputs.immobilisation_3_days_or_surgery_past_4_weeks,
                1.5,
            ),
            ("Previous DVT or PE", inputs.previous_dvt_or_pe, 1.5),
            ("Haemoptysis", inputs.haemoptysis, 1),
            ("Malignancy", inputs.malignancy, 1),
        ]
    )
    # Halves are exact in binary floating point, so the 4 / 4.5 cut-offs compare exactly.
    score = float(sum(item.points for item in items))
    if score < 2:
        three = WellsThreeTier.LOW
    elif score <= 6:
        three = WellsThreeTier.MODERATE
    else:
        three = WellsThreeTier.HIGH
    two = WellsTwoTier.PE_UNLIKELY if score <= 4 else WellsTwoTier.PE_LIKELY
    if two is WellsTwoTier.PE_UNLIKELY:
        next_step = "PE unlikely (4 or less): a normal D-dimer makes PE very unlikely"
    else:
        next_step = "PE likely (more than 4): proceed to CT pulmonary angiography"
    return WellsPeResult(
        calculator="Wells score for pulmonary embolism",
        score=score,
        three_tier=three,
        two_tier=two,
        items=items,
        interpretation=(
            f"Wells {score:g}: {three} clinical probability on the three-tier model (below 2 "
            f"low, 2-6 moderate, above 6 high); {next_step}."
        ),
        reference=REF_WELLS_PE,
        inputs=inputs,
    )


# --------------------------------------------------------------------------- errors

_ModelT = TypeVar("_ModelT", bound=CalculatorInput)

_BOUND_WORDS: Final = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _shown(value: object) -> str:
    # The value may come from a model's tool call: keep it short in the message.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validation_sentence(exc: ValidationError, calculator: str, model: type[CalculatorInput]) -> str:
    """One sentence naming every invalid argument, for the user and for the model to retry.

    Only the calculator's own argument names are named: a name it does not take is the
    caller's own text (a clinician's typing, perhaps a patient's name) and is never echoed;
    the sentence lists the names it takes instead."""
    arguments = list(model.model_fields)
    parts: list[str] = []
    unknown = 0
    for error in exc.errors(include_url=False):
        kind = error["type"]
        loc = error["loc"]
        if kind == "extra_forbidden" or (loc and loc[0] not in arguments):
            unknown += 1
            continue
        field = ".".join(str(part) for part in loc)
        ctx = error.get("ctx") or {}
        if kind == "missing":
            part = f"{field} is required"
        elif kind in _BOUND_WORDS:
            key, words = _BOUND_WORDS[kind]
            part = f"{field} must be {words} {ctx[key]:g} (got {_shown(error['input'])})"
        elif kind == "value_error" and "error" in ctx:
            message = str(ctx["error"])
            part = f"{field}: {message}" if field and field not in message else message
        else:
            message = error["msg"][:1].lower() + error["msg"][1:]
            part = f"{field}: {message}" if field else message
        parts.append(part.rstrip("."))
    if unknown:
        given = "an argument" if unknown == 1 else f"{unknown} arguments"
        parts.append(
            f"it was given {given} it does not take (units go in the name; it takes "
            f"{', '.join(arguments)})"
        )
    return f"Cannot calculate {calculator}: {'; '.join(parts)}."


def validate_input(model: type[_ModelT], data: Mapping[str, object], calculator: str) -> _ModelT:
    """`model` built from `data`, or a `ToolError` whose message is one sentence."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ToolError(validation_sentence(exc, calculator, model)) from None


# --------------------------------------------------------------------------- LangChain tools


def _calculator_tool(
    name: str,
    label: str,
    description: str,
    model: type[_ModelT],
    calculate: Callable[[_ModelT], CalculatorResult],
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
