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

Modules: flags.py (answer modes, sentence checks), sentences.py (sentences, markers, numbers,
text addressed to an AI, passages quoted as data), verification.py, extraction.py (quotes,
not-covered text). Coverage is `agent.coverage`; the flags raised are `agent.flags`.
"""

from __future__ import annotations

from agent.grounding.extraction import (
    Quote,
    choose_quotes,
    evidence_strength,
    not_covered_text,
    quoted_text,
    source_label,
)
from agent.grounding.flags import (
    AnswerMode,
    Citation,
    SentenceCheck,
    Verification,
)
from agent.grounding.sentences import (
    INSTRUCTION_REMOVED,
    MARKER_RE,
    MAX_PASSAGE_CHARS,
    NOTICE,
    NUMBER_RE,
    is_claim,
    looks_like_instruction,
    markers_in,
    numbers_in,
    passages_block,
    quoted_data,
    split_sentences,
    strip_markers,
)
from agent.grounding.verification import supported, verify

__all__ = [
    "INSTRUCTION_REMOVED",
    "MARKER_RE",
    "MAX_PASSAGE_CHARS",
    "NOTICE",
    "NUMBER_RE",
    "AnswerMode",
    "Citation",
    "Quote",
    "SentenceCheck",
    "Verification",
    "choose_quotes",
    "evidence_strength",
    "is_claim",
    "looks_like_instruction",
    "markers_in",
    "not_covered_text",
    "numbers_in",
    "passages_block",
    "quoted_data",
    "quoted_text",
    "source_label",
    "split_sentences",
    "strip_markers",
    "supported",
    "verify",
]
