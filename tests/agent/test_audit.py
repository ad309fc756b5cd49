"""The audit trail (agent/audit.py): append-only, and no patient text in it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import pytest

from agent.graph import Agent
from tests.agent.turns import run


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
