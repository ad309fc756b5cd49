"""The assistant's tools called one at a time, outside a chat turn: what `clinassist mcp` offers
other agents over the Model Context Protocol.

Each tool is the agent's own: `search_guidelines`, `check_interactions` and the calculators are
the LangChain tools a turn binds (the same argument schemas, the same one-sentence errors);
`analyze_image` and `plan_treatment` run the agent's tools over what the caller names (a file
decoded and de-identified as `clinassist image analyze` reads it; a case read as `clinassist
plan` reads it), so their argument models add that source to the agent's own; `ask` is a whole
turn (`Service.ask`). A call returns a `ToolOutcome`: the structured result with its flags
(each with its severity) and the standing notice, or one sentence saying why it was not run.

Every call is written to the audit trail as a row of its own (mode "mcp"), with the same
redaction as a turn's tool calls; the case, the question and a file's path are always reduced to
a length and hash. `ask` is audited by the turn itself, so only a call refused before its turn
ran gets a row here.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self, TypeVar

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.case import MAX_CASE_CHARS
from agent.graph import MAX_QUESTION_CHARS, SESSION_RE
from agent.grounding import NOTICE
from agent.planning import PlanTreatmentArgs, planning_tools, report_flags
from agent.service import USER_ERRORS, Service
from tools.imaging.analysis import ZeroShotLabels, imaging_tools
from tools.imaging.decode import ImageStudy

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_PATH_CHARS: Final = 4096

# The owner of the sessions MCP's `ask` starts (agent.sessions): an MCP client continues only
# those, never a session of the app's clinicians.
MCP_OWNER: Final = "mcp:"

# Arguments that are free text (or a file name that may name a patient): always reduced to a
# length and hash in the audit trail, however short.
FREE_TEXT_ARGUMENTS: Final = ("case", "question", "path", "study")

# The ways `analyze_image` may be told which image to read; exactly one is given.
IMAGE_SOURCES: Final = ("path", "study")
MAX_STUDY_CHARS: Final = 128  # a UID is at most 64 characters, an accession number 16
ATTACHMENT_ID: Final = "image-1"  # the one image of a call, as a turn names its first


class AnalyzeImageFileArgs(BaseModel):
    """`analyze_image` outside a turn: the image named by its source (a file, or a PACS study),
    and the agent tool's own zero-shot labels."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description=(
            "A DICOM, PNG or JPEG file on the server's machine; it is decoded and de-identified "
            "on read, and only safe metadata comes back."
        ),
    )
    study: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_STUDY_CHARS,
        description=(
            "A study in the hospital's PACS, by its StudyInstanceUID or accession number: one "
            "image per series is retrieved, de-identified on arrival and analysed."
        ),
    )
    labels: ZeroShotLabels

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [name for name in IMAGE_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"name the image by exactly one of: {', '.join(IMAGE_SOURCES)}")
        return self


class PlanCaseArgs(PlanTreatmentArgs):
    """`plan_treatment` outside a turn: the case itself, and the agent tool's own arguments."""

    model_config = ConfigDict(extra="forbid")

    case: str = Field(
        min_length=1,
        max_length=MAX_CASE_CHARS,
        description="The case: free text, a JSON form, or a FHIR R4 Bundle (or NDJSON) as text.",
    )


class AskArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, description="The clinical question."
    )
    session_id: str | None = Field(
        default=None,
        pattern=SESSION_RE.pattern,
        description="Continue the session an earlier ask returned (its session_id); default: new.",
    )
    case: str | None = Field(
        default=None,
        max_length=MAX_CASE_CHARS,
        description="Optional case: free text, a JSON form, or a FHIR R4 Bundle as text.",
    )


@dataclass(frozen=True)
class OfferedTool:
    """A tool as a protocol lists it: its name, what it does and its arguments' JSON schema."""

    name: str
    description: str
    args_schema: type[BaseModel]

    def input_schema(self) -> dict[str, Any]:
        return self.args_schema.model_json_schema()


# What a case's reading (`CaseReading.as_json`) lists, and which kind of entry each holds.
_READ_ENTRIES: Final = (
    ("medications", "medication"),
    ("past_medications", "medication"),
    ("allergies", "allergy"),
    ("problems", "problem"),
    ("past_problems", "problem"),
)


def _case_read_entries(result: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The (entry, kind) pairs of the case a call read, for the audit trail to reduce wherever
    a flag quotes them."""
    read = (result or {}).get("case_read") or {}
    return [
        (str(item["name"]), kind)
        for key, kind in _READ_ENTRIES
        for item in read.get(key) or []
        if isinstance(item, dict) and item.get("name")
    ]


@dataclass(frozen=True)
class ToolOutcome:
    """One call's outcome: `result` (structured JSON) when `ok`, else `error` (one sentence)."""

    tool: str
    ok: bool
    result: dict[str, Any] | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    passages: list[str] = field(default_factory=list)  # the passage ids it returned or cited

    def as_json(self) -> dict[str, Any]:
        if not self.ok:
            return {"tool": self.tool, "error": self.error}
        return {"tool": self.tool, "result": self.result, "flags": self.flags, "notice": NOTICE}


class ToolRefused(Exception):
    """A call that was not run; `str` is the sentence to give the caller."""


def invalid_arguments(tool: str, exc: ValidationError) -> str:
    """One sentence naming each invalid argument (never the value given, which may be a
    patient's text)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )
    return f"{tool} was not run because its arguments are invalid ({problems})."


def _tool_message(tool: BaseTool, arguments: Mapping[str, Any]) -> ToolMessage:
    """The LangChain tool run as a turn runs it: its own schema and its own error sentences."""
    try:
        message = tool.invoke(
            {"type": "tool_call", "id": tool.name, "name": tool.name, "args": dict(arguments)}
        )
    except ValidationError as exc:  # a tool without its own handler for invalid arguments
        raise ToolRefused(invalid_arguments(tool.name, exc)) from None
    assert isinstance(message, ToolMessage)
    if message.status == "error":
        raise ToolRefused(str(message.content))
    return message


def _content(message: ToolMessage) -> dict[str, Any]:
    result = json.loads(str(message.content))
    assert isinstance(result, dict)
    return result


class StandaloneTools:
    """The tools of one caller (an MCP server process), every call audited under `session`."""

    def __init__(self, service: Service, session: str | None = None) -> None:
        self.service = service
        self.session = session or f"mcp-{uuid.uuid4().hex}"
        self._turn_tools: dict[str, BaseTool] | None = None
        self._own: dict[str, tuple[OfferedTool, Callable[[dict[str, Any]], ToolOutcome]]] = {
            "analyze_image": (
                OfferedTool(
                    "analyze_image",
                    "Describe a DICOM, PNG or JPEG image: de-identified metadata, quality flags, "
                    "research probe outputs with their measured AUROC, similar reference images "
                    "with their labels and source, and the research-use notice. Not a diagnosis.",
                    AnalyzeImageFileArgs,
                ),
                self._analyze_image,
            ),
            "plan_treatment": (
                OfferedTool(
                    "plan_treatment",
                    "Draft a cited treatment plan for a case (free text, a JSON form or a FHIR R4 "
                    "Bundle): options per problem with their guideline passages, and "
                    "interaction, allergy and renal-dose flags; a problem the guidelines do not "
                    "cover is said so.",
                    PlanCaseArgs,
                ),
                self._plan_treatment,
            ),
            "ask": (
                OfferedTool(
                    "ask",
                    "Ask the clinical assistant a question (optionally with a case, or in a "
                    "session): an answer from the guidelines with every sentence cited and "
                    "verified, or a plain statement that the guidelines do not cover it.",
                    AskArgs,
                ),
                self._ask,
            ),
        }

    # ------------------------------------------------------------------ what is offered

    @property
    def turn_tools(self) -> dict[str, BaseTool]:
        """The agent's LangChain tools that need nothing of a turn: guideline search, the
        interaction check (when a table is configured) and the calculators."""
        if self._turn_tools is None:
            from agent.toolbox import optional_tools
            from tools.guidelines import guideline_tools

            settings = self.service.settings
            tools = [*guideline_tools(self.service.kb, settings.retrieval_k)]
            tools += optional_tools(settings)
            self._turn_tools = {tool.name: tool for tool in tools}
        return self._turn_tools

    def offered(self) -> list[OfferedTool]:
        listed = [
            OfferedTool(tool.name, tool.description, _schema_of(tool))
            for tool in self.turn_tools.values()
        ]
        return listed + [offered for offered, _ in self._own.values()]

    # ------------------------------------------------------------------ calls

    def call(self, name: str, arguments: Mapping[str, Any] | None) -> ToolOutcome:
        """Run one tool; a call that cannot run is an outcome with one sentence, never an
        exception (a bug is reported by its type only: its message may hold patient text)."""
        arguments = dict(arguments or {})
        started = time.perf_counter()
        try:
            if name in self._own:
                outcome = self._own[name][1](arguments)
            elif name in self.turn_tools:
                outcome = self._turn_tool(name, arguments)
            else:
                outcome = ToolOutcome(name, False, error=f"There is no tool called {name!r}.")
        except ToolRefused as exc:
            outcome = ToolOutcome(name, False, error=str(exc))
        except USER_ERRORS as exc:
            outcome = ToolOutcome(name, False, error=str(exc))
        except Exception as exc:  # a bug: the caller gets a sentence, the log its stack
            stack = "".join(traceback.format_tb(exc.__traceback__))
            print(f"clinassist: {name} failed ({type(exc).__name__}):\n{stack}", file=sys.stderr)
            outcome = ToolOutcome(
                name, False, error=f"{name} failed unexpectedly ({type(exc).__name__})."
            )
        if name != "ask" or not outcome.ok:  # a turn that ran audited itself
            self._audit(outcome, arguments, time.perf_counter() - started)
        return outcome

    def _audit(self, outcome: ToolOutcome, arguments: dict[str, Any], latency_s: float) -> None:
        self.service.agent.audit.record_call(
            self.session,
            tool=outcome.tool if outcome.tool in self.names else "[unknown tool]",
            arguments=arguments,
            ok=outcome.ok,
            chosen_by="mcp",
            passages=outcome.passages,
            flags=[(flag["kind"], flag["message"]) for flag in outcome.flags],
            latency_s=latency_s,
            free_text=FREE_TEXT_ARGUMENTS,
            mode="mcp",
            case=_case_read_entries(outcome.result),
        )

    @property
    def names(self) -> set[str]:
        return set(self._own) | set(self.turn_tools)

    def _turn_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        result = _content(_tool_message(self.turn_tools[name], arguments))
        flags: list[dict[str, Any]] = []
        passages: list[str] = []
        if name == "check_interactions":
            from tools.interactions import InteractionReport

            report = InteractionReport.model_validate(result)
            flags = [flag.model_dump(mode="json") for flag in report_flags(report)]
        elif name == "search_guidelines":
            passages = [passage["id"] for passage in result["passages"]]
        return ToolOutcome(name, True, result, flags, passages=passages)

    def image_study(self, args: AnalyzeImageFileArgs) -> ImageStudy:
        """The file a call names, decoded and de-identified with this installation's seed;
        only under the folders the settings open to callers (`image_path_dirs`), where the
        file really lies (links followed)."""
        assert args.path is not None
        settings = self.service.settings
        allowed = settings.image_path_dirs
        if allowed is None:
            allowed = settings.image_sample_dirs
        target = Path(args.path).resolve()
        if not any(target.is_relative_to(folder.resolve()) for folder in allowed):
            raise ToolRefused(
                "This server opens images only in the folders its image_path_dirs setting "
                "names, and this path is not in one of them."
            )
        return self.service.images.read_image(target)

    def _analyze_image(self, arguments: dict[str, Any]) -> ToolOutcome:
        from agent.toolbox import image_flags

        args = _validated(AnalyzeImageFileArgs, "analyze_image", arguments)
        if args.study is not None:  # a PACS study: each representative image, as the CLI does
            result = self.service.pacs.analyze(args.study)
            flags = [flag.as_json() for a in result.analyses for flag in image_flags(a)]
            return ToolOutcome("analyze_image", True, result.as_json(), flags)
        study = self.image_study(args)
        [tool] = [
            t
            for t in imaging_tools({ATTACHMENT_ID: study}, self.service.settings.imaging)
            if t.name == "analyze_image"
        ]
        message = _tool_message(tool, {"image": ATTACHMENT_ID, "labels": args.labels})
        analysis = message.artifact["analysis"] if isinstance(message.artifact, dict) else None
        flags = [flag.as_json() for flag in image_flags(analysis)]
        return ToolOutcome("analyze_image", True, _content(message), flags)

    def _plan_treatment(self, arguments: dict[str, Any]) -> ToolOutcome:
        args = _validated(PlanCaseArgs, "plan_treatment", arguments)
        reading = self.service.read_case(args.case)
        [tool] = planning_tools(
            reading.case, self.service.kb, self.service.llm, self.service.settings
        )
        plan = _content(_tool_message(tool, {"problem": args.problem}))
        passages = [
            citation["passage_id"]
            for problem in plan["problems"]
            for option in problem["options"]
            for citation in option["citations"]
        ]
        result = {"plan": plan, "case_read": reading.as_json()}
        return ToolOutcome("plan_treatment", True, result, plan["flags"], passages=passages)

    def _ask(self, arguments: dict[str, Any]) -> ToolOutcome:
        args = _validated(AskArgs, "ask", arguments)
        # MCP callers own the sessions they start (never a browser's or the API's)
        turn = self.service.ask(
            args.question, session_id=args.session_id, case=args.case, user=MCP_OWNER
        )
        result = turn.as_json()
        flags = [flag.as_json() for flag in turn.flags]
        return ToolOutcome("ask", True, result, flags)


def _schema_of(tool: BaseTool) -> type[BaseModel]:
    schema = tool.args_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    return schema


def _validated(model: type[ModelT], tool: str, arguments: Mapping[str, Any]) -> ModelT:
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        raise ToolRefused(invalid_arguments(tool, exc)) from None
