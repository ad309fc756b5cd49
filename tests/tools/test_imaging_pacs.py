"""The DICOMweb client (tools/imaging/pacs.py) against the test session's Orthanc: a bearer
token read from its file before each request (a rotated token is picked up), credentials files
that cannot be used, and a study looked up by UID or by accession number."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import SHARED
from tests.netproxy import CuttableProxy
from tests.pacs import Orthanc, plant_study
from tools.imaging.config import PacsConfig
from tools.imaging.pacs import Pacs, PacsError


def test_a_bearer_token_is_sent_and_a_rotated_one_picked_up(
    orthanc: Orthanc, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("first-token-AAA\n", encoding="utf-8")
    root = urlparse(orthanc.root)
    with CuttableProxy(root.hostname or "127.0.0.1", root.port or 80, record=True) as proxy:
        pacs = Pacs(PacsConfig(url=f"{proxy.url}/dicom-web", token_file=token))
        # Orthanc knows only basic auth: it refuses the token, which is what a 401 looks like
        with pytest.raises(PacsError, match="HTTP 401"):
            pacs.studies()
        token.write_text("second-token-BBB\n", encoding="utf-8")
        with pytest.raises(PacsError, match="HTTP 401") as refused:
            pacs.studies()
        sent = bytes(proxy.requests).decode("latin-1")
    assert "Authorization: Bearer first-token-AAA\r\n" in sent
    assert "Authorization: Bearer second-token-BBB\r\n" in sent
    assert "second-token-BBB" not in str(refused.value)  # the secret is never echoed


def test_credentials_files_that_cannot_be_used_are_one_sentence(tmp_path: Path) -> None:
    missing = PacsConfig(url="http://127.0.0.1:9/dicom-web", auth_file=tmp_path / "absent")
    with pytest.raises(PacsError, match="cannot be read"):
        Pacs(missing)
    malformed = tmp_path / "auth"
    malformed.write_text("no-colon-here\n", encoding="utf-8")
    with pytest.raises(PacsError, match="is not USER:PASSWORD"):
        Pacs(PacsConfig(url="http://127.0.0.1:9/dicom-web", auth_file=malformed))
    empty = tmp_path / "token"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(PacsError, match="is empty"):
        Pacs(PacsConfig(url="http://127.0.0.1:9/dicom-web", token_file=empty))


def test_a_study_is_found_by_uid_or_accession_and_ambiguity_is_said(orthanc: Orthanc) -> None:
    sample = SHARED / "images" / "dicom-samples" / "CT_small.dcm"
    first, _ = plant_study(orthanc, [sample], accession="ACCTWICE")
    second, _ = plant_study(orthanc, [sample], accession="ACCTWICE")
    pacs = Pacs(PacsConfig(url=orthanc.dicomweb_url, auth_file=orthanc.auth_file))
    assert pacs.find_study(first).study_uid == first
    assert pacs.find_study(f" {second} ").study_uid == second
    with pytest.raises(PacsError, match="2 studies share that accession number"):
        pacs.find_study("ACCTWICE")
    with pytest.raises(PacsError, match="no study with that accession number"):
        pacs.find_study("ACC-NONE")
    with pytest.raises(PacsError, match="Give a study UID"):
        pacs.find_study("  ")
    images, notes = pacs.retrieve_images(first)
    assert len(images) == 1 and notes == []
    assert "PixelData" in images[0].dataset and "PixelData" not in images[0].header
    with pytest.raises(PacsError, match="no image series with that UID"):
        pacs.retrieve_images(first, series_uid="1.2.3.4")
