"""How answers, citations, flags, passages and tool steps are shown: HTML and Markdown with
every text from a document or a record escaped."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from agent.flags import FlagKind
from agent.grounding import Citation
from agent.service import (
    Passage,
)

MODE_LABELS = {
    "generated": "Answer written by the model and checked against the passages.",
    "extractive": "Answer quoted from the guideline passages.",
    "abstained": "The guidelines in this knowledge base do not address the question.",
}
# Flags stand apart from the answer; citations read as footnotes.
CSS = """
#flags ul { border-left: 4px solid #d97706; padding-left: 1.6em; }
.citation summary { cursor: pointer; font-weight: 600; }
.citation blockquote { font-size: 0.92em; border-left: 3px solid #94a3b8; padding-left: .6em; }
.provenance { font-size: 0.85em; color: #64748b; }
.passage mark { background: #fde68a; }
"""
# Every kind has its icon (a test checks), so a new kind cannot be shown without one.
FLAG_ICONS: dict[FlagKind, str] = {
    FlagKind.ALLERGY: "⛔",
    FlagKind.INTERACTION: "⛔",
    FlagKind.DUPLICATE: "⚠️",
    FlagKind.RENAL_DOSE: "⚠️",
    FlagKind.UNSUPPORTED: "⚠️",
    FlagKind.NUMBER_NOT_FOUND: "⚠️",
    FlagKind.INVALID_CITATION: "⚠️",
    FlagKind.UNCITED: "⚠️",
    FlagKind.IMAGE: "🖼️",
    FlagKind.NOT_CHECKED: "❔",
    FlagKind.NOT_COVERED: "⚪",
    FlagKind.ABSTAINED: "⚪",
    FlagKind.REMOVED_OPTION: "⚠️",
    FlagKind.REMOVED_TEXT: "⚠️",
    FlagKind.FALLBACK: "⚠️",
    FlagKind.ENGINE: "⚙️",
    FlagKind.STEP_BUDGET: "⚠️",
}


class Flagged(Protocol):
    """A flag of an answer (`Flag`) or of a plan (`PlanFlag`)."""

    @property
    def kind(self) -> FlagKind: ...
    @property
    def message(self) -> str: ...


def escape(text: str | None) -> str:
    return html.escape(text or "")


def citations_html(citations: Sequence[Citation]) -> str:
    """Numbered footnotes; each expands to the passage with its provenance."""
    if not citations:
        return ""
    items = []
    for citation in citations:
        p = citation.passage
        link = (
            f'<a href="{escape(p.url)}" target="_blank" rel="noopener">source</a>' if p.url else ""
        )
        meta = " · ".join(
            x
            for x in (
                link,
                f"updated {escape(p.updated)}" if p.updated else "",
                f"licence: {escape(p.effective_license)}" if p.effective_license else "",
            )
            if x
        )
        items.append(
            f'<details class="citation"><summary>[{citation.marker}] {escape(p.title)}'
            f" — {escape(p.section)}</summary><blockquote>{escape(p.body)}</blockquote>"
            f"<p class='provenance'>{meta}</p></details>"
        )
    return "<div class='citations'><h4>Sources</h4>" + "".join(items) + "</div>"


def flags_markdown(flags: Sequence[Flagged]) -> str:
    """One line per flag, the severest first (in the order raised within a severity)."""
    lines = []
    for flag in sorted(flags, key=lambda f: f.kind.severity):
        sentence = getattr(flag, "sentence", None)
        quoted = f' — "{sentence}"' if sentence else ""
        lines.append(f"- {FLAG_ICONS[flag.kind]} **{flag.kind.label}**: {flag.message}{quoted}")
    return "\n".join(lines)


def passages_html(passages: Sequence[Passage], query: str) -> str:
    """Ranked passages with the query's words highlighted (no LLM involved)."""
    if not passages:
        return "<p>No passage found.</p>"
    words = sorted({w for w in re.findall(r"[A-Za-z]{4,}", query)}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    blocks = []
    for rank, p in enumerate(passages, start=1):
        body = escape(p.body)
        if pattern is not None:
            body = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", body)
        link = (
            f'<a href="{escape(p.url)}" target="_blank" rel="noopener">{escape(p.url)}</a>'
            if p.url
            else ""
        )
        blocks.append(
            f"<div class='passage'><h4>{rank}. {escape(p.title)} — {escape(p.section)}</h4>"
            f"<p>{body}</p><p class='provenance'>{link} "
            f"{'· updated ' + escape(p.updated) if p.updated else ''} "
            f"· licence: {escape(p.effective_license or 'not stated')} "
            f"· score {p.score:.4f}</p></div>"
        )
    return "".join(blocks)


def tool_message(title: str, content: str, status: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        "metadata": {"title": title, "status": status},
    }


def short_json(content: str, limit: int = 1200) -> str:
    try:
        text = json.dumps(json.loads(content), indent=1, ensure_ascii=False)
    except ValueError:
        text = content
    return "```json\n" + (text if len(text) <= limit else text[:limit] + "\n…") + "\n```"


def markdown_escape(text: str) -> str:
    """Licence and source text shown as written (a "raw/*.md" must not start italics)."""
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)
