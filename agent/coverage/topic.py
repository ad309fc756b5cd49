"""A question's topic as the corpus weighs it: its rare words (question words and unknown codes
left out, one redundant rare word dropped), corpus abbreviations counted as either spelling."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from knowledge.analysis import PREFIXES, content_terms
from knowledge.embedding import Embedder
from knowledge.vocabulary import Alias, CorpusVocabulary

REDUNDANT_WORD_COSINE = 0.88  # see `redundant_rare_terms`
RARE_DOCUMENT_SHARE = 0.05  # a word fewer than this share of documents use is rare
MAX_RARE_WORDS = 6


QUESTION_WORDS = (
    "what which who whom whose when where why how should would could can may might must shall "
    "will do does did is are was were be been being have has had get gets got there this that "
    "these those it its they them their"
)


@cache
def question_words() -> frozenset[str]:
    return frozenset(content_terms([QUESTION_WORDS])[0])


def topic_terms(text: str, vocabulary: CorpusVocabulary) -> set[str]:
    """The terms that can name what a question is about: its content terms less the words
    that ask (what, should, does ...) and less codes with digits that the corpus never uses
    (a reference number, a date; "BRCA1" stays); the question's terms if nothing is left."""
    terms = content_terms([text])[0]
    kept = {
        t
        for t in terms - question_words()
        if t in vocabulary.document_frequency or not any(c.isdigit() for c in t)
    }
    return kept or terms


def redundant_rare_terms(
    question: str, terms: set[str], vocabulary: CorpusVocabulary, embedder: Embedder
) -> set[str]:
    """Rare words (few documents or none use them) that do not carry the question's meaning.

    A rare word is either the topic ("pyelonephritis", "gabapentin") or a word the guidelines
    seldom use ("troublesome hot flashes"), and idf weighs both alike. The embedder tells them
    apart: without a topic word the question means something else (cosine 0.59-0.82 when
    measured: scabies, croup, Kawasaki, pyelonephritis, carburettor); without a redundant one it
    hardly changes (0.94-0.99: troublesome, bothersome, vulgaris after acne; 0.89 for
    "troublesome" in the bare problem name "troublesome hot flashes")."""
    # in a small corpus, a word one document uses is rare too
    limit = max(RARE_DOCUMENT_SHARE * vocabulary.documents, 2)
    rare = {t for t in terms if vocabulary.document_frequency.get(t, 0) < limit}
    if len(rare) < 2:  # a question's only rare word is its topic
        return set()
    words = re.findall(r"[A-Za-z][\w'’-]*", question)
    stems = content_terms(words) if words else []
    candidates = [
        (word, found & rare) for word, found in zip(words, stems, strict=True) if found & rare
    ][:MAX_RARE_WORDS]
    if not candidates:
        return set()
    without = [re.sub(rf"\b{re.escape(word)}\b", "", question, count=1) for word, _ in candidates]
    vectors = embedder.embed([question, *without])
    similarity = [float(vector @ vectors[0]) for vector in vectors[1:]]
    # one word at most, the most redundant: each was weighed with all the others present, so
    # two parts of one name ("hot", "flashes") can each seem redundant while the other stays
    best = max(range(len(candidates)), key=lambda i: similarity[i])
    return set(candidates[best][1]) if similarity[best] >= REDUNDANT_WORD_COSINE else set()


def known_form(term: str, vocabulary: CorpusVocabulary) -> str:
    """A prefixed word the corpus never uses ("nondrug", from "non-drug") as the word it
    prefixes ("drug"), when the corpus knows that one."""
    if term in vocabulary.document_frequency:
        return term
    for prefix in PREFIXES:
        rest = term[len(prefix) :]
        if term.startswith(prefix) and rest in vocabulary.document_frequency:
            return rest
    return term


def expanded(terms: set[str], aliases: Sequence[Alias]) -> set[str]:
    """`terms` with both spellings of every alias they contain."""
    out = set(terms)
    for alias in aliases:
        if alias.short in terms or alias.long <= terms:
            out.add(alias.short)
            out |= alias.long
    return out


@dataclass(frozen=True)
class TopicWeights:
    """The question's terms weighted by idf, with the abbreviations that bear on them."""

    weights: dict[str, float]
    aliases: tuple[Alias, ...]

    @classmethod
    def of(
        cls, question: str, vocabulary: CorpusVocabulary, embedder: Embedder | None = None
    ) -> TopicWeights:
        terms = {known_form(t, vocabulary) for t in topic_terms(question, vocabulary)}
        if embedder is not None:
            terms -= redundant_rare_terms(question, terms, vocabulary, embedder)
        weights = {t: vocabulary.idf(t) for t in terms}
        return cls(weights, tuple(vocabulary.aliases(terms)))

    def precision(self, title: frozenset[str], vocabulary: CorpusVocabulary) -> float:
        """How much of a document's title the question names (idf-weighted): "Childhood
        Thyroid Cancer Treatment" fits "How is thyroid cancer treated after thyroidectomy?"
        less well than "Thyroid Cancer Treatment"."""
        asked = expanded(set(self.weights), self.aliases)
        weights = {t: vocabulary.idf(t) for t in title}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in asked) / total if total else 0.0

    def mentioned(self, terms: set[str]) -> set[str]:
        """The question's terms that `terms` mention (either spelling)."""
        present = expanded(terms, self.aliases)
        return {t for t in self.weights if t in present}

    def weight_share(self, terms: set[str]) -> float:
        total = sum(self.weights.values())
        return sum(self.weights.get(t, 0.0) for t in terms) / total if total else 0.0

    def recall(self, terms: set[str]) -> float:
        """The share of the question's weight that `terms` mention (either spelling)."""
        return self.weight_share(self.mentioned(terms))
