"""`clinassist serve` as a real subprocess, for the tests that need the app as an engineer runs
it: its own process (so it can be killed, and its memory read), its output in a log file."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agent.engine import free_port
from agent.settings import OFFLINE_ENVIRONMENT, PROJECT_ROOT

CLI = Path(sys.executable).parent / "clinassist"


def wait_for(url: str, seconds: float = 180, process: subprocess.Popen[str] | None = None) -> None:
    """Until `url` answers (any status: a 401 is an answer); fails fast if `process` exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}) before answering")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up within {seconds:.0f} s")


def cli_environment(data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of every clinassist process the tests start (the console script,
    `serve`, `mcp`, a script of this checkout): the caller's without its CLINASSIST_* settings,
    offline (`OFFLINE_ENVIRONMENT`, as `apply_offline_environment` sets it), this checkout first
    on PYTHONPATH, its own data dir, then `env`. The imaging demo is off unless `env` sets its
    folders: `serve` would otherwise index the shared sample images and train a probe (~40 s)
    in every fresh data dir."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CLINASSIST_")}
    python_path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), inherited.get("PYTHONPATH")]))
    return (
        inherited
        | OFFLINE_ENVIRONMENT
        | {
            "PYTHONPATH": python_path,
            "CLINASSIST_DATA_DIR": str(data_dir),
            "CLINASSIST_IMAGE_SAMPLE_DIRS": "",
            "CLINASSIST_DEMO_PROBE_DIR": "",
        }
        | env
    )


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _proc_address(hex_address: str) -> tuple[str, int]:
    """`0100007F:1F90` (or its 32-digit IPv6 form) from /proc/net/tcp*: host-order words."""
    host, port = hex_address.split(":")
    raw = b"".join(bytes.fromhex(host[i : i + 8])[::-1] for i in range(0, len(host), 8))
    return str(ipaddress.ip_address(raw)), int(port, 16)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """The TCP (address, port) pairs that process `pid` and its descendants listen on, IPv4 and
    IPv6, read from /proc: what a port scan of this machine would find them bound to."""
    inodes: set[str] = set()
    for member in {pid} | _descendants(pid):
        try:
            fds = list(Path(f"/proc/{member}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    listening = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(_proc_address(fields[1]))
    return listening


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """`kill -9`: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 120) -> str:
        """SIGTERM, as a service manager stops it (the app stops what it started); the output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.output()


@contextmanager
def serve_subprocess(
    data_dir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    startup_s: float = 300,
) -> Iterator[Served]:
    """`clinassist serve --port P *args` with `data_dir`, up and answering; stopped on exit.
    The log file is `data_dir.parent / serve-P.log` (it outlives a kill)."""
    port = port or free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("a", encoding="utf-8") as out:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port), *args],
            env=cli_environment(data_dir, **(env or {})),
            cwd=data_dir.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    served = Served(process, f"http://127.0.0.1:{port}", data_dir, log)
    try:
        wait_for(served.url, startup_s, process)
        yield served
    finally:
        served.stop()


def audit_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Every row of a data dir's audit trail, oldest first (the store opened and closed)."""
    from agent.audit import AuditLog

    log = AuditLog(data_dir / "audit.sqlite")
    try:
        return log.rows()
    finally:
        log.close()
