"""Serving the app: queued, never a share link, uploads in the data dir, a full disk said in
one sentence, and Gradio's server behind `RequestGuard` (trusted host names only, no deep links,
sign-in on every session route, failed sign-ins throttled, uploads under random names)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import Request
from fastapi.responses import JSONResponse

from agent.errors import STORAGE_ERRNOS, storage_error
from ui.web.guard import LoginThrottle, RequestGuard, trusted_names
from ui.web.rendering import CSS

MAX_UPLOAD = "512mb"


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    credentials: Sequence[tuple[str, str]] = (),
    concurrency: int = 4,
    block: bool = True,
    trusted_hosts: Sequence[str] = (),
    throttle: LoginThrottle | None = None,
) -> None:
    """Serve the app: queued (at most `concurrency` turns at once per event, the rest wait),
    never a share link, no tracebacks in the page, uploads into the app's own upload folder
    (the data dir's `uploads` for an app from `build_app`), every request through
    `RequestGuard`: answered only for loopback names, the bound address and `trusted_hosts`."""
    # Gradio's server takes its upload folder from the process environment, when it starts
    # and on each request: serving sets it, building an app does not. One process serves one
    # upload folder, the last app's launched.
    os.environ["GRADIO_TEMP_DIR"] = app.GRADIO_CACHE
    app.queue(default_concurrency_limit=concurrency)
    app.launch(
        server_name=host,
        server_port=port,
        auth=list(credentials) or None,
        share=False,
        quiet=True,
        show_error=False,
        footer_links=["api"],
        max_file_size=MAX_UPLOAD,
        prevent_thread_lock=True,  # blocked below, once the guard is checked
        css=CSS,
        app_kwargs={
            "exception_handlers": {OSError: storage_failure(Path(app.GRADIO_CACHE))},
            "lifespan": guarded(trusted_names(trusted_hosts, host), throttle or LoginThrottle()),
        },
    )
    server = getattr(app, "server_app", None)
    if app.is_running and not isinstance(getattr(server, "middleware_stack", None), RequestGuard):
        app.close()  # never serve without the guard
        raise RuntimeError("the request guard could not be installed in front of the app")
    if block:
        app.block_thread()


def guarded(trusted: frozenset[str], throttle: LoginThrottle) -> Callable[[Any], Any]:
    """A lifespan that puts `RequestGuard` around the whole server before it takes a request
    (uvicorn runs the lifespan's start first): outside Gradio's own middleware, whose CORS
    would otherwise answer a preflight from any host before a check further in."""

    @asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[None]:
        if not isinstance(server.middleware_stack, RequestGuard):
            stack = server.middleware_stack or server.build_middleware_stack()
            server.middleware_stack = RequestGuard(
                stack, server, trusted=trusted, throttle=throttle
            )
        yield

    return lifespan


def storage_failure(uploads: Path) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A request that could not write (an upload to a full disk): one sentence with HTTP 507,
    not a traceback from the server; any other OSError is left to the server as before."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if getattr(exc, "errno", None) not in STORAGE_ERRNOS:
            raise exc
        error = storage_error(uploads.parent, exc, "the upload")
        return JSONResponse({"error": str(error)}, status_code=507)

    return handle
