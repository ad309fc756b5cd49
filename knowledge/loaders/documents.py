"""Plain text, HTML and PDF guidelines: their text in sections, hidden HTML left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableFile
from knowledge.loaders.common import (
    date_string,
    looks_like_heading,
    read_text,
    sections_from_plain_text,
)
from knowledge.loaders.markdown import same_as_title
from knowledge.types import CorpusInfo, Document, Section


def load_text(path: Path, corpus: CorpusInfo, source: str) -> Document:
    text = read_text(path)
    sections = sections_from_plain_text(text)
    first = text.strip().split("\n", 1)[0].strip()
    title = first if looks_like_heading(first) else path.stem.replace("_", " ").replace("-", " ")
    if sections and sections[0].path == (title,):
        sections = (Section((), sections[0].text), *sections[1:])
    return Document(corpus, source, source, title, sections, license=corpus.license)


_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "dt", "dd", "tr", "caption", "figcaption")


_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)


def _hidden_html(tag: Any) -> bool:
    style = tag.get("style")
    return (
        tag.name == "template"
        or tag.has_attr("hidden")
        or (isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None)
    )


def load_html(path: Path, corpus: CorpusInfo, source: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "img", "svg"]):
        tag.decompose()
    # What a reader of the page never sees is not guideline text (and a place to hide
    # instructions for a model): the hidden attribute, inline display:none or
    # visibility:hidden, and <template> contents.
    for tag in soup.find_all(_hidden_html):
        if not tag.decomposed:
            tag.decompose()
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href") if canonical is not None else None
    title_tag = soup.find("title")
    h1 = soup.find("h1")
    title = (title_tag.get_text(" ", strip=True) if title_tag else "") or (
        h1.get_text(" ", strip=True) if h1 else path.stem
    )

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        if body:
            sections.append(Section(tuple(n for _, n in stack), "\n\n".join(body)))
            body.clear()

    root = soup.body or soup
    heading_names = {f"h{i}" for i in range(1, 7)}
    for element in root.find_all([*heading_names, *_HTML_BLOCKS]):
        if element.name in heading_names:
            flush()
            level = int(element.name[1])
            text = element.get_text(" ", strip=True)
            while stack and stack[-1][0] >= level:
                stack.pop()
            if text and not (level == 1 and same_as_title(text, title)):
                stack.append((level, text))
        elif element.find_parent(_HTML_BLOCKS) is None:  # nested blocks are read with their parent
            if element.name == "tr":
                cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
                text = "| " + " | ".join(cells) + " |"
            elif element.name == "li":
                text = "- " + element.get_text(" ", strip=True)
            else:
                text = element.get_text(" ", strip=True)
            if text.strip("|- "):
                body.append(text)
    flush()
    # Rows and list items read one per block; keep runs of them together as one block.
    merged = tuple(Section(s.path, re.sub(r"\n\n(?=(\| |- ))", "\n", s.text)) for s in sections)
    return Document(
        corpus, source, source, title, merged, url=str(url) if url else None, license=corpus.license
    )


def load_pdf(path: Path, corpus: CorpusInfo, source: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise UnreadableFile("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(f"the PDF cannot be parsed ({type(exc).__name__})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise UnreadableFile("the PDF has no extractable text (scanned images need OCR)")
    title = (str(info.title).strip() if info is not None and info.title else "") or path.stem
    updated = None
    if info is not None:
        try:
            modified = info.modification_date or info.creation_date
        except (ValueError, TypeError):
            modified = None
        updated = date_string(modified)
    return Document(
        corpus,
        source,
        source,
        title,
        sections_from_plain_text(text),
        updated=updated,
        license=corpus.license,
    )
