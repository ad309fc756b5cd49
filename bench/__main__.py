"""`python -m bench` (`make bench`): every benchmark in sequence, each printing its tables.

The corpus ingest fills one temporary data dir that the latency benchmark then searches, so the
full corpus is embedded once. Nothing under ./.clinassist is read or written.

    python -m bench [--only NAME ...] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from agent.settings import apply_offline_environment

BENCHMARKS = (
    "retrieval_pubmedqa",
    "agent",
    "citations",
    "ingest_corpus",
    "query_latency",
    "coverage",
    "fhir_read",
    "llm_engine",
    "imaging",
    "app",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the benchmarks.")
    parser.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), help="Run only these."
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="PubMedQA items for retrieval_pubmedqa (quick run)."
    )
    return parser.parse_args(argv)


def banner(name: str) -> None:
    print(f"\n# bench.{name}\n", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    # Imported after the offline environment is set (they import the knowledge layer).
    from bench import agent as agent_bench
    from bench import app as app_bench
    from bench import (
        citations,
        coverage,
        fhir_read,
        imaging,
        ingest_corpus,
        llm_engine,
        query_latency,
        retrieval_pubmedqa,
    )

    failures: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clinassist-bench-corpus-") as shared:
        corpus_dir = Path(shared)
        for name in BENCHMARKS:
            if name not in args.only:
                continue
            banner(name)
            if name == "retrieval_pubmedqa":
                limit = [] if args.limit is None else ["--limit", str(args.limit)]
                status = retrieval_pubmedqa.main(limit)
            elif name == "agent":
                status = agent_bench.main([])
            elif name == "citations":
                status = citations.main([])
            elif name == "llm_engine":
                status = llm_engine.main([])
            elif name == "imaging":
                status = imaging.main([])
            elif name == "fhir_read":
                status = fhir_read.main([])
            elif name == "app":
                status = app_bench.main([])
            elif name == "ingest_corpus":
                status = ingest_corpus.main(["--data-dir", str(corpus_dir)])
            elif name == "coverage":
                status = coverage.main(["--data-dir", str(corpus_dir)])
            else:
                status = query_latency.main(["--data-dir", str(corpus_dir)])
            if status != 0:
                failures.append(name)
    minutes = (time.perf_counter() - started) / 60
    print(f"\nBenchmarks done in {minutes:.1f} min.", flush=True)
    if failures:
        print(f"Did not complete: {', '.join(failures)}.", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
