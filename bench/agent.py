"""The agent on PubMedQA: abstention calibration, and the time the agent adds around retrieval.

Knowledge base: the PubMedQA (PQA-L) abstracts, one document each, written and ingested exactly
as bench/retrieval_pubmedqa.py does (first `--limit` items, default 500). `--data-dir` reuses
(and incrementally updates) a knowledge base kept there, in retrieval_pubmedqa's `--work-dir`
layout (corpus/pubmedqa.jsonl, data/).

1. Abstention calibration. Evidence strength is what the agent abstains on:
   `evidence_strength(kb.search(q, k=8))`, the best dense cosine among the hybrid top 8; the
   agent abstains when it is below `Settings.abstain_threshold`. In-scope questions are the
   PubMedQA questions whose abstracts are in the knowledge base (abstaining on them is wrong).
   Out-of-scope questions are a fixed list of 120 NON-MEDICAL questions below (cooking, car
   repair, programming, tax law, sports rules, geography, music theory, gardening, astronomy,
   history, finance, household DIY; abstaining on them is right). Medical "near-miss" questions
   are deliberately left out: nothing guarantees that a medical question is not answered by one
   of the 1,000 abstracts, so the out-of-scope rate measures only clearly unrelated questions and
   is an upper bound for medical questions outside the corpus. For thresholds 0.20, 0.25, ...,
   0.60 and the current setting, the table gives the share of in-scope questions wrongly
   abstained and of out-of-scope questions correctly abstained; the recommended threshold
   maximises Youden's J (correct-abstention rate minus wrong-abstention rate; ties go to the
   lower threshold, which abstains less on in-scope questions). Baseline: never abstain (0%/0%).

2. Agent overhead. The real `Agent` in extractive mode (`answer_mode="extractive"`, no LLM, so
   `llm_s` is 0) answers 100 in-scope questions, each in a fresh session, after 3 warm-up turns
   (the last one with the case), then 30 turns with a free-text case holding medications, body
   size and a creatinine, so the policy tools run (check_interactions when the ONC list is
   beside the checkout; eGFR, Cockcroft-Gault, body size). Overhead per turn =
   `TurnResult.latency_s - llm_s` (from the intake node to the final result, session checkpoints
   included; the audit write after it is not). Baseline: retrieval alone, `kb.search(q, k=8)` on
   the same question just before each turn, so both see the same machine load. It runs in a
   worker thread, as the agent's graph nodes do (LangGraph's executor): on 2 shared cores under
   load from other processes, torch inference in the main thread showed a much heavier tail
   than in worker threads (p50 2-6x in trials), which made the baseline slower than whole turns.
   Also shown: the agent's own search inside each turn, the overhead beyond it (per turn), and
   the wall clock of the whole `agent.ask()` call (graph start-up, the final checkpoint and the
   audit write included). The agent's checkpoint and audit log go to a temporary data dir.

Target (the issue): agent overhead < 150 ms per turn without images, read here as p95.

    python -m bench.agent [--limit N] [--data-dir DIR] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agent.grounding import evidence_strength
from agent.settings import Settings, apply_offline_environment
from bench.agent_overhead import K, TimedKnowledgeBase, overhead
from bench.common import (
    PUBMEDQA_FILE,
    data_dir_or_temp,
    emit,
    markdown_table,
    percentile,
    progress,
)
from evaluation.citations import ThresholdRates, rates_at
from evaluation.grounding_sets import OUT_OF_SCOPE_QUESTIONS
from evaluation.retrieval import (
    COLLECTION,
    PubMedQAItem,
    build_knowledge_base,
    load_pubmedqa,
)
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase

if TYPE_CHECKING:
    pass

THRESHOLDS = tuple(round(0.20 + 0.05 * i, 2) for i in range(9))  # 0.20 .. 0.60
FINE_THRESHOLDS = tuple(round(0.01 * i, 2) for i in range(10, 81))  # 0.10 .. 0.80


def best_threshold(rates: Sequence[ThresholdRates]) -> ThresholdRates:
    """Highest Youden's J; among ties the lowest threshold (fewest wrong abstentions)."""
    return max(rates, key=lambda r: (round(r.youden, 12), -r.threshold))


def share(count: int, total: int) -> str:
    return f"{100.0 * count / max(total, 1):.1f}% ({count}/{total})"


def auroc(in_scope: Sequence[float], out_of_scope: Sequence[float]) -> float:
    """P(an in-scope question scores above an out-of-scope one); ties count half."""
    inside = np.asarray(in_scope, dtype=np.float64)[:, None]
    outside = np.asarray(out_of_scope, dtype=np.float64)[None, :]
    return float(np.mean((inside > outside) + 0.5 * (inside == outside)))


def spread(values: Sequence[float]) -> str:
    return (
        f"min {min(values):.3f}, p5 {percentile(values, 5):.3f}, "
        f"median {percentile(values, 50):.3f}, p95 {percentile(values, 95):.3f}, "
        f"max {max(values):.3f}"
    )


# --------------------------------------------------------------------------- knowledge base


def open_pubmedqa_kb(
    work: Path, items: Sequence[PubMedQAItem], settings: Settings, embedder: Embedder
) -> tuple[TimedKnowledgeBase, str]:
    """The PubMedQA knowledge base in `work` (retrieval_pubmedqa's layout), brought up to date
    incrementally, opened with the app's retrieval settings; and a line describing the ingest."""
    progress(f"agent: indexing {len(items)} PubMedQA abstracts in {work} ...")
    _, report, seconds = build_knowledge_base(work, items, embedder)
    kb = TimedKnowledgeBase(
        data_dir=work / "data", embedder=embedder, collection=COLLECTION, params=settings.retrieval
    )
    line = (
        f"Ingest: {report.chunks_added} chunks added, {report.chunks_unchanged} unchanged, "
        f"{report.chunks_removed} removed in {seconds:.1f} s; {kb.store.count():,} chunks in all."
    )
    return kb, line


# --------------------------------------------------------------------------- calibration


def calibration(
    kb: KnowledgeBase,
    questions: Sequence[str],
    default_threshold: float,
    ingest_line: str,
) -> str:
    progress(f"agent: evidence strength for {len(questions)} in-scope questions ...")
    in_scope = [evidence_strength(kb.search(q, k=K)) for q in questions]
    progress(f"agent: evidence strength for {len(OUT_OF_SCOPE_QUESTIONS)} out-of-scope ...")
    out_of_scope = [evidence_strength(kb.search(q, k=K)) for q in OUT_OF_SCOPE_QUESTIONS]

    grid = sorted({*THRESHOLDS, round(default_threshold, 4)})
    rates = [rates_at(t, in_scope, out_of_scope) for t in grid]
    best = best_threshold(rates)
    current = next(r for r in rates if r.threshold == round(default_threshold, 4))
    fine = best_threshold([rates_at(t, in_scope, out_of_scope) for t in FINE_THRESHOLDS])

    rows = [
        [
            "never abstain (baseline)",
            share(0, len(in_scope)),
            share(0, len(out_of_scope)),
            f"{0.0:.3f}",
            "baseline",
        ]
    ]
    for r in rates:
        notes = []
        if r is current:
            notes.append("current setting")
        if r is best:
            notes.append("**best J**")
        rows.append(
            [
                f"abstain below {r.threshold:.2f}",
                share(r.wrong, r.in_scope),
                share(r.correct, r.out_of_scope),
                f"{r.youden:.3f}",
                ", ".join(notes),
            ]
        )
    table = markdown_table(
        [
            "policy",
            "in-scope wrongly abstained",
            "out-of-scope correctly abstained",
            "Youden's J",
            "note",
        ],
        rows,
    )
    lines = [
        f"## Abstention calibration ({len(in_scope)} in-scope PubMedQA questions, "
        f"{len(out_of_scope)} non-medical out-of-scope questions, k={K})",
        "",
        f"Knowledge base: the first {len(in_scope)} PubMedQA abstracts. {ingest_line}",
        f"Evidence strength = best dense cosine among the hybrid top {K}; the agent abstains "
        "below the threshold.",
        "",
        f"Evidence strength, in-scope: {spread(in_scope)}.",
        f"Evidence strength, out-of-scope: {spread(out_of_scope)}.",
        f"Separation (AUROC, in-scope above out-of-scope): {auroc(in_scope, out_of_scope):.3f}.",
        "",
        table,
        "",
        f"Recommended threshold (best Youden's J on the grid): {best.threshold:.2f} - "
        f"in-scope wrongly abstained {share(best.wrong, best.in_scope)}, out-of-scope "
        f"correctly abstained {share(best.correct, best.out_of_scope)}, J {best.youden:.3f}.",
        f"Current setting (abstain_threshold = {default_threshold:.2f}): in-scope wrongly "
        f"abstained {share(current.wrong, current.in_scope)}, out-of-scope correctly abstained "
        f"{share(current.correct, current.out_of_scope)}, J {current.youden:.3f}.",
        f"On a 0.01 grid (0.10-0.80) the best J is {fine.youden:.3f} at {fine.threshold:.2f} "
        f"(wrong {share(fine.wrong, fine.in_scope)}, correct "
        f"{share(fine.correct, fine.out_of_scope)}).",
    ]
    if abs(best.threshold - default_threshold) > 1e-9:
        lines.append(
            f"**The recommended threshold ({best.threshold:.2f}) differs from the current "
            f"setting ({default_threshold:.2f}); the setting was not changed.**"
        )
    else:
        lines.append("The current setting is the recommended threshold.")
    lines.append(
        "Out-of-scope questions are non-medical only: the correct-abstention rate is an upper "
        "bound for medical questions the corpus does not cover."
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry point


def run(*, pubmedqa: Path, limit: int, work_dir: Path | None, skip_overhead: bool) -> str:
    items = load_pubmedqa(pubmedqa, limit)
    questions = [item.question for item in items]
    with (
        data_dir_or_temp(work_dir, "agent") as work,
        tempfile.TemporaryDirectory(prefix="clinassist-bench-agent-state-") as state,
    ):
        # The agent's session checkpoints, audit log and de-identification seed go here.
        settings = Settings(
            data_dir=Path(state),
            corpus_dirs=[work / "corpus"],
            collection=COLLECTION,
            answer_mode="extractive",
        )
        embedder = Embedder(settings.embedder_path, batch_size=settings.embed_batch_size)
        kb, ingest_line = open_pubmedqa_kb(work, items, settings, embedder)
        sections = [calibration(kb, questions, settings.abstain_threshold, ingest_line)]
        if not skip_overhead:
            sections += ["", overhead(kb, settings, questions)]
        return "\n".join(sections)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.agent",
        description="Abstention calibration and agent overhead on PubMedQA.",
    )
    parser.add_argument(
        "--limit", type=int, default=500, help="PubMedQA items indexed and asked (default 500)."
    )
    parser.add_argument("--pubmedqa", type=Path, default=PUBMEDQA_FILE, help="ori_pqal.json")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="Keep (and reuse) the corpus file and the index here (default: a temporary dir).",
    )
    parser.add_argument(
        "--skip-overhead", action="store_true", help="Only the abstention calibration."
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    if args.limit < 1:
        raise SystemExit("agent: --limit must be at least 1.")
    if not args.pubmedqa.is_file():
        print(f"agent: {args.pubmedqa} not found; skipped.")
        return 1
    started = time.perf_counter()
    text = run(
        pubmedqa=args.pubmedqa,
        limit=args.limit,
        work_dir=args.data_dir,
        skip_overhead=args.skip_overhead,
    )
    progress(f"agent: done in {(time.perf_counter() - started) / 60:.1f} min.")
    emit("agent", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
