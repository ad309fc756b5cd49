"""`clinassist ingest`, `search` and `kb stats` (ui/cli/knowledge.py): real subprocesses, real
models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import write_bad_files
from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


def test_search_json_has_passages_with_provenance(ingested: Path) -> None:
    result = run("search", "gabapentin for hot flashes", "-k", "3", "--json", data_dir=ingested)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert len(payload["passages"]) == 3
    top = payload["passages"][0]
    for key in ("id", "title", "section", "url", "score", "text", "updated", "license"):
        assert key in top
    assert top["source"] == "hot-flashes.md"
    assert "Gabapentin" in top["text"]


def test_search_text_output_and_filters(ingested: Path) -> None:
    result = run("search", "screening", "--source", "colorectal.txt", data_dir=ingested)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] Colorectal Cancer Screening")
    assert "Hypertension" not in result.stdout


def test_batch_search_one_json_line_per_query(ingested: Path) -> None:
    batch = ingested.parent / "queries.jsonl"
    batch.write_text(
        '{"id": "q1", "query": "low-dose aspirin bleeding"}\n'
        "\n"
        '{"id": "q2", "query": "ambulatory blood pressure"}\n'
        "not json\n"
        '{"id": "q4", "query": "   "}\n'
    )
    result = run("search", "--batch", str(batch), "--json", "-k", "2", data_dir=ingested)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", 4, "q4"]
    assert lines[0]["passages"][0]["source"] == "aspirin.md"
    assert lines[1]["passages"][0]["source"] == "hypertension.html"
    assert all(
        set(p) >= {"id", "title", "section", "url", "score", "text"}
        for line in lines[:2]
        for p in line["passages"]
    )
    assert "error" in lines[2] and "error" in lines[3]


def test_kb_stats_json(ingested: Path) -> None:
    result = run("kb", "stats", "--json", data_dir=ingested)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["corpora"][0]["name"] == "guides"
    assert stats["corpora"][0]["files"] == 7
    assert stats["lexical_index"] == "current"


def test_reingest_reports_everything_unchanged(ingested: Path) -> None:
    result = run("ingest", str(ingested.parent / "guides"), data_dir=ingested)
    assert result.returncode == 0, result.stderr
    assert "0 new or changed, 7 unchanged" in result.stdout
    assert "Chunks: 0 added" in result.stdout


def test_search_on_empty_knowledge_base_is_one_sentence(tmp_path: Path) -> None:
    result = run("search", "aspirin", data_dir=tmp_path / "empty")
    assert_one_sentence_error(result)
    assert "knowledge base is empty" in result.stderr


def test_ingest_of_nothing_usable_exits_non_zero(tmp_path: Path) -> None:
    write_bad_files(tmp_path / "bad")
    result = run("ingest", str(tmp_path / "bad"), data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert "nothing could be ingested" in result.stderr
    assert "skipped bad/empty.md: the file is empty" in result.stdout


def test_unreachable_chroma_server_is_one_sentence(tmp_path: Path) -> None:
    result = run(
        "search", "aspirin", data_dir=tmp_path / "data", CLINASSIST_CHROMA_URL="http://127.0.0.1:9"
    )
    assert_one_sentence_error(result)
    assert "Cannot reach the Chroma server" in result.stderr
