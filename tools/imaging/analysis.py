"""`analyze_image` and `find_similar_images`: what the agent may know about an attached image.

The tools work on studies the agent's intake already decoded and de-identified, named by their
attachment id ("image-1"), so a model can never make them open a path. Their text output holds
only the safe metadata, quality flags, probe outputs (with the probe's measured AUROC and the
research-use notice) and similar images with labels and source; the rendered PNG travels as the
tool's artifact, for a multimodal model and the UI, never inside the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

import numpy as np
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import ToolError
from tools.imaging.config import ImagingConfig
from tools.imaging.decode import ImageStudy, SourceKind, render_frame, to_png
from tools.imaging.encoders import encoder_pixels
from tools.imaging.probe import RESEARCH_NOTICE, ProbeOutput, apply_probe, load_probes
from tools.imaging.similar import SimilarImage

LOW_RESOLUTION_PX = 256
LOW_CONTRAST_STD = 8.0
MAX_SIMILAR = 20


class SafeImageMetadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_type: str
    modality: str | None
    body_part: str | None
    view_position: str | None
    study_description: str | None
    rows: int
    columns: int
    frames: int
    pixel_spacing_mm: tuple[float, float] | None
    photometric: str
    burned_in_annotation: str


class SimilarImageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str | None
    similarity: float
    dataset: str
    path: str
    license: str | None
    source_url: str | None

    @classmethod
    def of(cls, hit: SimilarImage) -> SimilarImageResult:
        return cls(
            label=hit.label,
            similarity=hit.similarity,
            dataset=hit.dataset,
            path=hit.path,
            license=hit.license,
            source_url=hit.source_url,
        )


class SimilarImages(BaseModel):
    model_config = ConfigDict(frozen=True)

    image: str
    encoder: str
    encoder_caveat: str
    similar: list[SimilarImageResult]


class ZeroShotScores(BaseModel):
    """Label scores from an encoder with a text tower (CLIP: labels compete; SigLIP: each alone)."""

    model_config = ConfigDict(frozen=True)

    encoder: str
    scores: dict[str, float]
    notice: str = RESEARCH_NOTICE


class ImageAnalysis(BaseModel):
    """The agent-facing summary of one image; every field is safe to show and to log."""

    model_config = ConfigDict(frozen=True)

    image: str
    metadata: SafeImageMetadata
    quality_flags: list[str]
    encoder: str
    encoder_caveat: str
    probes: list[ProbeOutput]
    zero_shot: ZeroShotScores | None = None
    similar: list[SimilarImageResult]
    notice: str = RESEARCH_NOTICE

    def summary(self) -> str:
        """One paragraph a clinician reads: the de-identified metadata, quality flags, probe
        outputs with their test AUROC, similar reference images, the research-use notice."""
        meta = self.metadata
        described = ", ".join(
            x
            for x in (
                meta.modality,
                meta.body_part,
                meta.view_position,
                meta.study_description,
                f"{meta.columns} x {meta.rows} pixels",
                f"{meta.frames} frames" if meta.frames > 1 else None,
            )
            if x
        )
        text = [f"**{self.image}** ({described})."]
        if self.quality_flags:
            text.append("Quality: " + " ".join(self.quality_flags))
        for probe in self.probes:
            caution = " (low confidence)" if probe.low_confidence else ""
            text.append(
                f"Probe {probe.probe}: {probe.outputs_text()}{caution}; "
                f"test AUROC {probe.test_auroc}."
            )
        if not self.probes:
            text.append(f"No probe is trained for the {self.encoder} encoder.")
        if self.similar:
            hits = "; ".join(
                f"{hit.label or 'unlabelled'} ({hit.similarity:.2f}, {hit.dataset})"
                for hit in self.similar
            )
            text.append(f"Similar reference images: {hits}. {self.encoder_caveat}")
        else:
            text.append("No similar-image index has been built.")
        text.append(self.notice)
        return " ".join(text)


def safe_image_metadata(study: ImageStudy) -> SafeImageMetadata:
    safe = study.safe
    return SafeImageMetadata(
        source_type=study.kind.value,
        modality=safe.modality,
        body_part=safe.body_part,
        view_position=safe.view_position,
        study_description=safe.study_description,
        rows=safe.rows,
        columns=safe.columns,
        frames=safe.frames,
        pixel_spacing_mm=safe.pixel_spacing_mm,
        photometric=safe.photometric,
        burned_in_annotation=safe.burned_in_annotation.value,
    )


def quality_flags(study: ImageStudy) -> list[str]:
    """Plain-language cautions about what the image can and cannot support."""
    flags = list(study.safe.warnings)
    # `warnings` already carries the burned-in annotation caution (see deid.safe_metadata).
    if study.kind is SourceKind.DICOM and study.pixel_spacing_mm is None:
        flags.append("No pixel spacing: distances and sizes cannot be measured.")
    if min(study.rows, study.columns) < LOW_RESOLUTION_PX:
        flags.append(
            f"Low resolution ({study.columns} x {study.rows} pixels): fine detail is not visible."
        )
    if study.frames > 1:
        flags.append(f"{study.frames} frames: the middle frame was analysed.")
    if float(np.std(render_frame(study, study.frames // 2))) < LOW_CONTRAST_STD:
        flags.append("Very low contrast: the image may be blank or badly windowed.")
    return list(dict.fromkeys(flags))


def analyze_study(
    name: str,
    study: ImageStudy,
    config: ImagingConfig,
    *,
    k: int = 5,
    labels: Sequence[str] = (),
) -> tuple[ImageAnalysis, bytes]:
    """The analysis and the rendered PNG (middle frame, the file's own window); `labels` are
    scored zero-shot when the encoder has a text tower (an ImageError otherwise)."""
    encoder = config.encoder()
    pixels = encoder_pixels(study)
    vector = encoder.encode([pixels])[0]
    probes = [
        apply_probe(probe, vector) for probe in load_probes(config.data_dir, encoder.info.name)
    ]
    hits = config.index().similar(vector, k, empty_ok=True)  # no similar images when empty
    similar = [SimilarImageResult.of(hit) for hit in hits]
    zero_shot = None
    if labels:
        scores = encoder.zero_shot([pixels], list(labels))[0]
        zero_shot = ZeroShotScores(
            encoder=encoder.info.name,
            scores={label: round(float(v), 4) for label, v in zip(labels, scores, strict=True)},
        )
    analysis = ImageAnalysis(
        image=name,
        zero_shot=zero_shot,
        metadata=safe_image_metadata(study),
        quality_flags=quality_flags(study),
        encoder=encoder.info.name,
        encoder_caveat=encoder.info.caveat,
        probes=probes,
        similar=similar,
    )
    return analysis, to_png(render_frame(study, study.frames // 2))


def similar_to_study(
    name: str, study: ImageStudy, config: ImagingConfig, *, k: int = 5
) -> SimilarImages:
    encoder = config.encoder()
    vector = encoder.encode([encoder_pixels(study)])[0]
    hits = config.index().similar(vector, k)
    return SimilarImages(
        image=name,
        encoder=encoder.info.name,
        encoder_caveat=encoder.info.caveat,
        similar=[SimilarImageResult.of(hit) for hit in hits],
    )


# --------------------------------------------------------------------------- LangChain tools


# The findings a caller may ask to score zero-shot: one type for every `analyze_image`
# argument model (the agent's, over an attachment id; the MCP server's, over a file).
ZeroShotLabels = Annotated[
    list[Annotated[str, Field(max_length=60)]],
    Field(
        default_factory=list,
        max_length=10,
        description="Optional findings to score zero-shot (only encoders with a text tower).",
    ),
]


class AnalyzeImageArgs(BaseModel):
    image: str = Field(
        description="Attachment id of an image the clinician attached, e.g. image-1.",
        max_length=40,
    )
    labels: ZeroShotLabels


class FindSimilarArgs(BaseModel):
    image: str = Field(description="Attachment id, e.g. image-1.", max_length=40)
    k: int = Field(default=5, ge=1, le=MAX_SIMILAR, description="How many similar images.")


def imaging_tools(attachments: Mapping[str, ImageStudy], config: ImagingConfig) -> list[BaseTool]:
    """`analyze_image` and `find_similar_images` bound to one session's attachments."""

    def study_for(image: str) -> ImageStudy:
        study = attachments.get(image)
        if study is None:
            known = ", ".join(sorted(attachments)) or "none"
            raise ToolException(f"No attached image is called {image!r} (attached: {known}).")
        return study

    def analyze_image(image: str, labels: list[str] | None = None) -> tuple[str, dict[str, object]]:
        try:
            analysis, png = analyze_study(image, study_for(image), config, labels=labels or ())
        except ToolError as exc:
            raise ToolException(str(exc)) from None
        return analysis.model_dump_json(), {"analysis": analysis, "png": png}

    def find_similar_images(image: str, k: int = 5) -> str:
        try:
            result = similar_to_study(image, study_for(image), config, k=k)
            return result.model_dump_json()
        except ToolError as exc:
            raise ToolException(str(exc)) from None

    return [
        StructuredTool.from_function(
            analyze_image,
            name="analyze_image",
            description=(
                "Describe an attached image: de-identified metadata, quality flags, research "
                "probe outputs with their measured AUROC, and similar reference images."
            ),
            args_schema=AnalyzeImageArgs,
            response_format="content_and_artifact",
            handle_tool_error=True,
        ),
        StructuredTool.from_function(
            find_similar_images,
            name="find_similar_images",
            description="Find reference images that look like an attached image, with labels.",
            args_schema=FindSimilarArgs,
            handle_tool_error=True,
        ),
    ]
