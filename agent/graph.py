"""The clinassist agent: a small LangGraph over typed state, streaming typed events.

    intake -> retrieve -> coverage -> agent <-> tools -> answer -> verify -> final

- before the graph runs, attachments are decoded and de-identified (they become `image-1`,
  `image-2` ... for the session; a file name never reaches the model or a checkpoint) and the
  case is parsed (the checkpoints keep only its de-identified form); intake starts the turn;
- retrieve splits the question into its parts (`agent.questions`: a part about an attached
  image is for the imaging tools; a follow-up is searched with the conversation's topic; a
  question with no topic of its own, with a case, is asked of each of the case's problems)
  and searches the guidelines for each;
- coverage judges whether the passages address each part (`agent.coverage`); only passages of
  documents that address a covered part go on, and the parts that are not covered are said
  so, with the nearest guidelines;
- agent first runs the deterministic policy (every attachment analysed, the case's medications
  and allergies checked, the calculators the case allows), then, when the served model can be
  trusted with tools, lets it choose more within a step budget;
- answer shows first what the imaging tools found (saying when no model read the image), then
  quotes the covered parts (extractive mode) or streams the model's answer to them, then
  names what the guidelines do not cover; verify checks every sentence and falls back to
  quoting when most of the model's answer fails;
- final records the turn in the audit log, then in the session history (LangGraph SQLite
  checkpoint); `run` yields the final event only once both are written.

Text inside passages, DICOM descriptions and cases is data: only the policy and the model's
own tool calls can start a tool, and in the default (policy-only) mode nothing the text says
can start one.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from agent.audit import AuditLog
from agent.case import CaseError, parse_case
from agent.context import Context
from agent.coverage import CoverageModel
from agent.errors import AgentError, storage_error
from agent.events import (
    AgentEvent,
    FinalEvent,
    FlagEvent,
    TurnResult,
)
from agent.flags import Flag, FlagKind
from agent.llm import (
    LLMClient,
)
from agent.nodes.answer import answer
from agent.nodes.retrieval import coverage, intake, retrieve
from agent.nodes.tools import agent_step, run_tools
from agent.nodes.verify import final, verify_answer
from agent.sessions import SessionOwners
from agent.settings import Settings
from agent.state import CHECKPOINT_TYPES, InputState, State
from knowledge.knowledge_base import KnowledgeBase
from tools.errors import ToolError
from tools.imaging.decode import ImageStudy, read_image

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_QUESTION_CHARS = 4000


class Agent:
    """One per app process: the compiled graph, its checkpointer and the session images."""

    def __init__(
        self,
        settings: Settings,
        kb: KnowledgeBase,
        llm: LLMClient | None,
        *,
        model_name: str | None = None,
    ) -> None:
        from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.settings = settings
        self.kb = kb
        self.llm = llm
        self.model_name = model_name
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(
            settings.data_dir / "sessions.sqlite", check_same_thread=False
        )
        # a checkpoint builds only the state's own types when read (never what it names)
        serde = JsonPlusSerializer(allowed_msgpack_modules=list(CHECKPOINT_TYPES))
        self.checkpointer = SqliteSaver(self._connection, serde=serde)
        self.audit = AuditLog(settings.data_dir / "audit.sqlite")
        self.owners = SessionOwners(settings.data_dir / "session_owners.sqlite")
        self.coverage_model = CoverageModel.load(settings.coverage_model)
        self._images: dict[str, dict[str, ImageStudy]] = {}
        self._images_lock = threading.Lock()
        self.context = Context(
            settings=settings,
            kb=kb,
            llm=llm,
            model_name=model_name,
            coverage_model=self.coverage_model,
            audit=self.audit,
            session_images=self.session_images,
        )
        self.graph = self._build()

    def close(self) -> None:
        self._connection.close()
        self.audit.close()
        self.owners.close()

    def new_session(self, user: str) -> str:
        """A new session id (server-issued, random) owned by `user` ("" without sign-in)."""
        return self.owners.new(user)

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

        With `user` (a served app's caller: the signed-in name, or "" without sign-in) the
        turn runs in a session `user` owns (`SessionOwners.claim`): a new one for no id, and a
        one-sentence AgentError for an id the server did not issue to `user`. Without `user`
        (the CLI and MCP of a local process) any well-formed id is used as it is."""
        if session_id and not SESSION_RE.match(session_id):
            raise AgentError("A session id may hold only letters, digits, '-' and '_'.")
        if user is not None:
            session = self.owners.claim(session_id, user)
        else:
            session = session_id or uuid.uuid4().hex
        question = " ".join(question.split())
        if not question:
            raise AgentError("Type a question.")
        if len(question) > MAX_QUESTION_CHARS:
            raise AgentError(
                f"The question is too long ({len(question):,} characters; the limit is "
                f"{MAX_QUESTION_CHARS:,}): put long case text in the case field."
            )
        # The case is parsed and the images decoded here, before the graph: its checkpoints
        # (sessions.sqlite) then hold only the de-identified case and image ids, never the
        # pasted case text or the uploaded files' paths and names.
        flags: list[Flag] = []
        case_json = None
        if case:
            try:
                case_json = parse_case(case).model_dump(mode="json")
            except CaseError as exc:
                flags.append(Flag(FlagKind.ENGINE, f"The case was not used: {exc}"))
        image_ids = self._admit_images(session, attachments, flags)
        for flag in flags:
            yield FlagEvent(flag)
        state: InputState = {
            "question": question,
            "session_id": session,
            "new_images": image_ids,
            "new_case": case_json,
            "intake_flags": flags,
        }
        config = {"configurable": {"thread_id": session}}
        # The final node writes the audit row, then LangGraph commits the turn to the session
        # history once the node returns. The final event waits for that commit, so an answer
        # the clinician sees is always in the history and the audit trail; a process killed
        # between the two writes leaves at most that one unseen turn audited but not in history.
        final: FinalEvent | None = None
        try:
            for event in self.graph.stream(state, config, stream_mode="custom"):
                if isinstance(event, FinalEvent):
                    final = event
                else:
                    yield event
        except (sqlite3.Error, OSError) as exc:  # the session history or the audit trail
            raise storage_error(self.settings.data_dir, exc) from None
        if final is not None:
            yield final

    def _admit_images(
        self, session: str, attachments: Sequence[Path | ImageStudy], flags: list[Flag]
    ) -> list[str]:
        """Decode and de-identify each attachment into the session's images (`image-N`); a
        study already decoded (from the PACS, de-identified on arrival) is taken as it is."""
        from tools.imaging.deid import installation_seed

        image_ids: list[str] = []
        seed = installation_seed(self.settings.data_dir)
        for position, attachment in enumerate(attachments, start=1):
            try:
                study = (
                    attachment
                    if isinstance(attachment, ImageStudy)
                    else read_image(Path(attachment), deid_seed=seed)
                )
            except ToolError as exc:  # the file name may identify the patient: never shown
                flags.append(Flag(FlagKind.IMAGE, f"Attachment {position} was not used: {exc}"))
                continue
            with self._images_lock:
                images = self._images.setdefault(session, {})
                image_id = f"image-{len(images) + 1}"
                images[image_id] = study
            image_ids.append(image_id)
        return image_ids

    def ask(self, question: str, **kwargs: Any) -> TurnResult:
        final = None
        for event in self.run(question, **kwargs):
            if isinstance(event, FinalEvent):
                final = event.result
        assert final is not None
        return final

    def state(self, session_id: str) -> State:
        """The session's state as its last turn left it (empty for a new session)."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": session_id}})
        return cast(State, snapshot.values or {})

    def history(self, session_id: str) -> list[dict[str, str]]:
        return list(self.state(session_id).get("history", []))

    def session_images(self, session_id: str) -> dict[str, ImageStudy]:
        with self._images_lock:
            return dict(self._images.get(session_id, {}))

    def _build(self) -> Any:
        from langgraph.graph import END, START, StateGraph

        graph = StateGraph(State, input_schema=InputState)
        nodes = {
            "intake": intake,
            "retrieve": retrieve,
            "coverage": coverage,
            "agent": agent_step,
            "tools": run_tools,
            "answer": answer,
            "verify": verify_answer,
            "final": final,
        }
        for name, node in nodes.items():
            graph.add_node(name, functools.partial(node, self.context))
        graph.add_edge(START, "intake")
        graph.add_edge("intake", "retrieve")
        graph.add_edge("retrieve", "coverage")
        graph.add_edge("coverage", "agent")
        graph.add_conditional_edges(
            "agent", lambda s: "tools" if s.get("pending") else "answer", ["tools", "answer"]
        )
        graph.add_edge("tools", "agent")
        graph.add_edge("answer", "verify")
        graph.add_edge("verify", "final")
        graph.add_edge("final", END)
        return graph.compile(checkpointer=self.checkpointer)
