"""The clinician's app (Gradio): layout.py builds it, handlers.py answers its events (without
Gradio), rendering.py shows, status.py reports, forms.py reads the Case tab, serving.py serves."""

from __future__ import annotations

from ui.web.forms import CaseForm
from ui.web.handlers import Handlers
from ui.web.layout import build_app
from ui.web.rendering import (
    citations_html,
    flags_markdown,
    markdown_escape,
    passages_html,
)
from ui.web.serving import launch
from ui.web.status import AppStatus, status_reporter

__all__ = [
    "AppStatus",
    "CaseForm",
    "Handlers",
    "build_app",
    "citations_html",
    "flags_markdown",
    "launch",
    "markdown_escape",
    "passages_html",
    "status_reporter",
]
