"""The Wells score for PE against hand-scored cases and its two- and three-tier cut-offs."""

from __future__ import annotations

import pytest

from tools.calculators import (
    WellsPeInput,
    WellsPeResult,
    WellsThreeTier,
    WellsTwoTier,
    wells_pe,
)


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
