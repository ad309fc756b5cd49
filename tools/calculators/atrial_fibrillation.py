"""Atrial fibrillation scores: CHA2DS2-VASc (stroke risk) and HAS-BLED (major bleeding risk)."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from tools.calculators.models import (
    AgeYears,
    CalculatorInput,
    CalculatorResult,
    FemaleOrMale,
    ScoreItem,
    score_items,
)
from tools.sex import Sex

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


class Cha2ds2VascInput(CalculatorInput):
    age_years: AgeYears
    sex: FemaleOrMale
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


class Cha2ds2VascResult(CalculatorResult):
    score: int
    items: tuple[ScoreItem, ...]
    inputs: Cha2ds2VascInput


class HasBledResult(CalculatorResult):
    score: int
    high_risk: bool
    items: tuple[ScoreItem, ...]
    inputs: HasBledInput


def cha2ds2_vasc(inputs: Cha2ds2VascInput) -> Cha2ds2VascResult:
    """CHA2DS2-VASc stroke risk score in atrial fibrillation (0-9)."""
    age = inputs.age_years
    female = inputs.sex is Sex.FEMALE
    items = score_items(
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
    items = score_items(
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
