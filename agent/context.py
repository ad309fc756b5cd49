"""What every node of a run reads besides the state: settings, knowledge base, model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from agent.audit import AuditLog
from agent.coverage import CoverageModel
from agent.llm import (
    LLMClient,
)
from agent.settings import Settings
from knowledge.knowledge_base import KnowledgeBase
from tools.imaging.decode import ImageStudy


@dataclasses.dataclass(frozen=True)
class Context:
    """The agent's parts a node uses; one per `Agent`, shared by its runs (read-only)."""

    settings: Settings
    kb: KnowledgeBase
    llm: LLMClient | None
    model_name: str | None
    coverage_model: CoverageModel
    audit: AuditLog
    session_images: Callable[[str], dict[str, ImageStudy]]
