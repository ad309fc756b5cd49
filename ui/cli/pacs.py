"""`clinassist pacs ...`: studies from the hospital's PACS over DICOMweb, analysed as uploads
are, and the findings written back into the study as a DICOM SR.

The listing shows identifying values (the clinician needs them to pick a study); they go to
stdout only, never to a log or a file."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ui.cli.common import JsonOption, service, user_errors

pacs_app = typer.Typer(
    help="Studies from the PACS (DICOMweb): list, analyse, write findings back as DICOM SR.",
    no_args_is_help=True,
)


@pacs_app.command("studies")
def pacs_studies_command(
    patient_id: Annotated[
        str | None, typer.Option("--patient-id", help="The patient's ID in the PACS.")
    ] = None,
    accession: Annotated[str | None, typer.Option("--accession", help="Accession number.")] = None,
    modality: Annotated[
        str | None, typer.Option("--modality", help="A modality in the study (CT, CR, MR...).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Studies in the PACS (QIDO-RS), newest first: UID, date, modalities, description."""
    clinassist = service()
    with user_errors():
        studies = clinassist.pacs.studies(
            patient_id=patient_id, accession=accession, modality=modality
        )
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in studies], ensure_ascii=False))
        return
    if not studies:
        typer.echo("No study matches.")
    for study in studies:
        typer.echo(
            f"{study.study_uid}  {study.date or '-'}  {'/'.join(study.modalities) or '-'}  "
            f"{study.description or ''}  [{study.patient_name or '-'}, ID {study.patient_id or '-'}"
            f", accession {study.accession or '-'}]"
        )


@pacs_app.command("analyze")
def pacs_analyze_command(
    study: Annotated[str, typer.Argument(help="Study instance UID or accession number.")],
    series: Annotated[
        str | None, typer.Option("--series", help="Analyse only this series (its UID).")
    ] = None,
    write_sr: Annotated[
        bool,
        typer.Option("--write-sr", help="Store the findings into the study as a DICOM SR."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Retrieve a study's images (WADO-RS), de-identify them on arrival, and run what
    `image analyze` runs on one representative image per series."""
    clinassist = service()
    with user_errors():
        result = clinassist.pacs.analyze(study, series_uid=series, write_sr=write_sr)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    for analysis in result.analyses:
        typer.echo(analysis.summary())
    for note in result.notes:
        typer.echo(f"note: {note}")
    if result.report is not None:
        typer.echo(
            f"Findings stored in the study as a DICOM SR (series {result.report.series_uid})."
        )
