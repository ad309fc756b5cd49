"""`clinassist serve`: the engine started and supervised, the corpora ingested, the imaging demo
prepared, the app served."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.service import USER_ERRORS, EngineState, RemoteEngine, Service
from ui.cli.common import (
    fail,
    ingest_with_progress,
    is_loopback,
    prepare_imaging_demo,
    print_ingest_report,
    service,
    user_errors,
)


def _credentials(auth: str | None, auth_file: Path | None) -> list[tuple[str, str]]:
    pairs: list[str] = [auth] if auth else []
    if auth_file is not None:
        try:
            lines = auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise fail(f"cannot read the credentials file {auth_file}.") from None
        stripped = (line.strip() for line in lines)
        named = [line for line in stripped if line and not line.startswith("#")]
        if not named:  # an empty file would otherwise serve the app to anyone, silently
            raise fail(f"the credentials file {auth_file} holds no USER:PASSWORD line.")
        pairs += named
    credentials = []
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not sep or not user or len(password) < 8:
            raise fail("credentials are USER:PASSWORD, with a password of 8 or more characters.")
        credentials.append((user, password))
    return credentials


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 7860,
    auth: Annotated[str | None, typer.Option("--auth", help="USER:PASSWORD.")] = None,
    auth_file: Annotated[
        Path | None, typer.Option("--auth-file", help="File of USER:PASSWORD lines.")
    ] = None,
    engine: Annotated[
        bool, typer.Option("--engine/--no-engine", help="Start (or check) the LLM engine.")
    ] = True,
    imaging_demo: Annotated[
        bool,
        typer.Option(
            "--imaging-demo/--no-imaging-demo",
            help="Index the sample images and train the demonstration probe (once).",
        ),
    ] = True,
) -> None:
    """Start the LLM engine, ingest the configured corpora, prepare the imaging demo and serve
    the app (127.0.0.1:7860).

    The imaging demo indexes the sample images (setting image_sample_dirs) for similar-image
    search and trains the demonstration probe (demo_probe_dir) when the encoder has none; what
    is already there is skipped. A local engine started here is supervised and stopped when this
    command ends. Binding to anything but loopback needs --auth or --auth-file; no share link is
    ever created.
    """
    credentials = _credentials(auth, auth_file)
    if not is_loopback(host) and not credentials:
        raise fail(f"refusing to serve on {host} without --auth or --auth-file.")
    clinassist = service()
    # A service manager stops with SIGTERM: treat it as Ctrl-C, so that the server closes and
    # the engine this command started is stopped with it, not orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    local = _start_engine(clinassist) if engine else None
    try:
        _serve_app(clinassist, local, host, port, credentials, engine, imaging_demo)
    finally:
        if local is not None:
            local.stop()
            typer.echo("LLM engine stopped.", err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve_app(
    clinassist: Service,
    local: Any,
    host: str,
    port: int,
    credentials: list[tuple[str, str]],
    engine: bool,
    imaging_demo: bool,
) -> None:
    from ui.web import build_app, launch, status_reporter

    settings = clinassist.settings
    with user_errors():
        if settings.corpus_dirs:
            typer.echo(f"Ingesting {', '.join(map(str, settings.corpus_dirs))} ...")
            print_ingest_report(ingest_with_progress(clinassist, list(settings.corpus_dirs)))
        stats = clinassist.stats()
        typer.echo(f"Knowledge base: {stats.chunks} chunks in {len(stats.corpora)} corpora.")
    if imaging_demo:
        try:
            prepare_imaging_demo(clinassist)
        except USER_ERRORS as exc:  # e.g. the Chroma server is down: the app serves without
            typer.echo(f"The imaging demo was not prepared: {exc}", err=True)
    with user_errors():
        watched = local or (clinassist.engine() if engine else None)
        if watched is not None:
            current = watched.status()
            if current.url or settings.llm_url:
                clinassist.llm = clinassist.client_of(watched, current)
            clinassist.model_name = current.model
        clinassist.open_sessions()
        licences = clinassist.model_licences()
    app = build_app(
        clinassist,
        status_reporter(
            watched, stats, no_engine="no LLM engine (--no-engine)", model_licences=licences
        ),
    )
    typer.echo(f"Serving clinassist on http://{host}:{port} (Ctrl-C stops it).")
    try:
        launch(
            app,
            host=host,
            port=port,
            credentials=credentials,
            trusted_hosts=settings.trusted_hosts,
        )
    finally:
        clinassist.close()


def _start_engine(clinassist: Service) -> Any:
    """Start the local engine in the background (ingest runs meanwhile); None for a URL."""
    with user_errors():
        engine = clinassist.engine()
        if isinstance(engine, RemoteEngine):
            status = engine.status()
            if status.state is EngineState.READY:
                typer.echo(f"LLM engine: {status.model} at {status.url}.")
            else:
                typer.echo(f"LLM engine at {engine.url} does not answer; search still works.")
            return None
        engine.start(wait=False)
        engine.supervise(max_restarts=3)
        return engine
