"""Sentences, citation markers and numbers in answers and passages; text addressed to an AI;
how passages are quoted to a model as data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from agent.llm import INVISIBLE_RE
from knowledge.types import Passage

NOTICE = (
    "clinassist supports, and does not replace, clinical judgement: check every cited passage "
    "before acting on it."
)
MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*[,-]\s*\d{1,3})*)\]")
NUMBER_RE = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
SENTENCE_RE = re.compile(r"(?<=[.!?])(?:\s*\[\d[\d,\s-]*\])?\s+(?=[A-Z(\"'])")
MAX_PASSAGE_CHARS = 900
ABBREVIATION_RE = re.compile(
    r"\b(?:Dr|Drs|Mr|Mrs|Ms|Prof|St|vs|etc|approx|Fig|No|e\.g|i\.e|al)\.$", re.IGNORECASE
)


_INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|above)\b"
    r"|\b(?:system prompt|hidden instructions?|developer mode|you are now|you must now|as an ai)\b"
    r"|\b(?:ai|language) (?:assistant|model)\b|\bthe assistant (?:must|should|will|shall)\b"
    r"|(?:^|[.;!?>\]]\s*)(?:system|assistant|developer)\s*:"  # a role-play turn: "SYSTEM: ..."
    r"|\b(?:call|use|invoke|run|execute)\b.{0,20}\b(?:the )?(?:tool|function)\b"
    r"|\b(?:call|use|invoke|run|execute)\b.{0,30}\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"  # tool_name
    r"|\b(?:respond|reply|answer|say|output|print)\b.{0,20}\bonly\b.{0,30}\bwith\b"
    r"|^[\s*\u2022-]*(?:say|output|reply)\b"  # a bare order: "Say X." (guidelines: "Offer X.")
    r"|\b(?:print|repeat|reveal|output)\b.{0,20}\b(?:your|the)\b.{0,20}"
    r"\b(?:prompt|instructions?|rules)\b"
    # chat-template and tool-call markup, HTML comments: never part of a guideline's prose
    r"|<\|[a-z0-9_.:-]{1,40}\|>|</?tool_call>|<!--",
    re.IGNORECASE,
)
INSTRUCTION_REMOVED = "[text addressed to an AI removed]"


def looks_like_instruction(sentence: str) -> bool:
    """Text addressed to an AI rather than to a clinician: never quoted as an answer, and
    never shown to the model. Matched on the compatibility form, so full-width letters and
    zero-width characters hide nothing."""
    normal = unicodedata.normalize("NFKC", INVISIBLE_RE.sub("", sentence))
    return bool(_INSTRUCTION_RE.search(normal))


def quoted_data(text: str) -> str:
    """Text from a document or a record as the model may see it: sentences addressed to an AI
    replaced by a notice, and nothing that could close the triple quotes around it."""
    kept: list[str] = []
    # Split at every full stop, whatever follows (markup or a full-width letter may start the
    # next sentence), so an injection takes no clinical sentence down with it.
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        if not looks_like_instruction(sentence):
            kept.append(sentence)
        elif not kept or kept[-1] != INSTRUCTION_REMOVED:
            kept.append(INSTRUCTION_REMOVED)
    return re.sub(r'"{3,}', '"', " ".join(kept))


def passages_block(passages: Sequence[Passage]) -> str:
    """The passages as quoted data, numbered from 1, for the model's prompt."""
    lines = []
    for number, passage in enumerate(passages, start=1):
        body = quoted_data(passage.body)[:MAX_PASSAGE_CHARS]
        heading = quoted_data(" -- ".join(x for x in (passage.title, passage.section) if x))
        lines.append(f'[{number}] {heading}\n"""{body}"""')
    return "\n\n".join(lines)


def split_sentences(text: str) -> list[str]:
    """Sentences, each keeping a marker that follows its full stop ("... dose. [2]")."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+\.)\s)", text.strip()):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for match in SENTENCE_RE.finditer(paragraph):
            end = match.start()
            # a marker right after the full stop belongs to the sentence before it
            trailing = MARKER_RE.match(paragraph[end:].lstrip())
            if trailing:
                end = paragraph.index(trailing.group(0), end) + len(trailing.group(0))
            pieces.append(paragraph[start:end].strip())
            start = match.end() if not trailing else end
        pieces.append(paragraph[start:].strip())
    merged: list[str] = []
    for piece in (p for p in pieces if p):
        if merged and ABBREVIATION_RE.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}"  # "Dr. Smith": not a sentence end
        else:
            merged.append(piece)
    return merged


def markers_in(sentence: str) -> tuple[int, ...]:
    found: list[int] = []
    for group in MARKER_RE.findall(sentence):
        for part in re.split(r"\s*,\s*", group):
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                found.extend(range(low, min(high, low + 20) + 1))
            else:
                found.append(int(part))
    return tuple(dict.fromkeys(found))


def strip_markers(sentence: str) -> str:
    return MARKER_RE.sub("", sentence).strip()


def is_claim(sentence: str) -> bool:
    """A sentence that states something (not a heading, a lead-in ending in a colon, a
    greeting or a question)."""
    text = strip_markers(sentence)
    return len(text.split()) >= 5 and not text.endswith(("?", ":"))


def canonical_number(raw: str) -> str:
    if "," in raw:  # 2,500 is a thousands separator; 2,5 a decimal comma
        head, tail = raw.split(",", 1)
        raw = head + tail if len(tail) == 3 else f"{head}.{tail}"
    if "." in raw:
        raw = raw.rstrip("0").rstrip(".")
    return re.sub(r"^0+(?=\d)", "", raw)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, canonical ("1.50" and "1.5" agree; markers excluded)."""
    return {canonical_number(n) for n in NUMBER_RE.findall(strip_markers(text))}
