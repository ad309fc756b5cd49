"""`clinassist pacs ...` against a real PACS (Debian's Orthanc with DICOMweb, started by the
test session): a planted patient's studies listed, analysed, and the findings written back as a
DICOM SR into the same study; the planted identity in no file clinassist writes; a PACS that is
down, a study that does not exist and a refused login each one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import highdicom as hd
import pydicom
import pytest

from agent.images import Images
from tests.conftest import SHARED
from tests.pacs import PLANTED, Orthanc, canaries, plant_study
from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
SAMPLES = SHARED / "images" / "dicom-samples"
REFERENCE = SHARED / "images" / "cxr-sample-fullres"


def pacs_env(orthanc: Orthanc, **extra: str) -> dict[str, str]:
    return {
        "CLINASSIST_DICOMWEB_URL": orthanc.dicomweb_url,
        "CLINASSIST_DICOMWEB_AUTH_FILE": str(orthanc.auth_file),
        **extra,
    }


def test_a_planted_study_is_listed_analysed_and_reported_back_with_no_identity_kept(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    # a CT and an MR image, and the highdicom SR sample (no image: left out, said so)
    study_uid, instances = plant_study(
        orthanc,
        [SAMPLES / "CT_small.dcm", SAMPLES / "MR_small.dcm", SAMPLES / "SR_measurement_report.dcm"],
        accession="ACCPACS1001",
    )
    env = pacs_env(orthanc)
    # reference images, so that the report carries similar-image references
    indexed = run("image", "index", str(REFERENCE), data_dir=data_dir, **env)
    assert indexed.returncode == 0, indexed.stderr

    listed = run(
        "pacs", "studies", "--accession", "ACCPACS1001", "--json", data_dir=data_dir, **env
    )
    assert listed.returncode == 0, listed.stderr
    [study] = json.loads(listed.stdout)
    # the clinician picks the study by what identifies it: shown, on stdout only
    assert study["study_uid"] == study_uid
    assert study["patient_name"] == PLANTED["PatientName"]
    assert study["patient_id"] == PLANTED["PatientID"]
    assert sorted(study["modalities"]) == ["CT", "MR", "SR"]
    everything = run("pacs", "studies", "--json", data_dir=data_dir, **env)
    assert study_uid in {s["study_uid"] for s in json.loads(everything.stdout)}
    by_modality = run("pacs", "studies", "--modality", "MR", "--json", data_dir=data_dir, **env)
    assert study_uid in {s["study_uid"] for s in json.loads(by_modality.stdout)}

    series_before = orthanc.series_modalities(study_uid)
    analyzed = run("pacs", "analyze", study_uid, "--write-sr", "--json", data_dir=data_dir, **env)
    assert analyzed.returncode == 0, analyzed.stderr
    result = json.loads(analyzed.stdout)
    assert sorted(result["modalities"]) == ["CT", "MR"]
    assert {image["metadata"]["modality"] for image in result["images"]} == {"CT", "MR"}
    assert all(image["similar"] for image in result["images"])  # the reference index answered
    assert any("SR series was left out" in note for note in result["notes"])
    report = result["structured_report"]
    assert report is not None

    # the SR is in the original study, of the original patient, in the PACS (QIDO)
    assert orthanc.series_modalities(study_uid) == sorted([*series_before, "SR"])
    sr = retrieve_report(orthanc, study_uid, report["sop_instance_uid"])
    assert sr.StudyInstanceUID == study_uid
    assert str(sr.PatientName) == PLANTED["PatientName"]
    assert sr.SOPClassUID == COMPREHENSIVE_SR
    texts = [item.TextValue for item in walk(sr) if item.ValueType == "TEXT"]
    assert Images.research_notice() in texts
    assert sum(t.startswith("Similar reference image:") for t in texts) >= 2
    referenced = {
        item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for group in sr.ContentSequence
        if group.ValueType == "CONTAINER"
        for item in group.ContentSequence
        if item.ValueType == "IMAGE"
    }
    assert referenced == set(instances[:2])  # the CT and the MR images, not the SR sample

    # the study can be opened by its accession number too, and a second report is a new series
    again = run("pacs", "analyze", "ACCPACS1001", "--json", data_dir=data_dir, **env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["structured_report"] is None

    # nothing identifying was written by clinassist: not the planted values, not the UIDs
    needles = canaries("ACCPACS1001", study_uid, *instances)
    written = {p: p.read_bytes().lower() for p in data_dir.rglob("*") if p.is_file()}
    assert written, "clinassist wrote nothing: the check would prove nothing"
    for needle in needles:
        leaked = [str(p) for p, data in written.items() if needle.lower().encode() in data]
        assert not leaked, f"{needle} was written to {leaked}"
    # the analysis shown holds no planted value either (it is de-identified metadata)
    for needle in canaries():
        assert needle.lower() not in analyzed.stdout.lower(), needle


def walk(dataset: pydicom.Dataset) -> list[pydicom.Dataset]:
    """Every content item of an SR, depth first."""
    items = []
    for item in dataset.get("ContentSequence", []):
        items += [item, *walk(item)]
    return items


def retrieve_report(orthanc: Orthanc, study_uid: str, sop_instance_uid: str) -> pydicom.Dataset:
    """The stored SR, read back from the PACS and parsed by highdicom (a round trip)."""
    import io

    with orthanc.client() as client:
        [found] = client.post(
            "/tools/find", json={"Level": "Instance", "Query": {"SOPInstanceUID": sop_instance_uid}}
        ).json()
        raw = client.get(f"/instances/{found}/file").content
    dataset = pydicom.dcmread(io.BytesIO(raw))
    assert dataset.StudyInstanceUID == study_uid
    return hd.sr.ComprehensiveSR.from_dataset(dataset)


def test_a_pacs_that_is_down_a_missing_study_and_a_refused_login_are_one_sentence_each(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    down = run(
        "pacs", "studies", data_dir=data_dir, CLINASSIST_DICOMWEB_URL="http://127.0.0.1:9/dicom-web"
    )
    assert_one_sentence_error(down)
    assert "does not answer" in down.stderr

    missing = run(
        "pacs", "analyze", "1.2.826.0.1.3680043.99.1", data_dir=data_dir, **pacs_env(orthanc)
    )
    assert_one_sentence_error(missing)
    assert "no study with that study UID" in missing.stderr

    refused = run(
        "pacs", "studies", data_dir=data_dir, CLINASSIST_DICOMWEB_URL=orthanc.dicomweb_url
    )
    assert_one_sentence_error(refused)
    assert "HTTP 401" in refused.stderr

    wrong = tmp_path / "wrong-auth"
    wrong.write_text("clinassist:not-the-password\n", encoding="utf-8")
    refused_again = run(
        "pacs",
        "studies",
        data_dir=data_dir,
        CLINASSIST_DICOMWEB_URL=orthanc.dicomweb_url,
        CLINASSIST_DICOMWEB_AUTH_FILE=str(wrong),
    )
    assert_one_sentence_error(refused_again)
    assert "HTTP 401" in refused_again.stderr and "not-the-password" not in refused_again.stderr

    unconfigured = run("pacs", "studies", data_dir=data_dir)
    assert_one_sentence_error(unconfigured)
    assert "CLINASSIST_DICOMWEB_URL" in unconfigured.stderr
