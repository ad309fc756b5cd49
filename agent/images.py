"""The images a clinician opens outside a chat turn (the Images tab, `clinassist image ...`):
decoded and de-identified with this installation's seed, rendered, analysed, indexed, probed;
and the imaging demo `clinassist serve` prepares on a first run."""

from __future__ import annotations

import dataclasses
import functools
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.settings import Settings
from tools.imaging.decode import ImageStudy, WindowPreset

if TYPE_CHECKING:
    from tools.imaging.analysis import ImageAnalysis, SimilarImages
    from tools.imaging.probe import LinearProbe
    from tools.imaging.similar import ImageIndexReport


# (what, done, total): "index <dataset>" or "probe <name>", counted in images
DemoProgress = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class SampleSetReport:
    """One folder of sample images brought into the similar-image index."""

    dataset: str
    folder: Path
    labelled: bool  # its labels.csv labelled the images
    indexed: int
    unchanged: int
    skipped: tuple[str, ...]  # "path: reason", e.g. a DICOM SR, which holds no image


@dataclasses.dataclass(frozen=True)
class DemoPreparation:
    """What preparing the imaging demo did. `index_size` and `encoder` are None when no folder
    was indexed (the index was not opened); `probe` is the probe trained by this run, `kept`
    the names of the encoder's probes that were already saved (nothing was trained)."""

    sample_sets: tuple[SampleSetReport, ...] = ()
    index_size: int | None = None
    encoder: str | None = None
    probe: LinearProbe | None = None
    kept: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def indexed(self) -> int:
        return sum(s.indexed for s in self.sample_sets)

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.sample_sets)

    @property
    def skipped(self) -> list[str]:
        return [f"{s.dataset}/{line}" for s in self.sample_sets for line in s.skipped]


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
        self,
        train: Path,
        labels_csv: Path,
        *,
        name: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        reuse_index: bool = False,
    ) -> tuple[LinearProbe, Path]:
        """A linear probe on the frozen encoder, saved under the data dir; with `reuse_index`,
        images the similar-image index holds are not encoded again (it opens the index)."""
        from tools.imaging.probe import probes_dir, train_probe

        config = self.settings.imaging
        probe = train_probe(
            train,
            labels_csv,
            config.encoder(),
            name=name,
            deid_seed=config.deid_seed(),
            progress=progress,
            image_index=config.index() if reuse_index else None,
        )
        return probe, probe.save(probes_dir(self.settings.data_dir))

    def prepare_demo(self, progress: DemoProgress | None = None) -> DemoPreparation:
        """The imaging demo a first `clinassist serve` prepares: every folder of
        `image_sample_dirs` in the similar-image index (labelled by its labels.csv when it has
        one), and a probe trained on `demo_probe_dir` when the encoder has no probe yet.
        Unchanged images are skipped and the probe is trained once, so a second run costs
        seconds. A folder that is missing, or whose images or labels cannot be used, is a note,
        never an error: the app serves without it."""
        from tools.errors import ToolError

        notes: list[str] = []
        sample_sets: list[SampleSetReport] = []
        index_size: int | None = None
        encoder: str | None = None
        for folder in self.settings.image_sample_dirs:
            if not folder.is_dir():
                notes.append(f"{folder} is not a folder: no sample images from it.")
                continue
            labels_csv = folder / "labels.csv" if (folder / "labels.csv").is_file() else None
            tell = None if progress is None else functools.partial(progress, f"index {folder.name}")
            try:
                report, index_size, info = self.index_images(folder, labels_csv, progress=tell)
            except ToolError as exc:
                notes.append(f"{folder.name} was not indexed: {exc}")
                continue
            encoder = info.name
            skipped = tuple(f"{s.path}: {s.reason}" for s in report.skipped)
            sample_sets.append(
                SampleSetReport(
                    folder.name,
                    folder,
                    labels_csv is not None,
                    report.indexed,
                    report.unchanged,
                    skipped,
                )
            )
        probe: LinearProbe | None = None
        kept: tuple[str, ...] = ()
        try:
            probe, kept = self._demo_probe(notes, progress)
        except ToolError as exc:
            notes.append(f"The demonstration probe was not trained: {exc}")
        return DemoPreparation(tuple(sample_sets), index_size, encoder, probe, kept, tuple(notes))

    def _demo_probe(
        self, notes: list[str], progress: DemoProgress | None
    ) -> tuple[LinearProbe | None, tuple[str, ...]]:
        """The demonstration probe trained, or the encoder's probes already saved."""
        from tools.imaging.probe import load_probes, probes_dir

        folder = self.settings.demo_probe_dir
        if folder is None:
            return None, ()
        labels_csv = folder / "labels.csv"
        if not labels_csv.is_file():
            what = "has no labels.csv" if folder.is_dir() else "is not a folder"
            notes.append(f"{folder} {what}: no demonstration probe is trained.")
            return None, ()
        encoder = self.settings.imaging.encoder().info.name
        saved = load_probes(self.settings.data_dir, encoder)
        if saved:
            return None, tuple(p.name for p in saved)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.resolve().name).strip("-._")[:48] or "demo"
        if (probes_dir(self.settings.data_dir) / f"{name}.json").exists():
            # a probe of that name for another encoder: keep it, and name this one apart
            name = f"{name}-{uuid.uuid5(uuid.NAMESPACE_URL, encoder).hex[:8]}"
        tell = None if progress is None else functools.partial(progress, f"probe {name}")
        probe, _ = self.train_probe(folder, labels_csv, name=name, progress=tell, reuse_index=True)
        return probe, ()

    def probes(self) -> list[LinearProbe]:
        from tools.imaging.probe import load_probes

        return load_probes(self.settings.data_dir)

    @staticmethod
    def research_notice() -> str:
        from tools.imaging.probe import RESEARCH_NOTICE

        return RESEARCH_NOTICE
