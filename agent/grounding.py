"""Grounding: numbered passages in, a verified (or extractive) answer out. No LLM trusted here.

The model sees the passages as quoted data numbered [1]..[n] and must cite them. After it
answers, every sentence is checked: its markers must name passages that were given; its content
words must be covered by a cited passage (stemmed terms, the analysis BM25 uses) at least to
`support_threshold`; every number in it must occur in a cited passage. Sentences that fail are
flagged, never silently kept as if fine. When most of an answer fails, or the setting asks for
it, the extractive answer replaces it: sentences taken verbatim from the passages that address
the question, chosen by their semantic relevance to it (`choose_quotes`), grouped under the
source they come from, each with its marker.

Whether the passages address the question at all is `agent.coverage`'s decision; what is not
covered is said so (`not_covered_text`), never filled with unrelated quotes.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from agent.llm import INVISIBLE_RE
from knowledge.analysis import content_terms
from knowledge.types import Passage

NOTICE = (
    "clinassist supports, and does not replace, clinical judgement: check every cited passage "
    "before acting on it."
)
MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*[,-]\s*\d{1,3})*)\]")
NUMBER_RE = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
_SENTENCE_RE = re.compile(r"(?<=[.!?])(?:\s*\[\d[\d,\s-]*\])?\s+(?=[A-Z(\"'])")
MAX_PASSAGE_CHARS = 900
# Quoting (see `choose_quotes`): cosine similarities between the question and a sentence.
SENTENCE_FLOOR = 0.35
OVERLAP_WEIGHT = 0.3
FIT_WEIGHT = 0.6
SENTENCE_MARGIN = 0.15
SECOND_SOURCE_MARGIN = 0.05
LEAD_SOURCE_SENTENCES = 3
_ABBREVIATION_RE = re.compile(
    r"\b(?:Dr|Drs|Mr|Mrs|Ms|Prof|St|vs|etc|approx|Fig|No|e\.g|i\.e|al)\.$", re.IGNORECASE
)


class AnswerMode(Enum):
    GENERATED = "generated"  # the model's words, verified sentence by sentence
    EXTRACTIVE = "extractive"  # sentences quoted from the passages
    ABSTAINED = "abstained"  # the knowledge base had no adequate evidence


class FlagKind(Enum):
    UNSUPPORTED = "unsupported_sentence"
    UNCITED = "uncited_sentence"
    INVALID_CITATION = "invalid_citation"
    NUMBER_NOT_FOUND = "number_not_in_source"
    ABSTAINED = "abstained"
    NOT_COVERED = "not_covered"  # a question (or one of its parts) the guidelines do not address
    FALLBACK = "extractive_fallback"
    INTERACTION = "interaction"
    ALLERGY = "allergy"
    IMAGE = "image"
    STEP_BUDGET = "step_budget"
    ENGINE = "engine"


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    message: str
    sentence: str | None = None


@dataclass(frozen=True)
class Citation:
    """A marker in the answer and the passage it names."""

    marker: int
    passage: Passage


@dataclass(frozen=True)
class SentenceCheck:
    text: str
    markers: tuple[int, ...]
    support: float  # share of the sentence's content terms found in its cited passages
    missing_numbers: tuple[str, ...]
    ok: bool


@dataclass
class Verification:
    sentences: list[SentenceCheck] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)

    @property
    def supported_share(self) -> float:
        claims = [s for s in self.sentences if s.markers or is_claim(s.text)]
        return sum(s.ok for s in claims) / len(claims) if claims else 0.0

    @property
    def valid_marker_share(self) -> float:
        markers = [m for s in self.sentences for m in s.markers]
        valid = {c.marker for c in self.citations}
        return sum(m in valid for m in markers) / len(markers) if markers else 0.0


# --------------------------------------------------------------------------- prompt


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


# --------------------------------------------------------------------------- sentences


def split_sentences(text: str) -> list[str]:
    """Sentences, each keeping a marker that follows its full stop ("... dose. [2]")."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+\.)\s)", text.strip()):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for match in _SENTENCE_RE.finditer(paragraph):
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
        if merged and _ABBREVIATION_RE.search(merged[-1]):
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


def _strip_markers(sentence: str) -> str:
    return MARKER_RE.sub("", sentence).strip()


def is_claim(sentence: str) -> bool:
    """A sentence that states something (not a heading, a lead-in ending in a colon, a
    greeting or a question)."""
    text = _strip_markers(sentence)
    return len(text.split()) >= 5 and not text.endswith(("?", ":"))


def _canonical_number(raw: str) -> str:
    if "," in raw:  # 2,500 is a thousands separator; 2,5 a decimal comma
        head, tail = raw.split(",", 1)
        raw = head + tail if len(tail) == 3 else f"{head}.{tail}"
    if "." in raw:
        raw = raw.rstrip("0").rstrip(".")
    return re.sub(r"^0+(?=\d)", "", raw)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, canonical ("1.50" and "1.5" agree; markers excluded)."""
    return {_canonical_number(n) for n in NUMBER_RE.findall(_strip_markers(text))}


# --------------------------------------------------------------------------- verification


def verify(answer: str, passages: Sequence[Passage], *, support_threshold: float) -> Verification:
    """Check every sentence of `answer` against the passages it cites."""
    result = Verification()
    sentences = split_sentences(answer)
    bodies = [passage.body for passage in passages]
    stripped = [_strip_markers(sentence) for sentence in sentences]
    terms = content_terms(stripped + bodies)
    sentence_terms, passage_terms = terms[: len(sentences)], terms[len(sentences) :]
    passage_numbers = [numbers_in(body) for body in bodies]
    cited: dict[int, Citation] = {}
    for sentence, words in zip(sentences, sentence_terms, strict=True):
        markers = markers_in(sentence)
        valid = [m for m in markers if 1 <= m <= len(passages)]
        invalid = [m for m in markers if m not in valid]
        for marker in valid:
            cited.setdefault(marker, Citation(marker, passages[marker - 1]))
        if invalid:
            result.flags.append(
                Flag(
                    FlagKind.INVALID_CITATION,
                    f"Cites [{', '.join(map(str, invalid))}], which no passage was given as.",
                    sentence,
                )
            )
        covered: set[str] = set()
        numbers: set[str] = set()
        for marker in valid:
            covered |= passage_terms[marker - 1]
            numbers |= passage_numbers[marker - 1]
        support = len(words & covered) / len(words) if words else 0.0
        missing = tuple(sorted(numbers_in(_strip_markers(sentence)) - numbers))
        claim = is_claim(sentence)
        if not markers:
            ok = not claim
            if claim:
                result.flags.append(
                    Flag(FlagKind.UNCITED, "This sentence cites no passage.", sentence)
                )
        else:
            ok = not invalid and support >= support_threshold and not missing
            if valid and support < support_threshold:
                result.flags.append(
                    Flag(
                        FlagKind.UNSUPPORTED,
                        f"The cited passage does not support this sentence "
                        f"(overlap {support:.0%}).",
                        sentence,
                    )
                )
            if valid and missing:
                result.flags.append(
                    Flag(
                        FlagKind.NUMBER_NOT_FOUND,
                        f"{', '.join(missing)} does not appear in the cited passage.",
                        sentence,
                    )
                )
        result.sentences.append(SentenceCheck(sentence, markers, round(support, 3), missing, ok))
    result.citations = [cited[m] for m in sorted(cited)]
    return result


def supported(
    texts: Sequence[str], passages: Sequence[Passage], *, support_threshold: float
) -> list[bool]:
    """Whether each text (no markers needed) is backed by the passages together: enough of its
    content terms occur in them and every number it states appears in one of them."""
    if not texts:
        return []
    bodies = [passage.body for passage in passages]
    terms = content_terms([_strip_markers(text) for text in texts] + bodies)
    covered: set[str] = set().union(*terms[len(texts) :])
    numbers: set[str] = set().union(*(numbers_in(body) for body in bodies))
    verdicts = []
    for text, words in zip(texts, terms[: len(texts)], strict=True):
        share = len(words & covered) / len(words) if words else 0.0
        verdicts.append(share >= support_threshold and numbers_in(_strip_markers(text)) <= numbers)
    return verdicts


# --------------------------------------------------------------------------- extractive

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


# --------------------------------------------------------------------------- abstention


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
