"""The app's handlers called directly: no browser, no server, no engine (extractive answers
over the small test corpus). Assertions are on structure (messages, footnotes, flags, files),
never on the wording of an answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.grounding import NOTICE
from agent.service import USER_ERRORS, Service
from agent.settings import Settings
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.conftest import SHARED
from tests.corpus import always_covered_model, write_corpus
from tests.pacs import Orthanc, canaries, plant_study
from ui.web.handlers import Handlers
from ui.web.rendering import MODE_LABELS
from ui.web.status import AppStatus

STATUS = AppStatus("no engine", None, False, "42 guideline passages in 1 corpora", "9.9", [])
FORM = {  # the Case tab's inputs as Gradio hands them over: an empty box is "" or None
    "text": "",
    "fhir": None,
    "age": 62,
    "sex": "female",
    "weight": 70.0,
    "height": None,
    "diagnoses": "hot flashes",
    "medications": "simvastatin 40 mg daily, clarithromycin 500 mg twice daily",
    "allergies": "",
    "creatinine": 0.9,
}
PASTED = (
    "62-year-old woman after breast cancer treatment with troublesome hot flashes. "
    "Medications: simvastatin 40 mg daily, clarithromycin 500 mg twice daily. "
    "No known allergies. Creatinine 0.9 mg/dL, weight 70 kg."
)


@pytest.fixture
def make_handlers(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> Iterator[Callable[..., Handlers]]:
    """Handlers over a service with no engine and the test corpus ingested; `covered` uses a
    coverage model that answers every question (the shipped one was not fit for this corpus);
    further keyword arguments are settings."""
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [write_corpus(tmp_path / "guides", with_pdf=False)])
    services: list[Service] = []

    def factory(*, covered: bool = True, status: AppStatus = STATUS, **more: Any) -> Handlers:
        coverage = always_covered_model(tmp_path / "coverage") if covered else None
        settings = Settings(data_dir=data_dir, corpus_dirs=[], coverage_model=coverage, **more)
        service = Service(settings, make_kb(data_dir), None)
        services.append(service)
        return Handlers(service, lambda: status)

    yield factory
    for service in services:
        service.close()


def one_sentence(text: str) -> bool:
    return "\n" not in text and "Traceback" not in text and text.rstrip().endswith(".")


def test_a_chat_turn_streams_the_answer_with_its_cited_footnotes(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    session = handlers.new_session()
    earlier = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}]
    message = {"text": " Which drugs reduce hot flashes? ", "files": []}
    # each step shows the one conversation list, updated in place: copied here as Gradio sends it
    views = [v._replace(history=list(v.history)) for v in handlers.chat(message, earlier, session)]
    assert earlier == [
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": "reply"},
    ]  # the history shown so far is copied, never changed in place
    first, last = views[0], views[-1]
    assert first.history[-1] == {"role": "user", "content": "Which drugs reduce hot flashes?"}
    assert (first.sources, first.flags) == ("", "")
    assert len(views) >= 3  # the question, the answer as it streams, the final answer
    assert last.history[:3] == [*earlier, first.history[-1]]
    answer = last.history[-1]
    assert answer["role"] == "assistant"
    assert MODE_LABELS["extractive"] in answer["content"] and NOTICE in answer["content"]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer["content"])}
    footnotes = {int(n) for n in re.findall(r"<summary>\[(\d+)\]", last.sources)}
    assert cited and cited <= footnotes
    assert last.sources.count('<details class="citation">') == len(footnotes)
    assert "licence:" in last.sources and 'href="https://guidelines.example.org/' in last.sources


def test_a_chat_turn_the_guidelines_do_not_cover_is_flagged_without_footnotes(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers(covered=False)
    views = list(
        handlers.chat(
            {"text": "How do I rebuild the carburettor of a 1968 motorcycle?"},
            [],
            handlers.new_session(),
        )
    )
    last = views[-1]
    assert MODE_LABELS["abstained"] in last.history[-1]["content"]
    assert last.sources == ""
    lines = last.flags.splitlines()
    assert len(lines) == 1 and lines[0].startswith("- ⚪ **not covered**: ")


def test_a_chat_turn_with_no_question_ends_in_one_sentence(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    views = list(handlers.chat({"text": "   ", "files": []}, [], handlers.new_session()))
    assert [m["role"] for m in views[-1].history] == ["user", "assistant"]
    error = views[-1].history[-1]["content"]
    assert error.startswith("⚠️ ") and one_sentence(error)
    assert (views[-1].sources, views[-1].flags) == ("", "")


@pytest.mark.parametrize(
    "case", [FORM, {**FORM, "text": PASTED, "age": None}], ids=["form", "text"]
)
def test_a_plan_from_the_case_tab_reads_cites_flags_and_downloads(
    make_handlers: Callable[..., Handlers], case: dict[str, Any]
) -> None:
    handlers = make_handlers()
    view = handlers.plan_from_form(case)
    # what was read from the case, each medication the interaction check used
    assert view.reading and "simvastatin" in view.reading and "clarithromycin" in view.reading
    assert re.search(r"\[\d+\]", view.plan) and not view.plan.startswith("⚠️")
    interaction = [line for line in view.flags.splitlines() if "**interaction**" in line]
    assert interaction and interaction[0].startswith("- ⛔ ")
    assert "simvastatin" in interaction[0] and "clarithromycin" in interaction[0]
    assert view.download is not None
    download = Path(view.download)
    assert download.is_file() and download.name == "treatment-plan.md"
    assert download.parent.parent == handlers.agent.settings.data_dir / "exports"
    assert download.read_text(encoding="utf-8") == view.plan


def test_a_plan_whose_download_cannot_be_written_is_still_shown(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    (handlers.agent.settings.data_dir / "exports").write_text("not a folder")
    view = handlers.plan_from_form(FORM)
    assert view.download is None and re.search(r"\[\d+\]", view.plan)
    failed = view.flags.splitlines()[-1]
    assert failed.startswith("- ⚠️ ") and "the download was not saved" in failed


@pytest.mark.parametrize(
    "case",
    [
        {"text": ""},  # an empty form: nothing to plan for
        {**FORM, "diagnoses": "", "medications": ""},
        {"text": "   ", "sex": "unknown"},
    ],
)
def test_a_case_with_nothing_to_plan_for_is_one_sentence(
    make_handlers: Callable[..., Handlers], case: dict[str, Any]
) -> None:
    view = make_handlers().plan_from_form(case)
    assert view.plan.startswith("⚠️ ") and one_sentence(view.plan)
    assert (view.flags, view.download) == ("", None)
    assert view.reading  # what was read is still shown: the clinician sees what is missing


def test_an_unreadable_fhir_record_is_one_sentence(
    make_handlers: Callable[..., Handlers], tmp_path: Path
) -> None:
    handlers = make_handlers()
    record = tmp_path / "record.json"
    record.write_bytes(b"\xff\xfe not UTF-8")
    for shown in (
        handlers.preview_case(str(record)),
        handlers.plan_from_form({"fhir": str(record)}),
    ):
        text = shown if isinstance(shown, str) else shown.plan
        assert text.startswith("⚠️ ") and one_sentence(text)
    assert handlers.preview_case(None) == ""


def test_search_returns_ranked_passages_with_provenance(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    found = handlers.search("venlafaxine hot flashes", 3)
    assert 1 <= len(found) <= 3
    assert {"title", "section", "text", "url", "license", "corpus", "source", "score"} <= set(
        found[0]
    )
    assert [p["score"] for p in found] == sorted((p["score"] for p in found), reverse=True)
    only = handlers.search("screening", 8, corpus="guides", source="colorectal.txt, aspirin.md")
    assert only and {p["source"] for p in only} <= {"colorectal.txt", "aspirin.md"}
    html = handlers.lookup("venlafaxine hot flashes", None, None, 3.0)
    assert html.count("<div class='passage'>") == len(found) and "<mark>" in html
    filtered = handlers.lookup("screening", ["guides"], ["colorectal.txt"], 8)
    assert filtered.count("<div class='passage'>") >= 1
    assert "Colorectal" in filtered and "Hot Flashes" not in filtered


def test_user_errors_the_api_raises_and_the_lookup_shows(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    for call in (
        lambda: handlers.ask("  "),
        lambda: handlers.plan(""),
        lambda: handlers.search(" "),
    ):
        with pytest.raises(USER_ERRORS) as raised:
            call()
        assert one_sentence(str(raised.value))
    shown = handlers.lookup(" ", None, None, 8)
    assert shown.startswith("<p class='error'>") and shown.endswith("</p>")


def test_the_api_answers_plans_and_keeps_a_session(make_handlers: Callable[..., Handlers]) -> None:
    handlers = make_handlers()
    answer = handlers.ask("Which drugs reduce hot flashes?")  # a new session: its id returned
    session = answer["session_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", session)
    assert answer["citations"] and not answer["abstained"]
    assert {"answer", "mode", "flags", "tool_calls"} <= set(answer)
    again = handlers.ask("And their side effects?", session)
    assert again["session_id"] == session
    assert len(handlers.agent.history(session)) == 4  # both turns, question and answer each
    plan = handlers.plan(PASTED)
    assert plan["problems"] and "interaction" in {f["kind"] for f in plan["flags"]}


def test_an_image_is_rendered_with_its_frames_and_notes(
    make_handlers: Callable[..., Handlers],
) -> None:
    handlers = make_handlers()
    assert handlers.view_image(None, "file window", 1) == (None, None, "", {"visible": False})
    multi = SHARED / "images" / "dicom-samples" / "MR_head_10frame_emri_small.dcm"
    if not multi.exists():
        pytest.skip("../shared images are not present")
    shown = handlers.view_image(str(multi), "brain", 3)
    assert shown.image is not None and Path(shown.image).read_bytes()[:4] == b"\x89PNG"
    assert shown.metadata and shown.notes.startswith("- ")
    assert shown.frame == {"minimum": 1, "maximum": 10, "value": 3, "step": 1, "visible": True}


def test_a_pacs_study_opens_in_the_images_tab_and_its_findings_go_back_as_sr(
    make_handlers: Callable[..., Handlers], orthanc: Orthanc
) -> None:
    samples = SHARED / "images" / "dicom-samples"
    study_uid, _ = plant_study(
        orthanc, [samples / "MR_head_10frame_emri_small.dcm"], accession="ACCPACSTAB"
    )
    handlers = make_handlers(
        dicomweb_url=orthanc.dicomweb_url, dicomweb_auth_file=orthanc.auth_file
    )
    assert handlers.agent.pacs.configured  # the tab's PACS controls are shown
    shown = handlers.open_pacs_study(" ACCPACSTAB ")  # by accession number
    assert shown.image is not None and Path(shown.image).read_bytes()[:4] == b"\x89PNG"
    assert shown.metadata and shown.metadata["modality"] == "MR"
    assert shown.notes.startswith("**image-1** (MR)")
    written = handlers.write_pacs_report(study_uid)
    assert written.startswith("✅ ") and orthanc.series_modalities(study_uid) == ["MR", "SR"]
    missing = handlers.open_pacs_study("ACC-NOT-THERE")
    assert missing[:2] == (None, None) and missing.notes.startswith("⚠️ ")
    assert one_sentence(missing.notes)
    assert handlers.write_pacs_report("ACC-NOT-THERE").startswith("⚠️ ")
    shown_text = json.dumps([shown.metadata, shown.notes, written]).lower()
    for canary in canaries():
        assert canary.lower() not in shown_text, canary


def test_a_chat_turn_attaches_a_pacs_study_de_identified(
    make_handlers: Callable[..., Handlers], orthanc: Orthanc
) -> None:
    samples = SHARED / "images" / "dicom-samples"
    study_uid, instances = plant_study(
        orthanc, [samples / "CT_small.dcm", samples / "MR_small.dcm"], accession="ACCPACSCHAT"
    )
    handlers = make_handlers(
        dicomweb_url=orthanc.dicomweb_url, dicomweb_auth_file=orthanc.auth_file
    )
    message = {"text": "What do these images show?", "files": []}
    pacs_1, pacs_2 = handlers.new_session(), handlers.new_session()
    views = [
        v._replace(history=list(v.history)) for v in handlers.chat(message, [], pacs_1, study_uid)
    ]
    assert views[0].history[0] == {"role": "user", "content": "📎 PACS study (2 image(s))"}
    images = handlers.agent.agent.session_images(pacs_1)
    assert sorted(images) == ["image-1", "image-2"]
    assert {study.modality for study in images.values()} == {"CT", "MR"}
    for study in images.values():  # de-identified on arrival: no planted value, no original UID
        header = str(study.dataset).lower()
        for needle in canaries(study_uid, *instances):
            assert needle.lower() not in header, needle
    tools = [m for m in views[-1].history if m.get("metadata")]
    assert any("analyze_image" in m["metadata"]["title"] for m in tools)
    assert views[-1].history[-1]["role"] == "assistant"
    failed = list(handlers.chat(message, [], pacs_2, "ACC-NOT-THERE"))
    error = failed[-1].history[-1]["content"]
    assert error.startswith("⚠️ ") and one_sentence(error)
    assert handlers.agent.agent.session_images(pacs_2) == {}
    written = {
        p: p.read_bytes().lower()
        for p in handlers.agent.settings.data_dir.rglob("*")
        if p.is_file()
    }
    for needle in canaries("ACCPACSCHAT", study_uid, *instances):
        leaked = [str(p) for p, data in written.items() if needle.lower().encode() in data]
        assert not leaked, f"{needle} was written to {leaked}"


def test_a_file_that_is_no_image_is_one_sentence(
    make_handlers: Callable[..., Handlers], tmp_path: Path
) -> None:
    fake = tmp_path / "scan.dcm"
    fake.write_bytes(b"not a DICOM file at all")
    shown = make_handlers().view_image(str(fake), "file window", 1)
    assert shown[:2] == (None, None) and shown.frame == {"visible": False}
    assert shown.notes.startswith("⚠️ ") and one_sentence(shown.notes)


def test_banner_status_sessions_and_uploads(make_handlers: Callable[..., Handlers]) -> None:
    ready = AppStatus("LLM engine ready", "smollm2", True, "42 passages", "9.9", ["a_b: MIT"])
    assert make_handlers(status=ready).banner().startswith("✅ Engine ready: **smollm2**")
    loading = AppStatus("LLM engine starting", "smollm2", False, "42 passages", "9.9", [])
    assert make_handlers(status=loading).banner().startswith("⏳ ")
    handlers = make_handlers()
    assert handlers.banner().startswith("ℹ️ no engine")
    status = make_handlers(status=ready).status_markdown()
    assert "**Model:** smollm2" in status and "- a\\_b: MIT" in status
    first, second = handlers.new_session(), handlers.new_session()
    assert first != second and re.fullmatch(r"[0-9a-f]{32}", first)
    uploads = handlers.agent.settings.data_dir / "uploads"
    (uploads / "kept").mkdir(parents=True)
    (uploads / "partial-upload").write_bytes(b"half")
    assert handlers.uploads_dir() == uploads
    assert [p.name for p in uploads.iterdir()] == ["kept"]
