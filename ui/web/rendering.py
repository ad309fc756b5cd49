"""How answers, citations, flags, passages and tool steps are shown: HTML and Markdown with
every text from a document or a record escaped, and links only to http(s) URLs.

Answers, plans and flags render as Markdown through an allow-list: emphasis, lists, tables and
headings stay; raw HTML, links and images in their text are shown as text (`inert_markdown`).
The app's own HTML (the citation footnotes) is built here, with every value in it escaped."""

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


def inert_markdown(text: str) -> str:
    """Markdown whose raw HTML, links, images and code are text: `<`, `>` and `&` become
    entities (a tag, an autolink or an entity shows as written), backslashes and backticks are
    escaped (no code span), and so is a `]` before `(`, `[` or `:` (no link, image or reference
    definition can form). Emphasis, lists and tables keep working; footnote markers such as [1]
    stay as they are."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`])", r"\\\1", text)
    return re.sub(r"\](?=[(\[:])", r"\\]", text)


def web_link(passage: Passage, label: str) -> str:
    """A link to the passage's source, only when it is an http(s) URL ("" otherwise)."""
    if passage.link is None:
        return ""
    return f'<a href="{escape(passage.link)}" target="_blank" rel="noopener">{escape(label)}</a>'


def citations_html(citations: Sequence[Citation]) -> str:
    """Numbered footnotes; each expands to the passage with its provenance."""
    if not citations:
        return ""
    items = []
    for citation in citations:
        p = citation.passage
        link = web_link(p, "source")
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
        quoted = f' — "{inert_markdown(sentence)}"' if sentence else ""
        message = inert_markdown(flag.message)
        lines.append(f"- {FLAG_ICONS[flag.kind]} **{flag.kind.label}**: {message}{quoted}")
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
        link = web_link(p, p.link or "")
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
    """A tool's arguments or result as a code block (shown as text); its fence is longer than
    any run of backticks inside, so nothing in it can close the block."""
    try:
        text = json.dumps(json.loads(content), indent=1, ensure_ascii=False)
    except ValueError:
        text = content
    shown = text if len(text) <= limit else text[:limit] + "\n…"
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", shown)), default=0))
    return f"{fence}json\n{shown}\n{fence}"


def markdown_escape(text: str) -> str:
    """Licence and source text shown as written (a "raw/*.md" must not start italics)."""
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)
