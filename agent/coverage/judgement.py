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

A logistic model over these (`CoverageModel`, fit by `evaluation/coverage_fit.py` on
questions generated from the corpus's own headings, shipped in `coverage_model.json`) gives the
probability that the passages address the question; below the model's threshold the answer
says the knowledge base does not cover it and names the nearest guidelines. The passages that
go on to the answer are those of the documents that address the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agent.coverage.model import CoverageFeatures, CoverageModel
from agent.coverage.topic import TopicWeights
from agent.grounding import Quote
from knowledge.analysis import content_terms
from knowledge.embedding import Embedder
from knowledge.types import Passage
from knowledge.vocabulary import CorpusVocabulary, document_key

ADDRESSING_SHARE = 0.8  # a document addresses the question when it is this close to the best
COMPLEMENT_SHARE = 0.2  # ... or names this share of the topic the best one does not
MAX_SENTENCES = 24  # sentences embedded per judgement (chosen by word overlap first)
MIN_SENTENCE_CHARS = 30
MAX_SENTENCE_CHARS = 500

SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?\]])\s+(?=[A-Z(\"'])|\n+")


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


def sentences_of(text: str) -> list[str]:
    pieces = (" ".join(p.split()) for p in SENTENCE_SPLIT_RE.split(text))
    return [p for p in pieces if MIN_SENTENCE_CHARS <= len(p) <= MAX_SENTENCE_CHARS]


# How a question asks, not what it asks about: guidelines rarely use these words, so their idf
# is high in a small corpus and would pass for a topic.


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
    addressing = addressing_documents(passages, evidence) if covered else ()
    return Judgement(
        question,
        covered,
        probability,
        evidence.features,
        passages,
        addressing,
        tuple(evidence.sentences),
    )


def addressing_documents(passages: Sequence[Passage], evidence: Evidence) -> tuple[int, ...]:
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
        for position, sentence in enumerate(sentences_of(passage.body)):
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
