"""The corpus's own vocabulary: in how many documents each term occurs, the words of every
document's title and headings, and the abbreviations the corpus itself defines.

"Does the knowledge base address this question?" needs to know which words of a question name
its topic (a word most documents use, such as "treatment", names none; "pyelonephritis" does)
and whether a document is about that topic (its title and headings). A clinician writes
"COPD" where a guideline writes "chronic obstructive pulmonary disease": the abbreviations come
from the corpus's own "long form (SHORT)" definitions (Schwartz & Hearst, PSB 2003), so a new
corpus brings its own. Terms are the stemmed, stopword-free terms BM25 uses
(`knowledge.lexical.content_terms`).

Derived from the stored chunks with the BM25 index, saved beside it under the same version
token, rebuilt when the collection changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.analysis import content_terms

# "(COPD)", "(NSCLC)", "(BCG)": a short form of 2-10 characters with at least two capitals.
_SHORT_FORM_RE = re.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)")
MAX_LONG_FORMS = 3  # per short form, the most frequent definitions


def document_key(corpus: str, doc_id: str) -> str:
    """One document across corpora (a doc id is unique only within its corpus)."""
    return f"{corpus}/{doc_id}"


def _long_form(words: Sequence[str], short: str) -> str | None:
    """The words before "(SHORT)" that SHORT abbreviates: every character of the short form,
    right to left, found in order in the words, the first one starting a word (Schwartz &
    Hearst's algorithm). None when the words do not spell it."""
    text = " ".join(words).lower()
    wanted = short.lower()
    s, t = len(wanted) - 1, len(text) - 1
    while s >= 0:
        char = wanted[s]
        if not char.isalnum():
            s -= 1
            continue
        while t >= 0 and (text[t] != char or (s == 0 and t > 0 and text[t - 1].isalnum())):
            t -= 1
        if t < 0:
            return None
        s -= 1
        t -= 1
    start = text.rfind(" ", 0, t + 1) + 1
    found = text[start:].strip(" ,;:")
    return found if len(found.split()) >= 2 else None


def abbreviations_in(text: str) -> Iterable[tuple[str, str]]:
    """(short form, long form) pairs that `text` defines."""
    for match in _SHORT_FORM_RE.finditer(text):
        short = match.group(1)
        if sum(char.isupper() for char in short) < 2:
            continue
        before = text[max(0, match.start() - 150) : match.start()].split()
        words = before[-min(len(short) + 5, 2 * len(short)) :]
        long = _long_form(words, short)
        if long and long.replace("-", " ") != short.lower():
            yield short, long


@dataclass(frozen=True)
class Alias:
    """Two spellings of one concept, as stemmed terms: a short form and its long form."""

    short: str
    long: frozenset[str]


@dataclass
class CorpusVocabulary:
    documents: int = 0
    document_frequency: dict[str, int] = field(default_factory=dict)
    headings: dict[str, frozenset[str]] = field(default_factory=dict)  # doc key -> terms
    titles: dict[str, frozenset[str]] = field(default_factory=dict)  # doc key -> title terms
    abbreviations: dict[str, list[frozenset[str]]] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    @classmethod
    def build(cls, chunks: Sequence[tuple[str, dict[str, Any]]]) -> CorpusVocabulary:
        """From (text, metadata) pairs of every stored chunk."""
        if not chunks:
            return cls()
        terms = content_terms([text for text, _ in chunks])
        per_document: dict[str, set[str]] = defaultdict(set)
        heading_text: dict[str, set[str]] = defaultdict(set)
        title_text: dict[str, str] = {}
        definitions: dict[str, Counter[str]] = defaultdict(Counter)
        for (text, meta), words in zip(chunks, terms, strict=True):
            key = document_key(str(meta.get("corpus", "")), str(meta.get("doc_id", "")))
            per_document[key] |= words
            heading_text[key].add(str(meta.get("title", "")))
            title_text[key] = str(meta.get("title", ""))
            heading_text[key].add(str(meta.get("section", "")))
            for short, long in abbreviations_in(text):
                definitions[short][long] += 1
        frequency: Counter[str] = Counter()
        for words in per_document.values():
            frequency.update(words)
        keys = sorted(heading_text)
        heading_terms = content_terms([" ".join(sorted(heading_text[k])) for k in keys])
        title_terms = content_terms([title_text[k] for k in keys])
        shorts = sorted(definitions)
        short_terms = content_terms(shorts)
        abbreviations: dict[str, list[frozenset[str]]] = {}
        for short, stems in zip(shorts, short_terms, strict=True):
            if len(stems) != 1:
                continue
            longs = [long for long, _ in definitions[short].most_common(MAX_LONG_FORMS)]
            expanded = [frozenset(t) for t in content_terms(longs) if len(t) >= 2]
            if expanded:
                abbreviations.setdefault(next(iter(stems)), []).extend(expanded)
        return cls(
            documents=len(per_document),
            document_frequency=dict(frequency),
            headings={k: frozenset(t) for k, t in zip(keys, heading_terms, strict=True)},
            titles={k: frozenset(t) for k, t in zip(keys, title_terms, strict=True)},
            abbreviations=abbreviations,
        )

    # ------------------------------------------------------------------ use

    def idf(self, term: str) -> float:
        """Inverse document frequency: high for a word few documents use; highest for one the
        corpus never uses."""
        return math.log((self.documents + 1) / (self.document_frequency.get(term, 0) + 0.5))

    def aliases(self, terms: set[str]) -> list[Alias]:
        """The abbreviations that bear on a text with these terms: its short forms with their
        long forms, and the short forms of the long forms it spells out."""
        found: list[Alias] = []
        for short, longs in self.abbreviations.items():
            for long in longs:
                if short in terms or long <= terms:
                    found.append(Alias(short, long))
        return found

    # ------------------------------------------------------------------ persistence

    def as_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "document_frequency": self.document_frequency,
            "headings": {k: sorted(v) for k, v in self.headings.items()},
            "titles": {k: sorted(v) for k, v in self.titles.items()},
            "abbreviations": {k: [sorted(x) for x in v] for k, v in self.abbreviations.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CorpusVocabulary:
        return cls(
            documents=int(data["documents"]),
            document_frequency={str(k): int(v) for k, v in data["document_frequency"].items()},
            headings={str(k): frozenset(v) for k, v in data["headings"].items()},
            titles={str(k): frozenset(v) for k, v in data["titles"].items()},
            abbreviations={
                str(k): [frozenset(x) for x in v] for k, v in data["abbreviations"].items()
            },
        )
