"""The evaluation helpers without a model: intervals, sampling, prompts within their budget."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent.settings import Settings
from evaluation.qa import (
    SUBSETS,
    answer_schema,
    context_block,
    load_mirage,
    mirage_file,
    sample,
)
from evaluation.report import EvalDataMissing, Proportion, git_commit, wilson_interval
from evaluation.retrieval import evaluate_retrieval
from knowledge.embedding import Embedder
from knowledge.types import Passage


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    p = Proportion(3, 4).as_json()
    assert p["value"] == 0.75 and p["ci95"][0] < 0.75 < p["ci95"][1]


def test_mirage_sample_is_seeded_per_subset_and_answers_are_letters() -> None:
    if not mirage_file().is_file():
        pytest.skip("../shared/eval/mirage is not present")
    data = load_mirage(mirage_file())
    assert set(data) == set(SUBSETS) and all(data.values())
    first = sample(data["medqa"], 5, seed=0)
    assert [q.id for q in first] == [q.id for q in sample(data["medqa"], 5, seed=0)]
    assert [q.id for q in first] != [q.id for q in sample(data["medqa"], 5, seed=1)]
    for questions in data.values():
        assert all(q.answer in q.options for q in questions[:50])
    schema = answer_schema(list(data["bioasq"][0].options))
    assert schema["properties"]["answer"]["enum"] == ["A", "B"]


def test_context_block_stays_within_its_budget() -> None:
    passage = Passage(
        id="p",
        text="Title -- Section\n" + "word " * 2000,
        title="Title",
        section="Section",
        url=None,
        updated=None,
        license=None,
        corpus="c",
        source="s",
        doc_id="d",
    )
    block = context_block([passage, passage, passage], 1000)
    assert 0 < len(block) <= 1000 and block.startswith("[1] Title: word")
    assert context_block([passage], 50) == ""


def test_missing_eval_data_is_a_user_error(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dirs=[])
    with pytest.raises(EvalDataMissing, match="PubMedQA file is not at"):
        evaluate_retrieval(settings, embedder, path=tmp_path / "absent.json")


def test_git_commit_names_the_checkout_and_says_when_it_is_dirty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a repository made here, so that it is checked the same in any checkout (or none): the
    commit's first 12 hex digits, `-dirty` once a tracked file changes (not for an untracked
    one), and None outside git."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above it
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    checkout = tmp_path / "checkout"
    checkout.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org",
             *args],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    (checkout / "notes.txt").write_text("one\n")
    git("add", "notes.txt")
    git("commit", "-q", "-m", "one")
    commit = git_commit(checkout)
    assert commit is not None and len(commit) == 12 and git("rev-parse", "HEAD").startswith(commit)
    (checkout / "scratch.txt").write_text("untracked\n")
    assert git_commit(checkout) == commit
    (checkout / "notes.txt").write_text("two\n")
    assert git_commit(checkout) == f"{commit}-dirty"
    outside = tmp_path / "not-a-checkout"
    outside.mkdir()
    assert git_commit(outside) is None
