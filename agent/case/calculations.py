"""The calculators a case's data allows (renal function drives dosing flags; body size)."""

from __future__ import annotations

from typing import Any

from agent.case.model import Case
from tools.sex import FORMULA_SEXES


def _creatinine_argument(case: Case) -> dict[str, float] | None:
    lab = case.lab("creatinine")
    if lab is None:
        return None
    unit = lab.unit.lower().replace("μ", "µ")
    if unit in ("mg/dl", "mg/100ml"):
        return {"creatinine_mg_dl": lab.value}
    if unit in ("µmol/l", "umol/l"):
        return {"creatinine_umol_l": lab.value}
    if not unit and lab.value < 15:  # no unit: only the unambiguous magnitudes are used
        return {"creatinine_mg_dl": lab.value}
    if not unit and lab.value > 30:
        return {"creatinine_umol_l": lab.value}
    return None


def calculator_calls(case: Case) -> list[dict[str, Any]]:
    """The calculators a case's data allows: renal function (it drives dosing flags in plans)
    and body size. Scores that need findings the case does not state are left to the model."""
    calls: list[dict[str, Any]] = []
    creatinine = _creatinine_argument(case)
    adult = case.age_years is not None and case.age_years >= 18
    if creatinine and adult and case.sex in FORMULA_SEXES:  # no formula for other or unknown
        renal = {"age_years": case.age_years, "sex": case.sex.value, **creatinine}
        calls.append({"name": "egfr_ckd_epi_2021", "args": renal})
        if case.weight_kg:
            calls.append(
                {
                    "name": "creatinine_clearance_cockcroft_gault",
                    "args": {**renal, "weight_kg": case.weight_kg},
                }
            )
    if case.weight_kg and case.height_cm:
        calls.append(
            {
                "name": "body_size",
                "args": {"weight_kg": case.weight_kg, "height_cm": case.height_cm},
            }
        )
    return calls
