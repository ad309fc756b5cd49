"""PHI canaries planted in every PS3.15 attribute class never leave the imaging layer."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pydicom
import pytest

from tests.conftest import SHARED
from tools.imaging.decode import read_image, render_frame, to_png
from tools.imaging.deid import BurnedIn, installation_seed, scrub_text

CANARIES = {
    "PatientName": "ZEBRAFINCH^QUENTIN",
    "PatientID": "MRN88231977",
    "OtherPatientIDs": "ALT55512345",
    "PatientBirthDate": "19410307",
    "PatientAddress": "17 Canary Wharf Lane",
    "PatientTelephoneNumbers": "555-0199-777",
    "InstitutionName": "St Canary Infirmary",
    "InstitutionAddress": "99 Songbird Road",
    "ReferringPhysicianName": "DRWARBLER^OTTO",
    "PerformingPhysicianName": "DRLINNET^IRIS",
    "OperatorsName": "TECHSISKIN^MAE",
    "AccessionNumber": "ACC7731904",
    "StationName": "CANARYCT01",
    "StudyID": "STUDY4418",
    "StudyDate": "20190423",
    "SeriesDate": "20190423",
    "AcquisitionDate": "20190423",
    "StudyInstanceUID": "1.2.826.0.1.3680043.99.4242.1",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.99.4242.2",
    "SOPInstanceUID": "1.2.826.0.1.3680043.99.4242.3",
}
PRIVATE_CANARY = "PRIVATE-ZEBRAFINCH-NOTE"


def planted(tmp_path: Path, burned_in: str | None) -> Path:
    source = SHARED / "images" / "dicom-samples" / "CT_small.dcm"
    if not source.exists():
        pytest.skip("../shared images are not present")
    dataset = pydicom.dcmread(source)
    for keyword, value in CANARIES.items():
        setattr(dataset, keyword, value)
    dataset.StudyDescription = "CT CHEST for ZEBRAFINCH QUENTIN MRN88231977 on 2019-04-23"
    dataset.ImageComments = "call Dr Warbler at 555-0199-777"
    block = dataset.private_block(0x0011, "CANARY CREATOR", create=True)
    block.add_new(0x01, "LO", PRIVATE_CANARY)
    if burned_in is not None:
        dataset.BurnedInAnnotation = burned_in
    elif "BurnedInAnnotation" in dataset:
        del dataset.BurnedInAnnotation
    path = tmp_path / "ZEBRAFINCH_QUENTIN.dcm"
    dataset.save_as(path)
    return path


def all_canaries() -> list[str]:
    parts = [v for v in CANARIES.values()] + [PRIVATE_CANARY, "ZEBRAFINCH", "QUENTIN", "Warbler"]
    return [p for p in parts if not p.isdigit()] + ["88231977", "19410307", "20190423"]


def test_no_canary_in_safe_metadata_dataset_or_png(tmp_path: Path) -> None:
    study = read_image(planted(tmp_path, burned_in="NO"), deid_seed="test-seed")
    assert study.safe is not None
    safe_text = json.dumps(asdict(study.safe), default=str)
    dataset_text = str(study.dataset) + repr(list(study.dataset.iterall()))
    png = to_png(render_frame(study))
    for canary in all_canaries():
        assert canary.lower() not in safe_text.lower(), canary
        assert canary.lower() not in dataset_text.lower(), canary
        assert canary.encode() not in png
    assert not any(element.tag.is_private for element in study.dataset.iterall())
    assert study.safe.modality == "CT"
    assert study.safe.study_description is not None
    assert study.safe.study_description.startswith("CT CHEST for [removed]")
    assert study.safe.burned_in_annotation is BurnedIn.NO and not study.safe.warnings


def test_uids_are_remapped_consistently_within_one_installation(tmp_path: Path) -> None:
    path = planted(tmp_path, burned_in="NO")
    seed = installation_seed(tmp_path / "data")
    assert seed == installation_seed(tmp_path / "data")
    first = read_image(path, deid_seed=seed).dataset
    second = read_image(path, deid_seed=seed).dataset
    other = read_image(path, deid_seed="another-installation").dataset
    assert first.StudyInstanceUID == second.StudyInstanceUID != CANARIES["StudyInstanceUID"]
    assert other.StudyInstanceUID != first.StudyInstanceUID


@pytest.mark.parametrize(("flag", "state"), [("YES", BurnedIn.YES), (None, BurnedIn.UNKNOWN)])
def test_burned_in_yes_or_unknown_is_flagged_not_claimed_clean(
    tmp_path: Path, flag: str | None, state: BurnedIn
) -> None:
    study = read_image(planted(tmp_path, burned_in=flag))
    assert study.safe is not None and study.safe.burned_in_annotation is state
    assert any("may show patient identity" in w for w in study.safe.warnings)


def test_scrub_text_removes_values_dates_and_numbers() -> None:
    text = scrub_text("Knee MRI Smith John 12/03/2021 ref 4456123", ["Smith", "John"])
    assert text == "Knee MRI [removed] [removed] [date] ref [number]"
