"""The one-sentence input errors every calculator test checks."""

from __future__ import annotations

import pytest

from tools.calculators import CalculatorInput, validate_input
from tools.errors import ToolError


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".") and message[0].isupper(), message
    assert ". " not in message and "\n" not in message, message


def invalid(model: type[CalculatorInput], **data: object) -> str:
    """The ToolError sentence for `data`, checked to be one sentence."""
    with pytest.raises(ToolError) as caught:
        validate_input(model, data, "the calculator")
    message = str(caught.value)
    assert_one_sentence(message)
    return message
