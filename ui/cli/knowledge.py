"""`clinassist ingest`, `search` and `kb stats`: the guideline knowledge base, no LLM."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.service import EmptyKnowledgeBase, KnowledgeError, Passage, SearchMode, Service
from ui.cli.common import (
    JsonOption,
    fail,
    ingest_with_progress,
    print_ingest_report,
    service,
    user_errors,
)

kb_app = typer.Typer(help="Knowledge base information.", no_args_is_help=True)


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
    clinassist = service()
    with user_errors():
        report = ingest_with_progress(
            clinassist, list(paths), corpus=corpus, rebuild=rebuild, prune=prune
        )
    print_ingest_report(report)
    if not report.anything_usable:
        raise fail("nothing could be ingested from the given paths.", code=1)


def passage_json(passage: Passage) -> dict[str, Any]:
    data = asdict(passage)
    data["citation"] = passage.citation()
    return data


def _print_passages(passages: list[Passage]) -> None:
    for number, passage in enumerate(passages, start=1):
        heading = passage.title + (f" — {passage.section}" if passage.section else "")
        typer.echo(f"[{number}] {heading}")
        details = [d for d in (passage.url, passage.updated and f"updated {passage.updated}") if d]
        details.append(f"license: {passage.effective_license or 'not stated'}")
        details.append(f"score {passage.score:.4f}")
        typer.echo("    " + " · ".join(details))
        body = " ".join(passage.body.split())
        typer.echo("    " + (body[:600] + ("…" if len(body) > 600 else "")))
        typer.echo("")


def _run_batch(clinassist: Service, batch: Path, k: int | None, filters: dict[str, Any]) -> None:
    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the batch file {batch} ({type(exc).__name__}).") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item_id: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                raise ValueError("needs an object with a string 'query'")
            item_id = item.get("id", number)
            passages = clinassist.search(item["query"], k=k, **filters)
            out: dict[str, Any] = {"id": item_id, "passages": [passage_json(p) for p in passages]}
        except EmptyKnowledgeBase:
            raise
        except (ValueError, KnowledgeError) as exc:
            out = {"id": item_id if item_id is not None else number, "error": str(exc)}
        typer.echo(json.dumps(out, ensure_ascii=False))


def search_command(
    query: Annotated[str | None, typer.Argument(help="Question or keywords.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", min=1, max=200, help="Passages.")] = None,
    as_json: JsonOption = False,
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
    if (query is None) == (batch is None):
        raise fail("give either a QUERY or --batch FILE.jsonl.")
    try:
        search_mode = SearchMode(mode)
    except ValueError:
        raise fail("--mode must be hybrid, dense or bm25.") from None
    clinassist = service()
    filters = {"corpus": corpus or (), "source": source or (), "doc": doc or ()}
    with user_errors():
        if batch is not None:
            _run_batch(clinassist, batch, k, filters)
            return
        assert query is not None
        passages = clinassist.search(query, k=k, mode=search_mode, **filters)
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


@kb_app.command("stats")
def kb_stats_command(as_json: JsonOption = False) -> None:
    """Chunks per corpus, store location, embedder, BM25 index state."""
    clinassist = service()
    with user_errors():
        stats = clinassist.stats()
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
