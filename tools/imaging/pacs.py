"""The hospital's PACS over DICOMweb (`dicomweb-client`): studies listed (QIDO-RS), images
retrieved (WADO-RS), findings stored back (STOW-RS).

Identifying values (names, IDs, accession numbers, the original UIDs) come back from the PACS
for the clinician to pick a study, and stay in memory: this module logs nothing, and every
error it raises is one sentence that names neither a patient nor a UID, because errors reach
flags and flags reach the audit trail. Images are de-identified by the caller as soon as they
arrive (see `tools.imaging.decode.read_dataset`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.errors import ToolError
from tools.imaging.config import PacsConfig
from tools.imaging.decode import NO_IMAGE_MODALITIES

# dicomweb-client logs each request's URL (which holds UIDs and the accession number searched
# for) at debug and info level, and so does urllib3 under it, at debug level.
for _name in ("dicomweb_client", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

PIXEL_DATA = 0x7FE00010
MAX_STUDIES = 100  # a listing shows at most this many; narrow it with a filter
MAX_SERIES = 8  # image series analysed per study (one representative image each)
STUDY_FIELDS = (
    "StudyInstanceUID",
    "StudyDate",
    "StudyDescription",
    "ModalitiesInStudy",
    "PatientName",
    "PatientID",
    "AccessionNumber",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)


class PacsError(ToolError):
    """The PACS cannot be reached, refuses us, or lacks what was asked: one sentence."""


class StudySummary(BaseModel):
    """One study as the clinician picks it: identifying values included, to be shown only."""

    model_config = ConfigDict(frozen=True)

    study_uid: str
    date: str | None
    modalities: list[str]
    description: str | None
    patient_name: str | None
    patient_id: str | None
    accession: str | None
    series: int | None
    instances: int | None


@dataclass(frozen=True)
class RetrievedImage:
    """One image as the PACS sent it: the dataset (still identifying: de-identify a copy before
    anything reads it) and its header without pixels, kept in memory for the write-back."""

    dataset: Any
    header: Any


def _read_secret(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise PacsError(f"The PACS {what} file {path} cannot be read.") from None
    if not value:
        raise PacsError(f"The PACS {what} file {path} is empty.")
    return value


def _authenticate(session: Any, config: PacsConfig) -> None:
    """The credentials, read from their file: a bearer token (read again before each request,
    so that a rotated token is picked up) or USER:PASSWORD."""
    if config.token_file is not None:
        token = _read_secret(config.token_file, "token")
        session.headers["Authorization"] = f"Bearer {token}"
    elif config.auth_file is not None:
        user, sep, password = _read_secret(config.auth_file, "credentials").partition(":")
        if not sep or not user:
            raise PacsError(f"The PACS credentials file {config.auth_file} is not USER:PASSWORD.")
        session.auth = (user, password)


def _value(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or []
    return values[0] if values else None


def _text(value: Any) -> str | None:
    if isinstance(value, dict):  # a person name in DICOM JSON
        value = value.get("Alphabetic")
    return str(value) if value not in (None, "") else None


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _header_copy(dataset: Any) -> Any:
    """A deep copy of `dataset` without its pixel data (set aside while copying, so the pixel
    bytes are never copied)."""
    pixels = dataset.pop(PIXEL_DATA, None)
    try:
        return copy.deepcopy(dataset)
    finally:
        if pixels is not None:
            dataset[PIXEL_DATA] = pixels


class Pacs:
    """A DICOMweb client that turns every failure into a `PacsError` of one sentence."""

    def __init__(self, config: PacsConfig) -> None:
        from dicomweb_client.api import DICOMwebClient

        self.config = config
        self.url = config.url.rstrip("/")
        import requests

        self._session = requests.Session()
        _authenticate(self._session, config)
        self._client = DICOMwebClient(url=self.url, session=self._session, timeout=config.timeout_s)
        self._client.set_http_retry_params(retry=False)

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        import requests

        if self.config.token_file is not None:
            _authenticate(self._session, self.config)
        try:
            return function(*args, **kwargs)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            raise PacsError(self._refusal(what, status)) from None
        except (requests.ConnectionError, requests.Timeout):
            raise PacsError(f"The PACS at {self.url} does not answer.") from None
        except requests.RequestException as exc:
            raise PacsError(
                f"The PACS at {self.url} could not be asked ({type(exc).__name__})."
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PacsError(
                f"The PACS at {self.url} sent an answer that is not valid DICOMweb "
                f"({type(exc).__name__})."
            ) from None

    def _refusal(self, what: str, status: int) -> str:
        if status in (401, 403):
            return (
                f"The PACS at {self.url} refused clinassist's credentials (HTTP {status}): check "
                "dicomweb_auth_file or dicomweb_token_file."
            )
        if status == 404:
            return f"The PACS has no such {what}."
        return f"The PACS at {self.url} answered HTTP {status} when asked for the {what}."

    def studies(
        self,
        *,
        patient_id: str | None = None,
        accession: str | None = None,
        modality: str | None = None,
        study_uid: str | None = None,
        limit: int = MAX_STUDIES,
    ) -> list[StudySummary]:
        """Studies matching the filters (QIDO-RS), newest first."""
        filters = {
            key: value
            for key, value in (
                ("PatientID", patient_id),
                ("AccessionNumber", accession),
                ("ModalitiesInStudy", modality),
                ("StudyInstanceUID", study_uid),
            )
            if value
        }
        found = self._call(
            "studies",
            self._client.search_for_studies,
            search_filters=filters,
            fields=list(STUDY_FIELDS),
            limit=limit,
        )
        studies = []
        for item in found or []:
            uid = _value(item, "0020000D")
            if not uid:
                continue
            modalities = (item.get("00080061") or {}).get("Value") or []
            studies.append(
                StudySummary(
                    study_uid=str(uid),
                    date=_text(_value(item, "00080020")),
                    modalities=[str(m) for m in modalities],
                    description=_text(_value(item, "00081030")),
                    patient_name=_text(_value(item, "00100010")),
                    patient_id=_text(_value(item, "00100020")),
                    accession=_text(_value(item, "00080050")),
                    series=_count(_value(item, "00201206")),
                    instances=_count(_value(item, "00201208")),
                )
            )
        return sorted(studies, key=lambda s: s.date or "", reverse=True)

    def find_study(self, uid_or_accession: str) -> StudySummary:
        """The one study with this StudyInstanceUID or accession number."""
        key = uid_or_accession.strip()
        if not key:
            raise PacsError("Give a study UID or an accession number.")
        by_uid = all(part.isdigit() for part in key.split(".")) and "." in key
        found = self.studies(study_uid=key) if by_uid else self.studies(accession=key)
        if not found:
            what = "study UID" if by_uid else "accession number"
            raise PacsError(f"The PACS has no study with that {what}.")
        if len(found) > 1:
            raise PacsError(
                f"{len(found)} studies share that accession number: open one by its study UID."
            )
        return found[0]

    def retrieve_images(
        self, study_uid: str, *, series_uid: str | None = None, limit: int = MAX_SERIES
    ) -> tuple[list[RetrievedImage], list[str]]:
        """One representative image (the middle instance) of each image series of the study,
        or of the one series asked for (WADO-RS); and notes on the series left out."""
        series = self._call("study", self._client.search_for_series, study_instance_uid=study_uid)
        notes: list[str] = []
        chosen: list[tuple[str, str | None]] = []
        for item in series or []:
            uid = _value(item, "0020000E")
            modality = _text(_value(item, "00080060"))
            if not uid or (series_uid and uid != series_uid):
                continue
            if modality in NO_IMAGE_MODALITIES:
                notes.append(
                    f"The {modality} series was left out: it is {NO_IMAGE_MODALITIES[modality]}."
                )
                continue
            chosen.append((str(uid), modality))
        if series_uid and not chosen:
            raise PacsError("The study has no image series with that UID.")
        if len(chosen) > limit:
            notes.append(f"{len(chosen) - limit} more image series were not analysed.")
            chosen = chosen[:limit]
        images = []
        for uid, _ in chosen:
            instances = self._call(
                "series",
                self._client.search_for_instances,
                study_instance_uid=study_uid,
                series_instance_uid=uid,
                fields=["InstanceNumber"],
            )
            ordered = sorted(
                (item for item in instances or [] if _value(item, "00080018")),
                key=lambda item: _count(_value(item, "00200013")) or 0,
            )
            if not ordered:
                continue
            middle = ordered[len(ordered) // 2]
            dataset = self._call(
                "image",
                self._client.retrieve_instance,
                study_instance_uid=study_uid,
                series_instance_uid=uid,
                sop_instance_uid=str(_value(middle, "00080018")),
            )
            images.append(RetrievedImage(dataset=dataset, header=_header_copy(dataset)))
        if not images:
            raise PacsError("The study holds no image that can be analysed.")
        return images, notes

    def store(self, datasets: Sequence[Any]) -> None:
        """Store objects into the PACS (STOW-RS); a refusal is a `PacsError`."""
        result = self._call("store", self._client.store_instances, datasets=list(datasets))
        failed = result.get("FailedSOPSequence") if result is not None else None
        if failed:
            raise PacsError(f"The PACS refused {len(failed)} of the stored object(s).")
