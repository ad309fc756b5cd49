"""intake, retrieve and coverage: a turn's start, its guideline search per question part, and
whether the knowledge base addresses each part."""

from __future__ import annotations

import time
from typing import Any

from agent.context import Context
from agent.coverage import judge
from agent.flags import Flag, FlagKind
from agent.questions import question_parts
from agent.state import PartState, State, case_of, raise_flag
from knowledge.errors import KnowledgeError
from knowledge.types import Passage


def intake(ctx: Context, state: State) -> dict[str, Any]:
    """A new turn: this turn's images and flags; a newly given case replaces the last."""
    flags = list(state.get("intake_flags") or [])
    case_json = state.get("new_case") or state.get("case_json")
    image_ids = list(state.get("new_images") or [])
    return {
        "case_json": case_json,
        "image_ids": image_ids,
        "flags": flags,
        "trace": [],
        "pending": [],
        "parts": [],
        "passages": [],
        "preface": "",
        "notes": "",
        "cited": [],
        "given": 0,
        "steps": 0,
        "policy_done": False,
        "llm_s": 0.0,
        "started": time.perf_counter(),
    }


def retrieve(ctx: Context, state: State) -> dict[str, Any]:
    """The question's parts, each guideline part searched with its standalone query."""
    flags = list(state.get("flags") or [])
    case = case_of(state)
    history = state.get("history") or []
    previous = next((t.get("topic") for t in reversed(history) if t["role"] == "user"), None)
    try:
        parts = question_parts(
            state["question"],
            previous_topic=previous,
            has_images=bool(state.get("image_ids")),
            vocabulary=ctx.kb.vocabulary(),
            case_problems=case.problems if case is not None else (),
        )
        found = [
            [] if part.about_image else ctx.kb.search(part.query, k=ctx.settings.retrieval_k)
            for part in parts
        ]
    except KnowledgeError as exc:
        raise_flag(flags, Flag(FlagKind.ABSTAINED, str(exc)))
        return {"parts": [], "passages": [], "flags": flags, "retrieval_error": str(exc)}
    return {
        "parts": [
            PartState.searched(part, passages) for part, passages in zip(parts, found, strict=True)
        ],
        "flags": flags,
        "retrieval_error": None,
    }


def coverage(ctx: Context, state: State) -> dict[str, Any]:
    """Does the knowledge base address each guideline part? The passages that go on are
    those of documents that address a covered part; each part that is not covered gets a
    flag naming the nearest guidelines (never the question's words: flags are audited)."""
    flags = list(state.get("flags") or [])
    parts = list(state.get("parts") or [])
    guideline = [n for n, part in enumerate(parts) if not part.about_image]
    kept: dict[str, Passage] = {}
    if not guideline:  # nothing to judge (a failed search, or image parts only): the
        # store is not asked again
        return {"parts": parts, "passages": [], "flags": flags}
    vocabulary = ctx.kb.vocabulary()  # once: it asks the store for its version
    for number, index in enumerate(guideline, start=1):
        part = parts[index]
        judgement = judge(
            part.query,
            part.found,
            vocabulary=vocabulary,
            embedder=ctx.kb.embedder,
            model=ctx.coverage_model,
            min_dense=ctx.settings.abstain_threshold,
        )
        parts[index] = part.judged(judgement)
        for passage in judgement.addressing_passages():
            kept.setdefault(passage.id, passage)
        if not judgement.covered:
            which = "the question" if len(guideline) == 1 else f"part {number}"
            nearest = judgement.nearest_titles()
            raise_flag(
                flags,
                Flag(
                    FlagKind.NOT_COVERED,
                    f"The knowledge base does not address {which} (coverage "
                    f"{judgement.probability:.2f}, below {ctx.coverage_model.threshold:.2f})"
                    + (f"; nearest: {nearest}." if nearest else "."),
                ),
            )
    return {
        "parts": parts,
        "passages": list(kept.values()),
        "flags": flags,
    }
