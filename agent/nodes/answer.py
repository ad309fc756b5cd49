"""answer: the imaging tools' findings first, then the covered parts quoted or answered by the
model, then what the guidelines do not cover."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from agent.context import Context
from agent.events import (
    TokenEvent,
)
from agent.flags import Flag, FlagKind
from agent.grounding import AnswerMode, choose_quotes, not_covered_text, quoted_text
from agent.llm import (
    ImageInput,
    LLMError,
)
from agent.prompts import prompt_messages
from agent.state import PartState, State, emit, joined, raise_flag


def answer(ctx: Context, state: State) -> dict[str, Any]:
    flags = list(state.get("flags") or [])
    if state.get("retrieval_error"):  # not "no evidence": the store could not be asked
        answer = (
            "The guidelines could not be searched, so there is no answer: "
            f"{state['retrieval_error']}"
        )
        emit(TokenEvent(answer))
        return {"answer": answer, "mode": AnswerMode.ABSTAINED, "flags": flags}
    parts = state.get("parts") or []
    preface = image_preface(ctx, state, flags)
    notes = "\n\n".join(
        not_covered_text(part.text if len(parts) > 1 else None, part.nearest)
        for part in parts
        if not part.about_image and not part.covered
    )
    covered = [part for part in parts if part.answerable]
    update: dict[str, Any] = {"preface": preface, "notes": notes, "flags": flags}
    if preface:
        emit(TokenEvent(preface))
    if not covered:
        if notes:
            emit(TokenEvent(f"\n\n{notes}" if preface else notes))
        return {**update, "answer": "", "mode": AnswerMode.ABSTAINED}
    if preface:
        emit(TokenEvent("\n\n"))
    if ctx.settings.extractive_answers or ctx.llm is None:
        result = extractive(ctx, state, flags)
    else:
        result = generated(ctx, state, covered, flags)
    if notes:
        emit(TokenEvent(f"\n\n{notes}"))
    return {**update, **result, "notes": joined(result.get("notes"), notes)}


def generated(
    ctx: Context, state: State, covered: list[PartState], flags: list[Flag]
) -> dict[str, Any]:
    """The model's answer to the covered parts, from the passages that address them."""
    started = time.perf_counter()
    pieces: list[str] = []
    asked = list(covered)
    images = image_inputs(ctx, state) if ctx.settings.llm_multimodal else []
    if images:  # a model that reads images answers the parts about them too
        asked = [p for p in state.get("parts") or [] if p.about_image or p.covered]
    question = " ".join(part.text for part in asked)
    prompt = prompt_messages(ctx, {**state, "question": question})
    assert prompt is not None  # an answer's request always has its question and a passage
    messages, given = prompt
    if images:
        messages[-1] = dataclasses.replace(messages[-1], images=images)
    try:
        for piece in ctx.llm.stream(messages):  # type: ignore[union-attr]
            pieces.append(piece)
            emit(TokenEvent(piece))
    except LLMError as exc:
        raise_flag(flags, Flag(FlagKind.ENGINE, str(exc)))
        raise_flag(
            flags, Flag(FlagKind.FALLBACK, "The model failed; the answer quotes the passages.")
        )
        return extractive(ctx, state, flags)
    llm_s = state.get("llm_s", 0.0) + time.perf_counter() - started
    text = "".join(pieces).strip()
    return {
        "answer": text,
        "model_answer": text,
        "mode": AnswerMode.GENERATED,
        "flags": flags,
        "llm_s": llm_s,
        "given": len(given),
    }


def extractive(ctx: Context, state: State, flags: list[Flag]) -> dict[str, Any]:
    """Sentences quoted from the passages that address each covered part."""
    passages = list(state.get("passages") or [])
    markers = {p.id: number for number, p in enumerate(passages, start=1)}
    by_id = {p.id: p for p in passages}
    covered = [p for p in state.get("parts") or [] if p.answerable]
    blocks: list[str] = []
    for part in covered:
        quotes = choose_quotes(
            [q.quote(by_id[q.passage_id]) for q in part.quotes if q.passage_id in by_id]
        )
        if not quotes:
            continue
        block = quoted_text(quotes, markers)
        blocks.append(f"**{part.text}**\n\n{block}" if len(covered) > 1 else block)
    if not blocks:
        raise_flag(flags, Flag(FlagKind.ABSTAINED, "No passage sentence answers the question."))
        nearest = [p for part in covered for p in part.nearest][:3]
        answer = not_covered_text(None, nearest)
        emit(TokenEvent(answer))
        return {"answer": "", "notes": answer, "mode": AnswerMode.ABSTAINED}
    answer = "\n\n".join(blocks)
    emit(TokenEvent(answer))
    return {"answer": answer, "mode": AnswerMode.EXTRACTIVE, "flags": flags}


def image_inputs(ctx: Context, state: State) -> list[ImageInput]:
    """This turn's de-identified images, rendered (middle frame), for a model that reads
    images."""
    from tools.imaging.decode import render_frame, to_png

    studies = ctx.session_images(state["session_id"])
    rendered = []
    for image_id in state.get("image_ids") or []:
        study = studies.get(image_id)
        if study is not None:
            rendered.append(ImageInput(to_png(render_frame(study, study.frames // 2))))
    return rendered


def image_preface(ctx: Context, state: State, flags: list[Flag]) -> str:
    """What the imaging tools found this turn; first, unless the served model reads
    images, that no model read the image itself."""
    from tools.imaging.analysis import ImageAnalysis

    analyses = [
        ImageAnalysis.model_validate_json(t.content)
        for t in state.get("trace") or []
        if t.name == "analyze_image" and t.ok
    ]
    if not analyses:
        if any(part.about_image for part in state.get("parts") or []):
            return (
                "The question refers to an image, but no readable image is attached to "
                "this turn, so that part cannot be answered: attach a DICOM, PNG or JPEG."
            )
        return ""
    lines = []
    if not ctx.settings.llm_multimodal or ctx.llm is None:
        statement = (
            "The image itself was not read by a model: the served model cannot read "
            "images. What the imaging tools found (research use only, not a diagnosis):"
        )
        raise_flag(
            flags,
            Flag(FlagKind.IMAGE, "The image was not read by a model; see the tools' findings."),
        )
        lines.append(statement)
    else:
        lines.append("What the imaging tools found (research use only, not a diagnosis):")
    lines += [f"- {analysis.summary()}" for analysis in analyses]
    return "\n".join(lines)
