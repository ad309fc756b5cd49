"""Fuzzing the calculators through the LangChain tool interface the agent uses.

Property: whatever the arguments (NaN, infinities, negatives, huge numbers, strings, None, lists,
unknown or reserved names), `tool.invoke(tool_call)` returns a `ToolMessage`: a success whose
content is the calculator's JSON result, or an error whose content is the tool's one-sentence
validation message, which never repeats an argument name the calculator does not take (it may
be a patient's name typed into the wrong field). No exception escapes to the agent.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from tools.calculators import calculator_tools

TOOLS: dict[str, BaseTool] = {tool.name: tool for tool in calculator_tools()}
TOOL_NAMES = sorted(TOOLS)


def _fields(tool: BaseTool) -> list[str]:
    schema = tool.args_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    return sorted(schema.model_json_schema()["properties"])


FIELDS = {name: _fields(tool) for name, tool in TOOLS.items()}
CANARY = "QUILLFEATHER Jane"  # an unknown argument name that must never be echoed

weird_values: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            -1,
            0,
            -0.0,
            1e308,
            10**30,
            -(10**30),
            "",
            "abc",
            "12",
            "1e3",
            "nan",
            "female",
            "male",
            "FEMALE",
            "mosteller",
            None,
            True,
            False,
            [],
            {},
            [1, 2],
            {"value": 1},
        ]
    ),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)
plausible_values: st.SearchStrategy[Any] = st.one_of(
    st.integers(0, 130),
    st.floats(0.1, 300, allow_nan=False),
    st.booleans(),
    st.sampled_from(["female", "male", "mosteller", "du_bois"]),
)
extra_names = st.sampled_from(
    [
        "creatinine",
        "weight",
        "callbacks",
        "run_manager",
        "config",
        "tool_call_id",
        "arguments",
        "kwargs",
        "self",
        "type",
        "__class__",
        "name\nwith newline",
        "",
        CANARY,
    ]
)


@st.composite
def tool_calls(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(TOOL_NAMES))
    args: dict[str, Any] = {}
    for field in FIELDS[name]:
        choice = draw(st.sampled_from(["plausible", "weird", "missing"]))
        if choice == "plausible":
            args[field] = draw(plausible_values)
        elif choice == "weird":
            args[field] = draw(weird_values)
    for extra in draw(st.lists(extra_names, max_size=2)):
        args[extra] = draw(weird_values)
    return name, args


def invoke(name: str, args: dict[str, Any]) -> ToolMessage:
    tool = TOOLS[name]
    message = tool.invoke({"type": "tool_call", "id": "fuzz-1", "name": name, "args": args})
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "fuzz-1"
    return message


def check(name: str, args: dict[str, Any]) -> None:
    message = invoke(name, args)
    content = str(message.content)
    if message.status == "success":
        result = json.loads(content)
        assert isinstance(result, dict) and result["interpretation"]
        for value in result.values():
            if isinstance(value, float):
                assert math.isfinite(value), result
    else:
        assert content.startswith("Cannot calculate "), content
        assert "\n" not in content and content.endswith("."), content
        assert "Traceback" not in content
        assert CANARY not in content and "QUILLFEATHER" not in content, content


@given(call=tool_calls())
@example(
    call=("egfr_ckd_epi_2021", {"age_years": 50, "sex": "female", "creatinine_mg_dl": math.nan})
)
@example(call=("egfr_ckd_epi_2021", {"age_years": 50, "sex": "male", "creatinine_umol_l": 1e-300}))
@example(call=("body_size", {"weight_kg": 1e-300, "height_cm": 30}))
@example(call=("curb_65", {"confusion": "maybe", "urea_mmol_l": None, "bun_mg_dl": None}))
@example(call=("wells_pe", {"heart_rate_bpm": 10**30}))
@example(call=("has_bled", {"callbacks": 1, "run_manager": None, "config": {}}))
@example(call=("cha2ds2_vasc", {"name\nwith newline": 1}))
@example(call=("body_size", {"weight_kg": 70, "height_cm": 170, CANARY: 1}))
def test_calculator_tools_never_raise(call: tuple[str, dict[str, Any]]) -> None:
    check(*call)


@given(
    name=st.sampled_from(TOOL_NAMES),
    args=st.dictionaries(st.text(max_size=12), weird_values, max_size=6),
)
def test_arbitrary_argument_names(name: str, args: dict[str, Any]) -> None:
    check(name, args)
