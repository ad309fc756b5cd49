"""Coverage: does the knowledge base address this question (or this problem of a case)?

A passage can be quoted correctly, cited correctly and still not answer the question: a
question on community-acquired pneumonia retrieves sentences on antibiotics for COPD. So before
anything is answered, the retrieved passages are judged against the question with signals that
do not depend on a list of topics:

- `dense`: the best passage's cosine similarity to the question (calibrated per corpus when
  the fit found that to help);
- `recall`: how much of the question's topic the best passage mentions: its terms weighted by
  how few documents use them (the corpus's idf, so "pyelonephritis" counts and "treatment"
  hardly), abbreviations the corpus defines counted as their long forms;
- `heading_recall`: the same in the title and section headings of the passage's document
  (is the document *about* it?);
- `sentence`: the best cosine between the question and a single sentence of the passages.

A logistic model over these (`CoverageModel`, fit by `agent/evaluation/coverage_fit.py` on
questions generated from the corpus's own headings, shipped in `coverage_model.json`) gives the
probability that the passages address the question; below the model's threshold the answer
says the knowledge base does not cover it and names the nearest guidelines. The passages that
go on to the answer are those of the documents that address the question.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from agent.grounding import Quote
from knowledge.analysis import PREFIXES, content_terms
from knowledge.embedding import Embedder
from knowledge.types import Passage
from knowledge.vocabulary import Alias, CorpusVocabulary, document_key

MODEL_FILE = Path(__file__).with_name("coverage_model.json")
FEATURES = ("dense", "recall", "heading_recall", "sentence")
REDUNDANT_WORD_COSINE = 0.88  # see `_redundant_rare_terms`
RARE_DOCUMENT_SHARE = 0.05  # a word fewer than this share of documents use is rare
MAX_RARE_WORDS = 6
ADDRESSING_SHARE = 0.8  # a document addresses the question when it is this close to the best
COMPLEMENT_SHARE = 0.2  # ... or names this share of the topic the best one does not
MAX_SENTENCES = 24  # sentences embedded per judgement (chosen by word overlap first)
MIN_SENTENCE_CHARS = 30
MAX_SENTENCE_CHARS = 500
# a sentence ends at its full stop, or after the evidence bracket that follows it
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z(\"'])|\n+")


@dataclass(frozen=True)
class Judgement:
    """Whether the passages address the question, with the evidence for the decision."""

    question: str
    covered: bool
    probability: float
    features: CoverageFeatures
    passages: tuple[Passage, ...]  # those judged, best first
    addressing: tuple[int, ...]  # indexes of the passages from documents that address it
    sentences: tuple[Quote, ...] = field(default=(), repr=False)

    def addressing_passages(self) -> list[Passage]:
        return [self.passages[i] for i in self.addressing]

    def quotes(self) -> list[Quote]:
        """The scored sentences of the passages that address the question."""
        kept = {self.passages[i].id for i in self.addressing}
        return [q for q in self.sentences if q.passage.id in kept]

    def nearest_titles(self) -> str:
        """The nearest documents' titles, for a flag (no question text: flags are audited)."""
        return "; ".join(p.title for p in self.nearest())

    def nearest(self, limit: int = 3) -> list[Passage]:
        """The best passage of each of the nearest documents."""
        seen: set[tuple[str, str]] = set()
        found: list[Passage] = []
        for passage in self.passages:
            key = (passage.corpus, passage.doc_id)
            if key not in seen:
                seen.add(key)
                found.append(passage)
        return found[:limit]


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class CoverageFeatures:
    """What the decision looks at (see the module's docstring)."""

    dense: float
    dense_corpus: str  # the corpus of the passage with the best dense score
    recall: float
    heading_recall: float
    sentence: float

    def values(self, model: CoverageModel) -> dict[str, float]:
        return {
            "dense": model.calibrated_dense(self.dense_corpus, self.dense),
            "recall": self.recall,
            "heading_recall": self.heading_recall,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class CoverageModel:
    """Logistic regression over `FEATURES` with its decision threshold, and the calibration
    of the dense score: (cosine - mean) / spread, per corpus where `corpus_dense` has its
    figures (the best cosine of questions each corpus answers), else with `default_dense`
    ((0, 1): the raw cosine)."""

    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    corpus_dense: dict[str, tuple[float, float]]  # corpus -> (mean, sd)
    default_dense: tuple[float, float]
    trained_on: str = ""

    def probability(self, features: CoverageFeatures) -> float:
        values = features.values(self)
        z = self.intercept + sum(
            c * values[name] for c, name in zip(self.coefficients, FEATURES, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def calibrated_dense(self, corpus: str, dense: float) -> float:
        mean, sd = self.corpus_dense.get(corpus, self.default_dense)
        return (dense - mean) / max(sd, 1e-6)

    def as_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "coefficients": [round(c, 6) for c in self.coefficients],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "corpus_dense": {k: [round(x, 6) for x in v] for k, v in self.corpus_dense.items()},
            "default_dense": [round(x, 6) for x in self.default_dense],
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoverageModel:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the coverage model was fit on other features")
        return cls(
            coefficients=tuple(float(c) for c in data["coefficients"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            corpus_dense={k: (float(v[0]), float(v[1])) for k, v in data["corpus_dense"].items()},
            default_dense=(float(data["default_dense"][0]), float(data["default_dense"][1])),
            trained_on=str(data.get("trained_on", "")),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> CoverageModel:
        return _load_model(path or MODEL_FILE)


@cache
def _load_model(path: Path) -> CoverageModel:
    return CoverageModel.from_json(json.loads(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- features


def _sentences(text: str) -> list[str]:
    pieces = (" ".join(p.split()) for p in _SENTENCE_SPLIT_RE.split(text))
    return [p for p in pieces if MIN_SENTENCE_CHARS <= len(p) <= MAX_SENTENCE_CHARS]


# How a question asks, not what it asks about: guidelines rarely use these words, so their idf
# is high in a small corpus and would pass for a topic.
QUESTION_WORDS = (
    "what which who whom whose when where why how should would could can may might must shall "
    "will do does did is are was were be been being have has had get gets got there this that "
    "these those it its they them their"
)


@cache
def _question_words() -> frozenset[str]:
    return frozenset(content_terms([QUESTION_WORDS])[0])


def topic_terms(text: str, vocabulary: CorpusVocabulary) -> set[str]:
    """The terms that can name what a question is about: its content terms less the words
    that ask (what, should, does ...) and less codes with digits that the corpus never uses
    (a reference number, a date; "BRCA1" stays); the question's terms if nothing is left."""
    terms = content_terms([text])[0]
    kept = {
        t
        for t in terms - _question_words()
        if t in vocabulary.document_frequency or not any(c.isdigit() for c in t)
    }
    return kept or terms


def _redundant_rare_terms(
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


def _known_form(term: str, vocabulary: CorpusVocabulary) -> str:
    """A prefixed word the corpus never uses ("nondrug", from "non-drug") as the word it
    prefixes ("drug"), when the corpus knows that one."""
    if term in vocabulary.document_frequency:
        return term
    for prefix in PREFIXES:
        rest = term[len(prefix) :]
        if term.startswith(prefix) and rest in vocabulary.document_frequency:
            return rest
    return term


def _expanded(terms: set[str], aliases: Sequence[Alias]) -> set[str]:
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
        terms = {_known_form(t, vocabulary) for t in topic_terms(question, vocabulary)}
        if embedder is not None:
            terms -= _redundant_rare_terms(question, terms, vocabulary, embedder)
        weights = {t: vocabulary.idf(t) for t in terms}
        return cls(weights, tuple(vocabulary.aliases(terms)))

    def precision(self, title: frozenset[str], vocabulary: CorpusVocabulary) -> float:
        """How much of a document's title the question names (idf-weighted): "Childhood
        Thyroid Cancer Treatment" fits "How is thyroid cancer treated after thyroidectomy?"
        less well than "Thyroid Cancer Treatment"."""
        asked = _expanded(set(self.weights), self.aliases)
        weights = {t: vocabulary.idf(t) for t in title}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in asked) / total if total else 0.0

    def mentioned(self, terms: set[str]) -> set[str]:
        """The question's terms that `terms` mention (either spelling)."""
        present = _expanded(terms, self.aliases)
        return {t for t in self.weights if t in present}

    def weight_share(self, terms: set[str]) -> float:
        total = sum(self.weights.values())
        return sum(self.weights.get(t, 0.0) for t in terms) / total if total else 0.0

    def recall(self, terms: set[str]) -> float:
        """The share of the question's weight that `terms` mention (either spelling)."""
        return self.weight_share(self.mentioned(terms))


@dataclass(frozen=True)
class Evidence:
    """What the passages say about the question: the decision's features, each passage's topic
    score (recall in its text plus in its document's headings) and the question terms it
    mentions, and the passages' sentences scored for relevance."""

    features: CoverageFeatures
    topic: TopicWeights
    scores: list[float]
    mentioned: list[set[str]]
    sentences: list[Quote]


def features_of(
    question: str,
    passages: Sequence[Passage],
    *,
    vocabulary: CorpusVocabulary,
    embedder: Embedder,
) -> Evidence:
    topic = TopicWeights.of(question, vocabulary, embedder)
    chunk_terms = content_terms([p.text for p in passages])
    # a document's retrieved passages together: its topic may be spread over several chunks
    by_document: dict[tuple[str, str], set[str]] = {}
    for passage, terms in zip(passages, chunk_terms, strict=True):
        by_document.setdefault((passage.corpus, passage.doc_id), set()).update(terms)
    passage_terms = [by_document[(p.corpus, p.doc_id)] for p in passages]
    headings = [
        set(vocabulary.headings.get(document_key(p.corpus, p.doc_id), ())) for p in passages
    ]
    recalls = [topic.recall(terms) for terms in passage_terms]
    heading_recalls = [topic.recall(terms) for terms in headings]
    fits = [
        topic.precision(
            vocabulary.titles.get(document_key(p.corpus, p.doc_id), frozenset()), vocabulary
        )
        for p in passages
    ]
    sentences = score_sentences(question, passages, topic, embedder, fits=fits)
    dense_best = max(passages, key=lambda p: p.dense_score or 0.0)
    # The passage that best combines topic and heading stands for the knowledge base.
    scores = [r + h for r, h in zip(recalls, heading_recalls, strict=True)]
    lead = max(range(len(passages)), key=lambda i: scores[i])
    features = CoverageFeatures(
        dense=dense_best.dense_score or 0.0,
        dense_corpus=dense_best.corpus,
        recall=recalls[lead],
        heading_recall=max(heading_recalls),
        sentence=max((s.relevance for s in sentences), default=0.0),
    )
    mentioned = [
        topic.mentioned(terms | heading)
        for terms, heading in zip(passage_terms, headings, strict=True)
    ]
    return Evidence(features, topic, scores, mentioned, sentences)


def judge(
    question: str,
    passages: Sequence[Passage],
    *,
    vocabulary: CorpusVocabulary,
    embedder: Embedder,
    model: CoverageModel,
    min_dense: float = 0.0,
) -> Judgement:
    """Do `passages` (retrieved for `question`, best first) address it? When no passage
    reaches `min_dense` in cosine similarity nothing is close enough to be worth judging."""
    passages = tuple(passages)
    dense = max((p.dense_score or 0.0 for p in passages), default=0.0)
    if not passages or dense < min_dense:
        corpus = passages[0].corpus if passages else ""
        none = CoverageFeatures(dense, corpus, 0.0, 0.0, 0.0)
        return Judgement(question, False, 0.0, none, passages, ())
    evidence = features_of(question, passages, vocabulary=vocabulary, embedder=embedder)
    probability = model.probability(evidence.features)
    covered = probability >= model.threshold
    addressing = _addressing(passages, evidence) if covered else ()
    return Judgement(
        question,
        covered,
        probability,
        evidence.features,
        passages,
        addressing,
        tuple(evidence.sentences),
    )


def _addressing(passages: Sequence[Passage], evidence: Evidence) -> tuple[int, ...]:
    """The passages of documents that address the question: the best-matching document, any
    whose best passage mentions nearly as much of the topic, and any that mentions a good part
    of the topic the best one does not ("stellate ganglion block or acupuncture": one
    document each)."""
    best: dict[tuple[str, str], int] = {}
    for index, passage in enumerate(passages):
        key = (passage.corpus, passage.doc_id)
        if key not in best or evidence.scores[index] > evidence.scores[best[key]]:
            best[key] = index
    lead = max(best.values(), key=lambda i: evidence.scores[i])
    top = evidence.scores[lead]
    kept = set()
    for key, index in best.items():
        adds = evidence.topic.weight_share(evidence.mentioned[index] - evidence.mentioned[lead])
        if evidence.scores[index] >= ADDRESSING_SHARE * top or adds >= COMPLEMENT_SHARE:
            kept.add(key)
    return tuple(i for i, p in enumerate(passages) if (p.corpus, p.doc_id) in kept)


def score_sentences(
    question: str,
    passages: Sequence[Passage],
    topic: TopicWeights,
    embedder: Embedder,
    *,
    fits: Sequence[float] = (),
    limit: int = MAX_SENTENCES,
) -> list[Quote]:
    """The passages' sentences most likely to be relevant (by topic words first, so that at
    most `limit` are embedded), each with its cosine similarity to the question."""
    candidates: list[tuple[int, int, str]] = []
    for index, passage in enumerate(passages):
        for position, sentence in enumerate(_sentences(passage.body)):
            candidates.append((index, position, sentence))
    if not candidates:
        return []
    terms = content_terms([c[2] for c in candidates])
    headings = content_terms([p.section for p in passages])
    overlap = [topic.recall(t | headings[c[0]]) for t, c in zip(terms, candidates, strict=True)]
    # word overlap first, then the passage's rank: the best `limit` sentences are embedded
    order = sorted(range(len(candidates)), key=lambda i: (-overlap[i], candidates[i][0]))[:limit]
    chosen = [candidates[i] for i in order]
    vectors = embedder.embed([question] + [c[2] for c in chosen])
    relevance = np.asarray(vectors[1:] @ vectors[0], dtype=np.float64)
    return [
        Quote(
            passages[index],
            position,
            text,
            float(score),
            overlap[i],
            fits[index] if fits else 0.0,
        )
        for i, (index, position, text), score in zip(order, chosen, relevance, strict=True)
    ]
