"""Offline (SECURITY.md "Offline"; README: every entry point sets HF_HUB_OFFLINE=1 ..., nothing
loads from a hub, nothing reports usage). An ingest, a chat turn answered by the real engine and
`models prepare` into a fresh data dir, run through the `clinassist` entry point in a child
process whose every socket connect and name lookup is recorded (tests/security/recorder), reach
nothing but loopback. The child starts without the offline variables the test session sets, so
what keeps it offline is the app's own doing. The recorder is proved first on the same child
set-up: an outbound connect, a lookup, an httpx request and an asyncio connection are each seen.
The engine runs in its own process (the session's); its environment is read from /proc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from agent.engine import EngineStatus
from tests.corpus import always_covered_model, write_corpus
from tests.security.recorder import Reach, read_record, recorded_environment
from tests.serving import cli_environment

pytestmark = pytest.mark.slow

TEST_NET = "203.0.113.1"  # RFC 5737 TEST-NET-3: routed nowhere
# What README promises every entry point sets (hub clients offline, no usage reports) ...
OFFLINE_VARIABLES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
}
# ... and what the engine is started with on top (agent/engine.py).
ENGINE_VARIABLES = {**OFFLINE_VARIABLES, "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}

# What a process would try were the recorder not there: each line reaches for another machine.
OUTBOUND_ATTEMPTS = f"""
import asyncio, socket
import httpx
attempts = [
    lambda: socket.socket().connect(("{TEST_NET}", 9)),
    lambda: socket.getaddrinfo("huggingface.co", 80),
    lambda: httpx.get("https://huggingface.co/api/models", timeout=1),
    lambda: asyncio.run(asyncio.open_connection("{TEST_NET}", 10)),
]
for attempt in attempts:
    try:
        attempt()
    except Exception as exc:
        print(type(exc).__name__, exc)
    else:
        raise SystemExit("an outbound attempt was not refused")
"""

# The `clinassist` entry point (what the console script runs), one command after another in
# one process: the import of torch and transformers is paid once.
# The environment it ran with is printed last.
RUN_COMMANDS = """
import json, os, sys
from ui.cli import main
commands, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for argv in commands:
    sys.argv = ["clinassist", *argv]
    try:
        main()
    except SystemExit as exit:
        if exit.code not in (0, None):
            raise SystemExit(f"clinassist {' '.join(argv)} exited {exit.code}")
print(json.dumps({name: os.environ.get(name) for name in names}))
"""


def offline_stripped(env: dict[str, str]) -> dict[str, str]:
    """The environment without the variables that keep hub clients and telemetry quiet (the
    test session sets them; `make` exports them): the child must set them itself."""
    return {name: value for name, value in env.items() if name not in ENGINE_VARIABLES}


def run_recorded(
    code: str, *args: str, env: dict[str, str], record: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-c", code, *args],  # -P: the cwd is not an import path
        env=recorded_environment(offline_stripped(env), record),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def outbound(reaches: list[Reach]) -> list[Reach]:
    return [reach for reach in reaches if not reach.loopback]


def test_the_recorder_sees_and_refuses_outbound_attempts(tmp_path: Path) -> None:
    """The premise of the test below: in a child started the same way, each kind of outbound
    attempt is recorded (and refused, so nothing leaves this machine)."""
    record = tmp_path / "outbound.jsonl"
    result = run_recorded(OUTBOUND_ATTEMPTS, env=dict(os.environ), record=record, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("refused by the recorder") == 4, result.stdout
    seen = outbound(read_record(record))
    assert {(r.event, r.host, r.port) for r in seen} == {
        ("socket.connect", TEST_NET, 9),  # a plain socket
        ("socket.getaddrinfo", "huggingface.co", 80),  # a name lookup
        ("socket.getaddrinfo", "huggingface.co", 443),  # httpx, as hub clients use
        ("socket.connect", TEST_NET, 10),  # asyncio's event loop
    }


def test_ingest_chat_turn_and_models_prepare_reach_only_loopback(
    tmp_path: Path, engine: EngineStatus
) -> None:
    assert engine.url and engine.pid
    record = tmp_path / "outbound.jsonl"
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    env = cli_environment(
        tmp_path / "data",  # a fresh data dir: no model prepared in it yet
        CLINASSIST_LLM_URL=engine.url,
        CLINASSIST_ANSWER_MODE="generated",  # the model writes the answer: a real engine call
        CLINASSIST_LLM_MAX_TOKENS="32",  # what it writes is not the point: the call is
        CLINASSIST_COVERAGE_MODEL=str(always_covered_model(tmp_path / "coverage-model")),
    )
    commands = [
        ["ingest", str(corpus)],
        ["ask", "Which drugs reduce hot flashes?"],
        ["models", "prepare"],
    ]
    names = json.dumps(list(OFFLINE_VARIABLES))
    result = run_recorded(
        RUN_COMMANDS, json.dumps(commands), names, env=env, record=record, cwd=tmp_path
    )
    reaches = read_record(record)
    assert outbound(reaches) == []  # before anything else: a refused reach may fail a command
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "12 added" in result.stdout and "Prepared: smollm2" in result.stdout
    # The recorder ran in the process that did the work: it saw the turn reach the engine.
    engine_port = urlparse(engine.url).port
    assert any(r.event == "socket.connect" and r.port == engine_port for r in reaches), reaches
    # started without them, the entry point set the variables that keep hub clients quiet
    assert json.loads(result.stdout.splitlines()[-1]) == OFFLINE_VARIABLES


def test_the_engine_runs_with_hub_and_usage_reporting_off(engine: EngineStatus) -> None:
    """The engine is a separate process (vLLM): what keeps it from a hub and from reporting
    usage is its environment, set when the app starts it (agent/engine.py)."""
    assert engine.pid
    raw = Path(f"/proc/{engine.pid}/environ").read_bytes()
    environment = dict(
        entry.split("=", 1) for entry in raw.decode(errors="replace").split("\0") if "=" in entry
    )
    assert {name: environment.get(name) for name in ENGINE_VARIABLES} == ENGINE_VARIABLES
