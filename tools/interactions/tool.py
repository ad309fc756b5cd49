"""The `check_interactions` LangChain tool: its argument schema, limits and one-sentence errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field, ValidationError

from tools.errors import ToolError
from tools.interactions.check import check_interactions
from tools.interactions.knowledge import InteractionKnowledge

MAX_MEDICATIONS = 50
MAX_ALLERGIES = 30
MAX_NAME_CHARS = 200


_Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class CheckInteractionsArgs(BaseModel):
    medications: list[_Name] = Field(
        min_length=1,
        max_length=MAX_MEDICATIONS,
        description="The patient's medications, generic or brand names, doses allowed.",
    )
    allergies: list[_Name] = Field(
        default_factory=list,
        max_length=MAX_ALLERGIES,
        description="Recorded drug allergies, e.g. penicillin, sulfa, NSAIDs.",
    )


def _invalid_input(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
    else:
        problems = str(exc)
    return (
        f"check_interactions was not run because its input is invalid ({problems}); it takes at "
        f"most {MAX_MEDICATIONS} medications and {MAX_ALLERGIES} allergies of up to "
        f"{MAX_NAME_CHARS} characters each."
    )


def interaction_tools(
    folder: Path | None,
    *,
    include_informational: bool = False,
    extra_dirs: Sequence[Path] = (),
) -> list[BaseTool]:
    """The `check_interactions` tool over the ONC list in `folder` and the tables in
    `extra_dirs` (all loaded on first use)."""
    extra = tuple(extra_dirs)

    def check(medications: list[str], allergies: list[str] | None = None) -> str:
        try:
            knowledge = InteractionKnowledge.load(
                folder, extra, include_informational=include_informational
            )
        except ToolError as exc:
            raise ToolException(str(exc)) from None
        return check_interactions(medications, allergies or (), table=knowledge).model_dump_json()

    if extra:
        lists = ("the ONC high-priority drug-drug interaction list, " if folder else "") + (
            f"{len(extra)} local interaction table(s)"
        )
        description = (
            f"Check a medication list (and optional allergies) against {lists} and a small "
            "allergy-class map. Returns JSON with flagged pairs (severity, source, any "
            "management text), allergy conflicts, and names that were NOT checked; no flag "
            "does not mean a combination is safe."
        )
    else:
        description = (
            "Check a medication list (and optional allergies) against the ONC high-priority "
            "drug-drug interaction list and a small allergy-class map. Returns JSON with "
            "flagged pairs, allergy conflicts, and names that were NOT checked. Pairs only, no "
            "management advice; no flag does not mean a combination is safe."
        )
    validation_handler: Callable[[Exception], str] = _invalid_input
    return [
        StructuredTool.from_function(
            check,
            name="check_interactions",
            description=description,
            args_schema=CheckInteractionsArgs,
            handle_tool_error=True,
            handle_validation_error=validation_handler,
        )
    ]
