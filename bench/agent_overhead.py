"""bench.agent, part 2: the time the agent adds around retrieval (see bench/agent.py's
docstring for the method and the baseline)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.flags import FlagKind
from agent.settings import Settings
from bench.common import Latency, load_average, markdown_table, percentile, progress, verdict
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase, SearchMode
from knowledge.retrieval import RetrievalParams
from knowledge.types import Passage, SearchFilters

if TYPE_CHECKING:
    from agent.graph import Agent

K = 8
OVERHEAD_TARGET_MS = 150.0
WARMUP_TURNS = 3
QUESTION_TURNS = 100
CASE_TURNS = 30
CASE_TEXT = (
    "70-year-old man, 80 kg, 175 cm. Meds: simvastatin 40 mg, clarithromycin 500 mg. "
    "Creatinine 1.1 mg/dL."
)


class TimedKnowledgeBase(KnowledgeBase):
    """The knowledge base, noting how long each search takes (the agent's own included)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        embedder: Embedder,
        collection: str,
        params: RetrievalParams,
    ) -> None:
        super().__init__(data_dir=data_dir, embedder=embedder, collection=collection, params=params)
        self.search_ms: list[float] = []

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: SearchMode = SearchMode.HYBRID,
    ) -> list[Passage]:
        started = time.perf_counter()
        try:
            return super().search(query, k=k, filters=filters, mode=mode)
        finally:
            self.search_ms.append((time.perf_counter() - started) * 1000.0)


@dataclass
class TurnSamples:
    search_ms: list[float] = field(default_factory=list)  # standalone, before the turn
    inside_ms: list[float] = field(default_factory=list)  # the agent's own search in the turn
    overhead_ms: list[float] = field(default_factory=list)
    beyond_ms: list[float] = field(default_factory=list)  # overhead minus the agent's search
    wall_ms: list[float] = field(default_factory=list)
    llm_s: float = 0.0
    abstained: int = 0
    interaction_flagged: int = 0
    tools: Counter[str] = field(default_factory=Counter)


def pick(pool: Sequence[str], start: int, count: int) -> list[str]:
    """`count` questions from `start`, wrapping around a small pool."""
    return [pool[(start + i) % len(pool)] for i in range(count)]


def timed_turns(
    agent: Agent,
    kb: TimedKnowledgeBase,
    worker: ThreadPoolExecutor,
    questions: Sequence[str],
    case: str | None,
    tag: str,
) -> TurnSamples:
    samples = TurnSamples()
    for number, question in enumerate(questions, start=1):
        kb.search_ms.clear()
        worker.submit(kb.search, question, k=K).result()
        samples.search_ms.append(kb.search_ms[-1])
        kb.search_ms.clear()
        started = time.perf_counter()
        result = agent.ask(question, session_id=f"bench-{tag}-{number}", case=case)
        samples.wall_ms.append((time.perf_counter() - started) * 1000.0)
        overhead_ms = (result.latency_s - result.llm_s) * 1000.0
        samples.overhead_ms.append(overhead_ms)
        samples.inside_ms.append(sum(kb.search_ms))
        samples.beyond_ms.append(overhead_ms - sum(kb.search_ms))
        samples.llm_s += result.llm_s
        samples.abstained += result.abstained
        samples.interaction_flagged += any(f.kind is FlagKind.INTERACTION for f in result.flags)
        samples.tools.update(t.name for t in result.tool_calls if t.ok)
        if number % 25 == 0:
            progress(f"agent: {tag} turns {number}/{len(questions)}")
    return samples


def latency_row(label: str, samples_ms: Sequence[float], target: bool = False) -> list[str]:
    lat = Latency(label, tuple(samples_ms))
    return [
        lat.label,
        str(len(lat.samples_ms)),
        f"{lat.p50:.1f}",
        f"{lat.p95:.1f}",
        f"{lat.mean:.1f}",
        f"{lat.max:.1f}",
        f"< {OVERHEAD_TARGET_MS:.0f}" if target else "",
        verdict(lat.p95 < OVERHEAD_TARGET_MS) if target else "",
    ]


def turn_rows(name: str, s: TurnSamples) -> list[list[str]]:
    return [
        latency_row(f"{name}: retrieval alone, kb.search(q, k=8) (baseline)", s.search_ms),
        latency_row(f"{name}: agent overhead, latency_s - llm_s", s.overhead_ms, target=True),
        latency_row(f"{name}: the agent's own kb.search in the turn", s.inside_ms),
        latency_row(f"{name}: overhead beyond that search", s.beyond_ms),
        latency_row(f"{name}: agent.ask() wall clock", s.wall_ms),
    ]


def overhead(kb: TimedKnowledgeBase, settings: Settings, pool: Sequence[str]) -> str:
    from agent.graph import Agent

    warmup = pick(pool, 0, WARMUP_TURNS)
    plain = pick(pool, WARMUP_TURNS, QUESTION_TURNS)
    with_case = pick(pool, WARMUP_TURNS + QUESTION_TURNS, CASE_TURNS)
    load_before = load_average()
    agent = Agent(settings, kb, None)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-search") as worker:
            progress(f"agent: {len(warmup)} warm-up turns ...")
            for number, question in enumerate(warmup, start=1):
                worker.submit(kb.search, question, k=K).result()
                case = CASE_TEXT if number == len(warmup) else None
                agent.ask(question, session_id=f"bench-warmup-{number}", case=case)
            progress(f"agent: {len(plain)} question turns ...")
            q = timed_turns(agent, kb, worker, plain, None, "question")
            progress(f"agent: {len(with_case)} question + case turns ...")
            c = timed_turns(agent, kb, worker, with_case, CASE_TEXT, "case")
    finally:
        agent.close()

    table = markdown_table(
        ["measure (ms)", "turns", "p50", "p95", "mean", "max", "p95 target", "status"],
        [*turn_rows("(a) question only", q), *turn_rows("(b) question + case", c)],
    )
    tools = ", ".join(f"{name} {count}/{len(with_case)}" for name, count in sorted(c.tools.items()))
    if settings.interactions_dir is None:
        tools += " (no ONC interaction list beside the checkout: check_interactions did not run)"
    p95_q, p95_c = percentile(q.overhead_ms, 95), percentile(c.overhead_ms, 95)
    load = load_average()
    return "\n".join(
        [
            f"## Agent overhead (extractive mode, no LLM; {len(plain)} question turns and "
            f"{len(with_case)} question + case turns, each in a fresh session, after "
            f"{len(warmup)} warm-up turns)",
            "",
            f"{kb.store.count():,} chunks; embedder {kb.embedder.name} "
            f"({'bf16' if kb.embedder.use_bf16 else 'fp32'}); {os.cpu_count()} CPUs, "
            f"load average {load_before} at the start, {load} at the end.",
            "Overhead = TurnResult.latency_s - llm_s (time inside LLM calls: "
            f"{q.llm_s + c.llm_s:.3f} s in all). The baseline search runs in a worker thread "
            "just before each turn, as the agent's graph nodes do.",
            f'Case: "{CASE_TEXT}"',
            f"Tools run on the case turns: {tools or 'none'}; interaction flagged on "
            f"{c.interaction_flagged}/{len(with_case)} case turns.",
            f"Turns abstained: {q.abstained}/{len(plain)} question only, "
            f"{c.abstained}/{len(with_case)} with the case.",
            "",
            table,
            "",
            f"Target (agent overhead p95 < {OVERHEAD_TARGET_MS:.0f} ms without images): "
            f"(a) question only {verdict(p95_q < OVERHEAD_TARGET_MS)} ({p95_q:.1f} ms), "
            f"(b) question + case {verdict(p95_c < OVERHEAD_TARGET_MS)} ({p95_c:.1f} ms).",
        ]
    )
