"""The evaluation helpers without a model: intervals, sampling, prompts within their budget."""

from __future__ import annotations

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


def test_git_commit_names_the_checkout() -> None:
    commit = git_commit()
    assert commit is None or len(commit.removesuffix("-dirty")) == 12
