"""The audit trail: one append-only SQLite row per answered turn, or per tool called on its own
(the MCP server's calls, mode "mcp").

What a hospital needs to reconstruct how an answer came about, and nothing that identifies a
patient: time, session, answer mode, the tools called with their arguments (free-text values
reduced to a length and a hash, dates and long numbers scrubbed; a case's medication, allergy and
problem entries reduced to the drug and class names they name, or else to a length and hash),
the passage ids cited, the model and engine, latency and the flags (with those entries reduced
the same way wherever a message quotes them). The question, the case and the answer text are never
stored here (they live only in the session history). Triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.imaging.deid import scrub_text

if TYPE_CHECKING:
    from agent.events import TurnResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    session TEXT NOT NULL,
    mode TEXT NOT NULL,
    tool_calls TEXT NOT NULL,
    passages TEXT NOT NULL,
    model TEXT,
    engine TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    llm_ms INTEGER NOT NULL,
    flags TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS turns_no_update BEFORE UPDATE ON turns
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS turns_no_delete BEFORE DELETE ON turns
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
COLUMNS = (
    "id",
    "at",
    "session",
    "mode",
    "tool_calls",
    "passages",
    "model",
    "engine",
    "latency_ms",
    "llm_ms",
    "flags",
)
SHORT_VALUE = 40  # free text longer than this is stored as its length and hash
# Arguments holding a case's entries, and which kind of entry each holds. Medications and
# allergies keep the drug and class names they name; problems have no vocabulary here.
CASE_ENTRY_KINDS = {
    "medications": "medication",
    "medication": "medication",
    "drugs": "medication",
    "allergies": "allergy",
    "allergy": "allergy",
    "problem": "problem",
    "problems": "problem",
    "diagnoses": "problem",
    "comorbidities": "problem",
    "past_problems": "problem",
}


def text_digest(value: str) -> str:
    """Free text as the audit trail keeps it: its length and a short hash."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:12]
    return f"[text: {len(value)} chars, sha256 {digest}]"


def case_entry(value: str, kind: str) -> str:
    """One medication, allergy or problem entry as the audit trail keeps it: the normalised
    drug or class names it names ("amiodarone", "amoxicillin/clavulanate"), else its length and
    hash however short ("Jane Kestreldoe", any problem)."""
    from tools.interactions.vocabulary import known_names

    names = known_names(value, allergy=kind == "allergy") if kind != "problem" else None
    return "/".join(names) if names else text_digest(value)


def redact_value(value: Any, key: str | None = None) -> Any:
    """Tool arguments as the audit trail keeps them: structure, short codes, no free text; the
    entries of a case's lists (`CASE_ENTRY_KINDS`, by argument name) as `case_entry` keeps them."""
    if isinstance(value, dict):
        return {str(k): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, key) for v in value]
    if isinstance(value, str):
        if key in CASE_ENTRY_KINDS:
            return case_entry(value, CASE_ENTRY_KINDS[key])
        if len(value) > SHORT_VALUE:
            return text_digest(value)
        return scrub_text(value, [])
    return value


def case_entries(arguments: Any, key: str | None = None) -> list[tuple[str, str]]:
    """(entry, kind) of every case entry among a call's arguments (see `CASE_ENTRY_KINDS`)."""
    if isinstance(arguments, dict):
        return [e for k, v in arguments.items() for e in case_entries(v, str(k))]
    if isinstance(arguments, list | tuple):
        return [e for v in arguments for e in case_entries(v, key)]
    if isinstance(arguments, str) and key in CASE_ENTRY_KINDS:
        return [(arguments, CASE_ENTRY_KINDS[key])]
    return []


def redact_message(message: str, entries: Iterable[tuple[str, str]]) -> str:
    """A flag's message with every case entry it quotes (as written, or as the interaction check
    normalised it) reduced as `case_entry` reduces it; dates and long numbers scrubbed."""
    from tools.interactions.names import generic_parts

    replacements: dict[str, str] = {}
    for entry, kind in entries:
        reduced = case_entry(entry, kind)
        written = " ".join(entry.split())
        forms = {written, entry.strip()}
        if reduced.startswith("[text:"):  # not recognised: its normalised key is free text too
            forms |= {" ".join(part.split()) for part in generic_parts(written)}
        for form in forms:
            if len(form) >= 2 and form.lower() != reduced.lower():
                replacements.setdefault(form.lower(), reduced)
    for form in sorted(replacements, key=len, reverse=True):
        pattern = rf"(?<!\w){re.escape(form)}(?!\w)"
        replacement = replacements[form].replace("\\", "\\\\")  # as written, not a template
        message = re.sub(pattern, replacement, message, flags=re.I)
    return scrub_text(message, [])


def redact_arguments(arguments: dict[str, Any], free_text: Sequence[str] = ()) -> Any:
    """`redact_value` of a call's arguments; the `free_text` ones (a case, a question, a file
    path, whose name may identify a patient) are reduced to a length and hash however short."""
    return redact_value(
        {
            key: text_digest(value) if key in free_text and isinstance(value, str) else value
            for key, value in arguments.items()
        }
    )


class AuditLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(
        self, turn: TurnResult, *, engine: str, case: Iterable[tuple[str, str]] = ()
    ) -> None:
        """One turn; `case` holds the (entry, kind) pairs of its case (`case_entries`), reduced
        wherever a flag quotes them, as are those its tool calls were given."""
        entries = [*case, *(e for t in turn.tool_calls for e in case_entries(t.arguments))]
        # Flags quote answer sentences: keep only their kind and message.
        flags = [
            {"kind": f.kind.value, "message": redact_message(f.message, entries)}
            for f in turn.flags
        ]
        calls = [
            {
                "name": t.name,
                "arguments": redact_value(t.arguments),
                "ok": t.ok,
                "chosen_by": t.chosen_by,
            }
            for t in turn.tool_calls
        ]
        self._insert(
            turn.session_id,
            turn.mode.value,
            calls,
            [c.passage.id for c in turn.citations],
            turn.model,
            engine,
            turn.latency_s,
            turn.llm_s,
            flags,
        )

    def record_call(
        self,
        session: str,
        *,
        tool: str,
        arguments: dict[str, Any],
        ok: bool,
        chosen_by: str,
        passages: Sequence[str] = (),
        flags: Sequence[tuple[str, str]] = (),
        latency_s: float = 0.0,
        free_text: Sequence[str] = (),
        mode: str = "tool",
        case: Iterable[tuple[str, str]] = (),
    ) -> None:
        """One tool called on its own, outside a turn (the MCP server's calls): a row like a
        turn's, with the same redaction; `flags` are (kind, message) pairs, `case` the (entry,
        kind) pairs of a case the call read (`case_entries`)."""
        entries = [*case, *case_entries(arguments)]
        call = {
            "name": tool,
            "arguments": redact_arguments(arguments, free_text),
            "ok": ok,
            "chosen_by": chosen_by,
        }
        kept = [
            {"kind": kind, "message": redact_message(message, entries)} for kind, message in flags
        ]
        self._insert(session, mode, [call], list(passages), None, "none", latency_s, 0.0, kept)

    def _insert(
        self,
        session: str,
        mode: str,
        calls: list[dict[str, Any]],
        passages: list[str],
        model: str | None,
        engine: str,
        latency_s: float,
        llm_s: float,
        flags: list[dict[str, Any]],
    ) -> None:
        row = (
            dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            session,
            mode,
            json.dumps(calls),
            json.dumps(passages),
            model,
            engine,
            round(latency_s * 1000),
            round(llm_s * 1000),
            json.dumps(flags),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO turns (at, session, mode, tool_calls, passages, model, engine, "
                "latency_ms, llm_ms, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def rows(self, session: str | None = None) -> list[dict[str, Any]]:
        query = f"SELECT {', '.join(COLUMNS)} FROM turns"
        args: tuple[str, ...] = ()
        if session is not None:
            query += " WHERE session = ?"
            args = (session,)
        with self._lock:
            records = self._db.execute(query + " ORDER BY id", args).fetchall()
        out = []
        for record in records:
            row = dict(zip(COLUMNS, record, strict=True))
            for key in ("tool_calls", "passages", "flags"):
                row[key] = json.loads(row[key])
            out.append(row)
        return out
