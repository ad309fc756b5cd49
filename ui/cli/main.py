"""The `clinassist` command: wires the command groups, one module each (`ui/cli/*.py`)."""

from __future__ import annotations

import typer

from agent.settings import apply_offline_environment
from ui.cli import clinical, engine, evaluation, images, knowledge, mcp, pacs, serve

app = typer.Typer(
    name="clinassist",
    help="Self-hosted clinical assistant grounded in clinical guideline passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("ingest")(knowledge.ingest_command)
app.command("search")(knowledge.search_command)
app.add_typer(knowledge.kb_app, name="kb")
app.add_typer(engine.models_app, name="models")
app.add_typer(engine.engine_app, name="engine")
app.add_typer(images.image_app, name="image")
app.add_typer(pacs.pacs_app, name="pacs")
app.command("ask")(clinical.ask_command)
app.command("case")(clinical.case_command)
app.command("plan")(clinical.plan_command)
app.add_typer(clinical.audit_app, name="audit")
app.add_typer(evaluation.eval_app, name="eval")
app.command("serve")(serve.serve_command)
app.command("mcp")(mcp.mcp_command)


def main() -> None:
    apply_offline_environment()
    app()
