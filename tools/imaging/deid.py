"""De-identification of DICOM datasets, before pixels or tags reach anything else.

The attribute handling follows the DICOM PS3.15 Basic Application Level Confidentiality Profile
through dicognito (maintained, MIT): names, IDs, addresses, institutions and physicians are
replaced, dates shifted, UIDs remapped consistently for one installation (a secret seed under
the data dir). Private tags are removed. Files whose Burned In Annotation is YES or absent are
flagged: their pixels may show identity, and nothing here claims they are clean.

Only `SafeMetadata` (modality, body part, view, a scrubbed study description, sizes, spacing)
is handed to the agent, the logs and the UI. The study description is the one free-text
attribute kept, and only while it reads as one (a short label such as "CT CHEST W CONTRAST"):
anyone who can edit a header could otherwise write instructions to the model there.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

IDENTIFYING_TEXT_KEYWORDS = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "AccessionNumber",
    "PatientBirthDate",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "InstitutionName",
    "InstitutionAddress",
    "StationName",
    "StudyID",
)


class BurnedIn(Enum):
    NO = "no"
    YES = "yes"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SafeMetadata:
    """What may leave the imaging layer about a DICOM file."""

    modality: str | None
    body_part: str | None
    view_position: str | None
    study_description: str | None
    rows: int
    columns: int
    frames: int
    pixel_spacing_mm: tuple[float, float] | None
    photometric: str
    burned_in_annotation: BurnedIn
    warnings: tuple[str, ...] = field(default_factory=tuple)


def installation_seed(data_dir: Path) -> str:
    """A random secret per installation: the same UID maps to the same new UID here only."""
    path = data_dir / "secrets" / "deid-seed"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _identifying_strings(dataset: Any) -> list[str]:
    values: list[str] = []
    for keyword in IDENTIFYING_TEXT_KEYWORDS:
        value = dataset.get(keyword)
        if value in (None, ""):
            continue
        text = str(value)
        values.append(text)
        values += [part for part in re.split(r"[\^\s,]+", text) if len(part) >= 3]
    return values


MAX_DESCRIPTION_WORDS = 12
# Words a study description has no use for and an instruction to a model needs.
_NOT_A_DESCRIPTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|instructions?|prompts?|assistant|reply|respond|answer|say|"
    r"print|output|repeat|reveal|call|invoke|execute|tool|function|you|your|please|must)\b"
    r"|\b(?:system|developer|user)\s*:|[<>{}|`\\]|://",
    re.IGNORECASE,
)


def reads_as_description(text: str) -> bool:
    """A short label addressed to no one: no markup, links, hidden characters or words only an
    instruction to a model would need."""
    normal = unicodedata.normalize("NFKC", text)
    if any(unicodedata.category(ch) in ("Cf", "Cc") for ch in normal):
        return False  # zero-width, bidirectional or control characters hide text
    return len(normal.split()) <= MAX_DESCRIPTION_WORDS and not _NOT_A_DESCRIPTION_RE.search(normal)


def scrub_text(text: str, identifying: list[str]) -> str:
    """Remove known identifying values, dates and long digit runs from free text."""
    for value in sorted(set(identifying), key=len, reverse=True):
        text = re.sub(re.escape(value), "[removed]", text, flags=re.I)
    text = re.sub(r"\b\d{4}[-/.]?\d{2}[-/.]?\d{2}\b", "[date]", text)
    text = re.sub(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b", "[date]", text)
    return re.sub(r"\d{5,}", "[number]", text)


def burned_in_state(dataset: Any) -> BurnedIn:
    value = str(dataset.get("BurnedInAnnotation", "")).strip().upper()
    if value == "NO":
        return BurnedIn.NO
    return BurnedIn.YES if value == "YES" else BurnedIn.UNKNOWN


def deidentify(dataset: Any, seed: str) -> tuple[BurnedIn, str | None]:
    """De-identify `dataset` in place; returns the burned-in state and a scrubbed description
    (read before the profile blanks or replaces the free-text attributes)."""
    from dicognito.anonymizer import Anonymizer

    identifying = _identifying_strings(dataset)
    description = dataset.get("StudyDescription") or dataset.get("SeriesDescription")
    if description and not reads_as_description(str(description)):
        description = None
    scrubbed = scrub_text(str(description), identifying).strip() if description else None
    burned = burned_in_state(dataset)
    dataset.remove_private_tags()
    Anonymizer(seed=seed).anonymize(dataset)
    for keyword in ("StudyDescription", "SeriesDescription", "ImageComments", "PatientComments"):
        if keyword in dataset:
            delattr(dataset, keyword)  # free text: only the scrubbed copy above survives
    return burned, scrubbed or None


def safe_metadata(
    dataset: Any,
    *,
    rows: int,
    columns: int,
    frames: int,
    pixel_spacing_mm: tuple[float, float] | None,
    photometric: str,
    burned_in: BurnedIn,
    description: str | None,
) -> SafeMetadata:
    warnings: list[str] = []
    if burned_in is not BurnedIn.NO:
        state = "says YES" if burned_in is BurnedIn.YES else "is not stated"
        warnings.append(
            f"Burned-in annotation {state}: the pixels may show patient identity; "
            "they are not cleaned."
        )

    def text(keyword: str) -> str | None:
        value = dataset.get(keyword)
        return str(value).strip() or None if value is not None else None

    return SafeMetadata(
        modality=text("Modality"),
        body_part=text("BodyPartExamined"),
        view_position=text("ViewPosition"),
        study_description=description,
        rows=rows,
        columns=columns,
        frames=frames,
        pixel_spacing_mm=pixel_spacing_mm,
        photometric=photometric,
        burned_in_annotation=burned_in,
        warnings=tuple(warnings),
    )
