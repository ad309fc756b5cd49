"""A hostile corpus ingested, cited and looked up in the browser (issue 17, findings 1 and 5):
no element from a passage is positioned (an overlay over the app), interactive (a form, a
password box, a javascript: link) or fetching (images, media, frames), while the app's own
footnotes and links still work.

A small app of its own, in this process: the hostile corpus, extractive answers (no engine:
the passages are quoted, which is how their text reaches the answer verbatim), Debian chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from agent.engine import free_port
from knowledge.embedding import Embedder
from tests.browser import ask_in_page, finished_answers
from tests.e2e.conftest import screenshot_dir, wait_until
from tests.hostile_corpus import BAIT, OVERLAY, hostile_service
from ui.web import build_app, launch, status_reporter

pytestmark = pytest.mark.slow

# Where passage text is shown: the answers, their footnotes, the lookup, the plan and flags.
CONTAINERS = [
    "#chat",
    "#sources",
    "#flags",
    "#lookup-results",
    "#case-read",
    "#plan",
    "#plan-flags",
]
# Run in the page: every element in the containers that is positioned over the app,
# interactive or fetching, beside the app's own (its footnotes' <details> and web links).
FIND_HOSTILE = """([containers, bait]) => {
  const found = [];
  const content = '[data-testid="bot"], .prose, .md, .citations, .passage';
  const chrome = '[data-testid="status-tracker"], [data-testid="block-label"], '
    + '.icon-button-wrapper, .message-buttons, button';
  const interactive = 'form, input, textarea, select, button, iframe, a[href^="javascript:" i]';
  const fetching = 'img, video, audio, source, iframe, object, embed, link, picture';
  let seen = 0;
  for (const name of containers) {
    const root = document.querySelector(name);
    if (!root) continue;
    for (const el of root.querySelectorAll('*')) {
      // what a passage or an answer put on the page; Gradio's own controls are not
      if (!el.closest(content) || (el.closest(chrome) && !el.matches(interactive))) continue;
      seen += 1;
      const what = `${name} <${el.tagName.toLowerCase()}> ${el.outerHTML.slice(0, 160)}`;
      const position = getComputedStyle(el).position;
      if (position === 'fixed' || position === 'absolute') found.push('positioned ' + what);
      if (el.matches(interactive) && !el.closest('.message-buttons, .icon-button-wrapper'))
        found.push('interactive ' + what);
      if (el.matches(fetching)) found.push('fetching ' + what);
      for (const attr of ['src', 'href', 'data', 'action', 'poster', 'style']) {
        const value = el.getAttribute(attr) || '';
        if (attr !== 'href' || !/^https:[/][/]guidelines[.]example[.]org/.test(value))
          if (value && attr !== 'style') found.push(`${attr} ${what}`);
        if (attr === 'style' && /z-index|position/i.test(value)) found.push('styled ' + what);
      }
    }
  }
  for (const el of document.querySelectorAll('[src], [href], [data], [action], [poster]')) {
    for (const attr of ['src', 'href', 'data', 'action', 'poster']) {
      const value = el.getAttribute(attr) || '';
      if (value.startsWith(bait) || /^\\s*(javascript|vbscript):/i.test(value))
        found.push(`${attr} anywhere ${el.outerHTML.slice(0, 160)}`);
    }
  }
  const top = document.elementFromPoint(innerWidth / 2, innerHeight / 2);
  if (top && top.textContent.includes('500 mg') && top.closest('b, span'))
    found.push('overlay at the centre: ' + top.outerHTML.slice(0, 160));
  if (!seen) found.push('no passage content found in ' + containers.join(' '));
  return found;
}"""


@pytest.fixture(scope="module")
def hostile_app(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service = hostile_service(tmp_path_factory.mktemp("hostile"), embedder)
    app = build_app(service, status_reporter(None, service.stats(), no_engine="No LLM engine"))
    port = free_port()
    launch(app, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()
        service.close()


def hostile_elements(page: Page) -> list[Any]:
    return list(page.evaluate(FIND_HOSTILE, [CONTAINERS, BAIT]))


def test_a_hostile_corpus_shows_as_text_in_answers_lookup_and_plans(
    browser: Browser, hostile_app: str
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    try:
        page.goto(hostile_app)
        page.locator("#status-banner").get_by_text("No LLM engine").wait_for(timeout=30_000)

        ask_in_page(page, "What is the warfarin maintenance dose and how often is the INR checked?")
        answers = finished_answers(page)
        answers.first.wait_for(timeout=120_000)
        page.locator("#sources details.citation").first.wait_for(timeout=30_000)
        assert "warfarin" in answers.first.inner_text().lower()
        assert OVERLAY in page.locator("#chat").inner_text() + page.locator("#sources").inner_text()
        assert hostile_elements(page) == []

        page.get_by_role("tab", name="Guideline lookup").click()
        query = page.locator("#lookup-query textarea")
        query.fill("warfarin maintenance dose INR")
        query.press("Enter")
        page.locator("#lookup-results .passage").first.wait_for(timeout=60_000)
        assert hostile_elements(page) == []

        page.get_by_role("tab", name="Case → plan").click()
        page.locator("#case-text textarea").fill(
            "72-year-old man with atrial fibrillation on warfarin 5 mg daily. Weight 80 kg."
        )
        page.get_by_role("button", name="Draft plan").click()
        wait_until(lambda: "Treatment plan" in page.locator("#plan").inner_text(), 120, "the plan")
        assert hostile_elements(page) == []
        page.screenshot(path=screenshot_dir() / "hostile-corpus-plan.png", full_page=True)
        # the app's own footnotes still open, and nothing was fetched from the corpus's URLs
        page.get_by_role("tab", name="Chat").click()
        page.locator("#sources details.citation summary").first.click()
        page.locator("#sources details.citation[open] blockquote").first.wait_for()
        assert not [url for url in fetched if url.startswith(BAIT)]
    finally:
        context.close()
