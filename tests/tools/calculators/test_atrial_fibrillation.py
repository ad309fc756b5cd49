"""CHA2DS2-VASc and HAS-BLED against hand-scored cases, their cut-offs and thresholds."""

from __future__ import annotations

import pytest

from tests.tools.calculators.sentences import invalid
from tools.calculators import (
    Cha2ds2VascInput,
    Cha2ds2VascResult,
    HasBledInput,
    HasBledResult,
    Sex,
    cha2ds2_vasc,
    has_bled,
)

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
