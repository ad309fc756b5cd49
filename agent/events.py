"""What the agent yields while it works, in order: the UI and the CLI stream these.

`token` pieces of the answer as the model writes them; `tool_call` and `tool_result` for every
tool step; `citation` for each passage the answer cites; `flag` for anything the clinician must
see (unsupported sentence, abstention, interaction, low-confidence image output); `final` once,
with the whole turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.flags import Flag
from agent.grounding import AnswerMode, Citation


@dataclass(frozen=True)
class TokenEvent:
    text: str
    kind: str = "token"


@dataclass(frozen=True)
class ToolCallEvent:
    id: str
    name: str
    arguments: dict[str, Any]
    chosen_by: str  # "model" or "policy" (the deterministic rules that always run)
    kind: str = "tool_call"


@dataclass(frozen=True)
class ToolResultEvent:
    id: str
    name: str
    content: str  # what the model saw (JSON of a typed result, or an error sentence)
    ok: bool
    image_png: bytes | None = field(default=None, repr=False)
    kind: str = "tool_result"


@dataclass(frozen=True)
class CitationEvent:
    citation: Citation
    kind: str = "citation"


@dataclass(frozen=True)
class FlagEvent:
    flag: Flag
    kind: str = "flag"


@dataclass(frozen=True)
class ToolTrace:
    id: str
    name: str
    arguments: dict[str, Any]
    content: str
    ok: bool
    chosen_by: str


@dataclass(frozen=True)
class PartCoverage:
    """One part of the question: what was searched for it and whether the knowledge base
    addresses it (None for a part about an attached image, which the imaging tools answer)."""

    text: str
    searched: str
    about_image: bool
    covered: bool | None
    probability: float | None


@dataclass(frozen=True)
class TurnResult:
    """One answered turn, as `clinassist ask --json` prints it."""

    session_id: str
    answer: str
    mode: AnswerMode
    citations: list[Citation]
    flags: list[Flag]
    tool_calls: list[ToolTrace]
    notice: str
    model: str | None
    latency_s: float
    llm_s: float  # time spent inside LLM calls
    coverage: list[PartCoverage] = field(default_factory=list)

    @property
    def abstained(self) -> bool:
        return self.mode is AnswerMode.ABSTAINED

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "answer": self.answer,
            "mode": self.mode.value,
            "abstained": self.abstained,
            "citations": [
                {
                    "marker": c.marker,
                    "passage_id": c.passage.id,
                    "title": c.passage.title,
                    "section": c.passage.section,
                    "url": c.passage.url,
                    "updated": c.passage.updated,
                    "license": c.passage.effective_license,
                }
                for c in self.citations
            ],
            "flags": [f.as_json() for f in self.flags],
            "tool_calls": [
                {
                    "name": t.name,
                    "arguments": t.arguments,
                    "ok": t.ok,
                    "chosen_by": t.chosen_by,
                    "result": t.content,
                }
                for t in self.tool_calls
            ],
            "coverage": [
                {
                    "part": part.text,
                    "searched": part.searched,
                    "about_image": part.about_image,
                    "covered": part.covered,
                    "probability": part.probability,
                }
                for part in self.coverage
            ],
            "notice": self.notice,
            "model": self.model,
            "latency_s": round(self.latency_s, 3),
        }


@dataclass(frozen=True)
class FinalEvent:
    result: TurnResult
    kind: str = "final"


AgentEvent = TokenEvent | ToolCallEvent | ToolResultEvent | CitationEvent | FlagEvent | FinalEvent
