"""A real PACS for the tests: Debian's Orthanc with its DICOMweb plugin, on a free loopback
port, with a temporary storage folder and HTTP basic auth, stopped afterwards (no pytest here).

`make test` installs the packages (orthanc, orthanc-dicomweb, dicom3tools) as it installs
chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.engine import free_port

ORTHANC = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
DCIODVFY = shutil.which("dciodvfy")
USER, PASSWORD = "clinassist", "pacs-test-password"


@dataclass(frozen=True)
class Orthanc:
    root: str  # http://127.0.0.1:PORT
    auth_file: Path  # USER:PASSWORD, as a hospital's deployment would hold it
    storage: Path

    @property
    def dicomweb_url(self) -> str:
        return f"{self.root}/dicom-web"

    def client(self) -> httpx.Client:
        """Orthanc's own REST API, authenticated (to upload and inspect, beside DICOMweb)."""
        return httpx.Client(base_url=self.root, auth=(USER, PASSWORD), timeout=30)

    def upload(self, dicom: bytes) -> None:
        with self.client() as client:
            client.post("/instances", content=dicom).raise_for_status()

    def series_modalities(self, study_uid: str) -> list[str]:
        """The modality of each series in the study, read through Orthanc's REST API."""
        with self.client() as client:
            found = client.post(
                "/tools/find",
                json={"Level": "Series", "Query": {"StudyInstanceUID": study_uid}, "Expand": True},
            ).json()
        return sorted(item["MainDicomTags"].get("Modality", "") for item in found)


def installed() -> bool:
    return ORTHANC.exists() and DICOMWEB_PLUGIN.exists()


@contextmanager
def running_orthanc(folder: Path) -> Iterator[Orthanc]:
    """Start Orthanc in `folder`; yield once its REST API answers; stop it afterwards."""
    port = free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True)
    auth_file = folder / "pacs-auth"
    auth_file.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    config = {
        "Name": "clinassist-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Host": f"127.0.0.1:{port}"},
    }
    config_file = folder / "orthanc.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen(
        [str(ORTHANC), str(config_file)], stdout=log, stderr=subprocess.STDOUT, cwd=folder
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited: {(folder / 'orthanc.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{root}/system", auth=(USER, PASSWORD), timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Orthanc did not answer within 60 s.")
            time.sleep(0.1)
        yield Orthanc(root=root, auth_file=auth_file, storage=storage)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# Identity planted in every stored sample: each must stay out of clinassist's files, audit
# trail and prompts (the listing shows it to the clinician, and nothing else may).
PLANTED = {
    "PatientName": "KESTRELPACS^JANET",
    "PatientID": "PACSID730091",
    "PatientBirthDate": "19480517",
    "OtherPatientIDs": "OTHERPACSID55",
    "InstitutionName": "WRENPACS INFIRMARY",
    "ReferringPhysicianName": "FINCHPACS^ROBERT",
    "StationName": "PACSSTATION7",
    "StudyID": "PACSSTUDY42",
}
PLANTED_DESCRIPTION = "CHEST KESTRELPACS"  # a description that names the patient


def canaries(*extra: str) -> list[str]:
    """The planted values as they could appear in text: name parts, IDs, dates."""
    values = [part for value in PLANTED.values() for part in value.split("^")]
    return [*values, *extra]


def plant_study(
    orthanc: Orthanc, samples: list[Path], *, accession: str, description: str | None = None
) -> tuple[str, list[str]]:
    """Store `samples` as one new study of the planted patient (new UIDs, so that tests never
    meet each other's studies); returns the study UID and the SOP instance UIDs."""
    import io

    import pydicom
    from pydicom.uid import generate_uid

    study_uid = generate_uid()
    instances = []
    for number, sample in enumerate(samples, start=1):
        dataset = pydicom.dcmread(sample)
        for keyword, value in PLANTED.items():
            setattr(dataset, keyword, value)
        dataset.AccessionNumber = accession
        dataset.StudyDescription = description or PLANTED_DESCRIPTION
        dataset.StudyInstanceUID = study_uid
        dataset.SeriesInstanceUID = generate_uid()
        dataset.SeriesNumber = number
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        orthanc.upload(buffer.getvalue())
        instances.append(str(dataset.SOPInstanceUID))
    return str(study_uid), instances
