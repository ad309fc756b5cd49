"""Who a session belongs to: the server issues every id (a random token) and records its owner,
and a turn continues a session only for that owner.

A session id is not a secret a caller may choose: `ward3` or another clinician's id would
otherwise read that session's case through the answer's tool calls and add to its history. The
owner is the signed-in user's name with `--auth`, and "" without it (one user on loopback,
where the unguessable token is what keeps sessions apart). The table lives beside the session
history in the data dir (`session_owners.sqlite`), so a restarted app keeps every owner.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from pathlib import Path

from agent.errors import AgentError

# Neither "unknown" nor "someone else's" is said apart: a caller learns nothing about ids.
NOT_YOURS = (
    "No session of yours has this id: leave the session id empty to start a new session "
    "(each answer gives the id to continue it)."
)


class SessionOwners:
    """The owner of each session this server issued (thread-safe; one per app process)."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS session_owners ("
                " session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL)"
            )

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def new(self, owner: str) -> str:
        """A fresh session id (random, never chosen by a caller), recorded as `owner`'s."""
        session = secrets.token_hex(16)
        with self._lock:
            self._connection.execute(
                "INSERT INTO session_owners VALUES (?, ?, ?)", (session, owner, time.time())
            )
        return session

    def owner(self, session: str) -> str | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT owner FROM session_owners WHERE session_id = ?", (session,)
            ).fetchone()
        return None if row is None else str(row[0])

    def claim(self, session: str | None, owner: str) -> str:
        """The session a turn of `owner` runs in: a new one when `session` is empty, `session`
        itself when `owner` owns it; AgentError (one sentence) for a made-up id or another
        owner's, whose data never reaches the caller."""
        if not session:
            return self.new(owner)
        if self.owner(session) != owner:
            raise AgentError(NOT_YOURS)
        return session
