"""What the app's events do, without Gradio: one method per event, plain values in and out.

`Handlers` answers the Chat, Case -> plan, Guideline lookup, Images and Status tabs and the
scripted API (`ask`, `plan`, `search`) with strings, dicts, lists and file paths. A user's
mistake the tabs show comes back as its one sentence (prefixed with ⚠️); the API's methods raise
it (`USER_ERRORS`) for layout.py to hand to Gradio. This module never imports gradio: it is
tested without a browser or a server (tests/ui/web/test_handlers.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, NamedTuple

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
from agent.grounding import Citation
from agent.service import (
    USER_ERRORS,
    Service,
)
from ui.web.forms import CaseForm, exports_dir, split_list
from ui.web.rendering import (
    MODE_LABELS,
    citations_html,
    escape,
    flags_markdown,
    inert_markdown,
    markdown_escape,
    passages_html,
    short_json,
    tool_message,
)
from ui.web.status import AppStatus

# Uploads decoded and kept in memory (their originals deleted from disk): the last few images
# (re-windowed, another frame) and FHIR records (previewed, then planned).
KEPT_UPLOADS = 4


class ChatView(NamedTuple):
    """The Chat tab after each step of a turn: the conversation, its sources, its flags. Every
    step of one turn holds the same `history` list, updated in place (copy it to keep a step)."""

    history: list[dict[str, Any]]
    sources: str  # HTML: numbered footnotes that expand to their passage
    flags: str  # Markdown


class PlanView(NamedTuple):
    """The Case -> plan tab: what was read, the plan, its flags and the plan's download."""

    reading: str
    plan: str
    flags: str
    download: str | None  # the Markdown file's path; None when there is nothing to download


class ImageShown(NamedTuple):
    """The Images tab: the rendered PNG, the de-identified metadata, the notes and the frame
    slider's settings (keyword arguments of a slider: hidden for a single frame)."""

    image: str | None
    metadata: dict[str, Any] | None
    notes: str
    frame: dict[str, Any]


def _dataset_sources(analysis: Any) -> list[str]:
    """One line per dataset behind the similar images and the probes: its licence and source,
    as its SOURCE.txt states them."""
    datasets: dict[str, tuple[str | None, str | None]] = {}
    for probe in analysis.probes:
        datasets.setdefault(probe.trained_on, (probe.license, probe.source_url))
    for hit in analysis.similar:
        datasets.setdefault(hit.dataset, (hit.license, hit.source_url))
    lines = []
    for name, (licence, url) in datasets.items():
        source = f" — source: <{url}>" if url else ""
        lines.append(
            f"- Dataset **{markdown_escape(name)}** · licence: "
            f"{markdown_escape(licence or 'not stated')}{source}"
        )
    return lines


def analysis_notes(analysis: Any) -> str:
    """An image analysis as Markdown bullets: quality flags, probe outputs with their AUROC,
    similar images with their source, the encoder's caveat."""
    lines = [f"- {flag}" for flag in analysis.quality_flags]
    for probe in analysis.probes:
        lines.append(
            f"- **Probe {probe.probe}**: {probe.outputs_text()} "
            f"(test AUROC {probe.test_auroc}) — {probe.notice}"
        )
    for hit in analysis.similar:
        lines.append(
            f"- Similar: **{hit.label or 'unlabelled'}** ({hit.similarity:.2f}) "
            f"{hit.dataset}/{hit.path}"
        )
    lines.append(f"- {analysis.encoder_caveat}")
    lines += _dataset_sources(analysis)
    return "\n".join(lines)


class Handlers:
    """The app's event handlers over one service; `status` reports the engine and knowledge
    base for the banner and the Status tab."""

    def __init__(self, agent: Service, status: Callable[[], AppStatus]) -> None:
        self.agent = agent
        self.status = status
        # An upload's path (a random name: ui.web.guard) -> what was decoded from it.
        self._decoded: OrderedDict[str, Any] = OrderedDict()
        self._decoded_lock = threading.Lock()

    # ------------------------------------------------------------ sessions and status

    def new_session(self, user: str = "") -> str:
        """A browser's session: an id the server issues, owned by the signed-in `user` ("" when
        the app runs without sign-in)."""
        return self.agent.new_session(user)

    def banner(self) -> str:
        current = self.status()
        if current.ready:
            return f"✅ Engine ready: **{current.model}** · {current.knowledge}"
        if current.model is None:
            return f"ℹ️ {current.engine}: answers quote the guidelines · {current.knowledge}"
        return (
            f"⏳ {current.engine}: answers quote the guidelines until the model is ready; "
            f"guideline lookup already works · {current.knowledge}"
        )

    def status_markdown(self) -> str:
        current = self.status()
        lines = [
            f"**Engine:** {current.engine} ({'ready' if current.ready else 'not ready'})",
            f"**Model:** {current.model or 'none'}",
            f"**Knowledge base:** {current.knowledge}",
            f"**Version:** {current.version}",
            "**Licences:**",
            *[f"- {markdown_escape(licence)}" for licence in current.licences],
        ]
        return "\n\n".join(lines)

    # ------------------------------------------------------------ chat

    def chat(
        self,
        message: dict[str, Any],
        history: list[dict[str, Any]],
        session: str,
        pacs_study: str = "",
        user: str = "",
    ) -> Iterator[ChatView]:
        """One turn, history as it streams: the question (and its attachments, files or a PACS
        study by UID or accession number) first, then each tool step, the answer's tokens, and
        the final answer with its mode and notice."""
        question = str((message or {}).get("text") or "").strip()
        files = [Path(str(f)) for f in (message or {}).get("files") or []]
        history = list(history or [])
        for file in files:
            history.append(
                {"role": "user", "content": f"📎 attached image ({file.suffix or 'file'})"}
            )
        attachments: list[Any] = list(files)
        if pacs_study.strip():
            try:
                studies = self.agent.pacs.open(pacs_study.strip())
            except USER_ERRORS as exc:
                history.append({"role": "assistant", "content": f"⚠️ {exc}"})
                yield ChatView(history, "", "")
                return
            attachments += studies
            history.append({"role": "user", "content": f"📎 PACS study ({len(studies)} image(s))"})
        history.append({"role": "user", "content": question or "(no question)"})
        yield ChatView(history, "", "")
        answer_at: int | None = None
        answer = ""  # as the model wrote it; shown through `inert_markdown`
        tool_at: dict[str, int] = {}
        flags: list[Flag] = []
        citations: list[Citation] = []
        try:
            events = self.agent.run(
                question, session_id=session, attachments=attachments, user=user
            )
            for event in self._discarding(events, files):
                if isinstance(event, ToolCallEvent):
                    tool_at[event.id] = len(history)
                    args = short_json(json.dumps(event.arguments, ensure_ascii=False))
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
                    answer += event.text
                    history[answer_at] = {"role": "assistant", "content": inert_markdown(answer)}
                elif isinstance(event, FlagEvent):
                    flags.append(event.flag)
                elif isinstance(event, CitationEvent):
                    citations.append(event.citation)
                elif isinstance(event, FinalEvent):
                    result = event.result
                    mode = MODE_LABELS[result.mode.value]
                    text = f"{inert_markdown(result.answer)}\n\n_{mode}_\n\n_{result.notice}_"
                    if answer_at is None:
                        answer_at = len(history)
                        history.append({"role": "assistant", "content": ""})
                    history[answer_at] = {"role": "assistant", "content": text}
                    flags, citations = result.flags, result.citations
                yield ChatView(history, citations_html(citations), flags_markdown(flags))
        except USER_ERRORS as exc:
            history.append({"role": "assistant", "content": f"⚠️ {exc}"})
            yield ChatView(history, citations_html(citations), flags_markdown(flags))

    def _discarding(self, events: Iterator[Any], files: list[Path]) -> Iterator[Any]:
        """The turn's events; the uploaded originals are deleted once the turn has decoded them
        (its first event), or when it ends without any."""
        try:
            for event in events:
                self._discard_originals(files)
                yield event
        finally:
            self._discard_originals(files)

    # ------------------------------------------------------------ uploads

    def _discard_originals(self, files: list[Path]) -> None:
        """Uploaded files, once decoded, removed from the upload folder (and their folder, when
        it is left empty); a file elsewhere (a caller's own path) is never touched."""
        uploads = (self.agent.settings.data_dir / "uploads").resolve()
        for file in files:
            path = file.resolve()
            if not path.is_relative_to(uploads) or path == uploads:
                continue
            path.unlink(missing_ok=True)
            if path.parent != uploads:
                with suppress(OSError):
                    path.parent.rmdir()

    def _decoded_upload(self, file: str, decode: Callable[[Path], Any]) -> Any:
        """What `decode` made of an upload: decoded once, kept for the next event (another
        window, the plan after the preview), the original deleted."""
        with self._decoded_lock:
            if file in self._decoded:
                self._decoded.move_to_end(file)
                return self._decoded[file]
        decoded = decode(Path(file))
        with self._decoded_lock:
            self._decoded[file] = decoded
            while len(self._decoded) > KEPT_UPLOADS:
                self._decoded.popitem(last=False)
        self._discard_originals([Path(file)])
        return decoded

    def _record_text(self, file: str) -> str:
        return str(self._decoded_upload(file, lambda path: CaseForm(fhir=str(path)).case_text()))

    # ------------------------------------------------------------ guideline lookup

    def lookup(
        self, query: str, corpus: list[str] | None, source: list[str] | None, k: float
    ) -> str:
        try:
            found = self.agent.search(query, k=int(k), corpus=corpus or (), source=source or ())
            return passages_html(found, query)
        except USER_ERRORS as exc:
            return f"<p class='error'>{escape(str(exc))}</p>"

    # ------------------------------------------------------------ case -> plan

    def plan_from_form(self, fields: Mapping[str, Any]) -> PlanView:
        """A plan from the Case tab's inputs (`CaseForm`'s fields by name), with what was read
        from the case and the plan as a Markdown file to download."""
        agent = self.agent
        reading = None
        try:
            fields = dict(fields)
            if fields.get("fhir"):  # read once (at its preview), kept, the original deleted
                fields["text"], fields["fhir"] = self._record_text(str(fields["fhir"])), None
            form = CaseForm(**fields)
            reading = agent.read_case(form.case_text())
            result = agent.plan(reading)
        except USER_ERRORS as exc:
            read = reading.to_markdown() if reading is not None else ""
            return PlanView(read, f"⚠️ {exc}", "", None)
        read = reading.to_markdown()
        markdown = result.to_markdown()
        shown = inert_markdown(markdown)  # the file keeps the plan as written
        lines = [flags_markdown(result.flags)] if result.flags else []
        folder: Path | None = None
        try:
            folder = Path(tempfile.mkdtemp(prefix="plan-", dir=exports_dir(agent)))
            (folder / "treatment-plan.md").write_text(markdown, encoding="utf-8")
        except OSError as exc:  # the plan is still shown; only its download is missing
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)  # no half-written file left
            lines.append(f"- ⚠️ {storage_error(agent.settings.data_dir, exc, 'the download')}")
            return PlanView(read, shown, "\n".join(lines), None)
        return PlanView(read, shown, "\n".join(lines), str(folder / "treatment-plan.md"))

    def preview_case(self, file: str | None) -> str:
        """What was read from an uploaded FHIR record, shown before any plan."""
        if not file:
            return ""
        try:
            return self.agent.read_case(self._record_text(file)).to_markdown()
        except USER_ERRORS as exc:
            return f"⚠️ {exc}"

    # ------------------------------------------------------------ images

    def view_image(self, file: str | None, preset: str, frame: float) -> ImageShown:
        """An image rendered in a window (`frame` counts from 1), its de-identified metadata,
        quality flags, probe outputs and similar images."""
        if not file:
            return ImageShown(None, None, "", {"visible": False})
        try:
            study = self._decoded_upload(file, self.agent.images.read_image)
            view = self.agent.images.view_study(
                study, preset=None if preset == "file window" else preset, frame=int(frame) - 1
            )
        except USER_ERRORS as exc:
            return ImageShown(None, None, f"⚠️ {exc}", {"visible": False})
        slider = {
            "minimum": 1,
            "maximum": max(view.frames, 2),
            "value": view.frame + 1,
            "step": 1,
            "visible": view.frames > 1,
        }
        return ImageShown(
            self._shown_png(view.png),
            view.analysis.metadata.model_dump(),
            analysis_notes(view.analysis),
            slider,
        )

    def _shown_png(self, png: bytes) -> str:
        """A rendered image as a file the app may serve (under the data dir's exports)."""
        image_path = (
            Path(tempfile.mkdtemp(prefix="view-", dir=exports_dir(self.agent))) / "view.png"
        )
        image_path.write_bytes(png)
        return str(image_path)

    def open_pacs_study(self, study: str) -> ImageShown:
        """A PACS study (by UID or accession number), de-identified on arrival and analysed:
        the first analysed image shown, every analysed image's notes."""
        hidden = {"visible": False}
        try:
            result = self.agent.pacs.analyze(study.strip())
        except USER_ERRORS as exc:
            return ImageShown(None, None, f"⚠️ {exc}", hidden)
        notes = [
            f"**{analysis.image}** ({analysis.metadata.modality or 'image'})\n\n"
            + analysis_notes(analysis)
            for analysis in result.analyses
        ]
        notes += [f"ℹ️ {note}" for note in result.notes]
        first = result.analyses[0]
        return ImageShown(
            self._shown_png(result.pngs[0]), first.metadata.model_dump(), "\n\n".join(notes), hidden
        )

    def write_pacs_report(self, study: str) -> str:
        """Analyse a PACS study again and store the findings into it as a DICOM SR."""
        try:
            result = self.agent.pacs.analyze(study.strip(), write_sr=True)
        except USER_ERRORS as exc:
            return f"⚠️ {exc}"
        assert result.report is not None
        return (
            f"✅ Findings on {result.report.images} image(s) stored in the study as a DICOM SR "
            f"(series {result.report.series_uid}), marked for research use."
        )

    def uploads_dir(self) -> Path:
        """The folder uploads go to (the data dir's `uploads`, never the shared /tmp).
        Gradio keeps each finished upload in a folder of its own; a file at the top is one it
        was still receiving when the disk filled or the app was killed: never of use, removed."""
        uploads = self.agent.settings.data_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        # Gradio's deep links kept a copy of a browser's chat here; they are off (ui.web.guard)
        # and a copy left by an earlier version is removed.
        shutil.rmtree(uploads / "deep_links", ignore_errors=True)
        for partial in uploads.iterdir():
            if partial.is_file():
                partial.unlink(missing_ok=True)
        return uploads

    # ------------------------------------------------------------ scripted use (API)

    def ask(
        self, question: str, session_id: str = "", case: str = "", user: str = ""
    ) -> dict[str, Any]:
        """Answer a question; JSON with session_id (the session used: continue it with that
        id), answer, mode, citations, flags, tool_calls. `session_id` is "" for a new session
        or one this server issued to `user`; any other id is refused in one sentence."""
        result = self.agent.ask(
            question, session_id=session_id or None, case=case or None, user=user
        )
        return result.as_json()

    def plan(self, case: str) -> dict[str, Any]:
        """A cited treatment plan for a case (text, JSON form or FHIR Bundle)."""
        return self.agent.plan(case).model_dump(mode="json")

    def search(
        self, query: str, k: int = 8, corpus: str = "", source: str = ""
    ) -> list[dict[str, Any]]:
        """Ranked guideline passages with provenance; no LLM. Corpora and source files
        comma-separated ("" for all)."""
        return self.agent.search_results(
            query, k=int(k), corpus=split_list(corpus), source=split_list(source)
        )
