"""Faults under the running app (issue 7, reliability): the engine killed mid-answer, the app
itself killed with `kill -9` mid-session, the Chroma server stopped and restarted under it.
Each through `clinassist serve` as a real subprocess and its API, on loopback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from agent.graph import Agent
from agent.model_files import PreparedModel
from agent.settings import Settings
from knowledge.knowledge_base import KnowledgeBase
from tests.agent.test_engine import group_members
from tests.browser import answer_so_far, ask_in_page, finished_answers
from tests.corpus import write_corpus
from tests.knowledge.test_chroma_server import start_chroma
from tests.serving import Served, audit_rows, serve_subprocess

pytestmark = pytest.mark.slow

QUESTION = "Which drugs reduce hot flashes?"


def engine_state(data_dir: Path) -> dict[str, Any]:
    state = json.loads((data_dir / "engine" / "engine.json").read_text(encoding="utf-8"))
    assert isinstance(state, dict)
    return state


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds:.0f} s"
        time.sleep(0.5)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def engine_requests(data_dir: Path) -> int:
    """Chat requests the engine has begun answering (its access log; a stream logs at start)."""
    log = (data_dir / "engine" / "engine.log").read_text(encoding="utf-8", errors="replace")
    return log.count('"POST /v1/chat/completions')


def integrity(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def flags(answer: dict[str, Any]) -> list[str]:
    return [f["kind"] for f in answer["flags"]]


def test_engine_killed_mid_answer_is_restarted_and_the_next_turn_works(
    prepared_model: PreparedModel, tmp_path: Path, browser: Browser
) -> None:
    """The app's own engine dies (kill -9 of its process group) while it streams an answer,
    killed once a clinician's page shows the answer's first token: that turn ends with one
    `engine` flag and quoted passages, the app restarts the engine on the same address, and
    the next turn in that page is written by the model again."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(prepared_model.folder.parent)  # prepared once per session
    env = {
        "CLINASSIST_CORPUS_DIRS": str(write_corpus(tmp_path / "guides", with_pdf=False)),
        "CLINASSIST_ANSWER_MODE": "generated",
        "CLINASSIST_LLM_MAX_TOKENS": "200",
    }
    with serve_subprocess(data_dir, env=env) as served:
        first = engine_state(data_dir)
        wait_until(lambda: healthy(first["url"]), 300, "the engine became ready")
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(served.url)
            ask_in_page(page, QUESTION)
            # Read the stream: kill once the page shows the model's first token.
            wait_until(lambda: bool(answer_so_far(page)), 240, "the answer's first token")
            assert finished_answers(page).count() == 0, "answered before the engine could be killed"
            os.killpg(first["pid"], signal.SIGKILL)
            killed = time.monotonic()
            wait_until(
                lambda: finished_answers(page).count() == 1, 300, "the answer from the passages"
            )
            answered_s = time.monotonic() - killed

            wait_until(
                lambda: engine_state(data_dir)["pid"] != first["pid"], 60, "the engine restarted"
            )
            second = engine_state(data_dir)
            assert second["url"] == first["url"]  # the app's client still holds this address
            wait_until(lambda: healthy(second["url"]), 300, "the restarted engine became ready")
            back_s = time.monotonic() - killed
            print(
                f"engine killed: the turn was answered from the passages in {answered_s:.1f} s,"
                f" the engine was back in {back_s:.0f} s"
            )
            before = engine_requests(data_dir)
            ask_in_page(page, QUESTION)  # the same page: the same session
            wait_until(lambda: finished_answers(page).count() == 2, 300, "the next answer")
            assert engine_requests(data_dir) > before  # asked of the restarted engine
        finally:
            context.close()
    output = served.stop()
    assert served.process.returncode == 0 and "LLM engine stopped." in output
    assert "Traceback" not in output
    assert group_members(first["pid"]) == [] and group_members(second["pid"]) == []
    log = (data_dir / "engine" / "engine.log").read_text(encoding="utf-8", errors="replace")
    assert "engine died; restart 1 of 3" in log
    # What each turn was (the audit trail: its mode, cited passages and flag kinds).
    cut, after = audit_rows(data_dir)
    assert cut["session"] == after["session"]
    assert [f["kind"] for f in cut["flags"]].count("engine") == 1
    assert cut["mode"] == "extractive" and cut["passages"]  # the passages, quoted
    # Written by the restarted engine (SmolLM2's prose may still be replaced by quotes when
    # the verifier finds it unsupported: that is the `fallback` flag, not `engine`).
    assert "engine" not in [f["kind"] for f in after["flags"]] and after["passages"]
    assert after["llm_ms"] > 0


QUESTIONS = (
    "Which drugs reduce hot flashes?",
    "What dose of gabapentin is used for hot flashes?",
    "Does venlafaxine reduce hot flash scores?",
    "Which non-drug options help with hot flashes?",
)


def the_app_died(error: BaseException) -> bool:
    """What a client sees when the app is gone: its result stream ended without a result
    (gradio_client's CancelledError; nothing here cancels a job), or the connection was
    refused, reset or closed. An error the app answered with (AppError) is not one of them."""
    died = (CancelledError, httpx.TransportError, ConnectionError)
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, died):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def test_kill_9_of_the_app_mid_session_loses_no_committed_turn(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    """Four sessions ask without pause; the app gets `kill -9` while turns are in flight. The
    only error a session sees is the app dying, and only once it is killed. After a restart
    every answer a clinician received is in its session's history and the audit trail; the
    stored history alternates question and answer (the turn in flight is whole or absent,
    never a question without its answer); the turn in flight is audited or not (the audit row
    is written first); the stores pass SQLite's integrity check, and the sessions go on."""
    from gradio_client import Client

    data_dir = tmp_path / "data"
    env = {"CLINASSIST_CORPUS_DIRS": str(write_corpus(tmp_path / "guides", with_pdf=False))}
    received: dict[str, list[str]] = {f"bed-{n}": [] for n in range(4)}
    ids: dict[str, str] = {}  # each bed's session id, issued by the server with its first answer
    errors: dict[str, tuple[bool, BaseException]] = {}  # bed -> (after the kill?, the error)
    killing = threading.Event()
    stop = threading.Event()

    def session(served: Served, name: str) -> None:
        client = Client(served.url, verbose=False)
        turn = 0
        while not stop.is_set():
            question = f"{QUESTIONS[turn % len(QUESTIONS)]} (turn {turn})"
            try:
                answer = client.predict(question, ids.get(name, ""), "", api_name="/ask")
            except Exception as exc:  # judged below: only the app dying is expected
                errors[name] = (killing.is_set(), exc)
                return
            ids[name] = answer["session_id"]
            received[name].append(question)
            turn += 1

    with serve_subprocess(data_dir, "--no-engine", env=env) as served:
        threads = [threading.Thread(target=session, args=(served, n)) for n in received]
        for thread in threads:
            thread.start()
        wait_until(lambda: all(len(r) >= 3 for r in received.values()), 120, "3 turns each")
        killing.set()
        served.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a session hung on the dead app"

    # Every session was asking when the app died (they ask without pause), and saw it die.
    assert sorted(errors) == sorted(received), errors
    for name, (after_kill, error) in errors.items():
        assert after_kill and the_app_died(error), f"{name}: {type(error).__name__}: {error}"

    for store in ("sessions.sqlite", "audit.sqlite", "chroma/chroma.sqlite3"):
        assert integrity(data_dir / store) == "ok", store

    with serve_subprocess(data_dir, "--no-engine", env=env) as again:
        client = Client(again.url, verbose=False)
        for name in received:
            answer = client.predict(QUESTIONS[0], ids[name], "", api_name="/ask")
            assert answer["citations"] and answer["session_id"] == ids[name]
    assert "Traceback" not in again.output()

    agent = Agent(Settings(data_dir=data_dir, corpus_dirs=[]), make_kb(data_dir), None)
    try:
        for name, questions in received.items():
            history = agent.history(ids[name])
            roles = [m["role"] for m in history]
            # Whole turns only: a question and its answer, turn after turn.
            assert roles == ["user", "assistant"] * (len(history) // 2), roles
            assert all(answer["content"] for answer in history[1::2])
            asked = [m["content"] for m in history[::2]]
            assert asked[-1] == QUESTIONS[0]  # the turn after the restart
            before = asked[:-1]
            assert before[: len(questions)] == questions  # every received answer, in order
            assert len(before) - len(questions) <= 1  # the turn in flight: whole or absent
            # The audit row is written before the history: the turn in flight may be audited
            # without being in the history (never shown), never the other way round.
            audited = agent.audit.rows(ids[name])
            assert len(asked) <= len(audited) <= len(asked) + 1
    finally:
        agent.close()


def test_chroma_server_stopped_and_restarted_under_the_app(tmp_path: Path) -> None:
    """The guideline store is a `chroma run` server. Stopped under the running app, a search
    gets one sentence naming the server and a question is answered with it (never "no
    evidence"); restarted on the same address, both work again without restarting the app."""
    from gradio_client import Client

    db, chroma_log = tmp_path / "chroma-db", tmp_path / "chroma.log"
    process, url = start_chroma(db, chroma_log)
    port = int(url.rsplit(":", 1)[1])
    env = {
        "CLINASSIST_CORPUS_DIRS": str(write_corpus(tmp_path / "guides", with_pdf=False)),
        "CLINASSIST_CHROMA_URL": url,
    }
    try:
        with serve_subprocess(tmp_path / "data", "--no-engine", env=env) as served:
            client = Client(served.url, verbose=False)
            assert client.predict("gabapentin", 3, "", "", api_name="/search")
            first = client.predict(QUESTIONS[0], "", "", api_name="/ask")
            assert first["citations"]
            bed_1 = first["session_id"]

            process.kill()
            process.wait(timeout=30)
            with pytest.raises(Exception, match=f"Chroma server at {url}") as error:
                client.predict("gabapentin", 3, "", "", api_name="/search")
            message = str(error.value)  # one sentence, not a traceback
            assert "\n" not in message and message.endswith("check that it is running.")
            # A question is answered with that sentence (not "no evidence"), no citation.
            down = client.predict(QUESTIONS[1], bed_1, "", api_name="/ask")
            assert down["mode"] == "abstained" and not down["citations"]
            assert f"Chroma server at {url}" in down["answer"]

            process, _ = start_chroma(db, chroma_log, port=port)
            assert client.predict("gabapentin", 3, "", "", api_name="/search")
            answer = client.predict(QUESTIONS[2], bed_1, "", api_name="/ask")
            assert answer["citations"]
        output = served.output()
        assert served.process.returncode == 0 and "Traceback" not in output
    finally:
        process.kill()
        process.wait(timeout=30)
