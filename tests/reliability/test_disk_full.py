"""A full disk under the data dir (issue 7, reliability): one sentence to the user, the app
stays up, nothing half-saved, and the session goes on once there is space again. For real on a
small tmpfs mounted as the data dir where this machine allows a mount (CI runs as root), and
with an injected SQLite "disk is full" everywhere."""

from __future__ import annotations

import errno
import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.errors import StorageError
from agent.events import FinalEvent
from agent.graph import Agent
from agent.settings import Settings
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import write_corpus
from tests.reliability.test_faults import QUESTIONS, integrity
from tests.serving import serve_subprocess

pytestmark = pytest.mark.slow


def asked(agent: Agent, session: str) -> list[str]:
    return [m["content"] for m in agent.history(session) if m["role"] == "user"]


def test_a_failed_write_is_one_sentence_and_the_session_stays_whole(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [write_corpus(tmp_path / "guides", with_pdf=False)])
    agent = Agent(Settings(data_dir=data_dir, corpus_dirs=[]), make_kb(data_dir), None)
    try:
        agent.ask(QUESTIONS[0], session_id="bed-2")

        def full(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        with monkeypatch.context() as patch:
            patch.setattr(agent.audit, "record", full)
            with pytest.raises(StorageError, match=r"is full, so this turn was not saved") as e:
                agent.ask(QUESTIONS[1], session_id="bed-2")
            assert str(data_dir) in str(e.value) and "\n" not in str(e.value)
        agent.ask(QUESTIONS[2], session_id="bed-2")
        assert asked(agent, "bed-2") == [QUESTIONS[0], QUESTIONS[2]]
        assert len(agent.audit.rows("bed-2")) == 2
    finally:
        agent.close()


def test_an_answer_is_shown_only_once_it_is_in_the_history(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit row is written, then the history write fails: the clinician gets the one
    sentence and never the answer (it was not saved), and the audit trail keeps the turn."""
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [write_corpus(tmp_path / "guides", with_pdf=False)])
    agent = Agent(Settings(data_dir=data_dir, corpus_dirs=[]), make_kb(data_dir), None)
    try:
        agent.ask(QUESTIONS[0], session_id="bed-3")
        audited, put = agent.audit.record, agent.checkpointer.put

        def record(*args: Any, **kwargs: Any) -> None:
            audited(*args, **kwargs)
            patch.setattr(agent.checkpointer, "put", full)

        def full(*args: Any, **kwargs: Any) -> Any:
            raise sqlite3.OperationalError("database or disk is full")

        seen: list[object] = []
        with monkeypatch.context() as patch:
            patch.setattr(agent.audit, "record", record)
            with pytest.raises(StorageError, match=r"is full, so this turn was not saved"):
                seen.extend(agent.run(QUESTIONS[1], session_id="bed-3"))
        assert agent.checkpointer.put == put
        assert not [event for event in seen if isinstance(event, FinalEvent)]
        assert asked(agent, "bed-3") == [QUESTIONS[0]]
        assert len(agent.audit.rows("bed-3")) == 2  # audited, never shown
        agent.ask(QUESTIONS[2], session_id="bed-3")
        assert asked(agent, "bed-3") == [QUESTIONS[0], QUESTIONS[2]]
    finally:
        agent.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs mounted for the test (skipped where this machine refuses a mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write until the file system says it is full; the filler to delete for space."""
    filler = disk / "filler"
    block = b"\0" * 2**20
    with filler.open("wb") as out:
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_disk_full_under_the_served_app(
    small_disk: Path, make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    from gradio_client import Client

    data_dir = small_disk / "data"
    env = {"CLINASSIST_CORPUS_DIRS": str(write_corpus(tmp_path / "guides", with_pdf=False))}
    with serve_subprocess(data_dir, "--no-engine", env=env) as served:
        client = Client(served.url, verbose=False)
        bed_3 = client.predict(QUESTIONS[0], "", "", api_name="/ask")["session_id"]
        filler = fill(small_disk)

        with pytest.raises(Exception, match=r"is full, so this turn was not saved") as error:
            client.predict(QUESTIONS[1], bed_3, "", api_name="/ask")
        assert "\n" not in str(error.value)
        # Reading still works, and a plan (which stores nothing) is still made.
        assert client.predict("gabapentin", 3, "", "", api_name="/search")
        plan = client.predict(
            "62-year-old woman with hot flashes. Meds: venlafaxine 75 mg daily.", api_name="/plan"
        )
        assert plan["problems"]
        # An upload is refused. (Gradio leaves the part it received at the top of the
        # uploads folder; the app removes such partial files when it next starts.)
        upload = httpx.post(
            f"{served.url}/gradio_api/upload",
            files={"files": ("scan.dcm", b"\1" * 2**20, "application/octet-stream")},
            timeout=30,
        )
        assert upload.status_code == 507 and "is full" in upload.json()["error"]

        filler.unlink()
        after = client.predict(QUESTIONS[2], bed_3, "", api_name="/ask")
        assert after["citations"]
        assert served.process.poll() is None
    output = served.output()
    assert "Traceback" not in output
    # the premise of the check below: the refused upload left its part behind
    assert [p for p in (data_dir / "uploads").iterdir() if p.is_file()]
    with serve_subprocess(data_dir, "--no-engine", env=env):
        assert not [p for p in (data_dir / "uploads").rglob("*") if p.is_file()]

    for store in ("sessions.sqlite", "audit.sqlite", "chroma/chroma.sqlite3"):
        assert integrity(data_dir / store) == "ok", store
    agent = Agent(Settings(data_dir=data_dir, corpus_dirs=[]), make_kb(data_dir), None)
    try:
        assert asked(agent, bed_3) == [QUESTIONS[0], QUESTIONS[2]]
        assert len(agent.audit.rows(bed_3)) == 2
        assert json.dumps(agent.history(bed_3)).count(QUESTIONS[1]) == 0
    finally:
        agent.close()
