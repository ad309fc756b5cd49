"""BMI and BSA against hand calculations from the published formulas, the WHO category
boundaries, and their one-sentence input errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.calculators.sentences import invalid
from tools.calculators import (
    BmiCategory,
    BodySizeInput,
    BsaFormula,
    bmi_category,
    body_size,
)


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
