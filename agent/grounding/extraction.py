"""Extractive answers: the passages' sentences that answer a question, quoted with their
source; what the guidelines do not cover, said with the nearest ones."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.grounding.sentences import looks_like_instruction, quoted_data
from knowledge.analysis import content_terms
from knowledge.types import Passage

# Quoting (see `choose_quotes`): cosine similarities between the question and a sentence.
SENTENCE_FLOOR = 0.35
OVERLAP_WEIGHT = 0.3
FIT_WEIGHT = 0.6
SENTENCE_MARGIN = 0.15
SECOND_SOURCE_MARGIN = 0.05
LEAD_SOURCE_SENTENCES = 3


@dataclass(frozen=True)
class Quote:
    """A sentence of a passage that may be quoted, with its semantic relevance to the
    question (cosine similarity of their embeddings)."""

    passage: Passage
    position: int  # order of the sentence within its passage
    text: str
    relevance: float
    overlap: float = 0.0  # share of the question's topic (idf-weighted) it and its heading name
    fit: float = 0.0  # share of its document's title that the question names (idf-weighted)

    @property
    def source(self) -> tuple[str, str, str]:
        return (self.passage.corpus, self.passage.doc_id, self.passage.section)

    @property
    def score(self) -> float:
        """Meaning first, the question's own words second: a small embedder blurs "muscle-
        invasive" and "nonmuscle-invasive", the words do not; and a document whose title
        fits the question (not "Childhood ..." for an adult's question) comes first."""
        return self.relevance + OVERLAP_WEIGHT * self.overlap + FIT_WEIGHT * self.fit


def _quotable(text: str) -> str | None:
    """The sentence as it may be quoted (list markers removed), or None when it is a
    fragment, a heading or text addressed to an AI."""
    clean = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", " ".join(text.split()))
    # a PDQ sentence keeps the level of evidence that follows it: "...threshold.[Level ...]"
    ending = re.sub(r"(?:\s*\[[^\[\]]{1,60}\])+$", "", clean)
    if (
        40 <= len(clean) <= 500
        and clean[0].isupper()
        and ending[-1:] in (".", ")")
        and not looks_like_instruction(clean)
    ):
        return clean
    return None


def choose_quotes(candidates: Sequence[Quote], *, max_sentences: int = 4) -> list[Quote]:
    """The sentences to quote, from the best-matching document and section first.

    A sentence must be relevant in itself: its semantic relevance at least `SENTENCE_FLOOR`
    and its score (`Quote.score`) within `SENTENCE_MARGIN` of the best sentence's. The best
    sentence's document and section lead (up to three of its sentences, in source order); a
    second source is added only when its own best sentence is nearly as relevant
    (`SECOND_SOURCE_MARGIN`) and says something the first did not. Near-duplicates
    (overlapping chunks repeat text) are dropped."""
    quotable = [
        dataclasses.replace(q, text=clean)
        for q in candidates
        if (clean := _quotable(q.text)) is not None
    ]
    if not quotable:
        return []
    best = max(q.score for q in quotable)
    relevant = sorted(
        (
            q
            for q in quotable
            if q.relevance >= SENTENCE_FLOOR and q.score >= best - SENTENCE_MARGIN
        ),
        key=lambda q: -q.score,
    )
    if not relevant:
        return []
    by_source: dict[tuple[str, str, str], list[Quote]] = {}
    for quote in relevant:
        by_source.setdefault(quote.source, []).append(quote)
    sources = list(by_source)  # in order of their best sentence
    chosen: list[Quote] = []
    seen: list[set[str]] = []

    def take(quotes: list[Quote], limit: int) -> None:
        terms = content_terms([q.text for q in quotes])
        for quote, words in zip(quotes, terms, strict=True):
            if len(chosen) >= max_sentences or limit <= 0:
                return
            if any(len(words & other) > 0.7 * max(len(words), 1) for other in seen):
                continue
            seen.append(words)
            chosen.append(quote)
            limit -= 1

    take(by_source[sources[0]], LEAD_SOURCE_SENTENCES)
    for source in sources[1:]:
        if len(chosen) >= max_sentences:
            break
        if by_source[source][0].score >= best - SECOND_SOURCE_MARGIN:
            take(by_source[source], max_sentences - len(chosen))
            break  # at most one more source
    # sentences of one source stay together, in the order the source gives them
    order = {source: rank for rank, source in enumerate(sources)}
    passage_order: dict[str, int] = {}
    for quote in candidates:
        passage_order.setdefault(quote.passage.id, len(passage_order))
    return sorted(chosen, key=lambda q: (order[q.source], passage_order[q.passage.id], q.position))


def quoted_text(quotes: Sequence[Quote], markers: dict[str, int]) -> str:
    """The quotes as an answer: one "From *title — section*:" line per source, then its
    sentences in source order, each followed by its passage's marker."""
    blocks: list[str] = []
    current: tuple[str, str, str] | None = None
    sentences: list[str] = []
    for quote in quotes:
        if quote.source != current:
            if sentences:
                blocks.append(" ".join(sentences))
            current, sentences = quote.source, []
            blocks.append(f"From *{source_label(quote.passage)}*:")
        sentences.append(f"{quote.text} [{markers[quote.passage.id]}]")
    if sentences:
        blocks.append(" ".join(sentences))
    return "\n\n".join(blocks)


def source_label(passage: Passage, *, short: bool = False) -> str:
    """ "Title — section" as a reader names the source (Markdown emphasis characters removed);
    `short` keeps only the section's last heading."""
    section = passage.section.split(" > ")[-1] if short else passage.section
    label = " — ".join(x for x in (passage.title, section) if x)
    return re.sub(r"[*_`]", "", quoted_data(label))


def evidence_strength(passages: Sequence[Passage]) -> float:
    """The best dense (cosine) score among the passages; 0 when none was found densely."""
    return max((p.dense_score for p in passages if p.dense_score is not None), default=0.0)


def not_covered_text(what: str | None, nearest: Sequence[Passage]) -> str:
    """The knowledge base does not address `what` (the question when None); the nearest
    guidelines are named so the clinician can look for themselves."""
    subject = f"“{what.rstrip('?').strip()}”" if what else "this question"
    text = f"The guidelines in this knowledge base do not address {subject}."
    if nearest:
        text += " Nearest: " + "; ".join(f"*{source_label(p, short=True)}*" for p in nearest) + "."
    return text
