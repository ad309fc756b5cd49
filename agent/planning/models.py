"""What a plan is: the draft the model fills (bounded, so a small model's output parses) and
the checked plan with its problems, options, citations, flags and calculations."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from agent.flags import FlagKind
from agent.grounding import NOTICE, AnswerMode

MAX_PROBLEMS = 6
PASSAGES_PER_PROBLEM = 4
SEARCHED_PER_PROBLEM = 8  # judged for coverage; the addressing ones (up to 4) are used
PLAN_TOKENS = 900
NOT_STATED = "not stated in the source"
_STRENGTH_RE = re.compile(
    r"((?:level|strength|grade|quality) of (?:evidence|recommendation)[^.;\]]{0,60}"
    r"|\b(?:strong|weak|conditional) recommendation[^.;\]]{0,40}"
    r"|\b(?:high|moderate|low|very low)[- ]quality evidence"
    r"|\blevel (?:of evidence )?[1-5][a-c]?\b|\bgrade [A-D]\b)",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- what the model fills


# Every string and array is bounded, so that a small model's guided output always parses.
DraftText = Annotated[str, Field(max_length=160)]
Marker = Annotated[int, Field(ge=1, le=99)]


class DraftOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    treatment: str = Field(max_length=160)
    rationale: str = Field(max_length=300)
    citations: list[Marker] = Field(max_length=4)
    strength_of_evidence: str = Field(max_length=100)


class DraftProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: str = Field(max_length=120)
    options: list[DraftOption] = Field(max_length=3)
    contraindications: list[DraftText] = Field(max_length=4)
    monitoring: list[DraftText] = Field(max_length=4)


class PlanDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problems: list[DraftProblem] = Field(max_length=MAX_PROBLEMS)
    follow_up: list[DraftText] = Field(max_length=4)
    open_questions: list[DraftText] = Field(max_length=4)


def draft_schema() -> dict[str, Any]:
    """The JSON schema the engine decodes against, generated from `PlanDraft` (one owner of
    every bound), with its `$defs` inlined so that any guided-decoding backend reads it."""
    schema = PlanDraft.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


# --------------------------------------------------------------------------- the plan


class PlanCitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    marker: int
    passage_id: str
    title: str
    section: str
    url: str | None
    updated: str | None
    license: str | None


class PlanOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    treatment: str
    rationale: str
    citations: list[PlanCitation]
    strength_of_evidence: str


class PlanProblem(BaseModel):
    model_config = ConfigDict(frozen=True)

    problem: str
    options: list[PlanOption]
    contraindications: list[str]
    monitoring: list[str]
    covered: bool = True  # whether the knowledge base addresses this problem at all
    nearest: list[str] = Field(default_factory=list)  # nearest guidelines when not covered


class PlanFlag(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FlagKind
    message: str
    drugs: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity(self) -> str:
        return self.kind.severity.label


class Calculation(BaseModel):
    model_config = ConfigDict(frozen=True)

    calculator: str
    result: dict[str, Any]


class Plan(BaseModel):
    """What `clinassist plan --json` prints and the UI renders."""

    model_config = ConfigDict(frozen=True)

    case_summary: str
    mode: AnswerMode
    problems: list[PlanProblem]
    follow_up: list[str]
    open_questions: list[str]
    flags: list[PlanFlag]
    calculations: list[Calculation]
    notice: str = NOTICE

    def to_markdown(self) -> str:
        lines = [
            "# Treatment plan (draft for clinician review)",
            "",
            f"**Case:** {self.case_summary}",
        ]
        lines += ["", f"_Produced in {self.mode.value} mode._"]
        if self.flags:
            lines += ["", "## Safety flags", ""]
            lines += [f"- **{flag.kind.label}**: {flag.message}" for flag in self.flags]
        if self.calculations:
            lines += ["", "## Calculations", ""]
            for calc in self.calculations:
                name = calc.result.get("calculator", calc.calculator)
                lines.append(f"- **{name}**: {calc.result.get('interpretation', '')}")
        references: dict[int, PlanCitation] = {}
        for problem in self.problems:
            lines += ["", f"## {problem.problem}", ""]
            if not problem.covered:
                nearest = "; ".join(f"*{name}*" for name in problem.nearest)
                lines.append(
                    f"- Not covered: the guidelines in this knowledge base do not address "
                    f"{problem.problem}." + (f" Nearest: {nearest}." if nearest else "")
                )
            elif not problem.options:
                lines.append("- No option could be cited from the knowledge base.")
            for option in problem.options:
                markers = "".join(f"[{c.marker}]" for c in option.citations)
                lines.append(f"- **{option.treatment}** {markers}")
                lines.append(f"  - {option.rationale}")
                strength = option.strength_of_evidence
                lines.append(f"  - Strength of evidence (as the source states): {strength}")
                references.update({c.marker: c for c in option.citations})
            if problem.contraindications:
                lines.append("- Contraindications: " + "; ".join(problem.contraindications))
            if problem.monitoring:
                lines.append("- Monitoring: " + "; ".join(problem.monitoring))
        if self.follow_up:
            lines += ["", "## Follow-up", ""] + [f"- {item}" for item in self.follow_up]
        if self.open_questions:
            lines += ["", "## Open questions", ""] + [f"- {item}" for item in self.open_questions]
        if references:
            lines += ["", "## References", ""]
            for marker in sorted(references):
                ref = references[marker]
                where = " -- ".join(x for x in (ref.title, ref.section) if x)
                extra = "; ".join(
                    x
                    for x in (
                        ref.url,
                        f"updated {ref.updated}" if ref.updated else None,
                        f"licence: {ref.license}" if ref.license else None,
                    )
                    if x
                )
                # not "1." : Markdown would renumber the list and break the markers
                lines.append(f"- [{marker}] {where}" + (f" ({extra})" if extra else ""))
        lines += ["", f"_{self.notice}_", ""]
        return "\n".join(lines)
