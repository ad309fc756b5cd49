"""Corpus markup (issue 17, findings 1 and 5), as the security suite checks it: a hostile corpus
ingested through the real loaders, chunker and store, then cited in a chat answer, found by the
guideline lookup and quoted in a plan. Everything the app hands the page is checked for what a
browser would make of it: only the app's own tags, no style, every link http(s), and the
corpus's markup shown as text. (tests/e2e/test_hostile_corpus.py checks the same in chromium.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup

from knowledge.embedding import Embedder
from tests.hostile_corpus import OVERLAY, hostile_service, live_markup
from ui.web.handlers import Handlers
from ui.web.status import AppStatus

# The app's own markup around quoted passages (footnotes and lookup results); nothing else.
APP_TAGS = {"div", "h4", "details", "summary", "blockquote", "p", "a", "mark"}
FORM = {  # the Case tab's inputs as Gradio hands them over, the pasted case in "text"
    "text": "",
    "fhir": None,
    "age": None,
    "sex": "unknown",
    "weight": None,
    "height": None,
    "diagnoses": "",
    "medications": "",
    "allergies": "",
    "creatinine": None,
}
QUESTION = "What is the warfarin maintenance dose and how often is the INR checked?"


@pytest.fixture(scope="module")
def handlers(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Handlers]:
    service = hostile_service(tmp_path_factory.mktemp("hostile-security"), embedder)
    status = AppStatus("no engine", None, False, "hostile corpus", "0", [])
    try:
        yield Handlers(service, lambda: status)
    finally:
        service.close()


def assert_only_app_markup(html: str) -> None:
    soup = BeautifulSoup(html, "html.parser")
    tags = {tag.name for tag in soup.find_all(True)}
    assert tags <= APP_TAGS, sorted(tags - APP_TAGS)
    for tag in soup.find_all(True):
        assert "style" not in tag.attrs and not any(a.startswith("on") for a in tag.attrs)
    for link in soup.find_all("a"):
        assert str(link.get("href", "")).startswith(("http://", "https://")), link


def test_a_cited_hostile_passage_reaches_the_page_as_text(handlers: Handlers) -> None:
    session = handlers.new_session()
    views = list(handlers.chat({"text": QUESTION, "files": []}, [], session))
    answer = views[-1].history[-1]["content"]
    sources = views[-1].sources
    # the premise: the hostile guideline was cited, its overlay text among what is shown
    assert "warfarin" in answer.lower() and "<details" in sources
    assert OVERLAY in sources + answer
    assert live_markup(answer) == []  # Markdown the chat renders: no tag survives as a tag
    assert_only_app_markup(sources)
    assert "javascript:" not in (answer + sources).lower()


def test_lookup_results_and_plans_show_the_corpus_as_text(handlers: Handlers) -> None:
    found = handlers.lookup("warfarin maintenance dose INR", [], [], 8)
    assert "warfarin" in found.lower() and "class='passage'" in found  # the premise
    assert_only_app_markup(found)
    case = "72-year-old man with atrial fibrillation on warfarin 5 mg daily. Weight 80 kg."
    view = handlers.plan_from_form(FORM | {"text": case})
    assert "warfarin" in view.plan.lower()
    assert live_markup(view.plan) == [] and live_markup(view.flags) == []
    assert "javascript:" not in view.plan.lower()


def test_nothing_stored_from_the_corpus_holds_a_tag_or_a_script_link(handlers: Handlers) -> None:
    passages = handlers.agent.search("warfarin", k=20)
    assert len({p.source for p in passages}) == 3  # the Markdown, JSONL and HTML files
    for passage in passages:
        for text in (passage.title, passage.section, passage.body, passage.effective_license):
            assert live_markup(text) == [], text
        assert passage.link is None or passage.link.startswith(("http://", "https://"))
