"""How the MCP server is reached: stdio (a client starts `clinassist mcp` as its child), or
streamable HTTP at `/mcp`, where a set token is required of every request."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import anyio
from mcp.server.lowlevel import Server

MCP_PATH = "/mcp"

Scope = dict[str, Any]


def serve_stdio(server: Server[Any]) -> None:
    """Serve one client over this process's stdin and stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)


class BearerTokenGuard:
    """ASGI middleware: an HTTP request without `Authorization: Bearer <token>` gets 401.

    The comparison is of the two values' SHA-256 digests with `hmac.compare_digest`, so it
    takes the same time however much of a guess is right, and whatever its length."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = hashlib.sha256(f"Bearer {token}".encode()).digest()

    def allows(self, authorization: bytes) -> bool:
        return hmac.compare_digest(hashlib.sha256(authorization).digest(), self._expected)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [value for name, value in scope["headers"] if name == b"authorization"]
            if len(headers) != 1 or not self.allows(headers[0]):
                await _unauthorised(send)
                return
        await self.app(scope, receive, send)


async def _unauthorised(send: Any) -> None:
    body = json.dumps({"error": "A valid bearer token is required."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="clinassist"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def http_app(server: Server[Any], host: str, token: str | None) -> Any:
    """The streamable-HTTP ASGI app (at `MCP_PATH`), behind the token when one is set. On
    loopback the SDK also refuses requests whose Host or Origin is not loopback (DNS
    rebinding)."""
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    return BearerTokenGuard(app, token) if token else app


def serve_http(server: Server[Any], host: str, port: int, token: str | None) -> None:
    """Serve until interrupted (Ctrl-C, or SIGTERM from a service manager)."""
    import uvicorn

    config = uvicorn.Config(
        http_app(server, host, token),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # URLs only, but nothing a hospital needs twice
        lifespan="on",
    )
    uvicorn.Server(config).run()
