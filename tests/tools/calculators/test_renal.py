"""eGFR (CKD-EPI 2021) and Cockcroft-Gault against hand calculations from the published
formulas, the KDIGO stage boundaries, and their one-sentence input errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.tools.calculators.sentences import invalid
from tools.calculators import (
    CkdStage,
    CockcroftGaultInput,
    EgfrInput,
    EgfrResult,
    Sex,
    ckd_stage,
    creatinine_clearance_cockcroft_gault,
    egfr_ckd_epi_2021,
)

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
