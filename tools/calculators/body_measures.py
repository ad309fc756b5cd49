"""Body size: BMI with its WHO adult category, and body surface area (Mosteller or Du Bois)."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Final

from pydantic import Field

from tools.calculators.models import CalculatorInput, CalculatorResult, HeightCm, WeightKg

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


class BodySizeInput(CalculatorInput):
    weight_kg: WeightKg
    height_cm: HeightCm
    bsa_formula: BsaFormula = Field(
        default=BsaFormula.MOSTELLER, description="Body surface area formula."
    )


class BodySizeResult(CalculatorResult):
    bmi_kg_m2: float
    bmi_category: BmiCategory
    bsa_m2: float
    bsa_formula: BsaFormula
    inputs: BodySizeInput


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
