"""Clinical calculators against hand calculations from the published formulas, their cut-offs,
their one-sentence input errors, and their LangChain tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ValidationError

from tools.calculators import (
    BmiCategory,
    BodySizeInput,
    BodySizeResult,
    BsaFormula,
    CalculatorInput,
    Cha2ds2VascInput,
    Cha2ds2VascResult,
    CkdStage,
    CockcroftGaultInput,
    CreatinineClearanceResult,
    Curb65Input,
    Curb65Result,
    Curb65RiskGroup,
    EgfrInput,
    EgfrResult,
    HasBledInput,
    HasBledResult,
    Sex,
    WellsPeInput,
    WellsPeResult,
    WellsThreeTier,
    WellsTwoTier,
    bmi_category,
    body_size,
    calculator_tools,
    cha2ds2_vasc,
    ckd_stage,
    creatinine_clearance_cockcroft_gault,
    curb_65,
    egfr_ckd_epi_2021,
    has_bled,
    validate_input,
    wells_pe,
)
from tools.errors import ToolError


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".") and message[0].isupper(), message
    assert ". " not in message and "\n" not in message, message


def invalid(model: type[CalculatorInput], **data: object) -> str:
    """The ToolError sentence for `data`, checked to be one sentence."""
    with pytest.raises(ToolError) as caught:
        validate_input(model, data, "the calculator")
    message = str(caught.value)
    assert_one_sentence(message)
    return message


# --------------------------------------------------------------------------- eGFR CKD-EPI 2021


def egfr(age: int, sex: Sex, **creatinine: float) -> EgfrResult:
    return egfr_ckd_epi_2021(EgfrInput(age_years=age, sex=sex, **creatinine))


def test_egfr_50_year_old_woman_creatinine_1_mg_dl() -> None:
    # Inker et al. NEJM 2021, female: kappa 0.7, alpha -0.241. Scr/kappa = 1/0.7 = 1.428571, so
    # min(..,1)^alpha = 1 and max(..,1)^-1.2 = exp(-1.2 * ln 1.428571) = exp(-0.428010) = 0.651805;
    # 0.9938^50 = exp(50 * ln 0.9938) = exp(-0.310965) = 0.732740;
    # 142 * 0.651805 * 0.732740 * 1.012 = 68.633 -> 68.6 mL/min/1.73m², KDIGO G2 (60-89).
    result = egfr(50, Sex.FEMALE, creatinine_mg_dl=1.0)
    assert result.egfr_ml_min_1_73m2 == pytest.approx(68.6, abs=0.05)
    assert result.ckd_stage is CkdStage.G2
    assert "G2" in result.interpretation and "mL/min/1.73m²" in result.interpretation
    assert "N Engl J Med 2021" in result.reference and "Inker" in result.reference
    assert result.inputs.creatinine_mg_dl == 1.0 and result.inputs.age_years == 50


def test_egfr_50_year_old_man_creatinine_1_mg_dl() -> None:
    # Male: kappa 0.9, alpha -0.302, no sex factor. Scr/kappa = 1.111111;
    # 1.111111^-1.2 = exp(-1.2 * 0.105361) = 0.881234; 0.9938^50 = 0.732740;
    # 142 * 0.881234 * 0.732740 = 91.69 -> 91.7, G1 (>= 90).
    result = egfr(50, Sex.MALE, creatinine_mg_dl=1.0)
    assert result.egfr_ml_min_1_73m2 == pytest.approx(91.7, abs=0.05)
    assert result.ckd_stage is CkdStage.G1


def test_egfr_low_creatinine_uses_the_alpha_branch() -> None:
    # Female 40, Scr 0.5: Scr/kappa = 0.714286 < 1, so the alpha term applies:
    # 0.714286^-0.241 = exp(0.241 * 0.336472) = 1.084468; max term = 1;
    # 0.9938^40 = exp(-0.248772) = 0.779758; 142 * 1.084468 * 0.779758 * 1.012 = 121.52 -> 121.5.
    result = egfr(40, Sex.FEMALE, creatinine_mg_dl=0.5)
    assert result.egfr_ml_min_1_73m2 == pytest.approx(121.5, abs=0.05)
    assert result.ckd_stage is CkdStage.G1


def test_egfr_severe_reduction_in_older_man() -> None:
    # Male 70, Scr 2.0: 2.0/0.9 = 2.222222; 2.222222^-1.2 = exp(-1.2 * 0.798508) = 0.383579;
    # 0.9938^70 = exp(-0.435351) = 0.647038; 142 * 0.383579 * 0.647038 = 35.24 -> 35.2, G3b.
    result = egfr(70, Sex.MALE, creatinine_mg_dl=2.0)
    assert result.egfr_ml_min_1_73m2 == pytest.approx(35.2, abs=0.05)
    assert result.ckd_stage is CkdStage.G3B


@pytest.mark.parametrize("umol_l", [88.4, 150.0, 442.0])
def test_egfr_micromol_per_litre_equals_mg_dl(umol_l: float) -> None:
    # 1 mg/dL of creatinine = 88.4 µmol/L.
    from_umol = egfr(62, Sex.FEMALE, creatinine_umol_l=umol_l)
    from_mg = egfr(62, Sex.FEMALE, creatinine_mg_dl=umol_l / 88.4)
    assert from_umol.egfr_ml_min_1_73m2 == from_mg.egfr_ml_min_1_73m2
    assert from_umol.ckd_stage is from_mg.ckd_stage
    assert from_umol.creatinine_mg_dl_used == pytest.approx(umol_l / 88.4, abs=0.001)
    assert from_umol.inputs.creatinine_umol_l == umol_l
    assert from_umol.inputs.creatinine_mg_dl is None


def test_egfr_88_4_micromol_is_the_1_mg_dl_worked_example() -> None:
    assert egfr(50, Sex.FEMALE, creatinine_umol_l=88.4).egfr_ml_min_1_73m2 == pytest.approx(
        68.6, abs=0.05
    )


@pytest.mark.parametrize(
    ("value", "stage"),
    [
        (120.0, CkdStage.G1),
        (90.0, CkdStage.G1),
        (89.9, CkdStage.G2),
        (60.0, CkdStage.G2),
        (59.9, CkdStage.G3A),
        (45.0, CkdStage.G3A),
        (44.9, CkdStage.G3B),
        (30.0, CkdStage.G3B),
        (29.9, CkdStage.G4),
        (15.0, CkdStage.G4),
        (14.9, CkdStage.G5),
        (3.0, CkdStage.G5),
    ],
)
def test_ckd_stage_boundaries(value: float, stage: CkdStage) -> None:
    # KDIGO 2012: G1 >= 90, G2 60-89, G3a 45-59, G3b 30-44, G4 15-29, G5 < 15.
    assert ckd_stage(value) is stage


def test_egfr_near_stage_boundary_is_staged_as_shown() -> None:
    # Male 20, Scr 1.35: 1.35/0.9 = 1.5; 1.5^-1.2 = 0.614739; 0.9938^20 = 0.883039;
    # 142 * 0.614739 * 0.883039 = 77.08 -> 77.1 -> G2, and the stage always matches the shown value.
    result = egfr(20, Sex.MALE, creatinine_mg_dl=1.35)
    assert result.egfr_ml_min_1_73m2 == pytest.approx(77.1, abs=0.05)
    assert result.ckd_stage is ckd_stage(result.egfr_ml_min_1_73m2) is CkdStage.G2


def test_egfr_is_for_adults_only() -> None:
    message = invalid(EgfrInput, age_years=17, sex="female", creatinine_mg_dl=0.6)
    assert "adults" in message and "18" in message
    assert egfr(18, Sex.FEMALE, creatinine_mg_dl=0.6).inputs.age_years == 18


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"age_years": -1, "sex": "male", "creatinine_mg_dl": 1.0}, "age_years must be at least 0"),
        ({"age_years": 121, "sex": "male", "creatinine_mg_dl": 1.0}, "age_years must be at most"),
        ({"age_years": 50, "sex": "male", "creatinine_mg_dl": 0.0}, "creatinine_mg_dl must be"),
        ({"age_years": 50, "sex": "male", "creatinine_mg_dl": -0.5}, "creatinine_mg_dl must be"),
        ({"age_years": 50, "sex": "male", "creatinine_mg_dl": 30.1}, "at most 30"),
        ({"age_years": 50, "sex": "male", "creatinine_umol_l": 2700.0}, "creatinine_umol_l"),
        ({"age_years": 50, "sex": "male"}, "exactly once"),
        (
            {"age_years": 50, "sex": "male", "creatinine_mg_dl": 1.0, "creatinine_umol_l": 88.4},
            "exactly once",
        ),
        ({"sex": "male", "creatinine_mg_dl": 1.0}, "age_years is required"),
        ({"age_years": 50, "sex": "unknown", "creatinine_mg_dl": 1.0}, "'female' or 'male'"),
        ({"age_years": 50, "sex": "male", "creatinine": 1.0}, "it takes creatinine_mg_dl, "),
        ({"age_years": 50, "sex": "male", "creatinine_mg_dl": float("nan")}, "finite"),
    ],
)
def test_egfr_invalid_inputs_give_one_sentence(data: dict[str, Any], mentions: str) -> None:
    message = invalid(EgfrInput, **data)
    assert message.startswith("Cannot calculate the calculator:")
    assert mentions in message


def test_inputs_raise_validation_error_directly_and_are_frozen() -> None:
    with pytest.raises(ValidationError):
        EgfrInput(age_years=50, sex=Sex.MALE, creatinine_mg_dl=0.0)
    inputs = EgfrInput(age_years=50, sex=Sex.MALE, creatinine_mg_dl=1.0)
    with pytest.raises(ValidationError):
        inputs.age_years = 51


# --------------------------------------------------------------------------- Cockcroft-Gault


def test_cockcroft_gault_male_and_female() -> None:
    # Cockcroft & Gault, Nephron 1976: CrCl = (140 - age) * weight / (72 * Scr), x 0.85 female.
    # Male 60 y, 72 kg, Scr 1.0 mg/dL: 80 * 72 / 72 = 80.0 mL/min; female: 80 * 0.85 = 68.0.
    male = creatinine_clearance_cockcroft_gault(
        CockcroftGaultInput(age_years=60, sex=Sex.MALE, weight_kg=72, creatinine_mg_dl=1.0)
    )
    female = creatinine_clearance_cockcroft_gault(
        CockcroftGaultInput(age_years=60, sex=Sex.FEMALE, weight_kg=72, creatinine_mg_dl=1.0)
    )
    assert male.creatinine_clearance_ml_min == pytest.approx(80.0)
    assert female.creatinine_clearance_ml_min == pytest.approx(68.0)
    assert "Nephron 1976" in male.reference and "mL/min" in male.interpretation
    assert male.inputs.weight_kg == 72


def test_cockcroft_gault_older_woman_in_micromol_per_litre() -> None:
    # Female 80 y, 60 kg, Scr 1.2 mg/dL (= 106.08 µmol/L): 60 * 60 / (72 * 1.2) = 3600 / 86.4
    # = 41.667; x 0.85 = 35.42 -> 35.4 mL/min.
    result = creatinine_clearance_cockcroft_gault(
        CockcroftGaultInput(age_years=80, sex=Sex.FEMALE, weight_kg=60, creatinine_umol_l=106.08)
    )
    assert result.creatinine_clearance_ml_min == pytest.approx(35.4, abs=0.05)
    assert result.creatinine_mg_dl_used == pytest.approx(1.2, abs=0.001)


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"age_years": 16}, "adults"),
        ({"weight_kg": 0}, "weight_kg must be greater than 0"),
        ({"weight_kg": 501}, "weight_kg must be at most 500"),
        ({"creatinine_mg_dl": 31}, "creatinine_mg_dl must be at most 30"),
    ],
)
def test_cockcroft_gault_invalid_inputs(data: dict[str, Any], mentions: str) -> None:
    valid: dict[str, Any] = {
        "age_years": 60,
        "sex": "male",
        "weight_kg": 70,
        "creatinine_mg_dl": 1.0,
    }
    assert mentions in invalid(CockcroftGaultInput, **(valid | data))


# --------------------------------------------------------------------------- BMI and BSA


def test_bmi_and_mosteller_bsa() -> None:
    # BMI = 80 / 1.8² = 24.69 -> 24.7, WHO normal weight (18.5-24.9);
    # Mosteller: sqrt(180 * 80 / 3600) = sqrt(4) = 2.00 m².
    result = body_size(BodySizeInput(weight_kg=80, height_cm=180))
    assert result.bmi_kg_m2 == pytest.approx(24.7, abs=0.05)
    assert result.bmi_category is BmiCategory.NORMAL_WEIGHT
    assert result.bsa_m2 == pytest.approx(2.00, abs=0.005)
    assert result.bsa_formula is BsaFormula.MOSTELLER
    assert "Mosteller" in result.reference and "WHO" in result.reference


def test_mosteller_and_du_bois_differ_as_their_formulas_say() -> None:
    # 70 kg, 175 cm. Mosteller: sqrt(175 * 70 / 3600) = sqrt(3.402778) = 1.8447 -> 1.84.
    # Du Bois: 70^0.425 = exp(0.425 * 4.248495) = 6.0837; 175^0.725 = exp(0.725 * 5.164786)
    # = 42.287; 0.007184 * 6.0837 * 42.287 = 1.8481 -> 1.85.
    mosteller = body_size(BodySizeInput(weight_kg=70, height_cm=175))
    du_bois = body_size(BodySizeInput(weight_kg=70, height_cm=175, bsa_formula=BsaFormula.DU_BOIS))
    assert mosteller.bsa_m2 == pytest.approx(1.84, abs=0.005)
    assert du_bois.bsa_m2 == pytest.approx(1.85, abs=0.005)
    assert du_bois.bsa_formula is BsaFormula.DU_BOIS and "Du Bois" in du_bois.reference
    assert mosteller.bmi_kg_m2 == du_bois.bmi_kg_m2 == pytest.approx(22.9, abs=0.05)


@pytest.mark.parametrize(
    ("bmi", "category"),
    [
        (18.4, BmiCategory.UNDERWEIGHT),
        (18.5, BmiCategory.NORMAL_WEIGHT),
        (24.9, BmiCategory.NORMAL_WEIGHT),
        (25.0, BmiCategory.PRE_OBESITY),
        (29.9, BmiCategory.PRE_OBESITY),
        (30.0, BmiCategory.OBESITY_CLASS_I),
        (34.9, BmiCategory.OBESITY_CLASS_I),
        (35.0, BmiCategory.OBESITY_CLASS_II),
        (39.9, BmiCategory.OBESITY_CLASS_II),
        (40.0, BmiCategory.OBESITY_CLASS_III),
    ],
)
def test_who_bmi_category_boundaries(bmi: float, category: BmiCategory) -> None:
    assert bmi_category(bmi) is category


def test_bmi_boundary_through_the_calculator() -> None:
    # 100 kg / 2.0² = 25.0 -> pre-obesity; 99.6 / 4 = 24.9 -> normal weight.
    assert body_size(BodySizeInput(weight_kg=100, height_cm=200)).bmi_category is (
        BmiCategory.PRE_OBESITY
    )
    assert body_size(BodySizeInput(weight_kg=99.6, height_cm=200)).bmi_category is (
        BmiCategory.NORMAL_WEIGHT
    )


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"weight_kg": 70, "height_cm": 29.9}, "height_cm must be at least 30"),
        ({"weight_kg": 70, "height_cm": 272.1}, "height_cm must be at most 272"),
        ({"weight_kg": -70, "height_cm": 175}, "weight_kg must be greater than 0"),
        ({"weight_kg": 70, "height_cm": 175, "bsa_formula": "haycock"}, "bsa_formula"),
        ({"weight_kg": 70, "height": 175}, "an argument it does not take"),
    ],
)
def test_body_size_invalid_inputs(data: dict[str, Any], mentions: str) -> None:
    assert mentions in invalid(BodySizeInput, **data)


def test_height_limits_are_inclusive() -> None:
    assert body_size(BodySizeInput(weight_kg=2, height_cm=30)).inputs.height_cm == 30
    assert body_size(BodySizeInput(weight_kg=150, height_cm=272)).inputs.height_cm == 272


# --------------------------------------------------------------------------- CHA2DS2-VASc


def chads(age: int, sex: Sex, **conditions: bool) -> Cha2ds2VascResult:
    flags = {
        "congestive_heart_failure": False,
        "hypertension": False,
        "diabetes": False,
        "stroke_tia_or_thromboembolism": False,
        "vascular_disease": False,
    } | conditions
    return cha2ds2_vasc(Cha2ds2VascInput(age_years=age, sex=sex, **flags))


def test_cha2ds2_vasc_woman_72_with_hypertension_and_diabetes() -> None:
    # Hypertension 1 + diabetes 1 + age 65-74 1 + female 1 = 4.
    result = chads(72, Sex.FEMALE, hypertension=True, diabetes=True)
    assert result.score == 4
    assert {item.criterion for item in result.items if item.present} == {
        "Hypertension",
        "Diabetes mellitus",
        "Age 65-74 years",
        "Female sex",
    }
    assert "recommended" in result.interpretation
    assert "Chest 2010" in result.reference


def test_cha2ds2_vasc_maximum_is_9() -> None:
    # CHF 1 + HTN 1 + age >= 75 2 + DM 1 + stroke 2 + vascular 1 + female 1 = 9 (65-74 excluded).
    everything = dict.fromkeys(
        [
            "congestive_heart_failure",
            "hypertension",
            "diabetes",
            "stroke_tia_or_thromboembolism",
            "vascular_disease",
        ],
        True,
    )
    assert chads(80, Sex.FEMALE, **everything).score == 9


@pytest.mark.parametrize(("age", "points"), [(64, 0), (65, 1), (74, 1), (75, 2), (90, 2)])
def test_cha2ds2_vasc_age_boundaries(age: int, points: int) -> None:
    assert chads(age, Sex.MALE).score == points


def test_cha2ds2_vasc_stroke_counts_two() -> None:
    assert chads(50, Sex.MALE, stroke_tia_or_thromboembolism=True).score == 2


@pytest.mark.parametrize(
    ("sex", "conditions", "score", "advice"),
    [
        (Sex.MALE, {}, 0, "no antithrombotic"),
        (Sex.FEMALE, {}, 1, "no antithrombotic"),
        (Sex.MALE, {"hypertension": True}, 1, "should be considered"),
        (Sex.FEMALE, {"hypertension": True}, 2, "should be considered"),
        (Sex.MALE, {"hypertension": True, "diabetes": True}, 2, "recommended"),
        (Sex.FEMALE, {"hypertension": True, "diabetes": True}, 3, "recommended"),
    ],
)
def test_cha2ds2_vasc_thresholds_are_one_higher_for_women(
    sex: Sex, conditions: dict[str, bool], score: int, advice: str
) -> None:
    result = chads(50, sex, **conditions)
    assert result.score == score
    assert advice in result.interpretation


def test_cha2ds2_vasc_needs_every_criterion() -> None:
    message = invalid(Cha2ds2VascInput, age_years=70, sex="male", hypertension=True)
    assert "congestive_heart_failure is required" in message and "diabetes is required" in message


# --------------------------------------------------------------------------- HAS-BLED

NO_BLEEDING_RISK: dict[str, bool] = {
    "uncontrolled_hypertension": False,
    "abnormal_renal_function": False,
    "abnormal_liver_function": False,
    "stroke": False,
    "bleeding_history_or_predisposition": False,
    "labile_inr": False,
    "antiplatelet_or_nsaid": False,
    "alcohol_8_or_more_drinks_per_week": False,
}


def bled(age: int, **flags: bool) -> HasBledResult:
    return has_bled(HasBledInput(age_years=age, **(NO_BLEEDING_RISK | flags)))


def test_has_bled_70_year_old_on_aspirin_with_labile_inr_and_uncontrolled_hypertension() -> None:
    # H 1 + L 1 + E (age > 65) 1 + D (antiplatelet) 1 = 4 -> high risk (>= 3).
    result = bled(70, uncontrolled_hypertension=True, labile_inr=True, antiplatelet_or_nsaid=True)
    assert result.score == 4 and result.high_risk
    assert "high bleeding risk" in result.interpretation
    assert "Chest 2010" in result.reference and "Pisters" in result.reference


def test_has_bled_maximum_is_9() -> None:
    assert bled(80, **dict.fromkeys(NO_BLEEDING_RISK, True)).score == 9


@pytest.mark.parametrize(("age", "score"), [(65, 0), (66, 1)])
def test_has_bled_elderly_means_over_65(age: int, score: int) -> None:
    assert bled(age).score == score


def test_has_bled_high_risk_starts_at_3() -> None:
    two = bled(50, stroke=True, abnormal_renal_function=True)
    three = bled(50, stroke=True, abnormal_renal_function=True, abnormal_liver_function=True)
    assert (two.score, two.high_risk) == (2, False)
    assert (three.score, three.high_risk) == (3, True)


# --------------------------------------------------------------------------- CURB-65


def curb(**changes: Any) -> Curb65Result:
    baseline: dict[str, Any] = {
        "confusion": False,
        "urea_mmol_l": 5.0,
        "respiratory_rate_per_min": 18,
        "systolic_bp_mmhg": 120,
        "diastolic_bp_mmhg": 80,
        "age_years": 40,
    }
    return curb_65(Curb65Input(**(baseline | changes)))


def test_curb_65_all_five_criteria() -> None:
    # Confused 70-year-old, urea 8 mmol/L, RR 32, BP 85/50: 1 + 1 + 1 + 1 + 1 = 5.
    result = curb(
        confusion=True,
        urea_mmol_l=8.0,
        respiratory_rate_per_min=32,
        systolic_bp_mmhg=85,
        diastolic_bp_mmhg=50,
        age_years=70,
    )
    assert result.score == 5
    assert result.risk_group is Curb65RiskGroup.SEVERE
    assert "intensive care" in result.suggested_setting
    assert "Thorax 2003" in result.reference


@pytest.mark.parametrize(
    ("changes", "score", "group", "setting"),
    [
        ({}, 0, Curb65RiskGroup.LOW, "home"),
        ({"age_years": 65}, 1, Curb65RiskGroup.LOW, "home"),
        ({"age_years": 65, "confusion": True}, 2, Curb65RiskGroup.MODERATE, "short-stay"),
        (
            {"age_years": 65, "confusion": True, "respiratory_rate_per_min": 30},
            3,
            Curb65RiskGroup.SEVERE,
            "hospital",
        ),
    ],
)
def test_curb_65_risk_groups(
    changes: dict[str, Any], score: int, group: Curb65RiskGroup, setting: str
) -> None:
    result = curb(**changes)
    assert (result.score, result.risk_group) == (score, group)
    assert setting in result.suggested_setting
    assert setting in result.interpretation


def test_curb_65_only_4_and_5_mention_intensive_care() -> None:
    three = curb(age_years=65, confusion=True, respiratory_rate_per_min=30)
    four = curb(age_years=65, confusion=True, respiratory_rate_per_min=30, urea_mmol_l=9.0)
    assert "intensive care" not in three.suggested_setting
    assert four.score == 4 and "intensive care" in four.suggested_setting


@pytest.mark.parametrize(
    ("changes", "score"),
    [
        ({"urea_mmol_l": 7.0}, 0),
        ({"urea_mmol_l": 7.1}, 1),
        ({"urea_mmol_l": None, "bun_mg_dl": 19.0}, 0),
        ({"urea_mmol_l": None, "bun_mg_dl": 20.0}, 1),
        ({"respiratory_rate_per_min": 29}, 0),
        ({"respiratory_rate_per_min": 30}, 1),
        ({"systolic_bp_mmhg": 90, "diastolic_bp_mmhg": 61}, 0),
        ({"systolic_bp_mmhg": 89, "diastolic_bp_mmhg": 61}, 1),
        ({"systolic_bp_mmhg": 110, "diastolic_bp_mmhg": 60}, 1),
        ({"age_years": 64}, 0),
        ({"age_years": 65}, 1),
    ],
)
def test_curb_65_criterion_cut_offs(changes: dict[str, Any], score: int) -> None:
    assert curb(**changes).score == score


@pytest.mark.parametrize(
    ("changes", "mentions"),
    [
        ({"bun_mg_dl": 20.0}, "urea exactly once"),
        ({"urea_mmol_l": None}, "urea exactly once"),
        ({"systolic_bp_mmhg": 80, "diastolic_bp_mmhg": 90}, "cannot be higher"),
        ({"respiratory_rate_per_min": -2}, "respiratory_rate_per_min must be at least 0"),
    ],
)
def test_curb_65_invalid_inputs(changes: dict[str, Any], mentions: str) -> None:
    data: dict[str, Any] = {
        "confusion": False,
        "urea_mmol_l": 5.0,
        "respiratory_rate_per_min": 18,
        "systolic_bp_mmhg": 120,
        "diastolic_bp_mmhg": 80,
        "age_years": 40,
    } | changes
    assert mentions in invalid(Curb65Input, **{k: v for k, v in data.items() if v is not None})


# --------------------------------------------------------------------------- Wells PE


def wells(heart_rate_bpm: int = 80, **flags: bool) -> WellsPeResult:
    none = {
        "clinical_signs_of_dvt": False,
        "pe_most_likely_diagnosis": False,
        "immobilisation_3_days_or_surgery_past_4_weeks": False,
        "previous_dvt_or_pe": False,
        "haemoptysis": False,
        "malignancy": False,
    }
    return wells_pe(WellsPeInput(heart_rate_bpm=heart_rate_bpm, **(none | flags)))


def test_wells_exactly_4_is_pe_unlikely() -> None:
    # Signs of DVT 3 + haemoptysis 1 = 4.0: two-tier <= 4 -> PE unlikely; three-tier moderate.
    result = wells(clinical_signs_of_dvt=True, haemoptysis=True)
    assert result.score == 4.0
    assert result.two_tier is WellsTwoTier.PE_UNLIKELY
    assert result.three_tier is WellsThreeTier.MODERATE
    assert "D-dimer" in result.interpretation
    assert "Thromb Haemost 2000" in result.reference


def test_wells_4_5_is_pe_likely() -> None:
    # Signs of DVT 3 + heart rate 101 (> 100) 1.5 = 4.5 -> PE likely.
    result = wells(heart_rate_bpm=101, clinical_signs_of_dvt=True)
    assert result.score == 4.5
    assert result.two_tier is WellsTwoTier.PE_LIKELY
    assert "CT pulmonary angiography" in result.interpretation


def test_wells_heart_rate_of_exactly_100_scores_nothing() -> None:
    assert wells(heart_rate_bpm=100).score == 0.0
    assert wells(heart_rate_bpm=101).score == 1.5


@pytest.mark.parametrize(
    ("flags", "heart_rate", "score", "tier"),
    [
        ({"previous_dvt_or_pe": True}, 80, 1.5, WellsThreeTier.LOW),
        ({"haemoptysis": True, "malignancy": True}, 80, 2.0, WellsThreeTier.MODERATE),
        (
            {"clinical_signs_of_dvt": True, "pe_most_likely_diagnosis": True},
            80,
            6.0,
            WellsThreeTier.MODERATE,
        ),
        (
            {
                "clinical_signs_of_dvt": True,
                "immobilisation_3_days_or_surgery_past_4_weeks": True,
                "haemoptysis": True,
                "malignancy": True,
            },
            80,
            6.5,
            WellsThreeTier.HIGH,
        ),
    ],
)
def test_wells_three_tier_boundaries(
    flags: dict[str, bool], heart_rate: int, score: float, tier: WellsThreeTier
) -> None:
    result = wells(heart_rate_bpm=heart_rate, **flags)
    assert (result.score, result.three_tier) == (score, tier)


def test_wells_maximum_is_12_5() -> None:
    # 3 + 3 + 1.5 + 1.5 + 1.5 + 1 + 1 = 12.5.
    everything = {
        "clinical_signs_of_dvt": True,
        "pe_most_likely_diagnosis": True,
        "immobilisation_3_days_or_surgery_past_4_weeks": True,
        "previous_dvt_or_pe": True,
        "haemoptysis": True,
        "malignancy": True,
    }
    result = wells(heart_rate_bpm=120, **everything)
    assert result.score == 12.5 and result.three_tier is WellsThreeTier.HIGH


# --------------------------------------------------------------------------- LangChain tools


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
