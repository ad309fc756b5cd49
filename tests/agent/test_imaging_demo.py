"""The imaging demo `clinassist serve` prepares (`Images.prepare_demo`): sample images indexed
with their dataset's licence, the demonstration probe trained once per encoder, a second run
that adds nothing, and missing folders that are notes, never errors.

On small copies of the shared sets (a few dozen images), so that it runs in seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.images import Images
from agent.settings import Settings, default_demo_probe_dir, default_image_sample_dirs
from tests.conftest import SHARED
from tests.tools.test_imaging_similar import cxr_subset, needs_shared
from tools.imaging.probe import load_probes, probes_dir

DICOM = SHARED / "images" / "dicom-samples"


@pytest.fixture
def sample_sets(tmp_path: Path) -> tuple[Path, Path]:
    """A labelled CXR set (8 images per split) and a DICOM folder with one image and one SR."""
    needs_shared()
    cxr = cxr_subset(tmp_path / "cxr-set", {"train": 8, "valid": 8, "test": 8})
    dicom = tmp_path / "dicom-set"
    dicom.mkdir()
    for name in ("CT_small.dcm", "SR_measurement_report.dcm", "SOURCE.txt"):
        shutil.copy(DICOM / name, dicom / name)
    return cxr, dicom


def test_prepare_demo_indexes_trains_once_and_a_second_run_adds_nothing(
    tmp_path: Path, sample_sets: tuple[Path, Path]
) -> None:
    cxr, dicom = sample_sets
    settings = Settings(
        data_dir=tmp_path / "data", corpus_dirs=[], image_sample_dirs=[dicom, cxr],
        demo_probe_dir=cxr,
    )  # fmt: skip
    images = Images(settings)
    seen: dict[str, int] = {}

    first = images.prepare_demo(lambda what, done, total: seen.__setitem__(what, total))

    assert [s.dataset for s in first.sample_sets] == ["dicom-set", "cxr"]
    assert first.indexed == 25 and first.unchanged == 0 and first.index_size == 25
    [skipped] = first.skipped  # the SR holds no image: a note, the rest is indexed
    assert skipped.startswith("dicom-set/SR_measurement_report.dcm: ")
    assert first.sample_sets[1].labelled and not first.sample_sets[0].labelled
    assert first.probe is not None and first.probe.name == "cxr" and not first.kept
    assert first.probe.license and "NIH" in first.probe.license
    assert first.probe.source_url == "https://github.com/dinbe0527/kcr2019d1"
    assert seen == {"index dicom-set": 2, "index cxr": 24, "probe cxr": 24}
    assert [p.name for p in load_probes(settings.data_dir)] == ["cxr"]
    assert first.notes == ()
    # the Images tab's similar images carry the dataset's licence and source
    query = sorted((cxr / "valid").rglob("*.png"))[0]
    [hit] = images.similar(query, k=1).similar
    assert hit.dataset == "cxr" and hit.label in ("normal", "abnormal")
    assert hit.license and "NIH" in hit.license and hit.source_url
    [probe_output] = images.analyze(DICOM / "CT_small.dcm").probes
    assert probe_output.license == first.probe.license and probe_output.test_auroc

    trained_at = (probes_dir(settings.data_dir) / "cxr.json").stat().st_mtime_ns
    second = images.prepare_demo()
    assert second.indexed == 0 and second.unchanged == 25 and second.index_size == 25
    assert second.probe is None and second.kept == ("cxr",)
    assert (probes_dir(settings.data_dir) / "cxr.json").stat().st_mtime_ns == trained_at


def test_missing_folders_are_a_clean_no_op_with_notes(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", corpus_dirs=[],
        image_sample_dirs=[tmp_path / "gone"], demo_probe_dir=tmp_path / "also-gone",
    )  # fmt: skip
    demo = Images(settings).prepare_demo()
    assert demo.sample_sets == () and demo.probe is None and demo.index_size is None
    assert len(demo.notes) == 2
    assert "gone is not a folder" in demo.notes[0] and "no demonstration probe" in demo.notes[1]
    assert not settings.data_dir.exists()  # nothing opened, nothing written


def test_a_bad_labels_file_or_a_damaged_probe_is_a_note(
    tmp_path: Path, sample_sets: tuple[Path, Path]
) -> None:
    cxr, _ = sample_sets
    (cxr / "labels.csv").write_text("file,finding\nx.png,normal\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    probes_dir(data_dir).mkdir(parents=True)
    (probes_dir(data_dir) / "old.json").write_text("{not json", encoding="utf-8")
    settings = Settings(
        data_dir=data_dir, corpus_dirs=[], image_sample_dirs=[cxr], demo_probe_dir=cxr
    )
    demo = Images(settings).prepare_demo()
    assert demo.sample_sets == () and demo.probe is None
    assert "cxr was not indexed" in demo.notes[0] and "path and label" in demo.notes[0]
    assert "probe was not trained" in demo.notes[1] and "damaged" in demo.notes[1]


def test_the_settings_default_to_the_shared_sets_and_empty_turns_them_off(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = (Path(__file__).resolve().parents[3] / "shared" / "images").resolve()
    sets = ("dicom-samples", "cxr-sample-fullres", "cxr-nih1000-64px")
    if not all((images / name).is_dir() for name in sets):
        pytest.skip("../shared/images is not present")
    settings = Settings()
    assert settings.image_sample_dirs == default_image_sample_dirs()
    assert settings.demo_probe_dir == default_demo_probe_dir()
    assert settings.image_sample_dirs == [images / name for name in sets]
    assert settings.demo_probe_dir == images / "cxr-nih1000-64px"
    monkeypatch.setenv("CLINASSIST_IMAGE_SAMPLE_DIRS", "")
    monkeypatch.setenv("CLINASSIST_DEMO_PROBE_DIR", "")
    off = Settings()
    assert off.image_sample_dirs == [] and off.demo_probe_dir is None
