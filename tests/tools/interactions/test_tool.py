"""The check_interactions LangChain tool: its JSON report, its input limits, extra tables, and
missing or bad data as one-sentence error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from tests.tools.interactions.folders import (
    ONC,
    assert_one_sentence,
    onc_folder,
    onc_table,
    table_folder,
)
from tools.interactions import InteractionReport, InteractionTable, interaction_tools


@pytest.fixture(scope="module")
def table() -> InteractionTable:
    return onc_table()


def invoke(folder: Path | None, extra: list[Path] | None = None, **args: object) -> ToolMessage:
    (tool,) = interaction_tools(folder, extra_dirs=extra or [])
    assert tool.name == "check_interactions"
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def test_tool_returns_the_report_json(table: InteractionTable) -> None:
    message = invoke(
        ONC, medications=["Zocor 40 mg", "clarithromycin", "amoxicillin"], allergies=["penicillin"]
    )
    assert message.status == "success"
    assert isinstance(message.content, str)
    data = json.loads(message.content)
    assert [(f["drug_a"], f["drug_b"]) for f in data["interactions"]] == [
        ("clarithromycin", "simvastatin")
    ]
    assert data["interactions"][0]["license"] == table.license
    assert [c["medication"] for c in data["allergy_conflicts"]] == ["amoxicillin"]
    assert InteractionReport.model_validate(data).checked == (
        "simvastatin",
        "clarithromycin",
        "amoxicillin",
    )


def test_tool_rejects_too_many_medications_with_a_message(table: InteractionTable) -> None:
    message = invoke(ONC, medications=[f"drug {i}" for i in range(51)])
    assert message.status == "error"
    assert "at most 50" in str(message.content)
    message = invoke(ONC, medications=["x" * 201])
    assert message.status == "error"


def test_tool_reports_missing_data_as_an_error_message(tmp_path: Path) -> None:
    message = invoke(tmp_path / "nowhere", medications=["simvastatin"])
    assert message.status == "error"
    assert "does not exist" in str(message.content)
    assert_one_sentence(str(message.content))


def test_the_tool_consults_the_extra_tables(tmp_path: Path) -> None:
    onc = onc_folder(tmp_path / "onc")
    hospital = table_folder(tmp_path / "hospital")
    message = invoke(onc, [hospital], medications=["warfarin 5 mg", "aspirin 81 mg", "Zocor"])
    assert message.status == "success"
    assert isinstance(message.content, str)
    report = InteractionReport.model_validate(json.loads(message.content))
    assert [(f.drug_a, f.severity) for f in report.interactions] == [
        ("acetylsalicylic acid", "major")
    ]
    assert len(report.sources) == 2
    (tool,) = interaction_tools(onc, extra_dirs=[hospital])
    assert "1 local interaction table" in tool.description


def test_the_tool_reports_a_bad_extra_table_as_an_error_message(tmp_path: Path) -> None:
    onc = onc_folder(tmp_path / "onc")
    bad = table_folder(tmp_path / "bad", source=None)
    message = invoke(onc, [bad], medications=["warfarin"])
    assert message.status == "error"
    assert "SOURCE.txt is missing" in str(message.content)
    assert_one_sentence(str(message.content))
