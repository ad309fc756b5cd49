"""A model's structured plan output, scripted: the planner and the service tests share it."""

from __future__ import annotations

from typing import Any


class ScriptedPlanner:
    """Stands in for a model's structured plan output (scripted here, so that the test knows
    which parts are invented); the checks it meets are the real ones."""

    def __init__(self, draft: dict[str, object]) -> None:
        self.draft = draft

    def structured(self, messages: object, schema: object, **kwargs: Any) -> Any:
        return kwargs["model"].model_validate(self.draft)


def option(treatment: str, *citations: int) -> dict[str, object]:
    return {
        "treatment": treatment,
        "rationale": "r",
        "citations": list(citations),
        "strength_of_evidence": "not stated",
    }
