"""The audit trail (agent/audit.py): append-only, and no patient text in it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable

import pytest

from agent.graph import Agent
from agent.llm import ToolCall
from tests.agent.scripted_tools import ScriptedToolChooser
from tests.agent.turns import run
from tests.ui.cli.console import run as run_cli


def test_audit_trail_is_append_only_and_holds_no_patient_text(
    agent_factory: Callable[..., Agent],
) -> None:
    agent = agent_factory()
    case = "QUILLFEATHER is a 61-year-old man. Meds: simvastatin 40 mg, clarithromycin 500 mg."
    _, result = run(agent, "Is simvastatin with clarithromycin a problem?", case=case)
    (row,) = agent.audit.rows(result.session_id)
    assert row["mode"] == result.mode.value and row["session"] == result.session_id
    assert row["tool_calls"][0]["name"] == "check_interactions"
    assert row["passages"] == [c.passage.id for c in result.citations]
    stored = json.dumps(row)
    assert "QUILLFEATHER" not in stored and "Is simvastatin" not in stored
    with sqlite3.connect(agent.settings.data_dir / "audit.sqlite") as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM turns")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE turns SET mode = 'x'")


# Names planted in a case's lists (issue 17, finding 6): short, so kept verbatim before.
PLANTED = ("Jane Kestreldoe", "Bob Canaryson", "Kestreldoe", "Canaryson")
FORM_CASE = {
    "age_years": 71,
    "sex": "female",
    "diagnoses": ["atrial fibrillation per Jane Kestreldoe"],
    "medications": ["Cordarone 200 mg daily", "citalopram 20 mg", "Jane Kestreldoe"],
    "allergies": ["penicillin per Dr Bob Canaryson", "Bob Canaryson"],
}


def test_case_entries_are_reduced_to_drug_and_class_names_or_a_hash() -> None:
    from agent.audit import redact_message, redact_value

    kept = redact_value(
        {
            "medications": ["Cordarone 200 mg daily", "Jane Kestreldoe", "Augmentin"],
            "allergies": ["penicillin per Dr Bob Canaryson", "Bob Canaryson", "PCN (rash)"],
            "problem": "gout",
        }
    )
    medications, allergies = kept["medications"], kept["allergies"]
    assert medications[0] == "amiodarone" and medications[2] == "amoxicillin/clavulanate"
    assert medications[1] == "[text: 15 chars, sha256 " + medications[1][-13:]
    assert allergies[0] == "penicillin" and allergies[1].startswith("[text: 13 chars")
    assert allergies[2] == "pcn" and kept["problem"].startswith("[text: 4 chars")
    message = redact_message(
        "amoxicillin is one of the penicillins; recorded allergy: penicillin per Dr Bob "
        "Canaryson. Not checked: jane kestreldoe.",
        [("penicillin per Dr Bob Canaryson", "allergy"), ("Jane Kestreldoe", "medication")],
    )
    assert "recorded allergy: penicillin." in message and "Not checked: [text: 15" in message
    assert not any(name.lower() in message.lower() for name in PLANTED)


def test_a_turn_with_names_in_its_case_lists_audits_none_of_them(
    agent_factory: Callable[..., Agent],
) -> None:
    agent = agent_factory()
    _, result = run(agent, "Is amiodarone with citalopram a problem?", case=json.dumps(FORM_CASE))
    assert "interaction" in {f.kind.value for f in result.flags}  # the lists were checked
    (row,) = agent.audit.rows(result.session_id)
    stored = json.dumps(row)
    # the premise: both lists reached the audited call, each planted name as a length and hash
    (call,) = row["tool_calls"]
    assert call["name"] == "check_interactions"
    medications, allergies = call["arguments"]["medications"], call["arguments"]["allergies"]
    assert medications[:2] == ["amiodarone", "citalopram"] and allergies[:1] == ["penicillin"]
    hashed = "[text: {} chars, sha256 "
    assert [m.startswith(hashed.format(15)) for m in medications[2:]] == [True]  # Jane K.
    assert [a.startswith(hashed.format(13)) for a in allergies[1:]] == [True]  # Bob C.
    assert not [name for name in PLANTED if name.lower() in stored.lower()], stored
    with sqlite3.connect(agent.settings.data_dir / "audit.sqlite") as db:
        dumped = "\n".join(db.iterdump()).lower()
    assert not [name for name in PLANTED if name.lower() in dumped]


# Free text longer than 40 characters is audited as its length and hash; 40 or fewer are kept.
LONG_QUERY = "Sjögren syndrome and hot flash treatments"  # 41 characters, 42 UTF-8 bytes
SHORT_QUERY = "venlafaxine and gabapentin for hot flash"  # 40 characters


def test_free_text_arguments_are_audited_as_length_and_sha256_with_a_scripted_tool_chooser(
    agent_factory: Callable[..., Agent],
) -> None:
    """A model's two searches (scripted: the packaged model is not trusted with tools) go
    through the real turn, audit trail and `clinassist audit export`: the 41-character query is
    kept only as its length in characters and the first 12 hex digits of the SHA-256 of its
    UTF-8 bytes, the 40-character one as written."""
    assert (len(LONG_QUERY), len(SHORT_QUERY)) == (41, 40)
    base = agent_factory(tool_calling=True)
    model = ScriptedToolChooser(
        ToolCall("search_guidelines", {"query": LONG_QUERY}),
        ToolCall("search_guidelines", {"query": SHORT_QUERY}),
    )
    agent = Agent(base.settings, base.kb, model, model_name="scripted")
    try:
        _, result = run(agent, "Does venlafaxine reduce hot flash scores?")
    finally:
        agent.close()
    assert [(t.name, t.chosen_by, t.ok) for t in result.tool_calls] == [
        ("search_guidelines", "model", True)
    ] * 2
    digest = hashlib.sha256(LONG_QUERY.encode("utf-8")).hexdigest()[:12]
    expected = [f"[text: 41 chars, sha256 {digest}]", SHORT_QUERY]

    exported = run_cli(
        "audit", "export", "--session", result.session_id, data_dir=base.settings.data_dir
    )
    assert exported.returncode == 0, exported.stderr
    (line,) = exported.stdout.splitlines()
    row = json.loads(line)
    assert [call["arguments"]["query"] for call in row["tool_calls"]] == expected
    with sqlite3.connect(base.settings.data_dir / "audit.sqlite") as db:
        stored = [json.loads(cell) for (cell,) in db.execute("SELECT tool_calls FROM turns")]
    assert stored == [row["tool_calls"]]
    assert "Sjögren" not in exported.stdout + json.dumps(stored, ensure_ascii=False)
