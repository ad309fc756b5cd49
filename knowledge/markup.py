"""Text, not markup, from corpora: what a loader keeps of a document's HTML and its URLs.

A guideline is read for its words and structure (headings, lists, tables); HTML in it is never
passed on as markup. `html_to_text` reads a fragment's text the way a reader sees it (tags
removed, hidden elements and scripts left out, entities decoded once), and `defuse_tags` breaks
any tag that decoding or plain text still holds, so no stored title, heading or passage can
become a live element on a page that renders it. `web_url` is the one rule for links taken from
a corpus: http(s) only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

# Elements whose content is not text a reader sees: code, media fallbacks, form controls.
_NOT_TEXT = (
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "img",
    "video",
    "audio",
    "picture",
    "canvas",
    "select",
    "textarea",
    "button",
    "head",
)
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)
# A tag as a browser or a Markdown renderer would read it, once its entities are decoded.
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]*|![^<>]*|\?[^<>]*)>")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# A Markdown autolink (<https://...>) is a URL written as text, not a tag.
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>", re.I)


def is_hidden_element(tag: Any) -> bool:
    """What a reader of the page never sees (and a place to hide instructions for a model): the
    hidden attribute, inline display:none or visibility:hidden, and <template> contents."""
    style = tag.get("style")
    return (
        tag.name == "template"
        or tag.has_attr("hidden")
        or (isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None)
    )


def remove_unseen(soup: Any) -> None:
    """Drop from a parsed page (BeautifulSoup) what is not read as its text."""
    for tag in soup(list(_NOT_TEXT)):
        tag.decompose()
    for tag in soup.find_all(is_hidden_element):
        if not tag.decomposed:
            tag.decompose()


def defuse_tags(text: str) -> str:
    """`text` with no tag left in it: whole tags are removed and a `<` that would start one is
    followed by a space, so that neither HTML nor Markdown reads it as markup ("eGFR <30" and
    "a < b" stay as they are)."""
    if "<" not in text:
        return text
    return _TAG_START.sub("< ", _TAG.sub("", _AUTOLINK.sub(r"\1", text)))


def html_to_text(fragment: str) -> str:
    """The text of a fragment that may hold HTML (a Markdown body, a title, a JSONL field):
    elements a reader does not see left out, tags removed, entities decoded once, and no tag
    formed by the decoding (`&lt;b&gt;` gives neither a live <b> nor its text)."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    from bs4 import BeautifulSoup

    # The parser drops an "&" that ends its input ("AT&T" would read "ATT"): it never does.
    soup = BeautifulSoup(_AUTOLINK.sub(r"\1", fragment) + "\n", "html.parser")
    for line_break in soup.find_all("br"):
        line_break.replace_with("\n")
    remove_unseen(soup)
    text = soup.get_text()
    return defuse_tags(text[:-1] if text.endswith("\n") else text)


def plain_line(text: str) -> str:
    """A title or heading: its text on one line."""
    return " ".join(html_to_text(text).split())


def web_url(value: object) -> str | None:
    """A link from corpus metadata, kept only when it is an http(s) URL with a host (no
    `javascript:`, `data:`, `vbscript:`, relative or malformed ones); None otherwise."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ch in '"<>`' for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
