"""`plan_treatment` as a tool, over the session's case, for a model that may choose tools."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from agent.case import Case, CaseError
from agent.llm import LLMClient
from agent.planning.planner import plan_for_settings
from agent.settings import Settings
from knowledge.knowledge_base import KnowledgeBase


class PlanTreatmentArgs(BaseModel):
    problem: str | None = Field(
        default=None, max_length=120, description="Plan for this problem only (default: all)."
    )


def planning_tools(
    case: Case | None, kb: KnowledgeBase, llm: LLMClient | None, settings: Settings
) -> list[BaseTool]:
    """`plan_treatment` over the session's case, offered to a model that may choose tools."""

    def plan(problem: str | None = None) -> str:
        if case is None:
            raise ToolException("No case is attached to this session; attach one to plan.")
        focused = case
        if problem:
            if problem not in case.problems:
                raise ToolException(
                    f"The case has no problem {problem!r} (it has: {', '.join(case.problems)})."
                )
            focused = case.model_copy(update={"diagnoses": [problem], "comorbidities": []})
        try:
            result = plan_for_settings(focused, kb, llm, settings)
        except CaseError as exc:
            raise ToolException(str(exc)) from None
        return result.model_dump_json()

    return [
        StructuredTool.from_function(
            plan,
            name="plan_treatment",
            description=(
                "Draft a cited treatment plan for the session's case (options per problem with "
                "their guideline passages, interaction, allergy and renal-dose flags)."
            ),
            args_schema=PlanTreatmentArgs,
            handle_tool_error=True,
        )
    ]
