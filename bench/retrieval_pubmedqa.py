"""Retrieval quality on PubMedQA (PQA-L): can each question find its own abstract?

The 1,000 abstracts are indexed as one document each (id = PMID, title "PubMedQA <PMID>",
text = the abstract's context paragraphs; the question is never in the document). Each
question is then searched with k=10 by BM25 alone, dense alone and the fused (RRF) hybrid,
and scored at the document level: a hit is a passage whose doc_id ends with `#<PMID>`, at
the first rank any chunk of that document appears.

The loading, indexing and scoring live in `evaluation.retrieval` (`clinassist eval
retrieval` runs the same code); this module adds the three-way comparison and the fusion sweep.

Target (the issue): fused beats the better single retriever on MRR@10 and hit@1.

    python -m bench.retrieval_pubmedqa [--limit N] [--sweep] [--rrf-k ...] [--candidates ...]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from agent.settings import apply_offline_environment
from bench.common import PUBMEDQA_FILE, data_dir_or_temp, emit, markdown_table, progress
from evaluation.retrieval import (
    COLLECTION,
    CUTOFFS,
    MODE_LABELS,
    K,
    PubMedQAItem,
    RetrievalScores,
    build_knowledge_base,
    evaluate,
    load_pubmedqa,
)
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase, SearchMode
from knowledge.retrieval import RetrievalParams


def comparison_lines(scores: dict[SearchMode, RetrievalScores]) -> list[str]:
    bm25, dense, fused = (scores[m] for m in (SearchMode.BM25, SearchMode.DENSE, SearchMode.HYBRID))
    best = max((bm25, dense), key=lambda s: (s.mrr, s.hits[1]))
    beats_mrr = fused.mrr > best.mrr
    beats_hit1 = fused.hits[1] > best.hits[1]
    overall = "YES" if beats_mrr and beats_hit1 else "NO"
    return [
        f"Better single retriever: {best.label} (MRR {best.mrr:.3f}, hit@1 {best.hits[1]:.3f}).",
        f"Fused beats it on MRR: {'yes' if beats_mrr else 'no'} "
        f"({fused.mrr:.3f} vs {best.mrr:.3f}, {fused.mrr - best.mrr:+.3f}); "
        f"on hit@1: {'yes' if beats_hit1 else 'no'} "
        f"({fused.hits[1]:.3f} vs {best.hits[1]:.3f}, {fused.hits[1] - best.hits[1]:+.3f}).",
        f"Target (fused beats the better single retriever on MRR and hit@1): {overall}.",
        f"Fused rank 1 decided by an exact score tie between two documents (RRF ranks such as "
        f"1+2 vs 2+1; broken by the better dense rank): {fused.top_ties} of {fused.queries} "
        "questions.",
    ]


def sweep_settings(base: RetrievalParams) -> list[RetrievalParams]:
    """A few fusion settings around the defaults (only the hybrid mode depends on them)."""
    grid: list[RetrievalParams] = [base]
    grid += [replace(base, rrf_k=rrf_k) for rrf_k in (10.0, 30.0, 100.0)]
    grid += [
        replace(base, dense_weight=dense, bm25_weight=bm25)
        for dense, bm25 in ((1.0, 0.7), (1.0, 0.5), (0.7, 1.0))
    ]
    grid += [replace(base, candidates=candidates) for candidates in (20, 100)]
    return list(dict.fromkeys(grid))


def describe(params: RetrievalParams) -> str:
    return (
        f"rrf_k={params.rrf_k:g}, dense_weight={params.dense_weight:g}, "
        f"bm25_weight={params.bm25_weight:g}, candidates={params.candidates}"
    )


def run_sweep(
    work_dir: Path,
    embedder: Embedder,
    items: Sequence[PubMedQAItem],
    base: RetrievalParams,
    best_single: RetrievalScores,
) -> str:
    rows: list[list[str]] = []
    for params in sweep_settings(base):
        kb = KnowledgeBase(
            data_dir=work_dir / "data", embedder=embedder, collection=COLLECTION, params=params
        )
        progress(f"  sweep: {describe(params)}")
        scores = evaluate(kb, items, SearchMode.HYBRID, describe(params))
        beats = scores.mrr > best_single.mrr and scores.hits[1] > best_single.hits[1]
        rows.append([*scores.cells(), "yes" if beats else "no"])
    table = markdown_table(
        ["fused with", *(f"hit@{c}" for c in CUTOFFS), "MRR@10", f"beats {best_single.label}"],
        rows,
    )
    return f"Fusion settings (hybrid only; {best_single.label} stays as above):\n\n{table}"


def run(
    *,
    pubmedqa: Path,
    limit: int | None,
    params: RetrievalParams,
    sweep: bool,
    work_dir: Path | None = None,
) -> str:
    items = load_pubmedqa(pubmedqa, limit)
    with data_dir_or_temp(work_dir, "pubmedqa") as work:
        embedder = Embedder()
        progress(f"retrieval_pubmedqa: indexing {len(items)} abstracts ...")
        _, report, ingest_seconds = build_knowledge_base(work, items, embedder)
        kb = KnowledgeBase(
            data_dir=work / "data", embedder=embedder, collection=COLLECTION, params=params
        )
        chunks = kb.store.count()
        scores: dict[SearchMode, RetrievalScores] = {}
        for mode, label in MODE_LABELS.items():
            progress(f"retrieval_pubmedqa: {len(items)} questions, {label} ...")
            scores[mode] = evaluate(kb, items, mode, label)

        table = markdown_table(
            ["retriever", *(f"hit@{c}" for c in CUTOFFS), "MRR@10"],
            [s.cells() for s in scores.values()],
        )
        lines = [
            f"## Retrieval on PubMedQA PQA-L ({len(items)} questions, k={K}, document level)",
            "",
            f"Indexed {len(items)} abstracts as {chunks} chunks in {ingest_seconds:.1f} s "
            f"({report.chunks_added} added); fusion: {describe(params)}.",
            "",
            table,
            "",
            *comparison_lines(scores),
            "Search time per question: "
            + ", ".join(
                f"{s.label} {1000 * s.seconds / max(s.queries, 1):.1f} ms" for s in scores.values()
            )
            + ".",
        ]
        if sweep:
            best = max(
                (scores[SearchMode.BM25], scores[SearchMode.DENSE]),
                key=lambda s: (s.mrr, s.hits[1]),
            )
            lines += ["", run_sweep(work, embedder, items, params, best)]
        return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = RetrievalParams()
    parser = argparse.ArgumentParser(
        prog="python -m bench.retrieval_pubmedqa",
        description="Retrieval quality on PubMedQA (PQA-L).",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="Index and ask only the first N items."
    )
    parser.add_argument("--pubmedqa", type=Path, default=PUBMEDQA_FILE, help="ori_pqal.json")
    parser.add_argument("--rrf-k", type=float, default=defaults.rrf_k)
    parser.add_argument("--candidates", type=int, default=defaults.candidates)
    parser.add_argument("--dense-weight", type=float, default=defaults.dense_weight)
    parser.add_argument("--bm25-weight", type=float, default=defaults.bm25_weight)
    parser.add_argument(
        "--sweep", action="store_true", help="Also score a few fusion settings (hybrid only)."
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="Keep the corpus file and the index here (default: a temporary directory).",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    if not args.pubmedqa.is_file():
        print(f"retrieval_pubmedqa: {args.pubmedqa} not found; skipped.")
        return 1
    params = RetrievalParams(
        candidates=args.candidates,
        rrf_k=args.rrf_k,
        dense_weight=args.dense_weight,
        bm25_weight=args.bm25_weight,
    )
    text = run(
        pubmedqa=args.pubmedqa,
        limit=args.limit,
        params=params,
        sweep=args.sweep,
        work_dir=args.work_dir,
    )
    emit("retrieval_pubmedqa", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
