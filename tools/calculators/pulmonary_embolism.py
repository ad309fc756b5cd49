"""The Wells score for pulmonary embolism, with its three-tier and two-tier readings."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pydantic import Field

from tools.calculators.models import CalculatorInput, CalculatorResult, ScoreItem, score_items

REF_WELLS_PE: Final = (
    "Wells PS, Anderson DR, Rodger M, et al. Derivation of a simple clinical model to "
    "categorize patients probability of pulmonary embolism: increasing the models utility "
    "with the SimpliRED D-dimer. Thromb Haemost 2000;83(3):416-420."
)


class WellsThreeTier(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class WellsTwoTier(StrEnum):
    PE_UNLIKELY = "pe_unlikely"
    PE_LIKELY = "pe_likely"


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


class WellsPeResult(CalculatorResult):
    score: float
    three_tier: WellsThreeTier
    two_tier: WellsTwoTier
    items: tuple[ScoreItem, ...]
    inputs: WellsPeInput


def wells_pe(inputs: WellsPeInput) -> WellsPeResult:
    """Wells score for pulmonary embolism, with its three-tier and two-tier readings."""
    items = score_items(
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
