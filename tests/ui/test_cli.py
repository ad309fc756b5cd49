"""The `clinassist` console script as an engineer runs it: real subprocesses, real models."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.corpus import write_bad_files, write_corpus
from tests.serving import CLI, cli_environment, serve_subprocess

pytestmark = pytest.mark.slow


def run(
    *args: str, data_dir: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=cli_environment(data_dir, **env),
        cwd=data_dir.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("clinassist:")]
    assert len(lines) == 1, result.stderr


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the test corpus ingested through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(root / "guides")
    write_bad_files(root / "guides")
    result = run("ingest", str(corpus), data_dir=root / "data")
    assert result.returncode == 0, result.stderr
    assert "7 new or changed" in result.stdout and "6 skipped" in result.stdout
    assert "skipped guides/binary.txt: the file is binary" in result.stdout
    return root / "data"


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


def test_invalid_setting_is_one_sentence(tmp_path: Path) -> None:
    result = run("kb", "stats", data_dir=tmp_path / "data", CLINASSIST_RETRIEVAL_K="many")
    assert_one_sentence_error(result)
    assert "retrieval_k" in result.stderr


def test_serve_ingests_then_serves_the_app_on_loopback(tmp_path: Path) -> None:
    from gradio_client import Client

    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    env = {"CLINASSIST_CORPUS_DIRS": str(corpus)}
    with serve_subprocess(tmp_path / "data", "--no-engine", env=env) as served:
        client = Client(served.url, verbose=False)
        passages = client.predict("venlafaxine hot flashes", 3, "", api_name="/search")
        assert passages[0]["title"].startswith("Hot Flashes and Night Sweats")
        answer = client.predict("Which drugs reduce hot flashes?", "", "", api_name="/ask")
        assert answer["mode"] == "extractive" and answer["citations"]
        # a follow-up in the same session is searched with the conversation's topic
        follow = client.predict(
            "And what about their side effects?", answer["session_id"], "", api_name="/ask"
        )
        [part] = follow["coverage"]
        assert part["searched"] == (
            "Which drugs reduce hot flashes? And what about their side effects?"
        )
        assert {c["title"] for c in follow["citations"]} <= {
            c["title"] for c in answer["citations"]
        }
        with pytest.raises(Exception, match="Type a question"):  # one sentence, no traceback
            client.predict("  ", "", "", api_name="/ask")
    output = served.output()
    assert served.process.returncode == 0  # SIGTERM, as a service manager sends, stops cleanly
    assert "6 new or changed" in output and served.url.removeprefix("http://") in output
    assert "Traceback" not in output


def test_serve_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    result = run("serve", "--no-engine", "--host", "0.0.0.0", data_dir=tmp_path / "data")
    assert_one_sentence_error(result)
    assert "without --auth" in result.stderr
    weak = run("serve", "--no-engine", "--auth", "nurse:short", data_dir=tmp_path / "data")
    assert_one_sentence_error(weak)


def test_image_info_and_render_show_no_identity(tmp_path: Path) -> None:
    from tests.tools.test_imaging_deid import all_canaries, planted

    dicom = planted(tmp_path, burned_in=None)
    info = run("image", "info", str(dicom), "--json", data_dir=tmp_path / "data")
    assert info.returncode == 0, info.stderr
    payload = json.loads(info.stdout)
    assert payload["modality"] == "CT" and payload["burned_in_annotation"] == "unknown"
    assert payload["warnings"]
    out = tmp_path / "out.png"
    rendered = run(
        "image",
        "render",
        str(dicom),
        "-o",
        str(out),
        "--window",
        "lung",
        data_dir=tmp_path / "data",
    )
    assert rendered.returncode == 0, rendered.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    everything = info.stdout + info.stderr + rendered.stdout + rendered.stderr
    for canary in all_canaries():
        assert canary.lower() not in everything.lower(), canary
        assert canary.encode() not in out.read_bytes()


def test_image_without_pixels_is_one_sentence(tmp_path: Path) -> None:
    from tests.conftest import SHARED

    report = SHARED / "images" / "dicom-samples" / "SR_measurement_report.dcm"
    if not report.exists():
        pytest.skip("../shared images are not present")
    result = run("image", "info", str(report), data_dir=tmp_path / "data")
    assert_one_sentence_error(result)
    assert "structured report with no image" in result.stderr


def test_image_index_similar_probe_and_analyze_from_the_command_line(tmp_path: Path) -> None:
    from tests.tools.test_imaging_similar import cxr_subset

    root = cxr_subset(tmp_path, {"train": 8, "valid": 8, "test": 8})
    data = tmp_path / "data"
    empty = run("image", "similar", str(next(root.rglob("*.png"))), data_dir=data)
    assert_one_sentence_error(empty)
    assert "image index is empty" in empty.stderr

    indexed = run("image", "index", str(root), "--labels", str(root / "labels.csv"), data_dir=data)
    assert indexed.returncode == 0, indexed.stderr
    assert "Indexed 24 image(s), 0 unchanged, 0 skipped" in indexed.stdout
    assert "not a medical model" in indexed.stdout

    query = root / "test" / "query.png"
    query.write_bytes(next((root / "valid").rglob("*.png")).read_bytes())
    similar = run("image", "similar", str(query), "-k", "2", "--json", data_dir=data)
    assert similar.returncode == 0, similar.stderr
    hits = json.loads(similar.stdout)["similar"]
    assert hits[0]["similarity"] > 0.999 and hits[0]["path"].startswith("valid/")
    assert len(hits) == 2 and hits[0]["dataset"] == "cxr" and hits[0]["label"]

    trained = run("image", "train-probe", "--train", str(root), "--json", data_dir=data)
    assert trained.returncode == 0, trained.stderr
    metrics = json.loads(trained.stdout)
    assert metrics["n_test"] == 8 and 0 <= metrics["test_auroc"]["value"] <= 1
    listed = run("image", "probes", data_dir=data)
    assert listed.returncode == 0 and "cxr" in listed.stdout and "test AUROC" in listed.stdout

    analyzed = run("image", "analyze", str(query), "--json", data_dir=data)
    assert analyzed.returncode == 0, analyzed.stderr
    analysis = json.loads(analyzed.stdout)
    assert analysis["probes"][0]["notice"] == "Research use only, not a diagnostic device."


def test_image_index_with_a_bad_labels_file_is_one_sentence(tmp_path: Path) -> None:
    from tests.tools.test_imaging_similar import cxr_subset

    root = cxr_subset(tmp_path, {"train": 4})
    (root / "labels.csv").write_text("path,label\nno/such/file.png,normal\n")
    result = run(
        "image",
        "index",
        str(root),
        "--labels",
        str(root / "labels.csv"),
        data_dir=tmp_path / "data",
    )
    assert_one_sentence_error(result)
    assert "not files" in result.stderr
    missing = run(
        "image", "train-probe", "--train", str(tmp_path / "nowhere"), data_dir=tmp_path / "data"
    )
    assert_one_sentence_error(missing)


def test_ask_plan_and_audit_export_from_the_command_line(ingested: Path, tmp_path: Path) -> None:
    asked = run("ask", "Which drugs reduce hot flashes?", "--json", data_dir=ingested)
    assert asked.returncode == 0, asked.stderr
    payload = json.loads(asked.stdout)
    assert set(payload) >= {"answer", "citations", "flags", "tool_calls", "abstained"}
    assert payload["mode"] == "extractive" and payload["citations"]
    assert {"marker", "passage_id", "title", "url"} <= set(payload["citations"][0])

    case = tmp_path / "case.txt"
    case.write_text(
        "ZEBRAFINCH, 70-year-old man, 80 kg, 175 cm, history of hot flashes. "
        "Meds: simvastatin 40 mg, clarithromycin 500 mg. Creatinine 1.1 mg/dL."
    )
    planned = run("plan", "--case", str(case), "--json", data_dir=ingested)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    interactions = [f for f in plan["flags"] if f["kind"] == "interaction"]
    assert [sorted(f["drugs"]) for f in interactions] == [["clarithromycin", "simvastatin"]]
    assert all(o["citations"] for p in plan["problems"] for o in p["options"])

    exported = run("audit", "export", data_dir=ingested)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert rows[-1]["session"] == payload["session_id"]
    assert "ZEBRAFINCH" not in exported.stdout and "hot flashes?" not in exported.stdout

    no_case = run("plan", "--case", str(tmp_path / "missing.txt"), data_dir=ingested)
    assert_one_sentence_error(no_case)
    empty_question = run("ask", "   ", data_dir=ingested)
    assert_one_sentence_error(empty_question)


def test_case_prints_what_was_read_from_an_ehr_export(tmp_path: Path) -> None:
    from tests.agent.case.test_fhir_reader import expected_by_fhir_rules, synthea_files

    record = synthea_files()[1]
    expected = expected_by_fhir_rules(json.loads(record.read_text(encoding="utf-8")))
    shown = run("case", str(record), "--json", data_dir=tmp_path / "data")
    assert shown.returncode == 0, shown.stderr
    reading = json.loads(shown.stdout)
    assert {m["code"] for m in reading["medications"]} == expected["active_meds"]
    assert {p["code"] for p in reading["problems"]} == expected["active"]
    creatinine = next(lab for lab in reading["labs"] if lab["name"] == "creatinine")
    assert creatinine["date"] == expected["creatinine"][1]
    assert creatinine["source"].startswith("Observation/")
    text = run("case", str(record), data_dir=tmp_path / "data")
    assert text.returncode == 0 and "What was read from this record" in text.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle", "entry": [')
    assert_one_sentence_error(run("case", str(broken), data_dir=tmp_path / "data"))
