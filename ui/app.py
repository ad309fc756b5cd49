"""The clinician's app: Gradio Blocks over the agent's typed events. No business logic here.

Tabs: Chat (streamed answers, tool steps as collapsible messages, citations as footnotes that
expand to the passage, flags), Case -> plan, Guideline lookup (no LLM), Images (rendered,
de-identified, similar images, probe output with its AUROC), Status. Every browser session has
its own session id; the agent keeps each session's history and images apart. The same
functions are exposed to `gradio_client` as `ask`, `plan` and `search`.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

import gradio as gr
from fastapi import Request
from fastapi.responses import JSONResponse

from agent.errors import STORAGE_ERRNOS, AgentError, storage_error
from agent.events import (
    CitationEvent,
    FinalEvent,
    FlagEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from agent.grounding import NOTICE, Citation, Flag
from agent.service import (
    USER_ERRORS,
    EngineState,
    EngineStatus,
    KnowledgeBaseStats,
    Passage,
    Service,
)

MODE_LABELS = {
    "generated": "Answer written by the model and checked against the passages.",
    "extractive": "Answer quoted from the guideline passages.",
    "abstained": "The guidelines in this knowledge base do not address the question.",
}
BANNER_REFRESH_S = 5.0
MAX_UPLOAD = "512mb"
UPLOAD_SWEEP_S, UPLOAD_MAX_AGE_S = 3600, 12 * 3600
IMAGE_TYPES = [".dcm", ".dicom", ".png", ".jpg", ".jpeg"]
# Flags stand apart from the answer; citations read as footnotes.
CSS = """
#flags ul { border-left: 4px solid #d97706; padding-left: 1.6em; }
.citation summary { cursor: pointer; font-weight: 600; }
.citation blockquote { font-size: 0.92em; border-left: 3px solid #94a3b8; padding-left: .6em; }
.provenance { font-size: 0.85em; color: #64748b; }
.passage mark { background: #fde68a; }
"""
FLAG_ICONS = {
    "abstained": "⚪",
    "not_covered": "⚪",
    "interaction": "⛔",
    "allergy": "⛔",
    "duplicate": "⚠️",
    "renal_dose": "⚠️",
    "not_checked": "❔",
    "image": "🖼️",
    "engine": "⚙️",
}


@dataclass
class AppStatus:
    """What the status banner and tab show; refreshed by a callable the app is given."""

    engine: str
    model: str | None
    ready: bool
    knowledge: str
    version: str
    licences: list[str]


# --------------------------------------------------------------------------- rendering


def _escape(text: str | None) -> str:
    return html.escape(text or "")


def citations_html(citations: Sequence[Citation]) -> str:
    """Numbered footnotes; each expands to the passage with its provenance."""
    if not citations:
        return ""
    items = []
    for citation in citations:
        p = citation.passage
        link = (
            f'<a href="{_escape(p.url)}" target="_blank" rel="noopener">source</a>' if p.url else ""
        )
        meta = " · ".join(
            x
            for x in (
                link,
                f"updated {_escape(p.updated)}" if p.updated else "",
                f"licence: {_escape(p.license or p.corpus_license)}"
                if (p.license or p.corpus_license)
                else "",
            )
            if x
        )
        items.append(
            f'<details class="citation"><summary>[{citation.marker}] {_escape(p.title)}'
            f" — {_escape(p.section)}</summary><blockquote>{_escape(p.body)}</blockquote>"
            f"<p class='provenance'>{meta}</p></details>"
        )
    return "<div class='citations'><h4>Sources</h4>" + "".join(items) + "</div>"


def flags_markdown(flags: Sequence[Flag]) -> str:
    lines = []
    for flag in flags:
        icon = FLAG_ICONS.get(flag.kind.value, "⚠️")
        label = flag.kind.value.replace("_", " ")
        sentence = f' — "{flag.sentence}"' if flag.sentence else ""
        lines.append(f"- {icon} **{label}**: {flag.message}{sentence}")
    return "\n".join(lines)


def passages_html(passages: Sequence[Passage], query: str) -> str:
    """Ranked passages with the query's words highlighted (no LLM involved)."""
    if not passages:
        return "<p>No passage found.</p>"
    words = sorted({w for w in re.findall(r"[A-Za-z]{4,}", query)}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
    blocks = []
    for rank, p in enumerate(passages, start=1):
        body = _escape(p.body)
        if pattern is not None:
            body = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", body)
        link = (
            f'<a href="{_escape(p.url)}" target="_blank" rel="noopener">{_escape(p.url)}</a>'
            if p.url
            else ""
        )
        blocks.append(
            f"<div class='passage'><h4>{rank}. {_escape(p.title)} — {_escape(p.section)}</h4>"
            f"<p>{body}</p><p class='provenance'>{link} "
            f"{'· updated ' + _escape(p.updated) if p.updated else ''} "
            f"· licence: {_escape(p.license or p.corpus_license or 'not stated')} "
            f"· score {p.score:.4f}</p></div>"
        )
    return "".join(blocks)


def _tool_message(title: str, content: str, status: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content,
        "metadata": {"title": title, "status": status},
    }


def _short_json(content: str, limit: int = 1200) -> str:
    try:
        text = json.dumps(json.loads(content), indent=1, ensure_ascii=False)
    except ValueError:
        text = content
    return "```json\n" + (text if len(text) <= limit else text[:limit] + "\n…") + "\n```"


# --------------------------------------------------------------------------- app


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
                        _tool_message(f"🛠️ {event.name} ({event.chosen_by})", args, "pending")
                    )
                elif isinstance(event, ToolResultEvent):
                    at = tool_at.get(event.id)
                    if at is not None:
                        title = history[at]["metadata"]["title"] + ("" if event.ok else " — failed")
                        history[at] = _tool_message(title, _short_json(event.content), "done")
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
            return f"<p class='error'>{_escape(str(exc))}</p>"

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
        lines = [
            f"- {FLAG_ICONS.get(f.kind, '⚠️')} **{f.kind.replace('_', ' ')}**: {f.message}"
            for f in result.flags
        ]
        folder: Path | None = None
        try:
            folder = Path(tempfile.mkdtemp(prefix="plan-", dir=_exports(agent)))
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
            view = agent.view_image(
                Path(file), preset=None if preset == "file window" else preset, frame=int(frame) - 1
            )
        except USER_ERRORS as exc:
            return None, None, f"⚠️ {exc}", gr.Slider(visible=False)
        image_path = Path(tempfile.mkdtemp(prefix="view-", dir=_exports(agent))) / "view.png"
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
            *[f"- {_markdown_escape(licence)}" for licence in current.licences],
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
            corpora = _corpora(agent)
            with gr.Row():
                query = gr.Textbox(label="Search the guidelines", scale=4, elem_id="lookup-query")
                corpus = gr.Dropdown(corpora, multiselect=True, label="Corpora", scale=2)
                source = gr.Dropdown(
                    _sources(agent),
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
                raise _user_error(exc) from None
            return result.as_json()

        def plan(case: str) -> dict[str, Any]:
            """A cited treatment plan for a case (text, JSON form or FHIR Bundle)."""
            try:
                return agent.plan(case).model_dump(mode="json")
            except USER_ERRORS as exc:
                raise _user_error(exc) from None

        def search(
            query: str, k: int = 8, corpus: str = "", source: str = ""
        ) -> list[dict[str, Any]]:
            """Ranked guideline passages with provenance; no LLM. Corpora and source files
            comma-separated ("" for all)."""
            try:
                return agent.search_results(
                    query, k=int(k), corpus=_split(corpus), source=_split(source)
                )
            except USER_ERRORS as exc:
                raise _user_error(exc) from None

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


class WatchedEngine(Protocol):
    def status(self) -> EngineStatus: ...


def status_reporter(
    engine: WatchedEngine | None,
    stats: KnowledgeBaseStats,
    *,
    no_engine: str,
    model_licences: Sequence[str] = (),
) -> Callable[[], AppStatus]:
    """What the banner and the Status tab show, read from the engine each time; the licences
    of the models (`model_licences`) and of every corpus."""
    licences = [*model_licences, *(f"{c.name}: {c.license or 'not stated'}" for c in stats.corpora)]
    knowledge = f"{stats.chunks:,} guideline passages in {len(stats.corpora)} corpora"

    def report() -> AppStatus:
        current = engine.status() if engine is not None else None
        if current is None:
            return AppStatus(no_engine, None, False, knowledge, _version(), licences)
        where = f" at {current.url}" if current.url else ""
        return AppStatus(
            engine=f"LLM engine {current.state.value}{where}",
            model=current.model,
            ready=current.state is EngineState.READY,
            knowledge=knowledge,
            version=_version(),
            licences=licences,
        )

    return report


def launch(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    credentials: Sequence[tuple[str, str]] = (),
    concurrency: int = 4,
    block: bool = True,
) -> None:
    """Serve the app: queued (at most `concurrency` turns at once per event, the rest wait),
    never a share link, no tracebacks in the page, uploads into the app's own upload folder
    (the data dir's `uploads` for an app from `build_app`)."""
    # Gradio's server takes its upload folder from the process environment, when it starts
    # and on each request: serving sets it, building an app does not. One process serves one
    # upload folder, the last app's launched.
    os.environ["GRADIO_TEMP_DIR"] = app.GRADIO_CACHE
    app.queue(default_concurrency_limit=concurrency)
    app.launch(
        server_name=host,
        server_port=port,
        auth=list(credentials) or None,
        share=False,
        quiet=True,
        show_error=False,
        footer_links=["api"],
        max_file_size=MAX_UPLOAD,
        prevent_thread_lock=not block,
        css=CSS,
        app_kwargs={"exception_handlers": {OSError: _storage_failure(Path(app.GRADIO_CACHE))}},
    )


def _storage_failure(uploads: Path) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A request that could not write (an upload to a full disk): one sentence with HTTP 507,
    not a traceback from the server; any other OSError is left to the server as before."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if getattr(exc, "errno", None) not in STORAGE_ERRNOS:
            raise exc
        error = storage_error(uploads.parent, exc, "the upload")
        return JSONResponse({"error": str(error)}, status_code=507)

    return handle


def _user_error(exc: Exception) -> gr.Error:
    """The one sentence the API caller sees; a user's mistake prints no server traceback."""
    return gr.Error(str(exc), print_exception=False)


def _markdown_escape(text: str) -> str:
    """Licence and source text shown as written (a "raw/*.md" must not start italics)."""
    return re.sub(r"([\\`*_{}\[\]<>#|~])", r"\\\1", text)


def _version() -> str:
    try:
        return version("clinassist")
    except PackageNotFoundError:
        return "unknown"


def _exports(agent: Service) -> Path:
    folder = agent.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _corpora(agent: Service) -> list[str]:
    try:
        return [c.name for c in agent.stats().corpora]
    except USER_ERRORS:
        return []


def _sources(agent: Service) -> list[tuple[str, str]]:
    """(corpus/file, file) for the lookup tab's source filter; read once when the app starts."""
    try:
        keys = agent.sources()
    except USER_ERRORS:
        return []
    return sorted((f"{corpus}/{source}", source) for corpus, source in keys)


def _split(text: str) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


@dataclass(frozen=True)
class CaseForm:
    """The Case tab's inputs: a FHIR file wins, then pasted text, then the form."""

    text: str = ""
    fhir: str | None = None
    age: float | None = None
    sex: str = "unknown"
    weight: float | None = None
    height: float | None = None
    diagnoses: str = ""
    medications: str = ""
    allergies: str = ""
    creatinine: float | None = None

    def case_text(self) -> str:
        """The case as the agent reads it: a FHIR file, pasted text, or the form as JSON."""
        if self.fhir:
            try:
                return Path(self.fhir).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                raise AgentError("The FHIR file cannot be read as UTF-8 JSON.") from None
        if self.text and self.text.strip():
            return self.text
        form: dict[str, Any] = {
            "diagnoses": _split(self.diagnoses),
            "medications": _split(self.medications),
            "allergies": _split(self.allergies),
        }
        if self.age is not None:
            form["age_years"] = int(self.age)
        if self.sex in ("female", "male"):
            form["sex"] = self.sex
        if self.weight:
            form["weight_kg"] = self.weight
        if self.height:
            form["height_cm"] = self.height
        if self.creatinine:
            form["labs"] = [{"name": "creatinine", "value": self.creatinine, "unit": "mg/dL"}]
        return json.dumps(form)
