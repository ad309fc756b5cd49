"""`clinassist mcp`: the assistant's tools served over the Model Context Protocol."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.service import Service
from agent.settings import Settings
from ui.cli.common import fail, is_loopback, progress_line, settings, user_errors

MIN_TOKEN_CHARS = 16


def _token(configured: Settings, token_file: Path | None) -> str | None:
    """The bearer token: the file's first line, else `CLINASSIST_MCP_TOKEN` (`mcp_token`)."""
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise fail(f"cannot read the token file {token_file}.") from None
        token = lines[0].strip() if lines else ""
    elif configured.mcp_token is not None:
        token = configured.mcp_token.get_secret_value().strip()
    else:
        return None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise fail(f"the MCP token must be {MIN_TOKEN_CHARS} or more characters, with no spaces.")
    return token


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def mcp_command(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Address to bind (--http).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port (--http).")] = 8765,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File whose first line is the bearer token (--http)."),
    ] = None,
) -> None:
    """Serve clinassist's tools over MCP: stdio by default (an MCP client starts this command),
    or streamable HTTP on 127.0.0.1 with --http.

    Tools: search_guidelines, check_interactions, the calculators, analyze_image,
    plan_treatment and ask. Binding anything but loopback needs a bearer token (--token-file or
    CLINASSIST_MCP_TOKEN); with a token set, every request must carry it. Every call is written
    to the audit trail, without patient text."""
    if not http and (token_file is not None or host != "127.0.0.1"):
        raise fail("--host and --token-file are for --http; stdio needs neither.")
    configured = settings()
    token = _token(configured, token_file) if http else None
    if http and not is_loopback(host) and token is None:
        raise fail(
            f"refusing to serve MCP on {host} without a token (--token-file or "
            "CLINASSIST_MCP_TOKEN)."
        )
    clinassist = Service(configured)
    # stdout is the protocol's channel on stdio: whatever a library prints while the service
    # opens goes to stderr.
    with contextlib.redirect_stdout(sys.stderr), user_errors():
        if clinassist.model_needed():
            clinassist.connect(progress=progress_line)
        clinassist.open_sessions()
    from ui.mcp import build_server, serve_http, serve_stdio

    tools = clinassist.standalone_tools()
    server = build_server(tools)
    try:
        if http:
            signal.signal(signal.SIGTERM, _interrupt)
            progress_line(
                f"Serving clinassist's tools over MCP at http://{host}:{port}/mcp "
                f"({'a token is required' if token else 'no token'}; Ctrl-C stops it)."
            )
            serve_http(server, host, port, token)
        else:
            serve_stdio(server)
    except KeyboardInterrupt:
        pass
    finally:
        clinassist.close()
