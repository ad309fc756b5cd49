"""agent and tools: the policy's calls, then the model's own within a step budget."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import ToolMessage

from agent.case import calculator_calls
from agent.context import Context
from agent.events import (
    ToolCallEvent,
    ToolResultEvent,
    ToolTrace,
)
from agent.flags import Flag, FlagKind
from agent.llm import (
    LLMError,
    ToolSpec,
)
from agent.prompts import prompt_messages
from agent.state import PendingCall, State, case_of, emit, raise_flag
from agent.toolbox import image_flags, interaction_flags, turn_tools
from knowledge.types import Passage


def agent_step(ctx: Context, state: State) -> dict[str, Any]:
    if not state.get("policy_done"):
        policy = policy_calls(ctx, state)
        if policy:
            return {"pending": policy, "policy_done": True}
        # Nothing the policy must run (no case, no attachment): the model chooses now.
        return {**model_choice(ctx, state), "policy_done": True}
    return model_choice(ctx, state)


def model_choice(ctx: Context, state: State) -> dict[str, Any]:
    """The served model picks the next tool, within the step budget, when it is trusted
    with tools; otherwise (and when it picks none) the turn goes on to the answer."""
    steps = state.get("steps", 0)
    if not ctx.settings.model_tool_calling or ctx.llm is None:
        return {"pending": []}
    flags = list(state.get("flags") or [])
    if steps >= ctx.settings.agent_step_budget:
        raise_flag(
            flags,
            Flag(
                FlagKind.STEP_BUDGET,
                f"Stopped after {steps} tool steps (the step budget); answering with what "
                "was gathered.",
            ),
        )
        return {"pending": [], "flags": flags}
    toolbox = turn_tools(ctx, state)
    specs = [
        ToolSpec(t.name, t.description, t.tool_call_schema.model_json_schema())  # type: ignore[union-attr]
        for t in toolbox.values()
    ]
    prompt = prompt_messages(ctx, state, specs)
    if prompt is None:
        raise_flag(
            flags,
            Flag(
                FlagKind.ENGINE,
                "The model was not offered tools this turn: the question, case and tool "
                f"results fill its context ({ctx.settings.context_tokens:,} tokens).",
            ),
        )
        return {"pending": [], "flags": flags}
    started = time.perf_counter()
    try:
        call = ctx.llm.call_tool(prompt[0], specs, "auto")
    except LLMError as exc:
        raise_flag(flags, Flag(FlagKind.ENGINE, str(exc)))
        return {"pending": [], "flags": flags}
    finally:
        llm_s = state.get("llm_s", 0.0) + time.perf_counter() - started
    if call is None:
        return {"pending": [], "llm_s": llm_s}
    pending = [PendingCall(call.name, call.arguments, "model")]
    return {"pending": pending, "steps": steps + 1, "llm_s": llm_s}


def policy_calls(ctx: Context, state: State) -> list[PendingCall]:
    """The tools that always run: they depend only on attachments and the case."""
    calls = [
        PendingCall("analyze_image", {"image": image_id}, "policy")
        for image_id in state.get("image_ids") or []
    ]
    case = case_of(state)
    if case is not None:
        if case.medications and (
            ctx.settings.interactions_dir is not None or ctx.settings.interactions_dirs
        ):
            arguments = {"medications": case.medications, "allergies": case.allergies}
            calls.append(PendingCall("check_interactions", arguments, "policy"))
        calls += [PendingCall(c["name"], c["args"], "policy") for c in calculator_calls(case)]
    return calls


def run_tools(ctx: Context, state: State) -> dict[str, Any]:
    toolbox = turn_tools(ctx, state)
    trace = list(state.get("trace") or [])
    flags = list(state.get("flags") or [])
    passages = list(state.get("passages") or [])
    for call in state.get("pending") or []:
        call_id = f"call-{len(trace) + 1}"
        emit(ToolCallEvent(call_id, call.name, call.args, call.by))
        tool = toolbox.get(call.name)
        if tool is None:
            content, ok, artifact = f"There is no tool called {call.name!r}.", False, None
        else:
            message = tool.invoke(
                {"type": "tool_call", "id": call_id, "name": tool.name, "args": call.args}
            )
            assert isinstance(message, ToolMessage)
            content = str(message.content)
            ok = message.status != "error"
            artifact = message.artifact
        png = None
        if ok and isinstance(artifact, dict):
            png = artifact.get("png")
            for flag in image_flags(artifact.get("analysis")):
                raise_flag(flags, flag)
        if ok and call.name == "check_interactions":
            for flag in interaction_flags(content):
                raise_flag(flags, flag)
        if ok and call.name == "search_guidelines" and isinstance(artifact, list):
            # the model's own searches add passages only from documents that address the
            # question: coverage decided which those are
            known = {p.id for p in passages}
            documents = {(p.corpus, p.doc_id) for p in passages}
            passages += [
                p
                for p in artifact
                if isinstance(p, Passage)
                and p.id not in known
                and (p.corpus, p.doc_id) in documents
            ]
        emit(ToolResultEvent(call_id, call.name, content, ok, png))
        trace.append(ToolTrace(call_id, call.name, call.args, content, ok, call.by))
    return {
        "trace": trace,
        "flags": flags,
        "pending": [],
        "passages": passages,
    }
