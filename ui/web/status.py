"""What the banner and the Status tab show: the engine, the model, the knowledge base, the
version and every licence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agent.service import (
    EngineState,
    EngineStatus,
    KnowledgeBaseStats,
)
from agent.settings import app_version


@dataclass
class AppStatus:
    """What the status banner and tab show; refreshed by a callable the app is given."""

    engine: str
    model: str | None
    ready: bool
    knowledge: str
    version: str
    licences: list[str]


class WatchedEngine(Protocol):
    def status(self) -> EngineStatus: ...


def status_reporter(
    engine: WatchedEngine | None,
    stats: KnowledgeBaseStats,
    *,
    no_engine: str,
    model_licences: Sequence[str] = (),
) -> Callable[[], AppStatus]:
    """What the banner and the Status tab show, read from the engine each time; the licences
    of the models (`model_licences`) and of every corpus."""
    licences = [*model_licences, *(f"{c.name}: {c.license or 'not stated'}" for c in stats.corpora)]
    knowledge = f"{stats.chunks:,} guideline passages in {len(stats.corpora)} corpora"

    def report() -> AppStatus:
        current = engine.status() if engine is not None else None
        if current is None:
            return AppStatus(no_engine, None, False, knowledge, app_version(), licences)
        where = f" at {current.url}" if current.url else ""
        why = f": {current.detail}" if current.detail else ""
        return AppStatus(
            engine=f"LLM engine {current.state.value}{where}{why}",
            model=current.model,
            ready=current.state is EngineState.READY,
            knowledge=knowledge,
            version=app_version(),
            licences=licences,
        )

    return report
