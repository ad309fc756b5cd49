"""The tools of a turn and the policy's own calls (every attachment analysed, the case's
medications checked, the calculators the case allows), and the flags their results raise."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.tools import BaseTool

from agent.context import Context
from agent.flags import Flag, FlagKind
from agent.planning import planning_tools
from agent.settings import Settings
from agent.state import State, case_of


def turn_tools(ctx: Context, state: State) -> dict[str, BaseTool]:
    from tools.guidelines import guideline_tools
    from tools.imaging.analysis import imaging_tools

    toolbox: list[BaseTool] = [*guideline_tools(ctx.kb, ctx.settings.retrieval_k)]
    toolbox += imaging_tools(ctx.session_images(state["session_id"]), ctx.settings.imaging)
    toolbox += optional_tools(ctx.settings)
    toolbox += planning_tools(case_of(state), ctx.kb, ctx.llm, ctx.settings)
    return {tool.name: tool for tool in toolbox}


def optional_tools(settings: Settings) -> list[BaseTool]:
    tools: list[BaseTool] = []
    from tools.calculators import calculator_tools

    tools += calculator_tools()
    if settings.interactions_dir is not None or settings.interactions_dirs:
        from tools.interactions import interaction_tools

        tools += interaction_tools(settings.interactions_dir, extra_dirs=settings.interactions_dirs)
    return tools


def image_flags(analysis: Any) -> list[Flag]:
    if analysis is None:
        return []
    flags = [Flag(FlagKind.IMAGE, f"{analysis.image}: {text}") for text in analysis.quality_flags]
    for probe in analysis.probes:
        if probe.low_confidence:
            flags.append(
                Flag(
                    FlagKind.IMAGE,
                    f"{analysis.image}: the {probe.probe} probe is not confident "
                    f"({probe.probabilities}); {probe.notice}",
                )
            )
    return flags


def interaction_flags(content: str) -> list[Flag]:
    from tools.interactions import AllergyFlag, InteractionFlag

    try:
        report = json.loads(content)
    except ValueError:
        return []
    flags = [
        Flag(FlagKind.INTERACTION, InteractionFlag.model_validate(item).describe(as_given=False))
        for item in report.get("interactions", [])
    ]
    flags += [
        Flag(FlagKind.ALLERGY, AllergyFlag.model_validate(item).describe())
        for item in report.get("allergy_conflicts", [])
    ]
    return flags
