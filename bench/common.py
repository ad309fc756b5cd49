"""Helpers shared by the benchmarks: data locations, temporary data dirs, tables, statistics.

Nothing here imports a heavy library; the entry points call `apply_offline_environment()`
before anything that could reach a model hub is imported.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.settings import PROJECT_ROOT, shared_dir
from evaluation.report import markdown_table as markdown_table  # re-exported

# The public data beside the checkout (never committed).
SHARED_DIR = shared_dir()
CORPORA_DIR = SHARED_DIR / "corpora"
PUBMEDQA_FILE = SHARED_DIR / "eval" / "pubmedqa" / "ori_pqal.json"

# The collection the corpus benchmarks fill (ingest_corpus) and read (query_latency).
CORPUS_COLLECTION = "clinassist_bench"

# Where each benchmark also writes the tables it prints (git-ignored).
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


@contextmanager
def data_dir_or_temp(given: Path | None, prefix: str) -> Iterator[Path]:
    """`given` as is, or a fresh temporary directory removed afterwards."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=f"clinassist-bench-{prefix}-") as temp:
        yield Path(temp)


def verdict(met: bool) -> str:
    return "met" if met else "**MISSED**"


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def kib_to_mib(kib: int) -> float:
    """`ru_maxrss` is in KiB on Linux."""
    return kib / 1024.0


def save_results(name: str, text: str) -> Path | None:
    """Keep a copy of the printed tables under bench/results/ (best effort)."""
    try:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{name}.md"
        path.write_text(text + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


def emit(name: str, text: str) -> None:
    """Print a benchmark's output and keep a copy of it."""
    print(text, flush=True)
    saved = save_results(name, text)
    if saved is not None:
        print(f"\n(saved to {saved.relative_to(PROJECT_ROOT)})", flush=True)


def progress(message: str) -> None:
    """Progress notes go to stderr so stdout holds only the tables."""
    print(message, file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1/5/15-minute load averages: benchmark figures on 2 shared cores need them beside."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass(frozen=True)
class Latency:
    label: str
    samples_ms: tuple[float, ...]

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms)

    @property
    def max(self) -> float:
        return max(self.samples_ms)
