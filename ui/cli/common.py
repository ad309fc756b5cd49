"""What every command shares: the settings, the service, one-sentence errors, output helpers.

Errors a user can cause (a missing file, an empty knowledge base, a Chroma server that is down,
a bad setting) print one sentence on stderr and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Protocol

import typer

from agent.service import USER_ERRORS, IngestReport, Service
from agent.settings import Settings

EXIT_USER_ERROR = 2

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether a server bound to `host` is reachable from this machine only (anything else
    needs credentials)."""
    return host in LOOPBACK_HOSTS


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """`clinassist: <message>` on stderr; raise what it returns."""
    typer.echo(f"clinassist: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one sentence and an exit status."""
    from pydantic import ValidationError

    try:
        yield
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise fail(f"invalid setting {where}: {first['msg']}.") from None


def settings() -> Settings:
    with user_errors():
        return Settings()


def service() -> Service:
    """The service over the configured settings (it opens what a command uses, when used)."""
    return Service(settings())


def progress_line(line: str) -> None:
    """A progress note on stderr (stdout stays for the command's output)."""
    typer.echo(line, err=True)


def print_ingest_report(report: IngestReport) -> None:
    typer.echo(
        f"Ingested {report.files_seen} file(s) from {', '.join(report.corpora) or 'no corpus'}: "
        f"{report.files_ingested} new or changed, {report.files_unchanged} unchanged, "
        f"{len(report.skipped)} skipped."
    )
    typer.echo(
        f"Chunks: {report.chunks_added} added, {report.chunks_unchanged} unchanged, "
        f"{report.chunks_removed} removed."
    )
    for skipped in report.skipped:
        typer.echo(f"  skipped {skipped.path}: {skipped.reason}")
    for warning in report.warnings:
        typer.echo(f"  note: {warning}")


class JsonReport(Protocol):
    def as_json(self) -> dict[str, Any]: ...

    def markdown(self) -> str: ...


def emit(report: JsonReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        typer.echo(report.markdown())


def ingest_with_progress(
    clinassist: Service,
    paths: list[Any],
    *,
    corpus: str | None = None,
    rebuild: bool = False,
    prune: bool = False,
) -> IngestReport:
    """The service's ingest with a progress bar on stderr."""
    import sys

    from tqdm import tqdm

    bar: tqdm[Any] | None = None

    def progress(done: int, total: int, label: str, added: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, leave=False)
        bar.set_postfix_str(f"{added} chunks added", refresh=False)
        bar.update(1)

    try:
        return clinassist.ingest(
            paths, corpus=corpus, rebuild=rebuild, prune=prune, progress=progress
        )
    finally:
        if bar is not None:
            bar.close()


def prepare_imaging_demo(clinassist: Service) -> None:
    """The service's imaging-demo preparation with a progress bar per step on stderr, then
    what it did: images indexed, the probe trained (or kept), notes."""
    import sys

    from tqdm import tqdm

    settings = clinassist.settings
    if not settings.image_sample_dirs and settings.demo_probe_dir is None:
        return
    bar: tqdm[Any] | None = None

    def progress(what: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None or bar.desc != what:  # one step at a time: one bar at a time
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, unit="image", desc=what, file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    typer.echo("Preparing the imaging demo ...")
    try:
        demo = clinassist.images.prepare_demo(progress)
    finally:
        if bar is not None:
            bar.close()
    if demo.sample_sets:
        typer.echo(
            f"Sample images from {', '.join(s.dataset for s in demo.sample_sets)}: "
            f"{demo.indexed} indexed, {demo.unchanged} unchanged, {len(demo.skipped)} skipped; "
            f"the similar-image index holds {demo.index_size} ({demo.encoder})."
        )
    for skipped in demo.skipped:
        typer.echo(f"  skipped {skipped}")
    if demo.probe is not None:
        metrics = demo.probe.metrics
        typer.echo(
            f"Probe {demo.probe.name} trained on {demo.probe.dataset} "
            f"({metrics.n_train} / {metrics.n_valid} / {metrics.n_test} images): "
            f"test AUROC {metrics.test_auroc}. {clinassist.images.research_notice()}"
        )
    elif demo.kept:
        typer.echo(f"Probes already trained for this encoder: {', '.join(demo.kept)}.")
    for note in demo.notes:
        typer.echo(f"  note: {note}")
