"""Treatment planning: a case in, a cited plan with its safety checks out (planner.py).

models.py what a plan is (and the draft the model fills); evidence.py citations, stated
strengths, quoted options, the prompt and the checks; safety.py calculators, interactions,
allergies, duplicates, renal function; tool.py `plan_treatment` as a tool.
"""

from __future__ import annotations

from agent.planning.evidence import found_strength, stated_strength
from agent.planning.models import (
    NOT_STATED,
    Calculation,
    DraftOption,
    DraftProblem,
    Plan,
    PlanCitation,
    PlanDraft,
    PlanFlag,
    PlanOption,
    PlanProblem,
    draft_schema,
)
from agent.planning.planner import plan_for_settings, plan_treatment
from agent.planning.safety import report_flags, safety_flags
from agent.planning.tool import PlanTreatmentArgs, planning_tools

__all__ = [
    "NOT_STATED",
    "Calculation",
    "DraftOption",
    "DraftProblem",
    "Plan",
    "PlanCitation",
    "PlanDraft",
    "PlanFlag",
    "PlanOption",
    "PlanProblem",
    "PlanTreatmentArgs",
    "draft_schema",
    "found_strength",
    "plan_for_settings",
    "plan_treatment",
    "planning_tools",
    "report_flags",
    "safety_flags",
    "stated_strength",
]
