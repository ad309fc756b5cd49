"""`clinassist ask`, `plan`, `case` and `audit export` (ui/cli/clinical.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


def test_ask_plan_and_audit_export_from_the_command_line(ingested: Path, tmp_path: Path) -> None:
    asked = run("ask", "Which drugs reduce hot flashes?", "--json", data_dir=ingested)
    assert asked.returncode == 0, asked.stderr
    payload = json.loads(asked.stdout)
    assert set(payload) >= {"answer", "citations", "flags", "tool_calls", "abstained"}
    assert payload["mode"] == "extractive" and payload["citations"]
    assert {"marker", "passage_id", "title", "url"} <= set(payload["citations"][0])

    case = tmp_path / "case.txt"
    case.write_text(
        "ZEBRAFINCH, 70-year-old man, 80 kg, 175 cm, history of hot flashes. "
        "Meds: simvastatin 40 mg, clarithromycin 500 mg. Creatinine 1.1 mg/dL."
    )
    planned = run("plan", "--case", str(case), "--json", data_dir=ingested)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    interactions = [f for f in plan["flags"] if f["kind"] == "interaction"]
    assert [sorted(f["drugs"]) for f in interactions] == [["clarithromycin", "simvastatin"]]
    options = [o for p in plan["problems"] for o in p["options"]]
    assert options and all(o["citations"] for o in options)  # every option cites, and one is

    exported = run("audit", "export", data_dir=ingested)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert rows[-1]["session"] == payload["session_id"]
    assert "ZEBRAFINCH" not in exported.stdout and "hot flashes?" not in exported.stdout

    no_case = run("plan", "--case", str(tmp_path / "missing.txt"), data_dir=ingested)
    assert_one_sentence_error(no_case)
    empty_question = run("ask", "   ", data_dir=ingested)
    assert_one_sentence_error(empty_question)


def test_case_prints_what_was_read_from_an_ehr_export(tmp_path: Path) -> None:
    from tests.agent.case.fhir_records import expected_by_fhir_rules, synthea_files

    record = synthea_files()[1]
    expected = expected_by_fhir_rules(json.loads(record.read_text(encoding="utf-8")))
    shown = run("case", str(record), "--json", data_dir=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr
    reading = json.loads(shown.stdout)
    assert {m["code"] for m in reading["medications"]} == expected["active_meds"]
    assert {p["code"] for p in reading["problems"]} == expected["active"]
    creatinine = next(lab for lab in reading["labs"] if lab["name"] == "creatinine")
    assert creatinine["date"] == expected["creatinine"][1]
    assert creatinine["source"].startswith("Observation/")
    text = run("case", str(record), data_dir=tmp_path / "data")
    assert text.returncode == 0 and "What was read from this record" in text.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle", "entry": [')
    assert_one_sentence_error(run("case", str(broken), data_dir=tmp_path / "data"))
