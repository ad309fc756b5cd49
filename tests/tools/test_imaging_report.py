"""The findings report (tools/imaging/report.py): a Comprehensive SR in the original study that
carries what was run, the probe outputs, similar references, the research-use statement and the
source images; read back by highdicom and checked by `dciodvfy` (Debian's dicom3tools)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.pacs import DCIODVFY
from tools.errors import ToolError
from tools.imaging.analysis import SimilarImageResult, analyze_study
from tools.imaging.config import ImagingConfig
from tools.imaging.decode import read_dataset
from tools.imaging.probe import RESEARCH_NOTICE, ProbeOutput
from tools.imaging.report import findings_report

PROBE = ProbeOutput(
    probe="cxr-demo",
    probabilities={"normal": 0.31, "effusion": 0.69},
    top_label="effusion",
    low_confidence=False,
    test_auroc="0.74 (95% CI 0.66-0.81)",
    trained_on="NIH ChestX-ray14 sample (CC0)",
)
SIMILAR = SimilarImageResult(
    label="effusion",
    similarity=0.91,
    dataset="cxr-nih1000-64px",
    path="valid/00001.png",
    license="CC0 1.0",
    source_url="https://nihcc.app.box.com/v/ChestXray-NIHCC",
)


def walk(dataset: pydicom.Dataset) -> list[pydicom.Dataset]:
    items = []
    for item in dataset.get("ContentSequence", []):
        items += [item, *walk(item)]
    return items


@pytest.fixture
def report(tmp_path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    """The SR of one analysed CT (with a probe output and a similar image added), and the
    original header it was placed by."""
    source = get_testdata_file("CT_small.dcm", download=False)
    assert isinstance(source, str)
    original = pydicom.dcmread(source)
    original.PatientName = "ORIGINAL^PATIENT"
    header = copy.deepcopy(original)
    del header.PixelData
    study = read_dataset(original, deid_seed="seed")  # de-identified in place
    analysis, _ = analyze_study("image-1", study, ImagingConfig(data_dir=tmp_path))
    analysis = analysis.model_copy(update={"probes": [PROBE], "similar": [SIMILAR]})
    return findings_report([analysis], [header], version="9.9.9"), header


def test_the_report_belongs_to_the_original_study_and_carries_the_findings(
    report: tuple[pydicom.Dataset, pydicom.Dataset], tmp_path: Path
) -> None:
    sr, header = report
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    read = hd.sr.ComprehensiveSR.from_dataset(pydicom.dcmread(path))  # the round trip
    assert read.StudyInstanceUID == header.StudyInstanceUID
    assert read.PatientID == header.PatientID and str(read.PatientName) == "ORIGINAL^PATIENT"
    assert read.SeriesInstanceUID != header.SeriesInstanceUID  # a series of its own
    texts = [item.TextValue for item in walk(read) if item.ValueType == "TEXT"]
    assert any("efficientnet" in t for t in texts) and "9.9.9" in texts  # what was run
    [finding] = [t for t in texts if t.startswith("Probe cxr-demo")]
    assert "effusion 0.69, normal 0.31" in finding and PROBE.test_auroc in finding
    [similar] = [t for t in texts if t.startswith("Similar reference image")]
    assert "cxr-nih1000-64px" in similar and "CC0 1.0" in similar
    assert RESEARCH_NOTICE in texts
    [image] = [item for item in walk(read) if item.ValueType == "IMAGE"]
    assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == header.SOPInstanceUID
    evidence = read.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == header.StudyInstanceUID


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (dicom3tools) is not installed")
def test_dciodvfy_finds_no_error_in_the_report(
    report: tuple[pydicom.Dataset, pydicom.Dataset], tmp_path: Path
) -> None:
    sr, _ = report
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    checked = subprocess.run([str(DCIODVFY), str(path)], capture_output=True, text=True, timeout=60)
    output = checked.stdout + checked.stderr
    assert "ComprehensiveSR" in output  # the premise: it recognised the IOD it checked
    assert not [line for line in output.splitlines() if line.startswith("Error")], output


def test_a_report_needs_one_analysis_per_source_image(
    report: tuple[pydicom.Dataset, pydicom.Dataset],
) -> None:
    _, header = report
    with pytest.raises(ToolError, match="one analysis per source image"):
        findings_report([], [header], version="9.9.9")
