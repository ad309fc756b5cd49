"""`clinassist image ...` (ui/cli/images.py): no identity shown, one-sentence errors, the
index, similar images and probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


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
