"""The LLM engine: a managed local `vllm serve` child process, or an external vLLM by URL.

Locally, vLLM's CPU build serves a prepared model folder on 127.0.0.1 with the flags measured to
work for a small ChatML model on this kind of machine (see README, "LLM engine"). Its state
(pid, port, model) is written to `<data_dir>/engine/engine.json` so that `clinassist engine
status|stop` from another process finds it; its log goes to `<data_dir>/engine/engine.log`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from agent.errors import AgentError
from agent.settings import api_root

if TYPE_CHECKING:
    from agent.settings import Settings

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
HERMES_CHATML_TEMPLATE = TEMPLATES / "hermes_chatml.jinja"


class EngineError(AgentError):
    """The engine cannot be started, reached or used; one sentence for the user."""


class EngineState(Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    UNREACHABLE = "unreachable"  # an external URL that does not answer


@dataclass(frozen=True)
class EngineStatus:
    url: str | None
    model: str | None
    state: EngineState
    pid: int | None = None
    log: str | None = None
    managed: bool = True
    detail: str | None = None  # why it is down, when the reason is known (the restart limit)

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass(frozen=True)
class LocalEngineConfig:
    """How the local engine is started. The defaults were measured with SmolLM2-135M on 2 cores:
    eager mode starts in ~30 s (torch.compile adds 60-90 s for no gain), 1 GiB of KV cache is
    plenty for 2048-token contexts, whitespace-free xgrammar output with a repetition penalty
    keeps structured output valid, and the Hermes template makes tool calls parseable. dtype
    "auto" is bfloat16 where the CPU computes it natively (AMX / AVX512-BF16) and float32
    elsewhere: on this AVX2-only EPYC a 1,044-token prefill took 27.1 s in bf16, 5.4 s in fp32."""

    model_path: Path
    served_name: str
    host: str = "127.0.0.1"
    port: int | None = None  # None: a free port
    max_model_len: int = 2048
    kv_cache_gib: int = 1
    dtype: str = "auto"
    enforce_eager: bool = True
    chat_template: Path | None = HERMES_CHATML_TEMPLATE
    tool_call_parser: str | None = "hermes"
    repetition_penalty: float = 1.3
    startup_timeout_s: float = 300.0
    use_all_cpus: bool = True  # see cpu_environment; False: vLLM's own defaults
    # Tokens per streamed chunk after the first (which is always sent at once): fewer chunks
    # for the API server, the app and the browser to handle (README "LLM engine", measured).
    stream_interval: int = 4
    extra_args: tuple[str, ...] = field(default_factory=tuple)


TCMALLOC = Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")  # libtcmalloc-minimal4


def usable_cpus() -> list[int]:
    """The CPUs this process may run on: its affinity mask, cut to the cgroup's CPU quota
    (a container given 2 of 16 cores sees 16 in its mask and 2 in cpu.max)."""
    cpus = sorted(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = cpus[: max(1, int(int(quota) / int(period)))]
    except (OSError, ValueError):
        pass
    return cpus


def cpu_environment(cpus: list[int], environ: dict[str, str]) -> dict[str, str]:
    """What vLLM's CPU backend is told so that it computes on every usable core (measured in
    bench.llm_engine, README "LLM engine"): its OpenMP threads bound to all of them, with no
    core reserved for the scheduler process (its default reserves one, which on two cores
    halves the compute), and tcmalloc preloaded where Debian's libtcmalloc-minimal4 is
    installed. A value the operator already set is kept."""
    env = {
        key: environ.get(key, value)
        for key, value in (
            ("VLLM_CPU_OMP_THREADS_BIND", ",".join(str(cpu) for cpu in cpus)),
            ("VLLM_CPU_NUM_OF_RESERVED_CPU", "0"),
        )
    }
    preload = environ.get("LD_PRELOAD", "")
    if TCMALLOC.exists() and "tcmalloc" not in preload:
        env["LD_PRELOAD"] = f"{TCMALLOC} {preload}".strip()
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def engine_dtype(dtype: str) -> str:
    """The dtype vLLM is given: "auto" resolved for this CPU (bf16 is emulated, and about five
    times slower, on a CPU without AMX or AVX512-BF16)."""
    if dtype != "auto":
        return dtype
    from knowledge.embedding import cpu_supports_bf16

    return "bfloat16" if cpu_supports_bf16() else "float32"


def server_command(config: LocalEngineConfig, port: int) -> list[str]:
    # `python -m` rather than the `vllm` script: the CLI looks up package metadata named
    # "vllm", and the distribution is called vllm-cpu.
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(config.model_path),
        "--served-model-name",
        config.served_name,
        "--host",
        config.host,
        "--port",
        str(port),
        "--max-model-len",
        str(config.max_model_len),
        "--dtype",
        engine_dtype(config.dtype),
        "--structured-outputs-config",
        json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
        "--override-generation-config",
        json.dumps({"repetition_penalty": config.repetition_penalty}),
        "--disable-log-stats",
    ]
    if config.stream_interval > 1:
        command += ["--stream-interval", str(config.stream_interval)]
    if config.enforce_eager:
        command.append("--enforce-eager")
    if config.tool_call_parser:
        command += ["--enable-auto-tool-choice", "--tool-call-parser", config.tool_call_parser]
    if config.chat_template is not None:
        command += ["--chat-template", str(config.chat_template)]
    return command + list(config.extra_args)


def _health(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is not alive
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    meaningful = [line for line in text if line.strip()][-lines:]
    return " | ".join(line.strip()[-200:] for line in meaningful)


class LocalEngine:
    """A vLLM server as a child process; one per data dir."""

    def __init__(self, data_dir: Path, config: LocalEngineConfig) -> None:
        self.config = config
        self.dir = data_dir / "engine"
        self.state_file = self.dir / "engine.json"
        self.log_file = self.dir / "engine.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self.restarts = 0
        self.gave_up: str | None = None  # set once the supervisor stops restarting it

    # ------------------------------------------------------------------ state file

    def _read_state(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def _write_state(self, pid: int, port: int) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": pid,
            "port": port,
            "url": f"http://{self.config.host}:{port}",
            "model": self.config.served_name,
            "model_path": str(self.config.model_path),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_file)

    # ------------------------------------------------------------------ lifecycle

    def status(self) -> EngineStatus:
        state = self._read_state()
        if state is None or not _pid_alive(int(str(state["pid"]))):
            return EngineStatus(
                None,
                self.config.served_name,
                EngineState.STOPPED,
                log=str(self.log_file),
                detail=self.gave_up,
            )
        url = str(state["url"])
        ready = _health(url)
        return EngineStatus(
            url,
            str(state["model"]),
            EngineState.READY if ready else EngineState.STARTING,
            pid=int(str(state["pid"])),
            log=str(self.log_file),
        )

    def start(
        self, *, wait: bool = True, progress: Callable[[str], None] | None = None
    ) -> EngineStatus:
        """Start the server (or find it running) and, with `wait`, block until it is ready."""
        current = self.status()
        if current.state is not EngineState.STOPPED:
            return self.wait_ready(progress=progress) if wait else current
        if not (self.config.model_path / "config.json").is_file():
            raise EngineError(
                f"No prepared model at {self.config.model_path}: run clinassist models prepare."
            )
        self.gave_up = None
        self._spawn()
        return self.wait_ready(progress=progress) if wait else self.status()

    def _spawn(self, port: int | None = None) -> None:
        port = port or self.config.port or free_port(self.config.host)
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "VLLM_CPU_KVCACHE_SPACE": str(self.config.kv_cache_gib),
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        if self.config.use_all_cpus:
            env |= cpu_environment(usable_cpus(), env)
        with self.log_file.open("ab") as log:
            log.write(f"\n==== engine start {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                server_command(self.config, port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        self._write_state(self._process.pid, port)

    def wait_ready(
        self, *, timeout: float | None = None, progress: Callable[[str], None] | None = None
    ) -> EngineStatus:
        deadline = time.monotonic() + (timeout or self.config.startup_timeout_s)
        started = time.monotonic()
        last_report = 0.0
        while True:
            status = self.status()
            if status.state is EngineState.READY:
                return status
            if status.state is EngineState.STOPPED:
                raise EngineError(
                    "The LLM engine exited while starting: "
                    f"{_log_tail(self.log_file) or 'no output'} (log: {self.log_file})."
                )
            now = time.monotonic()
            if now > deadline:
                raise EngineError(
                    f"The LLM engine did not become ready within {now - started:.0f} s "
                    f"(log: {self.log_file})."
                )
            if progress is not None and now - last_report >= 5:
                progress(f"waiting for the LLM engine ({now - started:.0f} s) ...")
                last_report = now
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server and every process it started; True when one was running."""
        self._stopping.set()
        state = self._read_state()
        pid = int(str(state["pid"])) if state else None
        was_running = pid is not None and _pid_alive(pid)
        if pid is not None and was_running:
            self._signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                self._reap()
                time.sleep(0.2)
            if _pid_alive(pid):
                self._signal_group(pid, signal.SIGKILL)
        if self._process is not None:  # a server this process started: collect its exit
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=timeout)
            self._reap()
        self.state_file.unlink(missing_ok=True)
        return was_running

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _reap(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None

    # ------------------------------------------------------------------ supervision

    def supervise(self, max_restarts: int = 1, interval: float = 2.0) -> None:
        """Watch the server from this process; restart it (at most `max_restarts` times) when
        it dies on its own, on the same port, so that clients holding its URL reach the new
        one. For the app that owns the engine, not for the detached CLI."""
        self._stopping.clear()

        def watch() -> None:
            port: int | None = None
            while not self._stopping.wait(interval):
                state = self._read_state()
                if state is not None:
                    port = int(str(state["port"]))
                if self.status().state is EngineState.STOPPED and not self._stopping.is_set():
                    if self.restarts >= max_restarts:
                        self._give_up(max_restarts)
                        return
                    self._reap()
                    with self.log_file.open("ab") as log:
                        log.write(
                            f"\n==== engine died; restart {self.restarts + 1} of "
                            f"{max_restarts} on port {port} ====\n".encode()
                        )
                    self._spawn(port)
                    # Counted only once the new server's state is written, so a caller that
                    # sees the restart and waits for readiness never reads the dead server.
                    self.restarts += 1

        self._supervisor = threading.Thread(target=watch, name="engine-supervisor", daemon=True)
        self._supervisor.start()

    def _give_up(self, max_restarts: int) -> None:
        """Say, in the status, the engine's log and this process's log, that the engine died
        again after its last allowed restart and is left down."""
        self.gave_up = (
            f"it died {max_restarts + 1} times and is not restarted again; its log is "
            f"{self.log_file}"
        )
        with self.log_file.open("ab") as log:
            log.write(
                f"\n==== engine died; {max_restarts} restarts used, not restarted ====\n".encode()
            )
        logger.error("The LLM engine %s.", self.gave_up)


class RemoteEngine:
    """An external vLLM (or any OpenAI-compatible server) reached by URL; never managed."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = api_root(url)
        self.timeout = timeout

    def status(self) -> EngineStatus:
        try:
            response = httpx.get(f"{self.url}/v1/models", timeout=self.timeout)
            response.raise_for_status()
            served = [str(m.get("id")) for m in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError):
            return EngineStatus(self.url, None, EngineState.UNREACHABLE, managed=False)
        return EngineStatus(
            self.url, served[0] if served else None, EngineState.READY, managed=False
        )


def engine_for(settings: Settings) -> LocalEngine | RemoteEngine:
    """The engine the settings describe; a local one gets its model prepared first."""
    if settings.llm_url:
        return RemoteEngine(settings.llm_url)
    from agent.model_files import prepare_model

    model, _ = prepare_model(settings.data_dir, settings.llm_gguf)
    return LocalEngine(
        settings.data_dir,
        LocalEngineConfig(
            model_path=model.folder,
            served_name=model.name,
            port=settings.engine_port,
            max_model_len=settings.engine_max_model_len,
            kv_cache_gib=settings.engine_kv_cache_gib,
            startup_timeout_s=settings.engine_startup_timeout_s,
            use_all_cpus=settings.engine_use_all_cpus,
            stream_interval=settings.engine_stream_interval,
        ),
    )
