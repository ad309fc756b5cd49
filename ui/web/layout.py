"""The clinician's app: Gradio Blocks wired to `Handlers` (handlers.py). No logic here beyond
turning the handlers' plain values into Gradio's (an error, a cleared box, a slider).

Tabs: Chat (streamed answers, tool steps as collapsible messages, citations as footnotes that
expand to the passage, flags), Case -> plan, Guideline lookup (no LLM), Images (rendered,
de-identified, similar images, probe output with its AUROC), Status. Every browser session has
its own session id; the agent keeps each session's history and images apart. The same
functions are exposed to `gradio_client` as `ask`, `plan` and `search`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from agent.case import Sex
from agent.grounding import NOTICE
from agent.service import (
    USER_ERRORS,
    Service,
)
from ui.web.forms import corpora_of, sources_of
from ui.web.handlers import Handlers
from ui.web.status import AppStatus

BANNER_REFRESH_S = 5.0
UPLOAD_SWEEP_S, UPLOAD_MAX_AGE_S = 3600, 12 * 3600
IMAGE_TYPES = [".dcm", ".dicom", ".png", ".jpg", ".jpeg"]


def build_app(agent: Service, status: Callable[[], AppStatus]) -> gr.Blocks:
    """The Blocks app; `status` reports the engine and knowledge base for the banner."""
    handlers = Handlers(agent, status)

    # Gradio's side of three handlers: the chat box cleared while a turn streams, the Case
    # tab's components read by field name, the frame slider built from its settings.

    def chat(
        message: dict[str, Any],
        history: list[dict[str, Any]],
        session: str,
        pacs_study: str,
        request: gr.Request,
    ) -> Iterator[tuple[list[dict[str, Any]], str, str, Any]]:
        cleared = gr.MultimodalTextbox(value=None)
        for shown in handlers.chat(message, history, session, pacs_study or "", user_of(request)):
            yield (*shown, cleared)

    def new_session(request: gr.Request) -> str:
        return handlers.new_session(user_of(request))

    def plan_from_form(values: dict[Any, Any]) -> tuple[str, str, str, str | None]:
        return handlers.plan_from_form({name: values[field] for name, field in case_fields.items()})

    def view_image(file: str | None, preset: str, frame: float) -> tuple[Any, Any, str, Any]:
        image, metadata, notes, slider = handlers.view_image(file, preset, frame)
        return image, metadata, notes, gr.Slider(**slider)

    def open_pacs_study(study: str) -> tuple[Any, Any, str, Any]:
        image, metadata, notes, slider = handlers.open_pacs_study(study or "")
        return image, metadata, notes, gr.Slider(**slider)

    with gr.Blocks(title="clinassist", delete_cache=(UPLOAD_SWEEP_S, UPLOAD_MAX_AGE_S)) as app:
        session = gr.State()
        gr.Markdown("## clinassist — guideline-grounded clinical assistant")
        status_banner = gr.Markdown(handlers.banner(), elem_id="status-banner")
        # The banner follows the engine: loading, ready, or down.
        gr.Timer(BANNER_REFRESH_S).tick(
            handlers.banner, None, status_banner, api_visibility="private", concurrency_limit=None
        )
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        height=520, layout="panel", label="Conversation", elem_id="chat"
                    )
                    box = gr.MultimodalTextbox(
                        placeholder="Ask a clinical question; attach DICOM, PNG or JPEG images.",
                        file_types=IMAGE_TYPES,
                        file_count="multiple",
                        show_label=False,
                        elem_id="chat-input",
                    )
                    chat_study = gr.Textbox(
                        label="PACS study to attach (study UID or accession number)",
                        visible=agent.pacs.configured,
                        elem_id="chat-pacs-study",
                    )
                with gr.Column(scale=2):
                    flags_box = gr.Markdown(label="Flags", elem_id="flags")
                    sources = gr.HTML(elem_id="sources")
            gr.Markdown(f"_{NOTICE}_")
            box.submit(
                chat,
                [box, chatbot, session, chat_study],
                [chatbot, sources, flags_box, box],
                api_visibility="private",
            )
        with gr.Tab("Case → plan"):
            with gr.Row():
                with gr.Column():
                    case_fields: dict[str, Any] = {
                        "text": gr.Textbox(label="Paste a case", lines=6, elem_id="case-text"),
                        "fhir": gr.File(
                            label="…or a FHIR R4 record (Bundle JSON or NDJSON)",
                            file_types=[".json", ".ndjson"],
                            type="filepath",
                            elem_id="case-fhir",
                        ),
                    }
                    with gr.Accordion("…or fill in the form", open=False):
                        case_fields |= {
                            "age": gr.Number(label="Age (years)", precision=0),
                            "sex": gr.Radio(
                                [sex.value for sex in Sex], value=Sex.UNKNOWN.value, label="Sex"
                            ),
                            "weight": gr.Number(label="Weight (kg)"),
                            "height": gr.Number(label="Height (cm)"),
                            "diagnoses": gr.Textbox(label="Diagnoses (comma-separated)"),
                            "medications": gr.Textbox(label="Medications (comma-separated)"),
                            "allergies": gr.Textbox(label="Allergies (comma-separated)"),
                            "creatinine": gr.Number(label="Creatinine (mg/dL)"),
                        }
                    plan_button = gr.Button("Draft plan", variant="primary")
                with gr.Column():
                    case_read = gr.Markdown(elem_id="case-read")
                    plan_flags = gr.Markdown(elem_id="plan-flags")
                    plan_out = gr.Markdown(elem_id="plan")
                    plan_file = gr.File(label="Download (Markdown)", elem_id="plan-file")
            # what was read from a record is shown as soon as it is uploaded, before any plan
            case_fields["fhir"].upload(
                handlers.preview_case, case_fields["fhir"], case_read, api_visibility="private"
            )
            plan_button.click(
                plan_from_form,
                set(case_fields.values()),
                [case_read, plan_out, plan_flags, plan_file],
                api_visibility="private",
            )
        with gr.Tab("Guideline lookup"):
            corpora = corpora_of(agent)
            with gr.Row():
                query = gr.Textbox(label="Search the guidelines", scale=4, elem_id="lookup-query")
                corpus = gr.Dropdown(corpora, multiselect=True, label="Corpora", scale=2)
                source = gr.Dropdown(
                    sources_of(agent),
                    multiselect=True,
                    label="Sources (files)",
                    scale=2,
                    elem_id="lookup-source",
                )
                k = gr.Slider(1, 20, value=8, step=1, label="Passages", scale=1)
            results = gr.HTML(elem_id="lookup-results")
            query.submit(
                handlers.lookup, [query, corpus, source, k], results, api_visibility="private"
            )
        with gr.Tab("Images"):
            with gr.Row():
                with gr.Column():
                    upload = gr.File(
                        label="DICOM, PNG or JPEG",
                        file_types=IMAGE_TYPES,
                        type="filepath",
                        elem_id="image-upload",
                    )
                    preset = gr.Dropdown(
                        ["file window", "lung", "mediastinum", "bone", "brain"],
                        value="file window",
                        label="Window",
                        elem_id="window",
                    )
                    frame = gr.Slider(
                        1, 2, value=1, step=1, label="Frame", visible=False, elem_id="frame"
                    )
                    with gr.Accordion("From the PACS", open=True, visible=agent.pacs.configured):
                        pacs_study = gr.Textbox(
                            label="Study UID or accession number", elem_id="pacs-study"
                        )
                        with gr.Row():
                            pacs_open = gr.Button("Open study", elem_id="pacs-open")
                            pacs_write = gr.Button(
                                "Write findings to the PACS (DICOM SR)", elem_id="pacs-write"
                            )
                    metadata = gr.JSON(label="De-identified metadata", elem_id="image-metadata")
                with gr.Column():
                    rendered = gr.Image(label="Rendered", type="filepath", elem_id="rendered")
                    image_notes = gr.Markdown(elem_id="image-notes")
            for trigger in (upload.change, preset.change, frame.release):
                trigger(
                    view_image,
                    [upload, preset, frame],
                    [rendered, metadata, image_notes, frame],
                    api_visibility="private",
                )
            for trigger in (pacs_open.click, pacs_study.submit):
                trigger(
                    open_pacs_study,
                    pacs_study,
                    [rendered, metadata, image_notes, frame],
                    api_visibility="private",
                )
            pacs_write.click(
                lambda study: handlers.write_pacs_report(study or ""),
                pacs_study,
                image_notes,
                api_visibility="private",
            )
        with gr.Tab("Status"):
            status_box = gr.Markdown(handlers.status_markdown(), elem_id="status")
            refresh = gr.Button("Refresh")
            refresh.click(handlers.status_markdown, None, status_box, api_visibility="private")

        app.load(new_session, None, session, api_visibility="private")
        app.load(handlers.banner, None, status_banner, api_visibility="private")

        # ------------------------------------------------------------ scripted use
        def ask(
            question: str, session_id: str = "", case: str = "", request: gr.Request | None = None
        ) -> dict[str, Any]:
            """Answer a question; JSON with session_id (pass it back to continue that
            session; "" starts a new one), answer, mode, citations, flags, tool_calls."""
            try:
                return handlers.ask(question, session_id, case, user_of(request))
            except USER_ERRORS as exc:
                raise user_error(exc) from None

        def plan(case: str) -> dict[str, Any]:
            """A cited treatment plan for a case (text, JSON form or FHIR Bundle)."""
            try:
                return handlers.plan(case)
            except USER_ERRORS as exc:
                raise user_error(exc) from None

        def search(
            query: str, k: int = 8, corpus: str = "", source: str = ""
        ) -> list[dict[str, Any]]:
            """Ranked guideline passages with provenance; no LLM. Corpora and source files
            comma-separated ("" for all)."""
            try:
                return handlers.search(query, k, corpus, source)
            except USER_ERRORS as exc:
                raise user_error(exc) from None

        for fn, name in ((ask, "ask"), (plan, "plan"), (search, "search")):
            gr.api(fn, api_name=name)  # type: ignore[attr-defined]
    # Uploads (patient images, FHIR files) and the files the app shows stay in the data dir,
    # never the shared /tmp, and are swept once they are older than UPLOAD_MAX_AGE_S. Each
    # block copies files into its own cache folder, named here on this app's blocks alone;
    # `launch` hands the folder to Gradio's server.
    uploads = handlers.uploads_dir()
    for block in (app, *app.blocks.values()):
        block.GRADIO_CACHE = str(uploads)
    return app  # type: ignore[no-any-return]


def user_of(request: gr.Request | None) -> str:
    """Who is asking: the signed-in user's name with `--auth`, "" without sign-in (one user on
    loopback). Sessions belong to it (agent.sessions)."""
    return str(getattr(request, "username", None) or "")


def user_error(exc: Exception) -> gr.Error:
    """The one sentence the API caller sees; a user's mistake prints no server traceback."""
    return gr.Error(str(exc), print_exception=False)
