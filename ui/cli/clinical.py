"""`clinassist ask`, `plan`, `case` and `audit export`: answers, plans and what was read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agent.events import FinalEvent, TokenEvent, ToolCallEvent
from agent.service import Service
from ui.cli.common import JsonOption, fail, progress_line, service, user_errors

audit_app = typer.Typer(help="The append-only audit trail of answered turns.", no_args_is_help=True)


def _case_text(clinassist: Service, path: Path) -> str:
    with user_errors():
        return clinassist.read_case_file(path)


def ask_command(
    question: Annotated[str, typer.Argument(help="The clinical question.")],
    image: Annotated[
        list[Path] | None, typer.Option("--image", help="DICOM, PNG or JPEG (repeatable).")
    ] = None,
    case: Annotated[
        Path | None, typer.Option("--case", help="Case: free text, JSON form or FHIR Bundle.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Continue this session (default: new).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the guidelines, every claim cited (or say there is no evidence)."""
    clinassist = service()
    case_text = _case_text(clinassist, case) if case is not None else None
    with user_errors():
        if clinassist.model_needed():
            clinassist.connect(progress=progress_line)
        try:
            result = None
            for event in clinassist.run(
                question, session_id=session, attachments=image or [], case=case_text
            ):
                if isinstance(event, FinalEvent):
                    result = event.result
                elif isinstance(event, ToolCallEvent) and not as_json:
                    typer.echo(f"[tool] {event.name} ({event.chosen_by})", err=True)
                elif isinstance(event, TokenEvent) and not as_json:
                    typer.echo(event.text, nl=False)
        finally:
            clinassist.close()
    assert result is not None
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    typer.echo("")
    typer.echo(f"\n({result.mode.value} answer; session {result.session_id})")
    for citation in result.citations:
        typer.echo(f"[{citation.marker}] {citation.passage.citation()}")
    for flag in result.flags:
        typer.echo(f"flag ({flag.kind.value}): {flag.message}")
    typer.echo(result.notice)


def case_command(
    case: Annotated[
        Path, typer.Argument(help="Case file: free text, JSON form, FHIR R4 Bundle or NDJSON.")
    ],
    as_json: JsonOption = False,
) -> None:
    """What was read from a case file: age, sex, problems, medications, allergies and the latest
    labs, each with its source (the FHIR resource), and a warning for everything left out."""
    clinassist = service()
    case_text = _case_text(clinassist, case)
    with user_errors():
        reading = clinassist.read_case(case_text)
    if as_json:
        typer.echo(json.dumps(reading.as_json(), ensure_ascii=False))
    else:
        typer.echo(reading.to_markdown())


def plan_command(
    case: Annotated[
        Path, typer.Option("--case", help="Case: free text, JSON form or FHIR R4 Bundle.")
    ],
    as_json: JsonOption = False,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the plan as Markdown here.")
    ] = None,
) -> None:
    """A cited treatment plan for a case, with interaction, allergy and renal-dose flags."""
    clinassist = service()
    case_text = _case_text(clinassist, case)
    with user_errors():
        reading = clinassist.read_case(case_text)
        if not as_json:
            typer.echo(reading.to_markdown() + "\n", err=True)
        if not clinassist.settings.extractive_answers:
            clinassist.connect(progress=progress_line)
        plan = clinassist.plan(reading)
    if markdown is not None:
        try:
            markdown.write_text(plan.to_markdown(), encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write {markdown} ({exc.strerror}).") from None
    if as_json:
        typer.echo(plan.model_dump_json())
    else:
        typer.echo(plan.to_markdown())


@audit_app.command("export")
def audit_export_command(
    session: Annotated[str | None, typer.Option("--session", help="Only this session.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write JSON lines here (default: stdout).")
    ] = None,
) -> None:
    """Recorded turns as JSON lines: tools, passages, model, latency, flags; no patient text."""
    with user_errors():
        rows = service().audit_rows(session)
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    text = "\n".join(lines) + ("\n" if lines else "")
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output} ({exc.strerror}).") from None
    typer.echo(f"Wrote {len(lines)} turn(s) to {output}.")
