"""`clinassist image ...`: de-identified information, rendering, similar images and probes."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.service import WindowPreset
from ui.cli.common import JsonOption, fail, service, user_errors

image_app = typer.Typer(
    help="De-identified image information, rendering, similar images and probes.",
    no_args_is_help=True,
)
FileArgument = Annotated[Path, typer.Argument(help="DICOM, PNG or JPEG file.")]


@image_app.command("info")
def image_info_command(file: FileArgument, as_json: JsonOption = False) -> None:
    """Decoded summary and safe (de-identified) metadata; no identifying value is printed."""
    clinassist = service()
    with user_errors():
        study = clinassist.images.read_image(file)
    safe = asdict(study.safe)
    safe["burned_in_annotation"] = study.safe.burned_in_annotation.value
    info = {"kind": study.kind.value, **safe}
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    for key, value in info.items():
        if key != "warnings" and value is not None:
            typer.echo(f"{key.replace('_', ' ')}: {value}")
    for warning in study.safe.warnings:
        typer.echo(f"warning: {warning}")


@image_app.command("render")
def image_render_command(
    file: FileArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG to write.")],
    window: Annotated[
        str | None, typer.Option("--window", help="CT preset: lung, mediastinum, bone, brain.")
    ] = None,
    frame: Annotated[int | None, typer.Option("--frame", min=1, help="Frame number.")] = None,
) -> None:
    """Render as a viewer would (file window or a preset); multi-frame: a montage by default."""
    preset = None
    if window is not None:
        try:
            preset = WindowPreset[window.upper()]
        except KeyError:
            names = ", ".join(p.name.lower() for p in WindowPreset)
            raise fail(f"--window must be one of {names}.") from None
    clinassist = service()
    with user_errors():
        study = clinassist.images.read_image(file)
        pixels = clinassist.images.render(
            study, preset=preset, frame=None if frame is None else frame - 1
        )
    try:
        output.write_bytes(clinassist.images.png(pixels))
    except OSError as exc:
        raise fail(f"cannot write {output} ({exc.strerror}).") from None
    typer.echo(f"Wrote {output} ({pixels.shape[1]} x {pixels.shape[0]}).")


def _similar_lines(hits: list[Any]) -> None:
    for rank, hit in enumerate(hits, start=1):
        label = hit.label or "(unlabelled)"
        typer.echo(f"{rank:>2}. {hit.similarity:.3f}  {label:<16} {hit.dataset}/{hit.path}")


@image_app.command("index")
def image_index_command(
    directory: Annotated[Path, typer.Argument(help="Folder of reference images.")],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="CSV with path,label columns (paths relative to it)."),
    ] = None,
) -> None:
    """Encode a folder of images into the similar-image index (unchanged files are skipped)."""
    clinassist = service()
    with user_errors():
        report, total, encoder = clinassist.images.index_images(
            directory,
            labels,
            progress=lambda done, total: typer.echo(f"  {done}/{total} images", err=True),
        )
    typer.echo(
        f"Indexed {report.indexed} image(s), {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped; the index holds {total} ({encoder.name})."
    )
    if report.labels:
        typer.echo("Labels: " + ", ".join(f"{k} {v}" for k, v in sorted(report.labels.items())))
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    typer.echo(encoder.caveat)


@image_app.command("similar")
def image_similar_command(
    file: FileArgument,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many images.")] = 5,
    as_json: JsonOption = False,
) -> None:
    """The stored images that look most like FILE, with their labels and source."""
    clinassist = service()
    with user_errors():
        result = clinassist.images.similar(file, k=k)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    _similar_lines(result.similar)
    typer.echo(result.encoder_caveat)


@image_app.command("analyze")
def image_analyze_command(
    file: FileArgument,
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="Comma-separated findings to score zero-shot."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What the agent's analyze_image tool returns: safe metadata, flags, probes, similar."""
    clinassist = service()
    wanted = [label.strip() for label in (labels or "").split(",") if label.strip()]
    with user_errors():
        analysis = clinassist.images.analyze(file, labels=wanted)
    if as_json:
        typer.echo(analysis.model_dump_json())
        return
    meta = analysis.metadata
    typer.echo(f"{meta.source_type} {meta.modality or ''} {meta.columns} x {meta.rows}".strip())
    for flag in analysis.quality_flags:
        typer.echo(f"flag: {flag}")
    for probe in analysis.probes:
        scores = ", ".join(f"{label} {p:.2f}" for label, p in probe.probabilities.items())
        typer.echo(f"probe {probe.probe}: {scores} (test AUROC {probe.test_auroc})")
    if analysis.zero_shot is not None:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in analysis.zero_shot.scores.items())
        typer.echo(f"zero-shot ({analysis.zero_shot.encoder}): {scores}")
    _similar_lines(analysis.similar)
    typer.echo(analysis.encoder_caveat)
    typer.echo(analysis.notice)


@image_app.command("train-probe")
def image_train_probe_command(
    train: Annotated[Path, typer.Option("--train", help="Folder of labelled images.")],
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="CSV path,label[,split]; default: labels.csv in --train."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Probe name; default: the folder name.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a linear probe on the frozen encoder; report test AUROC with a 95% bootstrap CI."""
    clinassist = service()
    labels_csv = labels or train / "labels.csv"
    if not labels_csv.is_file():
        raise fail(f"no labels file at {labels_csv} (give --labels CSV).")
    with user_errors():
        probe, saved = clinassist.images.train_probe(train, labels_csv, name=name)
    if as_json:
        typer.echo(json.dumps({"path": str(saved), **probe.metrics.model_dump()}))
        return
    m = probe.metrics
    typer.echo(f"Probe {probe.name} on {probe.encoder} saved to {saved}")
    typer.echo(f"  train / valid / test images: {m.n_train} / {m.n_valid} / {m.n_test}")
    typer.echo(f"  test AUROC {m.test_auroc}; majority-class baseline {m.majority_auroc:.3f}")
    typer.echo(f"  test accuracy {m.test_accuracy:.3f}; majority {m.majority_accuracy:.3f}")
    typer.echo(clinassist.images.research_notice())


@image_app.command("probes")
def image_probes_command() -> None:
    """Saved probes, their encoder, training data and measured AUROC."""
    clinassist = service()
    with user_errors():
        probes = clinassist.images.probes()
    if not probes:
        typer.echo("No probes yet: clinassist image train-probe --train DIR.")
    for probe in probes:
        typer.echo(
            f"{probe.name}  encoder {probe.encoder}  classes {', '.join(probe.classes)}  "
            f"test AUROC {probe.metrics.test_auroc}  data {probe.dataset} "
            f"(license: {(probe.license or 'not stated')[:80]})"
        )
