"""The images a clinician opens outside a chat turn (the Images tab, `clinassist image ...`):
decoded and de-identified with this installation's seed, rendered, analysed, indexed, probed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.settings import Settings
from tools.imaging.decode import ImageStudy, WindowPreset

if TYPE_CHECKING:
    from tools.imaging.analysis import ImageAnalysis, SimilarImages
    from tools.imaging.probe import LinearProbe
    from tools.imaging.similar import ImageIndexReport


@dataclasses.dataclass(frozen=True)
class ImageView:
    png: bytes
    analysis: Any  # tools.imaging.analysis.ImageAnalysis
    frames: int
    frame: int


class Images:
    """Image services over the settings' imaging configuration and data dir."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read_image(self, path: Path) -> ImageStudy:
        """A DICOM, PNG or JPEG file decoded and de-identified with this installation's seed."""
        from tools.imaging.decode import read_image
        from tools.imaging.deid import installation_seed

        return read_image(path, deid_seed=installation_seed(self.settings.data_dir))

    def render(
        self, study: ImageStudy, *, preset: WindowPreset | None = None, frame: int | None = None
    ) -> Any:
        """8-bit pixels as a viewer shows them; a multi-frame study without `frame` is a
        montage."""
        from tools.imaging.decode import render_frame, render_montage

        if frame is None and study.frames > 1:
            return render_montage(study, preset)
        return render_frame(study, frame or 0, preset)

    @staticmethod
    def png(pixels: Any) -> bytes:
        from tools.imaging.decode import to_png

        return to_png(pixels)

    def view_image(
        self, path: Path, *, preset: str | None = None, frame: int | None = None
    ) -> ImageView:
        """A de-identified image for the images tab: rendered frame, analysis, frame count."""
        return self.view_study(self.read_image(path), preset=preset, frame=frame)

    def view_study(
        self, study: ImageStudy, *, preset: str | None = None, frame: int | None = None
    ) -> ImageView:
        """`view_image` of an image already decoded and de-identified (`read_image`)."""
        from tools.imaging.analysis import analyze_study

        window = WindowPreset[preset.upper()] if preset else None
        index = study.frames // 2 if frame is None else max(0, min(frame, study.frames - 1))
        analysis, _ = analyze_study("image-1", study, self.settings.imaging)
        pixels = self.render(study, preset=window, frame=index)
        return ImageView(self.png(pixels), analysis, study.frames, index)

    def index_images(
        self,
        directory: Path,
        labels_csv: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[ImageIndexReport, int, Any]:
        """Encode a folder into the similar-image index: the report, the index's size after,
        and the encoder's description."""
        from tools.imaging.similar import index_images

        config = self.settings.imaging
        encoder = config.encoder()
        report = index_images(
            directory,
            config.index(),
            encoder,
            labels_csv=labels_csv,
            deid_seed=config.deid_seed(),
            progress=progress,
        )
        return report, config.index().count(), encoder.info

    def similar(self, path: Path, *, k: int = 5) -> SimilarImages:
        from tools.imaging.analysis import similar_to_study

        return similar_to_study("image-1", self.read_image(path), self.settings.imaging, k=k)

    def analyze(self, path: Path, *, labels: Sequence[str] = ()) -> ImageAnalysis:
        """What the agent's analyze_image tool returns for one file."""
        from tools.imaging.analysis import analyze_study

        study = self.read_image(path)
        analysis, _ = analyze_study("image-1", study, self.settings.imaging, labels=list(labels))
        return analysis

    def train_probe(
        self, train: Path, labels_csv: Path, *, name: str | None = None
    ) -> tuple[LinearProbe, Path]:
        """A linear probe on the frozen encoder, saved under the data dir."""
        from tools.imaging.probe import probes_dir, train_probe

        config = self.settings.imaging
        probe = train_probe(
            train, labels_csv, config.encoder(), name=name, deid_seed=config.deid_seed()
        )
        return probe, probe.save(probes_dir(self.settings.data_dir))

    def probes(self) -> list[LinearProbe]:
        from tools.imaging.probe import load_probes

        return load_probes(self.settings.data_dir)

    @staticmethod
    def research_notice() -> str:
        from tools.imaging.probe import RESEARCH_NOTICE

        return RESEARCH_NOTICE
