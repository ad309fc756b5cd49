"""Findings back to the PACS as a DICOM Comprehensive SR (`highdicom`), where radiologists look.

The report belongs to the original study and patient (highdicom copies the patient and study
modules from the original headers, the evidence), and carries what clinassist ran (encoder,
probes and their test AUROC), the probe outputs as text findings, the similar reference images
with their dataset and licence, the research-use statement and a reference to each source
image. It is built in memory for one STOW-RS write and never stored by clinassist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.errors import ToolError
from tools.imaging.analysis import ImageAnalysis
from tools.imaging.probe import RESEARCH_NOTICE

SR_SERIES_NUMBER = 990
SR_SERIES_DESCRIPTION = "clinassist image analysis (research use)"
MANUFACTURER = "clinassist"


def probe_findings(analysis: ImageAnalysis) -> list[str]:
    """One text finding per probe: its outputs, most likely first, with its test AUROC."""
    findings = []
    for probe in analysis.probes:
        caution = " Low confidence." if probe.low_confidence else ""
        findings.append(
            f"Probe {probe.probe} (trained on {probe.trained_on}): {probe.outputs_text()} "
            f"(test AUROC {probe.test_auroc}).{caution}"
        )
    return findings


def similar_references(analysis: ImageAnalysis) -> list[str]:
    return [
        f"{hit.label or 'unlabelled'}, similarity {hit.similarity:.2f}, {hit.dataset}/"
        f"{hit.path} (licence: {hit.license or 'not stated'})"
        for hit in analysis.similar
    ]


def findings_report(
    analyses: Sequence[ImageAnalysis], evidence: Sequence[Any], *, version: str
) -> Any:
    """A Comprehensive SR of the analyses, one per evidence header (the original, identifying
    headers of the analysed images, in the same order), in their study; `version` is the
    running clinassist's (its Algorithm Version)."""
    import highdicom as hd
    from highdicom.sr import (
        CodedConcept,
        ContainerContentItem,
        ContentSequence,
        ImageContentItem,
        RelationshipTypeValues,
        TextContentItem,
    )
    from pydicom.sr.codedict import codes

    if not analyses or len(analyses) != len(evidence):
        raise ToolError("A findings report needs one analysis per source image.")
    contains = RelationshipTypeValues.CONTAINS

    def text(name: Any, value: str) -> Any:
        return TextContentItem(name=name, value=value, relationship_type=contains)

    root = ContainerContentItem(
        name=CodedConcept("18748-4", "LN", "Diagnostic imaging report"),
        template_id=None,
    )
    items: list[Any] = [
        text(codes.DCM.AlgorithmName, f"clinassist image analysis ({analyses[0].encoder})"),
        text(codes.DCM.AlgorithmVersion, version),
    ]
    for analysis, header in zip(analyses, evidence, strict=True):
        group = ContainerContentItem(name=codes.DCM.Finding, relationship_type=contains)
        group_items: list[Any] = [
            ImageContentItem(
                name=codes.DCM.SourceOfMeasurement,
                referenced_sop_class_uid=header.SOPClassUID,
                referenced_sop_instance_uid=header.SOPInstanceUID,
                relationship_type=contains,
            ),
            text(codes.DCM.AlgorithmParameters, f"encoder {analysis.encoder}"),
        ]
        findings = probe_findings(analysis) or [
            f"No probe is trained for the {analysis.encoder} encoder."
        ]
        group_items += [text(codes.DCM.Finding, finding) for finding in findings]
        group_items += [
            text(codes.DCM.Comment, f"Similar reference image: {reference}")
            for reference in similar_references(analysis)
        ]
        group_items += [
            text(codes.DCM.Comment, f"Quality: {flag}") for flag in analysis.quality_flags
        ]
        group.ContentSequence = ContentSequence(group_items, is_root=False)
        items.append(group)
    items.append(text(codes.DCM.Comment, RESEARCH_NOTICE))
    root.ContentSequence = ContentSequence(items, is_root=False)
    try:
        report = hd.sr.ComprehensiveSR(
            evidence=list(evidence),
            content=root,
            series_instance_uid=hd.UID(),
            series_number=SR_SERIES_NUMBER,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer=MANUFACTURER,
            is_complete=True,
            is_final=False,
            is_verified=False,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ToolError(
            f"The findings report cannot be built from these images ({type(exc).__name__})."
        ) from None
    report.SeriesDescription = SR_SERIES_DESCRIPTION
    return report
