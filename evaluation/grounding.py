"""Grounding: does the agent answer what its guidelines cover, cite the right guideline, and
say so when they do not cover a question?

The real `Agent` (in the configured answer mode, its sessions and audit rows in a temporary
folder) answers every question of `grounding_sets` of the chosen splits, each in a fresh
session, over the configured knowledge base. For each split, kept apart (the coverage model is
tuned on "dev", never on "heldout"):

- in-scope questions: answered (not abstained), the gold document cited, and the share of all
  their citations that come from the gold document;
- near-miss questions (clinical, topic not covered): abstained on (the answer says the
  knowledge base does not address them and names the nearest guidelines);
- non-medical questions: abstained on.

Retrieval at document level is measured on the same in-scope questions: the gold document among
the first five documents of the fused ranking (50 passages deep), and among the first five
passages. Every rate has a Wilson 95% interval.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.grounding_sets import EvalQuestion, Expect, load_questions
from evaluation.report import (
    EngineInfo,
    KnowledgeBaseInfo,
    Proportion,
    RunInfo,
    markdown_table,
)

if TYPE_CHECKING:
    from agent.events import TurnResult
    from agent.llm import LLMClient
    from agent.settings import Settings
    from knowledge.knowledge_base import KnowledgeBase

SPLITS = ("dev", "heldout")
DOCUMENT_DEPTH = 50  # passages ranked to find the first five documents


@dataclass(frozen=True)
class Outcome:
    question: EvalQuestion
    answered: bool
    citations: int
    gold_citations: int
    gold_document_rank: int | None  # among distinct documents of the fused ranking; 1-based
    gold_passage_rank: int | None  # among passages; 1-based
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.question.id,
            "expect": self.question.expect.value,
            "split": self.question.split,
            "source": self.question.source,
            "answered": self.answered,
            "citations": self.citations,
            "gold_citations": self.gold_citations,
            "gold_document_rank": self.gold_document_rank,
        }


@dataclass
class SplitFigures:
    outcomes: list[Outcome] = field(default_factory=list)

    def _of(self, expect: Expect, source: str | None = None) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if o.question.expect is expect and (source is None or o.question.source == source)
        ]

    def figures(self, source: str | None = None) -> dict[str, Proportion]:
        inside = self._of(Expect.ANSWER, source)
        near = self._of(Expect.NOT_COVERED, source)
        off = self._of(Expect.ABSTAIN, source)
        return {
            "in_scope_answered": Proportion(sum(o.answered for o in inside), len(inside)),
            "gold_document_cited": Proportion(
                sum(o.gold_citations > 0 for o in inside), len(inside)
            ),
            "citations_from_gold_document": Proportion(
                sum(o.gold_citations for o in inside), sum(o.citations for o in inside)
            ),
            "gold_document_in_top5_documents": Proportion(
                sum(o.gold_document_rank is not None and o.gold_document_rank <= 5 for o in inside),
                len(inside),
            ),
            "gold_document_in_top5_passages": Proportion(
                sum(o.gold_passage_rank is not None and o.gold_passage_rank <= 5 for o in inside),
                len(inside),
            ),
            "near_miss_abstained": Proportion(sum(not o.answered for o in near), len(near)),
            "non_medical_abstained": Proportion(sum(not o.answered for o in off), len(off)),
        }

    def sources(self, expect: Expect) -> list[str]:
        return sorted({o.question.source for o in self._of(expect)})


@dataclass(frozen=True)
class GroundingReport:
    run: RunInfo
    mode: str
    splits: dict[str, SplitFigures]
    p50_turn_s: float
    failures: dict[str, list[str]]  # split -> ids of questions that went the wrong way

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": "grounding", "answer_mode": self.mode, "splits": {}}
        for name, split in self.splits.items():
            out["splits"][name] = {
                **{k: v.as_json() for k, v in split.figures().items()},
                "by_source": {
                    source: {k: v.as_json() for k, v in split.figures(source).items() if v.n}
                    for source in sorted({o.question.source for o in split.outcomes})
                },
                "wrong": self.failures.get(name, []),
            }
        out["p50_turn_s"] = round(self.p50_turn_s, 3)
        out["run"] = self.run.as_json()
        return out

    def markdown(self) -> str:
        labels = {
            "in_scope_answered": "in-scope answered",
            "gold_document_cited": "gold document cited",
            "citations_from_gold_document": "citations from the gold document",
            "gold_document_in_top5_documents": "gold document in the top 5 documents",
            "gold_document_in_top5_passages": "gold document in the top 5 passages",
            "near_miss_abstained": "near-miss abstained (not covered)",
            "non_medical_abstained": "non-medical abstained",
        }
        names = list(self.splits)
        rows = []
        for key, label in labels.items():
            cells = []
            for name in names:
                value = self.splits[name].figures()[key]
                cells.append(f"{value} (n={value.n})" if value.n else "—")
            rows.append([label, *cells])
        lines = [
            f"## Grounding: {self.mode} answers",
            "",
            self.run.markdown(),
            "",
            markdown_table(["measure (95% CI)", *names], rows),
            "",
            f"Median turn {self.p50_turn_s:.2f} s. The coverage model is tuned on dev, never "
            "on heldout.",
        ]
        for name in names:
            split = self.splits[name]
            by_source = [
                [
                    source,
                    *(
                        str(split.figures(source)[k])
                        for k in (
                            "in_scope_answered",
                            "gold_document_cited",
                            "citations_from_gold_document",
                        )
                    ),
                ]
                for source in split.sources(Expect.ANSWER)
            ]
            if by_source:
                lines += [
                    "",
                    f"In-scope questions of {name} by source:",
                    "",
                    markdown_table(
                        ["source", "answered", "gold cited", "citations from gold"], by_source
                    ),
                ]
        return "\n".join(lines)


def gold_ranks(kb: KnowledgeBase, question: str, gold_url: str) -> tuple[int | None, int | None]:
    """The gold document's rank among distinct documents and among passages."""
    passages = kb.search(question, k=DOCUMENT_DEPTH)
    documents: list[tuple[str, str]] = []
    passage_rank = None
    for rank, passage in enumerate(passages, start=1):
        key = (passage.corpus, passage.doc_id)
        if key not in documents:
            documents.append(key)
        if passage.url == gold_url:
            if passage_rank is None:
                passage_rank = rank
            return len(documents), passage_rank
    return None, None


def outcome_of(
    question: EvalQuestion, result: TurnResult, kb: KnowledgeBase, seconds: float
) -> Outcome:
    gold = [c for c in result.citations if question.gold_url and c.passage.url == question.gold_url]
    document_rank = passage_rank = None
    if question.expect is Expect.ANSWER and question.gold_url:
        document_rank, passage_rank = gold_ranks(kb, question.question, question.gold_url)
    return Outcome(
        question,
        answered=not result.abstained,
        citations=len(result.citations),
        gold_citations=len(gold),
        gold_document_rank=document_rank,
        gold_passage_rank=passage_rank,
        seconds=seconds,
    )


def _wrong(outcome: Outcome) -> bool:
    if outcome.question.expect is Expect.ANSWER:
        return not outcome.answered or outcome.gold_citations == 0
    return outcome.answered


def evaluate_grounding(
    settings: Settings,
    kb: KnowledgeBase,
    llm: LLMClient | None,
    *,
    engine: EngineInfo,
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> GroundingReport:
    """Every question of `splits` (the first `limit` of each group and source when given)."""
    import statistics

    from agent.graph import Agent

    questions = [q for q in load_questions() if q.split in splits]
    if limit is not None:
        kept: list[EvalQuestion] = []
        counts: dict[tuple[str, str, str], int] = {}
        for q in questions:
            key = (q.split, q.expect.value, q.source)
            if counts.get(key, 0) < limit:
                counts[key] = counts.get(key, 0) + 1
                kept.append(q)
        questions = kept
    figures = {name: SplitFigures() for name in splits}
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="clinassist-eval-grounding-") as temp:
        agent = Agent(settings.model_copy(update={"data_dir": Path(temp)}), kb, llm)
        try:
            for number, question in enumerate(questions, start=1):
                started = time.perf_counter()
                result = agent.ask(question.question)
                elapsed = time.perf_counter() - started
                seconds.append(elapsed)
                figures[question.split].outcomes.append(outcome_of(question, result, kb, elapsed))
                if number % 50 == 0:
                    progress(f"{number}/{len(questions)} questions")
        finally:
            agent.close()
    failures = {
        name: [o.question.id for o in split.outcomes if _wrong(o)]
        for name, split in figures.items()
    }
    mode = "extractive" if settings.extractive_answers or llm is None else "generated"
    run = RunInfo(
        task="grounding",
        limit=limit,
        sample=(
            f"{len(questions)} questions of the grounding sets ({', '.join(splits)}): "
            "../shared/eval/grounding-dev, agent/evaluation/sets, 180 non-medical"
        ),
        engine=engine,
        knowledge_base=KnowledgeBaseInfo.of(kb),
    )
    return GroundingReport(
        run, mode, figures, statistics.median(seconds) if seconds else 0.0, failures
    )
