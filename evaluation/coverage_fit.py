"""Fitting the coverage model on questions the knowledge base's own headings give.

Positives: for the documents of the "fit" split (`heading_questions.split_of`), questions from
their headings, searched as a clinician's question is. The heading a question came from is
left out of its document's heading terms, so `heading_recall` measures what the title and the
other headings say, as it does for a question a person wrote (the question's words would
otherwise match their own heading by construction).

Negatives: the same questions searched as if their topic were not in the knowledge base: every
document whose title names the topic's two most specific words (by idf) is left out of the
results ("childhood pheochromocytoma" leaves out both pheochromocytoma summaries), and what
remains is what a near-miss question retrieves. The labels are noisy (another document may
still answer it), which a logistic model with five features tolerates.

The decision threshold is then chosen on development questions that people wrote: the in-scope
and near-miss questions of `../shared/eval/grounding-dev` and of `sets/near_miss.jsonl` (its
"dev" part), the heading questions of the "dev" documents, and the 120 non-medical questions:
the threshold with the best balanced accuracy (in-scope answered + out-of-scope abstained),
the lowest among ties. Held-out questions are never read here.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.coverage import FEATURES, CoverageFeatures, CoverageModel, features_of
from evaluation.heading_questions import GENERIC_TOPIC_WORDS, HeadingQuestion, topic_of
from knowledge.analysis import content_terms
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import Passage
from knowledge.vocabulary import CorpusVocabulary, document_key

K = 8
NEGATIVE_POOL = 40  # passages searched before the topic's documents are left out
CALIBRATION_GAIN = 0.02  # balanced accuracy the per-corpus calibration must add to be chosen
THRESHOLDS = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))


@dataclass(frozen=True)
class Example:
    question: str
    covered: bool
    features: CoverageFeatures


def _documents(metadata: Iterable[dict[str, Any]]) -> tuple[dict[str, str], dict[str, set[str]]]:
    titles: dict[str, str] = {}
    sections: dict[str, set[str]] = defaultdict(set)
    for meta in metadata:
        key = document_key(str(meta.get("corpus", "")), str(meta.get("doc_id", "")))
        titles[key] = str(meta.get("title", ""))
        sections[key].add(str(meta.get("section", "")))
    return titles, sections


def fitting_examples(
    kb: KnowledgeBase,
    questions: Sequence[HeadingQuestion],
    metadata: Sequence[dict[str, Any]],
    progress: Callable[[str], None] = lambda _: None,
) -> list[Example]:
    """A positive and (where anything is left) a negative example per heading question."""
    vocabulary = kb.vocabulary()
    titles, sections = _documents(metadata)
    keys = sorted(titles)
    title_terms = dict(zip(keys, content_terms([titles[k] for k in keys]), strict=True))
    generic = content_terms([" ".join(sorted(GENERIC_TOPIC_WORDS))])[0]
    examples: list[Example] = []
    for number, item in enumerate(questions, start=1):
        key = document_key(item.corpus, item.doc_id)
        found = kb.search(item.question, k=NEGATIVE_POOL)
        own = _without_heading(vocabulary, key, titles[key], sections[key], item.section)
        if found:
            examples.append(
                Example(item.question, True, _features(kb, item.question, found[:K], own))
            )
        topic = content_terms([topic_of(item.title)])[0] - generic
        core = set(sorted(topic, key=lambda t: -vocabulary.idf(t))[:2])
        left_out = {key} | {k for k, terms in title_terms.items() if core & terms}
        rest = [p for p in found if document_key(p.corpus, p.doc_id) not in left_out][:K]
        if rest:
            examples.append(Example(item.question, False, _features(kb, item.question, rest)))
        if number % 50 == 0:
            progress(f"{number}/{len(questions)} fitting questions")
    return examples


def _without_heading(
    vocabulary: CorpusVocabulary, key: str, title: str, sections: set[str], section: str
) -> CorpusVocabulary:
    """The vocabulary with the question's own heading taken out of its document's headings."""
    heading = next((p for p in reversed(section.split(" > ")) if p), None)
    kept = [s for s in sections if heading is None or heading not in s.split(" > ")]
    terms = frozenset(content_terms([f"{title} {' '.join(kept)}"])[0])
    return dataclasses.replace(vocabulary, headings={**vocabulary.headings, key: terms})


def _features(
    kb: KnowledgeBase,
    question: str,
    passages: Sequence[Passage],
    vocabulary: CorpusVocabulary | None = None,
) -> CoverageFeatures:
    evidence = features_of(
        question, passages, vocabulary=vocabulary or kb.vocabulary(), embedder=kb.embedder
    )
    return evidence.features


def features_for(kb: KnowledgeBase, questions: Sequence[str]) -> list[CoverageFeatures]:
    """Features of each question against what the knowledge base retrieves for it."""
    return [_features(kb, question, kb.search(question, k=K)) for question in questions]


def corpus_calibration(
    examples: Sequence[Example],
) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    """Mean and spread of the best dense score of covered questions, per corpus and overall."""
    by_corpus: dict[str, list[float]] = defaultdict(list)
    for example in examples:
        if example.covered:
            by_corpus[example.features.dense_corpus].append(example.features.dense)
    every = [x for values in by_corpus.values() for x in values]
    overall = (float(np.mean(every)), float(np.std(every))) if every else (0.0, 1.0)
    calibration = {
        corpus: (float(np.mean(values)), float(np.std(values)))
        for corpus, values in by_corpus.items()
        if len(values) >= 10  # too few answered questions: the overall figures stand
    }
    return calibration, overall


def fit_model(
    examples: Sequence[Example], *, trained_on: str, per_corpus: bool = False
) -> CoverageModel:
    """Logistic regression on the examples (threshold 0.5 until `choose_threshold`), on the
    raw cosine or, with `per_corpus`, the cosine calibrated per corpus."""
    from sklearn.linear_model import LogisticRegression

    calibration, overall = corpus_calibration(examples) if per_corpus else ({}, (0.0, 1.0))
    draft = CoverageModel(tuple(0.0 for _ in FEATURES), 0.0, 0.5, calibration, overall)
    x = np.array([[e.features.values(draft)[name] for name in FEATURES] for e in examples])
    y = np.array([e.covered for e in examples])
    fitted = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    return dataclasses.replace(
        draft,
        coefficients=tuple(float(c) for c in fitted.coef_[0]),
        intercept=float(fitted.intercept_[0]),
        trained_on=trained_on,
    )


def choose_threshold(
    model: CoverageModel,
    covered: Sequence[Sequence[CoverageFeatures]],
    uncovered: Sequence[Sequence[CoverageFeatures]],
) -> CoverageModel:
    """The threshold with the best balanced accuracy on development questions: the mean
    answered rate over the groups of covered questions plus the mean abstained rate over the
    groups of uncovered ones, each group (generated or written by people, near-miss or
    non-medical) weighing the same; the lowest among equals (a clinician loses less from a
    flagged answer than from a missing one)."""
    inside = [np.array([model.probability(f) for f in group]) for group in covered if group]
    outside = [np.array([model.probability(f) for f in group]) for group in uncovered if group]

    def balanced(threshold: float) -> float:
        answered = np.mean([np.mean(p >= threshold) for p in inside])
        abstained = np.mean([np.mean(p < threshold) for p in outside])
        return float(answered + abstained)

    best = max(THRESHOLDS, key=lambda t: (round(balanced(t), 9), -t))
    return dataclasses.replace(model, threshold=best)


@dataclass(frozen=True)
class CoverageFit:
    """The chosen model and how each candidate did on the development questions."""

    model: CoverageModel
    examples: int
    candidates: list[tuple[str, CoverageModel, dict[str, float]]]

    def as_json(self) -> dict[str, Any]:
        return {
            "task": "fit-coverage",
            "model": self.model.as_json(),
            "fitting_examples": self.examples,
            "candidates": [
                {"name": name, "threshold": model.threshold, "dev": rates}
                for name, model, rates in self.candidates
            ],
        }

    def markdown(self) -> str:
        from evaluation.report import markdown_table

        groups = list(self.candidates[0][2]) if self.candidates else []
        rows = [
            [name, f"{model.threshold:.2f}", *(f"{rates[g]:.3f}" for g in groups)]
            for name, model, rates in self.candidates
        ]
        chosen = self.model.trained_on
        return "\n".join(
            [
                f"## Coverage model: {self.examples} fitting examples",
                "",
                markdown_table(["candidate", "threshold", *groups], rows),
                "",
                f"Chosen: {chosen}; coefficients "
                + ", ".join(
                    f"{n} {c:.3f}" for n, c in zip(FEATURES, self.model.coefficients, strict=True)
                )
                + f", intercept {self.model.intercept:.3f}.",
            ]
        )


def fit_coverage(
    kb: KnowledgeBase,
    progress: Callable[[str], None] = lambda _: None,
    *,
    per_corpus: bool = False,
) -> CoverageFit:
    """Fit on the knowledge base's own heading questions ("fit" documents) and choose the
    threshold on the development questions. Both dense calibrations are fit and reported; the
    per-corpus one is chosen only with `per_corpus` (and when it earns its place): its
    coefficients lean on corpora it has figures for, and a corpus it has none for (a
    hospital's own, a test's) is judged with the overall figures, which served small corpora
    badly when tried."""
    from evaluation.grounding_sets import Expect, load_questions
    from evaluation.heading_questions import heading_questions, split_of

    metadata = [chunk.metadata for chunk in kb.store.iter_all(with_text=False)]
    questions = [q for q in heading_questions(metadata) if split_of(q.corpus, q.doc_id) == "fit"]
    progress(f"{len(questions)} fitting questions from the knowledge base's headings ...")
    examples = fitting_examples(kb, questions, metadata, progress)
    dev = [q for q in load_questions() if q.split == "dev"]
    progress(f"{len(dev)} development questions ...")
    features = dict(
        zip((q.id for q in dev), features_for(kb, [q.question for q in dev]), strict=True)
    )
    groups = {
        "in_scope_answered": [q for q in dev if q.expect is Expect.ANSWER],
        "near_miss_abstained": [q for q in dev if q.expect is Expect.NOT_COVERED],
        "non_medical_abstained": [q for q in dev if q.expect is Expect.ABSTAIN],
    }

    def by_source(expects: set[Expect]) -> list[list[CoverageFeatures]]:
        sources = sorted({(q.expect.value, q.source) for q in dev if q.expect in expects})
        return [
            [features[q.id] for q in dev if (q.expect.value, q.source) == key] for key in sources
        ]

    covered = by_source({Expect.ANSWER})
    uncovered = by_source({Expect.NOT_COVERED, Expect.ABSTAIN})
    candidates: list[tuple[str, CoverageModel, dict[str, float]]] = []
    for name, calibrate in (("raw cosine", False), ("cosine calibrated per corpus", True)):
        model = fit_model(examples, trained_on=name, per_corpus=calibrate)
        model = choose_threshold(model, covered, uncovered)
        rates = {
            group: float(
                np.mean(
                    [
                        (model.probability(features[q.id]) >= model.threshold)
                        == (group == "in_scope_answered")
                        for q in qs
                    ]
                )
            )
            for group, qs in groups.items()
        }
        candidates.append((name, model, rates))

    def balanced(rates: dict[str, float]) -> float:
        inside = rates["in_scope_answered"]
        return inside + (rates["near_miss_abstained"] + rates["non_medical_abstained"]) / 2

    # The raw cosine carries over to corpora the fit never saw (a hospital's own, a test's);
    # the per-corpus calibration must earn its place on the development questions.
    raw, calibrated = candidates
    gains = balanced(calibrated[2]) >= balanced(raw[2]) + CALIBRATION_GAIN
    name, best, _ = calibrated if per_corpus and gains else raw
    trained_on = (
        f"{len(examples)} examples from the headings of {len({q.doc_id for q in questions})} "
        f"documents ({name}); threshold chosen on {len(dev)} development questions"
    )
    return CoverageFit(dataclasses.replace(best, trained_on=trained_on), len(examples), candidates)
