"""The app's rendering: citations expand to their passage with provenance, flags are listed,
and text from documents is escaped (a guideline file cannot inject markup into the page)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.flags import Flag, FlagKind
from agent.grounding import Citation
from agent.service import Service
from agent.settings import Settings
from tests.agent.test_grounding import passage
from ui.web import (
    AppStatus,
    CaseForm,
    build_app,
    citations_html,
    flags_markdown,
    launch,
    passages_html,
)


def test_citations_expand_to_the_passage_with_provenance() -> None:
    html = citations_html(
        [Citation(2, passage(2, "Gabapentin 900 mg per day reduced hot flashes."))]
    )
    assert "<details" in html and "[2] Guide 2" in html and "Section 2" in html
    assert 'href="https://example.org/2"' in html and "updated 2025-01-01" in html
    assert "licence: CC0" in html and "Gabapentin 900 mg" in html
    assert citations_html([]) == ""


def test_document_text_is_escaped_everywhere() -> None:
    hostile = passage(1, 'Hot flashes <script>alert("x")</script> <img src=x onerror=alert(1)>')
    for html in (citations_html([Citation(1, hostile)]), passages_html([hostile], "hot flashes")):
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;" in html


def test_lookup_highlights_query_terms() -> None:
    html = passages_html([passage(1, "Venlafaxine reduced hot flash scores.")], "venlafaxine dose")
    assert "<mark>Venlafaxine</mark>" in html and "1. Guide 1" in html
    assert passages_html([], "anything") == "<p>No passage found.</p>"


def test_flags_are_listed_with_their_kind() -> None:
    text = flags_markdown(
        [
            Flag(FlagKind.INTERACTION, "simvastatin + clarithromycin: on the ONC list."),
            Flag(FlagKind.UNSUPPORTED, "Not supported (overlap 20%).", "Warfarin is safe [1]."),
        ]
    )
    assert "⛔ **interaction**" in text and "simvastatin + clarithromycin" in text
    assert "**unsupported sentence**" in text and '"Warfarin is safe [1]."' in text


def test_flags_show_the_severest_first_each_kind_with_its_icon() -> None:
    from agent.planning import PlanFlag
    from ui.web.rendering import FLAG_ICONS

    assert set(FLAG_ICONS) == set(FlagKind)
    text = flags_markdown(
        [
            Flag(FlagKind.ENGINE, "The model is not reachable."),
            Flag(FlagKind.NOT_COVERED, "Atrial fibrillation is not covered."),
            PlanFlag(kind=FlagKind.ALLERGY, message="Penicillin allergy.", drugs=["amoxicillin"]),
        ]
    )
    assert [line.split("**")[1] for line in text.splitlines()] == [
        "allergy",
        "not covered",
        "engine",
    ]


def test_the_case_form_becomes_the_json_the_agent_reads() -> None:
    form = CaseForm(
        age=70,
        sex="male",
        weight=80.0,
        height=175.0,
        diagnoses="hot flashes",
        medications="a, b",
        creatinine=1.1,
    )
    text = form.case_text()
    assert '"age_years": 70' in text and '"medications": ["a", "b"]' in text
    assert '"labs": [{"name": "creatinine", "value": 1.1, "unit": "mg/dL"}]' in text
    assert CaseForm(text="pasted case", medications="x").case_text() == "pasted case"


@pytest.mark.parametrize("sex", ["female", "male", "other"])
def test_the_case_forms_sex_reaches_the_case_and_unknown_is_left_out(sex: str) -> None:
    from agent.case import Sex, read_case

    assert read_case(CaseForm(age=40, sex=sex).case_text()).case.sex is Sex(sex)
    assert '"sex"' not in CaseForm(age=40, sex="unknown").case_text()


def test_status_lists_model_licences_first_and_shows_licence_text_as_written() -> None:
    from knowledge.knowledge_base import CorpusStats, KnowledgeBaseStats
    from ui.web import markdown_escape, status_reporter

    corpus = CorpusStats("nci-pdq-hp", 13, 13, 1200, "public domain; see raw/*.md")
    stats = KnowledgeBaseStats(1200, "embedded", "c", "e", "current", [corpus])
    report = status_reporter(None, stats, no_engine="no engine", model_licences=["LLM m: MIT"])()
    assert report.licences == ["LLM m: MIT", "nci-pdq-hp: public domain; see raw/*.md"]
    assert not report.ready and report.engine == "no engine" and "1,200" in report.knowledge
    assert markdown_escape("raw/*.md [x]") == "raw/\\*.md \\[x\\]"


def test_building_an_app_sets_nothing_process_wide_and_launch_serves_its_uploads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps built, one served for real on a free loopback port: a file uploaded to it, as
    a browser sends it, is stored in that app's own upload folder."""
    from agent.engine import free_port
    from tests.security.apps import upload

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "before"))  # restored afterwards
    status = AppStatus("no engine", None, False, "empty", "0", [])
    apps = {
        name: build_app(Service(Settings(data_dir=tmp_path / name, corpus_dirs=[])), lambda: status)
        for name in ("a", "b")
    }
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "before")
    for name, app in apps.items():
        uploads = tmp_path / name / "uploads"
        assert uploads.is_dir()
        assert {block.GRADIO_CACHE for block in (app, *app.blocks.values())} == {str(uploads)}
    port = free_port()
    launch(apps["a"], port=port, block=False)
    try:
        stored = upload(f"http://127.0.0.1:{port}", "note.txt", b"an uploaded file")
        assert stored.is_relative_to(tmp_path / "a" / "uploads")
        assert stored.read_bytes() == b"an uploaded file"
        assert not any((tmp_path / "b" / "uploads").iterdir())
    finally:
        apps["a"].close()
