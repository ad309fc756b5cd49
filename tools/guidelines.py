"""`search_guidelines`: the knowledge base as a LangChain tool (no LLM involved)."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from knowledge.errors import KnowledgeError
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import Passage, SearchFilters


class SearchGuidelinesArgs(BaseModel):
    query: str = Field(
        description="Clinical question or keywords to look up in the guidelines.",
        min_length=2,
        max_length=500,
    )
    corpus: list[str] = Field(
        default_factory=list, max_length=10, description="Optional corpus names to search only."
    )


class PassageResult(BaseModel):
    """A passage as tools, the UI and the audit trail see it."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    section: str
    text: str
    url: str | None
    updated: str | None
    license: str | None
    corpus: str
    source: str
    score: float
    dense_score: float | None

    @classmethod
    def of(cls, passage: Passage) -> PassageResult:
        return cls(
            id=passage.id,
            title=passage.title,
            section=passage.section,
            text=passage.body,
            url=passage.url,
            updated=passage.updated,
            license=passage.effective_license,
            corpus=passage.corpus,
            source=passage.source,
            score=round(passage.score, 5),
            dense_score=None if passage.dense_score is None else round(passage.dense_score, 4),
        )


class GuidelineResults(BaseModel):
    model_config = ConfigDict(frozen=True)

    query: str
    passages: list[PassageResult]


def search_guidelines(
    kb: KnowledgeBase, query: str, *, k: int | None = None, corpus: list[str] | None = None
) -> tuple[GuidelineResults, list[Passage]]:
    """Ranked passages (the typed results and the knowledge layer's own objects)."""
    filters = SearchFilters(corpus=tuple(corpus)) if corpus else None
    passages = kb.search(query, k=k, filters=filters)
    return GuidelineResults(query=query, passages=[PassageResult.of(p) for p in passages]), passages


def guideline_tools(kb: KnowledgeBase, k: int | None = None) -> list[BaseTool]:
    """The `search_guidelines` tool; its artifact is the list of `Passage` objects."""

    def run(query: str, corpus: list[str] | None = None) -> tuple[str, list[Passage]]:
        try:
            results, passages = search_guidelines(kb, query, k=k, corpus=corpus)
        except KnowledgeError as exc:
            raise ToolException(str(exc)) from None
        return results.model_dump_json(), passages

    return [
        StructuredTool.from_function(
            run,
            name="search_guidelines",
            description=(
                "Search the clinical guideline knowledge base; returns ranked passages with "
                "title, section, source link, update date and licence."
            ),
            args_schema=SearchGuidelinesArgs,
            response_format="content_and_artifact",
            handle_tool_error=True,
        )
    ]
