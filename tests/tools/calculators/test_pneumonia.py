"""CURB-65 against hand-scored cases, its criterion cut-offs, risk groups and input errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.calculators.sentences import invalid
from tools.calculators import (
    Curb65Input,
    Curb65Result,
    Curb65RiskGroup,
    curb_65,
)


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
