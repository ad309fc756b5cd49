"""What the coverage decision and sentence selection add to a turn, over the full corpus.

For each development question of the grounding sets (in scope, near miss, non-medical; the
held-out ones are not used), after a warm-up: `kb.search(q, k=8)` alone (what a turn did before
the decision existed, besides its lexical quote picking), then the decision on those passages
(`agent.coverage.judge`: topic terms, headings, a few dozen sentences embedded, the logistic
model) plus the choice of quotes (`choose_quotes`). Then whole extractive turns (`Agent.ask`,
no LLM): their overhead (`latency_s`) beside the figure the README gave before the decision
(74.1 / 92.5 ms p50 / p95, question only, PubMedQA knowledge base).

Target (the issue): the decision and selection add at most 150 ms at p95.

    python -m bench.coverage [--data-dir DIR] [--turns N]

`--data-dir` is a knowledge base filled by bench.ingest_corpus (collection clinassist_bench);
without it, or when it is empty, the full corpus is ingested first (several minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from agent.settings import Settings, apply_offline_environment
from bench.common import (
    CORPORA_DIR,
    CORPUS_COLLECTION,
    data_dir_or_temp,
    emit,
    load_average,
    markdown_table,
    percentile,
    progress,
    verdict,
)

K = 8
P95_TARGET_MS = 150.0
WARMUP = 10
BEFORE_TURN_MS = (74.1, 92.5)  # README, agent overhead per turn before the coverage decision


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--collection", default=CORPUS_COLLECTION, help="Its collection.")
    parser.add_argument("--turns", type=int, default=100, help="Whole agent turns timed.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    from agent.coverage import CoverageModel, judge
    from agent.graph import Agent
    from agent.grounding import choose_quotes
    from evaluation.grounding_sets import load_questions
    from knowledge.embedding import Embedder
    from knowledge.ingest import ingest
    from knowledge.knowledge_base import KnowledgeBase

    questions = [q.question for q in load_questions() if q.split == "dev"]
    embedder = Embedder()
    with data_dir_or_temp(args.data_dir, "clinassist-bench-coverage-") as data_dir:
        kb = KnowledgeBase(data_dir=data_dir, embedder=embedder, collection=args.collection)
        if kb.store.count() == 0:
            progress("coverage: ingesting the full corpus first ...")
            ingest(kb, [CORPORA_DIR / name for name in ("nci-pdq-hp", "ngc-us-federal-archive")])
        model = CoverageModel.load()
        vocabulary = kb.vocabulary()
        search: list[float] = []
        decide: list[float] = []
        for number, question in enumerate(questions):
            started = time.perf_counter()
            passages = kb.search(question, k=K)
            searched = time.perf_counter()
            judgement = judge(
                question, passages, vocabulary=vocabulary, embedder=embedder, model=model
            )
            choose_quotes(judgement.quotes())
            done = time.perf_counter()
            if number >= WARMUP:
                search.append(1000 * (searched - started))
                decide.append(1000 * (done - searched))
        progress(f"coverage: {args.turns} whole turns ...")
        turn: list[float] = []
        with tempfile.TemporaryDirectory(prefix="clinassist-bench-coverage-agent-") as temp:
            settings = Settings(data_dir=Path(temp), corpus_dirs=[], answer_mode="extractive")
            agent = Agent(settings, kb, None)
            try:
                for question in questions[: args.turns]:
                    result = agent.ask(question)
                    turn.append(1000 * (result.latency_s - result.llm_s))
            finally:
                agent.close()

    def cell(values: list[float]) -> str:
        return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"

    rows = [
        ["`kb.search(q, k=8)` alone (baseline)", cell(search), "—"],
        [
            "coverage decision + quote selection (added)",
            cell(decide),
            verdict(percentile(decide, 95) <= P95_TARGET_MS) + f" (p95 ≤ {P95_TARGET_MS:.0f} ms)",
        ],
        [
            "whole extractive turn, overhead (`latency_s`)",
            cell(turn),
            f"before the decision: {BEFORE_TURN_MS[0]} / {BEFORE_TURN_MS[1]} ms",
        ],
    ]
    text = "\n".join(
        [
            f"Coverage on the full corpus ({len(questions) - WARMUP} development questions after "
            f"{WARMUP} warm-up; load average {load_average()}):",
            "",
            markdown_table(["measure", "p50 / p95 (ms)", "target / before"], rows),
        ]
    )
    emit("coverage", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
