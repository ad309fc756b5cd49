"""`clinassist mcp --http` (ui/mcp/transports.py): streamable HTTP on loopback by default; with a
token set, every request without it is 401; a public address without a token is refused."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agent.engine import free_port
from tests.serving import cli_environment, wait_for
from tests.ui.cli.console import assert_one_sentence_error
from tests.ui.mcp.conftest import REQUIRED_TOOLS, mcp_command, run_async

pytestmark = pytest.mark.slow

TOKEN = "s3cret-token-for-the-mcp-tests-0123456789"


def run_mcp(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mcp_command(*args),
        env=cli_environment(data_dir, **env),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def http_server(data_dir: Path, *args: str, **env: str) -> Iterator[tuple[str, Path]]:
    """`clinassist mcp --http --port P *args`, answering; SIGTERM on exit. (URL, log file.)"""
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"mcp-{port}.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            mcp_command("--http", "--port", str(port), *args),
            env=cli_environment(data_dir, **env),
            cwd=data_dir.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_for(url, 120, process)
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def test_every_request_needs_the_token_and_the_tools_answer_with_it(tmp_path: Path) -> None:
    token_file = tmp_path / "mcp-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    with http_server(data_dir, "--token-file", str(token_file)) as (url, log):
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-of-about-the-same-length-xx"},
            {"Authorization": TOKEN},  # no scheme
            {"Authorization": f"Basic {TOKEN}"},
        ):
            response = httpx.post(url, json=initialize, headers=accept | headers, timeout=10)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert httpx.get(url, timeout=10).status_code == 401
        assert httpx.delete(url, timeout=10).status_code == 401

        async def scenario() -> tuple[Any, Any]:
            authorised = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
            async with Client(streamable_http_client(url, http_client=authorised)) as client:
                listed = await client.list_tools()
                checked = await client.call_tool(
                    "check_interactions", {"medications": ["amiodarone", "citalopram"]}
                )
                return listed, checked

        listed, checked = run_async(scenario)
    assert {tool.name for tool in listed.tools} >= REQUIRED_TOOLS
    assert not checked.is_error
    [pair] = checked.structured_content["result"]["interactions"]
    assert {pair["drug_a"], pair["drug_b"]} == {"amiodarone", "citalopram"}
    output = log.read_text(encoding="utf-8")
    assert "Traceback" not in output and TOKEN not in output


def test_a_public_address_needs_a_token_and_a_token_must_be_strong(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    refused = run_mcp("--http", "--host", "0.0.0.0", data_dir=data_dir)
    assert_one_sentence_error(refused)
    assert refused.returncode == 2 and "without a token" in refused.stderr
    weak = run_mcp("--http", data_dir=data_dir, CLINASSIST_MCP_TOKEN="short")
    assert_one_sentence_error(weak)
    assert weak.returncode == 2 and "16 or more characters" in weak.stderr
    missing = run_mcp("--http", "--token-file", str(tmp_path / "absent"), data_dir=data_dir)
    assert_one_sentence_error(missing)
    stdio_host = run_mcp("--host", "0.0.0.0", data_dir=data_dir)
    assert_one_sentence_error(stdio_host)
    assert "are for --http" in stdio_host.stderr
    assert not data_dir.exists()  # refused before anything was opened
