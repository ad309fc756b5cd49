"""The clinician's app: Gradio Blocks over the agent's typed events. No business logic here.

Tabs: Chat (streamed answers, tool steps as collapsible messages, citations as footnotes that
expand to the passage, flags), Case -> plan, Guideline lookup (no LLM), Images (rendered,
de-identified, similar images, probe output with its AUROC), Status. Every browser session has
its own session id; the agent keeps each session's history and images apart. The same
functions are exposed to `gradio_client` as `ask`, `plan` and `search`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from agent.errors import storage_error
from agent.events import (
    CitationEvent,
    FinalEvent,
    FlagEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from agent.flags import Flag
from agent.grounding import NOTICE, Citation
from agent.service import (
    USER_ERRORS,
    Service,
)
from ui.web.forms import CaseForm, corpora_of, exports_dir, sources_of, split_list
from ui.web.rendering import (
    MODE_LABELS,
    citations_html,
    escape,
    flags_markdown,
    markdown_escape,
    passages_html,
    short_json,
    tool_message,
)
from ui.web.status import AppStatus

BANNER_REFRESH_S = 5.0
UPLOAD_SWEEP_S, UPLOAD_MAX_AGE_S = 3600, 12 * 3600
IMAGE_TYPES = [".dcm", ".dicom", ".png", ".jpg", ".jpeg"]


def build_app(agent: Service, status: Callable[[], AppStatus]) -> gr.Blocks:
    """The Blocks app; `status` reports the engine and knowledge base for the banner."""

    def new_session() -> str:
        return uuid.uuid4().hex

    def banner() -> str:
        current = status()
        if current.ready:
            return f"✅ Engine ready: **{current.model}** · {current.knowledge}"
        if current.model is None:
            return f"ℹ️ {current.engine}: answers quote the guidelines · {current.knowledge}"
        return (
            f"⏳ {current.engine}: answers quote the guidelines until the model is ready; "
            f"guideline lookup already works · {current.knowledge}"
        )

    def chat(
        message: dict[str, Any], history: list[dict[str, Any]], session: str
    ) -> Iterator[tuple[list[dict[str, Any]], str, str, Any]]:
        question = str((message or {}).get("text") or "").strip()
        files = [Path(str(f)) for f in (message or {}).get("files") or []]
        history = list(history or [])
        for file in files:
            history.append(
                {"role": "user", "content": f"📎 attached image ({file.suffix or 'file'})"}
            )
        history.append({"role": "user", "content": question or "(no question)"})
        cleared = gr.MultimodalTextbox(value=None)
        yield history, "", "", cleared
        answer_at: int | None = None
        tool_at: dict[str, int] = {}
        flags: list[Flag] = []
        citations: list[Citation] = []
        try:
            for event in agent.run(question, session_id=session, attachments=files):
                if isinstance(event, ToolCallEvent):
                    tool_at[event.id] = len(history)
                    args = json.dumps(event.arguments, ensure_ascii=False)
                    history.append(
                        tool_message(f"🛠️ {event.name} ({event.chosen_by})", args, "pending")
                    )
                elif isinstance(event, ToolResultEvent):
                    at = tool_at.get(event.id)
                    if at is not None:
                        title = history[at]["metadata"]["title"] + ("" if event.ok else " — failed")
                        history[at] = tool_message(title, short_json(event.content), "done")
                elif isinstance(event, TokenEvent):
                    if answer_at is None:
                        answer_at = len(history)
                        history.append({"role": "assistant", "content": ""})
                    history[answer_at] = {
                        "role": "assistant",
                        "content": history[answer_at]["content"] + event.text,
                    }
                elif isinstance(event, FlagEvent):
                    flags.append(event.flag)
                elif isinstance(event, CitationEvent):
                    citations.append(event.citation)
                elif isinstance(event, FinalEvent):
                    result = event.result
                    mode = MODE_LABELS[result.mode.value]
                    text = f"{result.answer}\n\n_{mode}_\n\n_{result.notice}_"
                    if answer_at is None:
                        answer_at = len(history)
                        history.append({"role": "assistant", "content": ""})
                    history[answer_at] = {"role": "assistant", "content": text}
                    flags, citations = result.flags, result.citations
                yield history, citations_html(citations), flags_markdown(flags), cleared
        except USER_ERRORS as exc:
            history.append({"role": "assistant", "content": f"⚠️ {exc}"})
            yield history, citations_html(citations), flags_markdown(flags), cleared

    def lookup(query: str, corpus: list[str] | None, source: list[str] | None, k: float) -> str:
        try:
            found = agent.search(query, k=int(k), corpus=corpus or (), source=source or ())
            return passages_html(found, query)
        except USER_ERRORS as exc:
            return f"<p class='error'>{escape(str(exc))}</p>"

    def plan_from_form(values: dict[Any, Any]) -> tuple[str, str, str, str | None]:
        reading = None
        try:
            form = CaseForm(**{name: values[field] for name, field in case_fields.items()})
            reading = agent.read_case(form.case_text())
            result = agent.plan(reading)
        except USER_ERRORS as exc:
            read = reading.to_markdown() if reading is not None else ""
            return read, f"⚠️ {exc}", "", None
        read = reading.to_markdown()
        markdown = result.to_markdown()
        lines = [flags_markdown(result.flags)] if result.flags else []
        folder: Path | None = None
        try:
            folder = Path(tempfile.mkdtemp(prefix="plan-", dir=exports_dir(agent)))
            (folder / "treatment-plan.md").write_text(markdown, encoding="utf-8")
        except OSError as exc:  # the plan is still shown; only its download is missing
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)  # no half-written file left
            lines.append(f"- ⚠️ {storage_error(agent.settings.data_dir, exc, 'the download')}")
            return read, markdown, "\n".join(lines), None
        return read, markdown, "\n".join(lines), str(folder / "treatment-plan.md")

    def preview_case(file: str | None) -> str:
        if not file:
            return ""
        try:
            return agent.read_case(CaseForm(fhir=file).case_text()).to_markdown()
        except USER_ERRORS as exc:
            return f"⚠️ {exc}"

    def view_image(file: str | None, preset: str, frame: float) -> tuple[Any, Any, str, Any]:
        if not file:
            return None, None, "", gr.Slider(visible=False)
        try:
            view = agent.images.view_image(
                Path(file), preset=None if preset == "file window" else preset, frame=int(frame) - 1
            )
        except USER_ERRORS as exc:
            return None, None, f"⚠️ {exc}", gr.Slider(visible=False)
        image_path = Path(tempfile.mkdtemp(prefix="view-", dir=exports_dir(agent))) / "view.png"
        image_path.write_bytes(view.png)
        analysis = view.analysis
        lines = [f"- {flag}" for flag in analysis.quality_flags]
        for probe in analysis.probes:
            scores = ", ".join(f"{k} {v:.2f}" for k, v in probe.probabilities.items())
            lines.append(
                f"- **Probe {probe.probe}**: {scores} "
                f"(test AUROC {probe.test_auroc}) — {probe.notice}"
            )
        for hit in analysis.similar:
            lines.append(
                f"- Similar: **{hit.label or 'unlabelled'}** ({hit.similarity:.2f}) "
                f"{hit.dataset}/{hit.path}"
            )
        lines.append(f"- {analysis.encoder_caveat}")
        slider = gr.Slider(
            minimum=1,
            maximum=max(view.frames, 2),
            value=view.frame + 1,
            step=1,
            visible=view.frames > 1,
        )
        return str(image_path), analysis.metadata.model_dump(), "\n".join(lines), slider

    def status_markdown() -> str:
        current = status()
        lines = [
            f"**Engine:** {current.engine} ({'ready' if current.ready else 'not ready'})",
            f"**Model:** {current.model or 'none'}",
            f"**Knowledge base:** {current.knowledge}",
            f"**Version:** {current.version}",
            "**Licences:**",
            *[f"- {markdown_escape(licence)}" for licence in current.licences],
        ]
        return "\n\n".join(lines)

    with gr.Blocks(title="clinassist", delete_cache=(UPLOAD_SWEEP_S, UPLOAD_MAX_AGE_S)) as app:
        session = gr.State()
        gr.Markdown("## clinassist — guideline-grounded clinical assistant")
        status_banner = gr.Markdown(banner(), elem_id="status-banner")
        # The banner follows the engine: loading, ready, or down.
        gr.Timer(BANNER_REFRESH_S).tick(
            banner, None, status_banner, api_visibility="private", concurrency_limit=None
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
                with gr.Column(scale=2):
                    flags_box = gr.Markdown(label="Flags", elem_id="flags")
                    sources = gr.HTML(elem_id="sources")
            gr.Markdown(f"_{NOTICE}_")
            box.submit(
                chat,
                [box, chatbot, session],
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
                                ["female", "male", "unknown"], value="unknown", label="Sex"
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
                preview_case, case_fields["fhir"], case_read, api_visibility="private"
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
            query.submit(lookup, [query, corpus, source, k], results, api_visibility="private")
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
        with gr.Tab("Status"):
            status_box = gr.Markdown(status_markdown(), elem_id="status")
            refresh = gr.Button("Refresh")
            refresh.click(status_markdown, None, status_box, api_visibility="private")

        app.load(new_session, None, session, api_visibility="private")
        app.load(banner, None, status_banner, api_visibility="private")

        # ------------------------------------------------------------ scripted use
        def ask(question: str, session_id: str = "", case: str = "") -> dict[str, Any]:
            """Answer a question; JSON with answer, mode, citations, flags, tool_calls."""
            try:
                result = agent.ask(question, session_id=session_id or None, case=case or None)
            except USER_ERRORS as exc:
                raise user_error(exc) from None
            return result.as_json()

        def plan(case: str) -> dict[str, Any]:
            """A cited treatment plan for a case (text, JSON form or FHIR Bundle)."""
            try:
                return agent.plan(case).model_dump(mode="json")
            except USER_ERRORS as exc:
                raise user_error(exc) from None

        def search(
            query: str, k: int = 8, corpus: str = "", source: str = ""
        ) -> list[dict[str, Any]]:
            """Ranked guideline passages with provenance; no LLM. Corpora and source files
            comma-separated ("" for all)."""
            try:
                return agent.search_results(
                    query, k=int(k), corpus=split_list(corpus), source=split_list(source)
                )
            except USER_ERRORS as exc:
                raise user_error(exc) from None

        for fn, name in ((ask, "ask"), (plan, "plan"), (search, "search")):
            gr.api(fn, api_name=name)  # type: ignore[attr-defined]
    # Uploads (patient images, FHIR files) and the files the app shows stay in the data dir,
    # never the shared /tmp, and are swept once they are older than UPLOAD_MAX_AGE_S. Each
    # block copies files into its own cache folder, named here on this app's blocks alone;
    # `launch` hands the folder to Gradio's server.
    uploads = agent.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    # Gradio keeps each finished upload in a folder of its own; a file at the top is one it
    # was still receiving when the disk filled or the app was killed: never of use, removed.
    for partial in uploads.iterdir():
        if partial.is_file():
            partial.unlink(missing_ok=True)
    for block in (app, *app.blocks.values()):
        block.GRADIO_CACHE = str(uploads)
    return app  # type: ignore[no-any-return]


def user_error(exc: Exception) -> gr.Error:
    """The one sentence the API caller sees; a user's mistake prints no server traceback."""
    return gr.Error(str(exc), print_exception=False)
