"""What stands in front of Gradio's server: the parts of it the app does not use are closed.

`RequestGuard` wraps the whole server (outside Gradio's own middleware, so its CORS never
answers first) and, on every request:
- refuses a `Host` that is not a loopback name or one of the configured `trusted_hosts` (HTTP
  421), and an `Origin` that is not one of them either (403): a web page on another site, or a
  DNS-rebinding name pointed at 127.0.0.1, gets nothing, not even a CORS header;
- answers `/gradio_api/deep_link` with 404: a deep link copies a browser's chat to
  `uploads/deep_links/*/state.json` and hands it to whoever knows its session hash;
- with sign-in, refuses `/gradio_api/cancel`, `/reset`, `/heartbeat/*` and `/stream/*` without
  a signed-in cookie (401), as Gradio refuses its data routes;
- throttles failed sign-ins per client (`LoginThrottle`: HTTP 429 with Retry-After);
- renames every upload to a random name (keeping a safe extension) before its path is returned:
  an uploaded file's name may name the patient, and Gradio would keep it on disk and repeat it
  in Content-Disposition.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
DEEP_LINK = re.compile(r"^/gradio_api/deep_link/?$")
NEEDS_SIGN_IN = re.compile(r"^/gradio_api/(cancel|reset|heartbeat/|stream/)")
LOGIN = re.compile(r"^/login/?$")
UPLOAD = re.compile(r"^/gradio_api/upload/?$")
SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")


def host_name(value: str) -> str | None:
    """The name in a Host header ("example.org:7860" -> "example.org", "[::1]:7860" -> "::1"),
    lower-case; None when it is not a name with an optional port."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, port = value[1:].partition("]")
        if not bracket or (port and not re.fullmatch(r":\d{1,5}", port)):
            return None
        return name or None
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.rstrip(".")
    return name if re.fullmatch(r"[a-z0-9._-]+", name) else None


def trusted_names(configured: Iterable[str], bound: str = "127.0.0.1") -> frozenset[str]:
    """Loopback names, the configured names (a reverse proxy's public name), and the address
    the server is bound to when it is one address (not 0.0.0.0 / ::)."""
    names = {host_name(name) or "" for name in configured} | set(LOOPBACK_NAMES)
    if bound not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound if ":" not in bound else f"[{bound}]") or "")
    return frozenset(names - {""})


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Failed sign-ins per client: the first `free` within `window_s` are answered as usual;
    after them the client waits `base_delay_s`, doubling with each further failure up to
    `max_delay_s`, and any attempt before then (even the right password) is refused. A
    successful sign-in, or `window_s` without a failure, clears the client."""

    def __init__(
        self,
        *,
        free: int = 5,
        base_delay_s: float = 30.0,
        max_delay_s: float = 900.0,
        window_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.free, self.base_delay_s, self.max_delay_s = free, base_delay_s, max_delay_s
        self.window_s, self.clock, self.max_clients = window_s, clock, max_clients
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds `client` must wait before its next attempt (0: it may try now)."""
        with self._lock:
            now = self.clock()
            failures = self._current(client, now)
            if failures is None or failures.count < self.free:
                return 0.0
            delay = min(self.base_delay_s * 2 ** (failures.count - self.free), self.max_delay_s)
            return max(0.0, float(failures.last + delay - now))

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            failures = self._current(client, now) or _Failures(0, now)
            failures.count, failures.last = failures.count + 1, now
            self._failures[client] = failures
            if len(self._failures) > self.max_clients:
                for stale in [c for c, f in self._failures.items() if now - f.last > self.window_s]:
                    del self._failures[stale]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _current(self, client: str, now: float) -> _Failures | None:
        failures = self._failures.get(client)
        if failures is not None and now - failures.last > self.window_s:
            del self._failures[client]
            return None
        return failures


class RequestGuard:
    """ASGI middleware around Gradio's app `gradio_app` (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        gradio_app: Any,
        *,
        trusted: frozenset[str],
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.app = app
        self.gradio_app = gradio_app
        self.trusted = trusted
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        refusal = self._refusal(connection)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await refusal(scope, receive, send)
            return
        path = self._path(scope)
        if scope["type"] == "http" and scope["method"] == "POST" and LOGIN.match(path):
            await self._login(scope, receive, send)
        elif scope["type"] == "http" and scope["method"] == "POST" and UPLOAD.match(path):
            await self.app(scope, receive, _RenamedUploads(send, self.gradio_app).send)
        else:
            await self.app(scope, receive, send)

    @staticmethod
    def _path(scope: Scope) -> str:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    def _refusal(self, connection: HTTPConnection) -> Response | None:
        host = host_name(connection.headers.get("host", ""))
        if host not in self.trusted:
            return JSONResponse(
                {"error": "This server does not answer to that host name (trusted_hosts)."},
                status_code=421,
            )
        origin = connection.headers.get("origin")
        if origin is not None and (urlsplit(origin).hostname or "").lower() not in self.trusted:
            return JSONResponse({"error": "Requests from other sites are refused."}, 403)
        path = self._path(connection.scope)
        if DEEP_LINK.match(path):
            return JSONResponse({"error": "Not found."}, status_code=404)
        if NEEDS_SIGN_IN.match(path) and not self._signed_in(connection):
            return JSONResponse({"error": "Not authenticated."}, status_code=401)
        return None

    def _signed_in(self, connection: HTTPConnection) -> bool:
        app = self.gradio_app
        if getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
            return True  # no sign-in configured: loopback, one user
        cookie_id = getattr(app, "cookie_id", "")
        tokens: dict[str, str] = getattr(app, "tokens", {})
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            token = connection.cookies.get(name)
            if token and token in tokens:
                return True
        return False

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.retry_after(client)
        if wait > 0:
            response = JSONResponse(
                {"error": "Too many failed sign-ins: wait, then try again."},
                status_code=429,
                headers={"Retry-After": str(int(wait) + 1)},
            )
            await response(scope, receive, send)
            return
        status: list[int] = []

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, watched)
        if status and status[0] < 300:
            self.throttle.succeeded(client)
        elif status and status[0] in (400, 401, 403):
            self.throttle.failed(client)


class _RenamedUploads:
    """The response of an upload, held until it is whole: each stored file renamed to a random
    name in its folder (a safe extension kept, since the app's file types go by it), and the
    new paths returned instead."""

    def __init__(self, send: Send, gradio_app: Any) -> None:
        self._send = send
        self._app = gradio_app
        self._start: Message | None = None
        self._body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body += message.get("body", b"")
        if message.get("more_body", False):
            return
        start, body = self._start, self._body
        if start["status"] == 200:
            body = self._renamed(body)
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            length = (b"content-length", str(len(body)).encode())
            start = {**start, "headers": [*headers, length]}
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})

    def _renamed(self, body: bytes) -> bytes:
        try:
            paths = json.loads(body)
        except ValueError:
            return body
        if not isinstance(paths, list):
            return body
        uploads = Path(self._app.uploaded_file_dir).resolve()
        blocks = self._app.get_blocks()
        renamed = []
        for stored in paths:
            path = Path(str(stored))
            if not path.resolve().is_relative_to(uploads):
                renamed.append(stored)
                continue
            suffix = path.suffix.lower() if SAFE_SUFFIX.match(path.suffix.lower()) else ""
            target = path.with_name(f"{secrets.token_hex(16)}{suffix}")
            try:
                os.rename(path, target)
            except OSError:  # gone already (the same file, uploaded twice at once)
                renamed.append(stored)
                continue
            blocks.upload_file_set.discard(str(stored))
            blocks.upload_file_set.add(str(target))
            renamed.append(str(target))
        return json.dumps(renamed).encode()
