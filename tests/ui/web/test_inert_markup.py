"""Answers, plans, flags and passages render as text (issue 17, findings 1 and 5): raw HTML,
links and images in what a passage or the model wrote stay inert, and links go only to http(s)
URLs. The rendered Markdown is checked with markdown-it (CommonMark, tables on), which passes
raw HTML through as the page's renderer does."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from agent.flags import Flag, FlagKind
from agent.grounding import Citation
from agent.service import Passage
from tests.hostile_corpus import MARKDOWN, OVERLAY_STYLE
from ui.web.rendering import citations_html, flags_markdown, inert_markdown, passages_html

HOSTILE = (
    f'Dose [1]. <b style="{OVERLAY_STYLE}">500 mg</b> <form><input type="password"></form> '
    '<img src="http://127.0.0.1:9/x.png"> [calc](javascript:alert(1)) '
    "![p](http://127.0.0.1:9/p.png) <http://127.0.0.1:9/auto> &lt;script&gt; `<i>code</i>`\n\n"
    "[ref]: javascript:alert(2)\n\n[go][ref] and [ref]\n\n"
    "- **bold** item\n- _second_ item\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"
)
# Elements a rendered answer may hold: emphasis, lists, tables, paragraphs (and headings).
ALLOWED = {"p", "em", "strong", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED |= {"h1", "h2", "h3", "h4", "br", "hr"}


def rendered_tags(markdown: str) -> set[str]:
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    return {tag.lower() for tag in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", html)}


def passage(url: str | None, title: str = "T", license: str | None = None) -> Passage:
    return Passage(
        "p1",
        f"{title} -- S\nText <img src=x onerror=alert(1)>",
        title,
        "S <b>x</b>",
        url,
        None,
        license,
        "c",
        "s.md",
        "d",
    )


def test_inert_markdown_keeps_emphasis_lists_tables_and_markers_only() -> None:
    shown = inert_markdown(HOSTILE)
    assert rendered_tags(shown) <= ALLOWED
    assert {"strong", "em", "li", "table"} <= rendered_tags(shown)
    assert "Dose [1]." in shown  # a footnote marker shows as written
    assert rendered_tags(inert_markdown(MARKDOWN)) <= ALLOWED | {"h1", "h2"}


def test_flags_quote_sentences_as_text() -> None:
    flags = [Flag(FlagKind.UNSUPPORTED, '<img src="http://127.0.0.1:9/f.png">', HOSTILE)]
    assert rendered_tags(flags_markdown(flags)) <= ALLOWED


def test_footnotes_and_lookup_link_only_to_web_urls_and_escape_every_field() -> None:
    hostile = passage("javascript:alert(1)", title="<img src=x>", license="<b>CC0</b>")
    web = passage("https://www.cancer.gov/pdq")
    for html in (
        citations_html([Citation(1, hostile), Citation(2, web)]),
        passages_html([hostile, web], "dose"),
    ):
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert hrefs == ["https://www.cancer.gov/pdq"]
        assert "<img" not in html and "<b>" not in html and "javascript:" not in html
    assert '<details class="citation">' in citations_html([Citation(1, web)])
