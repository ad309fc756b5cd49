"""Studies from the hospital's PACS (the Images tab, the chat, `clinassist pacs ...`, MCP):
listed, retrieved and de-identified on arrival, analysed as an upload is, and the findings
written back into the same study as a DICOM SR.

What identifies a patient (names, IDs, accession numbers, the original UIDs) stays in memory
for one call: the listing is shown to the clinician, and the original headers are read only to
place the SR in the original study. Nothing of it is logged, stored in the data dir, audited
or put in a prompt; the images are de-identified with this installation's seed, as uploads
are, before anything reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError
from agent.settings import Settings, app_version

if TYPE_CHECKING:
    from tools.imaging.analysis import ImageAnalysis
    from tools.imaging.decode import ImageStudy
    from tools.imaging.pacs import Pacs, RetrievedImage, StudySummary


@dataclass(frozen=True)
class WrittenReport:
    """The SR stored into the study: its own new UIDs (they identify no one)."""

    series_uid: str
    sop_instance_uid: str
    images: int

    def as_json(self) -> dict[str, Any]:
        return {
            "series_uid": self.series_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "images": self.images,
        }


@dataclass(frozen=True)
class StudyAnalysis:
    """What `image analyze` gives for each analysed image of a PACS study (de-identified)."""

    analyses: list[ImageAnalysis]
    pngs: list[bytes] = field(repr=False)
    notes: list[str]
    report: WrittenReport | None = None

    @property
    def modalities(self) -> list[str]:
        return list(
            dict.fromkeys(a.metadata.modality for a in self.analyses if a.metadata.modality)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "modalities": self.modalities,
            "images": [a.model_dump(mode="json") for a in self.analyses],
            "notes": self.notes,
            "structured_report": None if self.report is None else self.report.as_json(),
        }


class PacsStudies:
    """The configured PACS for one process (opened when first used)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pacs: Pacs | None = None

    @property
    def configured(self) -> bool:
        return self.settings.pacs is not None

    def client(self) -> Pacs:
        config = self.settings.pacs
        if config is None:
            raise AgentError(
                "No PACS is configured: set CLINASSIST_DICOMWEB_URL to its DICOMweb root."
            )
        if self._pacs is None:
            from tools.imaging.pacs import Pacs

            self._pacs = Pacs(config)
        return self._pacs

    def studies(
        self,
        *,
        patient_id: str | None = None,
        accession: str | None = None,
        modality: str | None = None,
    ) -> list[StudySummary]:
        """The studies a clinician picks from (identifying values included: show, never keep)."""
        return self.client().studies(patient_id=patient_id, accession=accession, modality=modality)

    def _retrieve(
        self, study: str, series_uid: str | None
    ) -> tuple[list[RetrievedImage], list[ImageStudy], list[str]]:
        """The study's representative images: as sent (for the write-back) and de-identified."""
        from tools.imaging.decode import read_dataset

        pacs = self.client()
        summary = pacs.find_study(study)
        retrieved, notes = pacs.retrieve_images(summary.study_uid, series_uid=series_uid)
        seed = self.settings.imaging.deid_seed()
        studies = [read_dataset(image.dataset, deid_seed=seed) for image in retrieved]
        return retrieved, studies, notes

    def open(self, study: str, *, series_uid: str | None = None) -> list[ImageStudy]:
        """A study (by UID or accession number) as de-identified images, for a chat turn."""
        return self._retrieve(study, series_uid)[1]

    def analyze(
        self, study: str, *, series_uid: str | None = None, write_sr: bool = False
    ) -> StudyAnalysis:
        """Analyse a study's representative images (by study UID or accession number); with
        `write_sr`, store the findings as a Comprehensive SR into the same study."""
        from tools.imaging.analysis import analyze_study

        retrieved, studies, notes = self._retrieve(study, series_uid)
        analyses, pngs = [], []
        for position, image in enumerate(studies, start=1):
            analysis, png = analyze_study(f"image-{position}", image, self.settings.imaging)
            analyses.append(analysis)
            pngs.append(png)
        report = self._write_back(analyses, retrieved) if write_sr else None
        return StudyAnalysis(analyses=analyses, pngs=pngs, notes=notes, report=report)

    def _write_back(
        self, analyses: list[ImageAnalysis], retrieved: list[RetrievedImage]
    ) -> WrittenReport:
        from tools.imaging.report import findings_report

        report = findings_report(
            analyses, [image.header for image in retrieved], version=app_version()
        )
        self.client().store([report])
        return WrittenReport(
            series_uid=str(report.SeriesInstanceUID),
            sop_instance_uid=str(report.SOPInstanceUID),
            images=len(analyses),
        )
