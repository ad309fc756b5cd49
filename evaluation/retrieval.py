"""Retrieval on PubMedQA (PQA-L): does each question find its own abstract?

The abstracts are indexed one document each (id = PMID, title "PubMedQA <PMID>", text = the
abstract's context paragraphs; the question is never in the document) in a collection of their
own. Each question is searched with k=10 and scored at the document level: a hit is a passage
whose doc_id ends with `#<PMID>`, at the first rank any chunk of that document appears.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.settings import shared_dir
from evaluation.report import (
    KnowledgeBaseInfo,
    RunInfo,
    markdown_table,
    require_file,
)
from knowledge.knowledge_base import KnowledgeBase, SearchMode

if TYPE_CHECKING:
    from agent.settings import Settings
    from knowledge.embedding import Embedder
    from knowledge.retrieval import RetrievalParams
    from knowledge.types import IngestReport

K = 10
CUTOFFS = (1, 5, 10)
COLLECTION = "bench_pubmedqa"
EVAL_COLLECTION = "clinassist_eval_pubmedqa"
CORPUS_NAME = "pubmedqa"

MODE_LABELS: dict[SearchMode, str] = {
    SearchMode.BM25: "BM25",
    SearchMode.DENSE: "dense",
    SearchMode.HYBRID: "fused (RRF)",
}


def pubmedqa_file() -> Path:
    return shared_dir() / "eval" / "pubmedqa" / "ori_pqal.json"


@dataclass(frozen=True)
class PubMedQAItem:
    pmid: str
    question: str
    contexts: tuple[str, ...]


@dataclass(frozen=True)
class RetrievalScores:
    label: str
    queries: int
    hits: dict[int, float]  # cutoff -> fraction of questions whose document is in the top cutoff
    mrr: float  # MRR@K
    seconds: float
    top_ties: int = 0  # questions whose top two passages (different documents) tie in score

    def cells(self) -> list[str]:
        return [
            self.label,
            *(f"{self.hits[c]:.3f}" for c in CUTOFFS),
            f"{self.mrr:.3f}",
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            **{f"hit@{c}": round(self.hits[c], 4) for c in CUTOFFS},
            "mrr": round(self.mrr, 4),
            "questions": self.queries,
            "ms_per_question": round(1000 * self.seconds / max(self.queries, 1), 2),
        }


def load_pubmedqa(path: Path, limit: int | None = None) -> list[PubMedQAItem]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = [
        PubMedQAItem(
            str(pmid),
            str(record["QUESTION"]),
            tuple(str(c) for c in record["CONTEXTS"]),
        )
        for pmid, record in raw.items()
    ]
    return items[:limit] if limit is not None else items


def write_corpus(items: Sequence[PubMedQAItem], path: Path) -> None:
    """One JSONL record per abstract; the title names the PMID only (no hint of the question)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            record = {
                "id": item.pmid,
                "title": f"PubMedQA {item.pmid}",
                "text": "\n\n".join(item.contexts),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def build_knowledge_base(
    work_dir: Path,
    items: Sequence[PubMedQAItem],
    embedder: Embedder,
    *,
    collection: str = COLLECTION,
    chroma_url: str | None = None,
    params: RetrievalParams | None = None,
) -> tuple[KnowledgeBase, IngestReport, float]:
    """The abstracts in `work_dir` (corpus/pubmedqa.jsonl, data/), brought up to date
    incrementally: a different sample replaces the file's chunks."""
    from knowledge.ingest import IngestOptions, ingest

    corpus_file = work_dir / "corpus" / f"{CORPUS_NAME}.jsonl"
    write_corpus(items, corpus_file)
    kb = KnowledgeBase(
        data_dir=work_dir / "data",
        embedder=embedder,
        collection=collection,
        chroma_url=chroma_url,
        params=params,
    )
    started = time.perf_counter()
    report = ingest(kb, [corpus_file], corpus_name=CORPUS_NAME, options=IngestOptions())
    return kb, report, time.perf_counter() - started


def first_rank(doc_ids: Sequence[str], pmid: str) -> int | None:
    """1-based rank of the first passage from the abstract `pmid`, or None."""
    suffix = f"#{pmid}"
    for rank, doc_id in enumerate(doc_ids, start=1):
        if doc_id.endswith(suffix):
            return rank
    return None


def score_ranks(
    label: str, ranks: Sequence[int | None], seconds: float, top_ties: int = 0
) -> RetrievalScores:
    n = max(len(ranks), 1)
    hits = {c: sum(1 for r in ranks if r is not None and r <= c) / n for c in CUTOFFS}
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= K) / n
    return RetrievalScores(label, len(ranks), hits, mrr, seconds, top_ties)


def evaluate(
    kb: KnowledgeBase, items: Sequence[PubMedQAItem], mode: SearchMode, label: str
) -> RetrievalScores:
    ranks: list[int | None] = []
    top_ties = 0
    started = time.perf_counter()
    for item in items:
        passages = kb.search(item.question, k=K, mode=mode)
        ranks.append(first_rank([p.doc_id for p in passages], item.pmid))
        if (
            len(passages) > 1
            and passages[0].score == passages[1].score
            and passages[0].doc_id != passages[1].doc_id
        ):
            top_ties += 1
    return score_ranks(label, ranks, time.perf_counter() - started, top_ties)


# --------------------------------------------------------------------------- clinassist eval


@dataclass(frozen=True)
class RetrievalReport:
    run: RunInfo
    scores: dict[SearchMode, RetrievalScores]
    documents: int  # abstracts in the evaluation collection
    chunks_added: int
    ingest_seconds: float

    def as_json(self) -> dict[str, Any]:
        fused = self.scores[SearchMode.HYBRID]
        return {
            "task": "retrieval",
            **fused.as_json(),
            "documents": self.documents,
            "chunks_added": self.chunks_added,
            "by_mode": {mode.value: s.as_json() for mode, s in self.scores.items()},
            "run": self.run.as_json(),
        }

    def markdown(self) -> str:
        table = markdown_table(
            ["retriever", *(f"hit@{c}" for c in CUTOFFS), f"MRR@{K}"],
            [s.cells() for s in self.scores.values()],
        )
        n = self.scores[SearchMode.HYBRID].queries
        return "\n".join(
            [
                f"## Retrieval: {n} PubMedQA questions -> their own abstract (k={K})",
                "",
                self.run.markdown(),
                "",
                table,
                "",
                f"{self.documents} abstracts indexed ({self.chunks_added} chunks added in "
                f"{self.ingest_seconds:.1f} s); the app searches with the fused ranking.",
            ]
        )


def open_eval_pubmedqa(
    settings: Settings,
    embedder: Embedder,
    limit: int | None,
    path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[PubMedQAItem], KnowledgeBase, IngestReport, float]:
    """The first `limit` PubMedQA items, their abstracts indexed under data_dir/eval/pubmedqa
    with the configured embedder, store and fusion settings (a new limit replaces the last)."""
    items = load_pubmedqa(require_file(path or pubmedqa_file(), "PubMedQA file"), limit)
    progress(f"indexing {len(items)} PubMedQA abstracts ...")
    kb, report, seconds = build_knowledge_base(
        settings.data_dir / "eval" / "pubmedqa",
        items,
        embedder,
        collection=EVAL_COLLECTION,
        chroma_url=settings.chroma_url,
        params=settings.retrieval,
    )
    return items, kb, report, seconds


def evaluate_retrieval(
    settings: Settings,
    embedder: Embedder,
    *,
    limit: int | None = None,
    path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RetrievalReport:
    """The first `limit` PubMedQA abstracts indexed (under data_dir/eval/pubmedqa, with the
    configured embedder, store and fusion settings), then their questions asked."""
    items, kb, report, seconds = open_eval_pubmedqa(settings, embedder, limit, path, progress)
    stats = kb.stats()
    # the abstracts really in the collection (not the ones written): the check that they landed
    documents = next((c.documents for c in stats.corpora if c.name == CORPUS_NAME), 0)
    scores: dict[SearchMode, RetrievalScores] = {}
    for mode, label in MODE_LABELS.items():
        progress(f"{len(items)} questions, {label} ...")
        scores[mode] = evaluate(kb, items, mode, label)
    run = RunInfo(
        task="retrieval",
        limit=limit,
        sample=f"the first {len(items)} PubMedQA PQA-L questions (file order)",
        knowledge_base=KnowledgeBaseInfo.from_stats(stats),
    )
    return RetrievalReport(run, scores, documents, report.chunks_added, seconds)
