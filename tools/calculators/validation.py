"""Invalid calculator input as one sentence a user (or the model, to retry) can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import ValidationError

from tools.calculators.models import CalculatorInput, InputT
from tools.errors import ToolError

_BOUND_WORDS: Final = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _shown(value: object) -> str:
    # The value may come from a model's tool call: keep it short in the message.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validation_sentence(exc: ValidationError, calculator: str, model: type[CalculatorInput]) -> str:
    """One sentence naming every invalid argument, for the user and for the model to retry.

    Only the calculator's own argument names are named: a name it does not take is the
    caller's own text (a clinician's typing, perhaps a patient's name) and is never echoed;
    the sentence lists the names it takes instead."""
    arguments = list(model.model_fields)
    parts: list[str] = []
    unknown = 0
    for error in exc.errors(include_url=False):
        kind = error["type"]
        loc = error["loc"]
        if kind == "extra_forbidden" or (loc and loc[0] not in arguments):
            unknown += 1
            continue
        field = ".".join(str(part) for part in loc)
        ctx = error.get("ctx") or {}
        if kind == "missing":
            part = f"{field} is required"
        elif kind in _BOUND_WORDS:
            key, words = _BOUND_WORDS[kind]
            part = f"{field} must be {words} {ctx[key]:g} (got {_shown(error['input'])})"
        elif kind == "value_error" and "error" in ctx:
            message = str(ctx["error"])
            part = f"{field}: {message}" if field and field not in message else message
        else:
            message = error["msg"][:1].lower() + error["msg"][1:]
            part = f"{field}: {message}" if field else message
        parts.append(part.rstrip("."))
    if unknown:
        given = "an argument" if unknown == 1 else f"{unknown} arguments"
        parts.append(
            f"it was given {given} it does not take (units go in the name; it takes "
            f"{', '.join(arguments)})"
        )
    return f"Cannot calculate {calculator}: {'; '.join(parts)}."


def validate_input(model: type[InputT], data: Mapping[str, object], calculator: str) -> InputT:
    """`model` built from `data`, or a `ToolError` whose message is one sentence."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ToolError(validation_sentence(exc, calculator, model)) from None
