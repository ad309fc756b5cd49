"""A clinician's use of the app in a real browser (Debian chromium via Playwright) with the
real engine and knowledge base. Assertions are on structure (streaming, footnotes, flags,
provenance, de-identification, isolation), never on what the small model writes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pydicom
import pytest
from playwright.sync_api import Browser, Page

from tests.browser import NOTICE_START, ask_in_page, bot_messages, finished_answers
from tests.conftest import SHARED
from tests.e2e.conftest import Served, open_app, wait_until

pytestmark = pytest.mark.slow

DICOM = SHARED / "images" / "dicom-samples"
ANSWER_TIMEOUT = 180.0
CANARIES = {
    "PatientName": "KESTRELCANARY^ADA",
    "PatientID": "CANARY-ID-5531907",
    "PatientBirthDate": "19510617",
    "InstitutionName": "CANARY GENERAL HOSPITAL",
    "ReferringPhysicianName": "CANARYDOC^BOB",
    "AccessionNumber": "CANACC77",
}


def answer_and_watch(page: Page, question: str, **kwargs: tuple[Path, ...]) -> list[str]:
    """Ask, then record each distinct text the answer message shows until the final one."""
    done_before = finished_answers(page).count()
    ask_in_page(page, question, **kwargs)
    seen: list[str] = []

    def finished() -> bool:
        if bot_messages(page).count():
            text = bot_messages(page).last.inner_text()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
        return finished_answers(page).count() > done_before

    wait_until(finished, ANSWER_TIMEOUT, "the final answer")
    return seen


def footnote_numbers(page: Page) -> set[int]:
    summaries = page.locator("#sources details.citation summary").all_inner_texts()
    return {int(m.group(1)) for s in summaries if (m := re.match(r"\[(\d+)\]", s.strip()))}


def shot(page: Page, served: Served, name: str) -> None:
    page.screenshot(path=served.screenshots / f"{name}.png", full_page=True)


def test_guideline_question_streams_an_answer_with_expandable_cited_footnotes(
    page: Page, served: Served
) -> None:
    seen = answer_and_watch(page, "Which drugs reduce hot flashes in women with breast cancer?")
    partial = [text for text in seen if NOTICE_START not in text]
    assert len(set(partial)) >= 3, f"the answer did not stream: {len(partial)} partial states"
    final = finished_answers(page).last.inner_text()
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", final)}
    footnotes = footnote_numbers(page)
    assert footnotes, "no citation footnote in the page"
    assert cited <= footnotes, f"markers {cited - footnotes} have no footnote"
    first = page.locator("#sources details.citation").first
    assert not first.locator("blockquote").is_visible()
    first.locator("summary").click()
    assert first.locator("blockquote").is_visible()
    assert len(first.locator("blockquote").inner_text()) > 100
    provenance = first.locator(".provenance")
    assert "licence:" in provenance.inner_text() and "updated" in provenance.inner_text()
    assert (provenance.locator("a").get_attribute("href") or "").startswith("https://")
    assert page.get_by_text(NOTICE_START).count() >= 2  # in the answer and standing below
    shot(page, served, "chat")


def test_uploaded_dicom_is_rendered_with_no_identifying_metadata(
    page: Page, served: Served, tmp_path: Path
) -> None:
    dataset = pydicom.dcmread(DICOM / "CT_small.dcm")
    for keyword, value in CANARIES.items():
        setattr(dataset, keyword, value)
    planted = tmp_path / "upload.dcm"
    dataset.save_as(planted)
    page.get_by_role("tab", name="Images").click()
    page.locator("#image-upload input[type='file']").set_input_files(str(planted))
    image = page.locator("#rendered img")
    image.wait_for(timeout=60_000)
    wait_until(lambda: image.evaluate("i => i.naturalWidth") > 0, 30, "the rendered pixels")
    metadata = page.locator("#image-metadata")
    metadata.get_by_text("CT").first.wait_for()
    notes = page.locator("#image-notes").inner_text()
    assert "Similar" in notes and "not a medical model" in notes
    assert "Probe cxr-nih1000-64px" in notes and "test AUROC" in notes
    html = page.content()
    for value in CANARIES.values():
        assert value.split("^")[0].lower() not in html.lower(), f"{value} reached the page"
    shot(page, served, "images")

    multi = tmp_path / "multi.dcm"
    shutil.copy(DICOM / "MR_head_10frame_emri_small.dcm", multi)
    page.locator("#image-upload button[aria-label='Clear']").click()
    page.locator("#image-upload input[type='file']").set_input_files(str(multi))
    slider = page.locator("#frame")
    slider.wait_for(timeout=60_000)
    assert slider.locator("input[type='number']").get_attribute("max") == "10"
    shot(page, served, "images-multiframe")


def test_a_shared_sample_shows_similar_images_and_the_probe_with_licences(
    page: Page, served: Served
) -> None:
    """What the imaging demo `serve` prepared on its first run, seen in the Images tab."""
    xray = SHARED / "images" / "cxr-sample-fullres" / "nih_00000001_000_512px.png"
    page.get_by_role("tab", name="Images").click()
    page.locator("#image-upload input[type='file']").set_input_files(str(xray))
    notes = page.locator("#image-notes")
    notes.get_by_text("Similar:").first.wait_for(timeout=60_000)
    text = notes.inner_text()
    similar = [line for line in text.splitlines() if line.startswith("Similar:")]
    # the sample itself, indexed from cxr-sample-fullres, and labelled images of the NIH set
    assert "(1.00) cxr-sample-fullres/nih_00000001_000_512px.png" in similar[0], similar
    assert any(
        re.search(r"(normal|abnormal) \(0\.\d\d\) cxr-nih1000-64px/(train|valid|test)/", line)
        for line in similar
    ), similar
    probe = re.search(r"Probe cxr-nih1000-64px: .*test AUROC (0\.\d{3}) \(95% CI", text)
    assert probe and 0.0 < float(probe.group(1)) <= 1.0, text
    assert "Research use only" in text
    # every dataset behind them with its licence (as its SOURCE.txt states it) and source
    for dataset, licence in (
        ("cxr-nih1000-64px", "NIH Clinical Center ChestX-ray14"),
        ("cxr-sample-fullres", "Apache-2.0"),
    ):
        [line] = [line for line in text.splitlines() if line.startswith(f"Dataset {dataset}")]
        assert "licence: " in line and licence in line, line
    assert notes.locator("a[href='https://github.com/dinbe0527/kcr2019d1']").count() == 1
    shot(page, served, "images-similar-probe")


def test_case_to_plan_shows_the_interaction_flag_and_downloads_markdown(
    page: Page, served: Served
) -> None:
    page.get_by_role("tab", name="Case → plan").click()
    page.locator("#case-text textarea").fill(
        "62-year-old woman after breast cancer treatment with troublesome hot flashes. "
        "Medications: simvastatin 40 mg daily, clarithromycin 500 mg twice daily. "
        "No known allergies. Creatinine 0.9 mg/dL, weight 70 kg."
    )
    page.get_by_role("button", name="Draft plan").click()
    flags = page.locator("#plan-flags")
    flags.get_by_text("interaction").first.wait_for(timeout=ANSWER_TIMEOUT * 1000)
    text = flags.inner_text().lower()
    assert "simvastatin" in text and "clarithromycin" in text
    plan = page.locator("#plan").inner_text()
    assert "Safety flags" in plan and re.search(r"\[\d+\]", plan)
    # what was read from the case is shown beside the plan, each medication the check used
    read = page.locator("#case-read").inner_text()
    assert "What was read" in read and "62 years" in read
    assert "simvastatin" in read and "clarithromycin" in read
    with page.expect_download() as download:
        page.locator("#plan-file a").first.click()
    saved = Path(download.value.path())
    assert "Safety flags" in saved.read_text(encoding="utf-8")
    shot(page, served, "case-plan")


def test_an_uploaded_fhir_record_shows_what_was_read_before_any_plan(
    page: Page, served: Served
) -> None:
    from tests.agent.case.fhir_records import synthea_files

    record = next(p for p in synthea_files() if p.name.startswith("Dino_Barton"))
    page.get_by_role("tab", name="Case → plan").click()
    page.locator("#case-fhir input[type='file']").set_input_files(str(record))
    read = page.locator("#case-read")
    read.get_by_text("What was read from this record").wait_for(timeout=60_000)
    text = read.inner_text()
    # its active problems and current medications, and the warning that the patient has died
    assert "Chronic congestive heart failure" in text and "Lasix 40mg" in text
    assert "has died" in text
    assert "Dino" not in text and "Barton" not in text  # the record's name is never shown
    shot(page, served, "case-fhir-read")


def test_guideline_lookup_ranks_highlighted_passages_with_provenance(
    page: Page, served: Served
) -> None:
    page.get_by_role("tab", name="Guideline lookup").click()
    query = page.locator("#lookup-query textarea")
    query.fill("gabapentin for hot flashes")
    query.press("Enter")
    passages = page.locator("#lookup-results .passage")
    passages.first.wait_for(timeout=30_000)
    assert passages.count() == 8
    assert passages.first.locator("mark").count() >= 1
    provenance = passages.first.locator(".provenance").inner_text()
    assert "licence:" in provenance and "score" in provenance
    shot(page, served, "lookup")

    # the same query limited to one source file: only that summary's passages
    page.locator("#lookup-source input").fill("nausea")
    page.locator("#lookup-source input").press("Enter")
    page.locator("#lookup-source").get_by_text("nausea-nausea-hp-pdq.md").first.wait_for()
    query.press("Enter")
    wait_until(
        lambda: "Hot Flashes" not in page.locator("#lookup-results").inner_text(),
        30,
        "passages from the chosen source only",
    )
    titles = page.locator("#lookup-results .passage h4").all_inner_texts()
    assert titles and all("Nausea" in title for title in titles)


def test_status_tab_names_the_model_the_knowledge_base_and_licences(
    page: Page, served: Served
) -> None:
    assert served.model in page.locator("#status-banner").inner_text()
    page.get_by_role("tab", name="Status").click()
    status = page.locator("#status").inner_text()
    assert served.model in status and "guideline passages" in status
    assert "nci-pdq-hp:" in status and "Version" in status
    shot(page, served, "status")


def test_two_clinicians_at_once_are_queued_and_never_see_each_other(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    first, second = open_app(browser, served), open_app(browser, served)
    xray = SHARED / "images" / "cxr-sample-fullres" / "nih_00000001_000_512px.png"
    questions = {
        "KESTREL": "Patient code KESTREL-4471: which drugs reduce hot flashes?",
        "HERON": "Patient code HERON-9083: how is chemotherapy-induced nausea prevented?",
    }
    try:
        # Playwright's sync pages belong to this thread: submit both, then wait for both,
        # so that the two turns are in flight on the server at once.
        done = (finished_answers(first).count(), finished_answers(second).count())
        ask_in_page(first, questions["KESTREL"], files=(xray,))
        ask_in_page(second, questions["HERON"])
        wait_until(
            lambda: (
                finished_answers(first).count() > done[0]
                and finished_answers(second).count() > done[1]
            ),
            ANSWER_TIMEOUT * 2,
            "both clinicians' answers",
        )
        one, two = first.content(), second.content()
        assert "KESTREL" in one and "HERON" not in one
        assert "HERON" in two and "KESTREL" not in two
        assert "📎 attached image" in one and "📎 attached image" not in two
        sessions = session_histories(served)
        kestrel = [s for s, text in sessions.items() if "KESTREL" in text]
        heron = [s for s, text in sessions.items() if "HERON" in text]
        assert len(kestrel) == 1 and len(heron) == 1 and kestrel != heron
        assert "HERON" not in sessions[kestrel[0]] and "KESTREL" not in sessions[heron[0]]
        assert served.agent.session_images(kestrel[0])
        assert not served.agent.session_images(heron[0])
        shot(first, served, "chat-session-a")
        shot(second, served, "chat-session-b")
    finally:
        first.context.close()
        second.context.close()


def session_histories(served: Served) -> dict[str, str]:
    threads = {
        str(c.config["configurable"]["thread_id"]) for c in served.agent.checkpointer.list(None)
    }
    return {t: repr(served.agent.history(t)) for t in threads}


def test_engine_lost_mid_answer_is_one_sentence_and_the_next_question_works(
    page: Page, served: Served
) -> None:
    before = finished_answers(page).count()
    ask_in_page(page, "Which drugs reduce hot flashes in women with breast cancer?")
    answer = bot_messages(page).filter(has_not_text="attached image")
    wait_until(
        lambda: bot_messages(page).count() > 0 and len(answer.last.inner_text()) > 20,
        ANSWER_TIMEOUT,
        "the first streamed words",
    )
    assert finished_answers(page).count() == before, "answered before the engine was cut"
    served.proxy.cut()
    try:
        wait_until(lambda: finished_answers(page).count() > before, 60, "the fallback answer")
        flags = page.locator("#flags").inner_text()
        engine_lines = [line for line in flags.splitlines() if line.startswith("⚙️")]
        assert len(engine_lines) == 1, flags
        assert footnote_numbers(page), "the fallback answer lost its citations"
        page.locator("#status-banner").get_by_text("unreachable").wait_for(timeout=20_000)
        shot(page, served, "chat-engine-down")
    finally:
        served.proxy.restore()
    page.locator("#status-banner").get_by_text("Engine ready").wait_for(timeout=20_000)
    answer_and_watch(page, "How is chemotherapy-induced nausea prevented?")
    assert "⚙️" not in page.locator("#flags").inner_text()
