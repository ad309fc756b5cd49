"""Plain text, HTML and PDF guidelines: their text in sections, hidden HTML left out."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.errors import UnreadableFile
from knowledge.loaders.common import (
    date_string,
    looks_like_heading,
    read_text,
    sections_from_plain_text,
)
from knowledge.loaders.markdown import same_as_title
from knowledge.markup import defuse_tags, remove_unseen, web_url
from knowledge.types import CorpusInfo, Document, Section


def load_text(path: Path, corpus: CorpusInfo, source: str) -> Document:
    text = read_text(path)
    sections = sections_from_plain_text(text)
    first = text.strip().split("\n", 1)[0].strip()
    title = first if looks_like_heading(first) else path.stem.replace("_", " ").replace("-", " ")
    title = " ".join(defuse_tags(title).split())
    if sections and sections[0].path == (title,):
        sections = (Section((), sections[0].text), *sections[1:])
    return Document(corpus, source, source, title, sections, license=corpus.license)


_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "dt", "dd", "tr", "caption", "figcaption")


def text_of(decoded: str) -> str:
    """Text a parser has already decoded (its entities read once) on one line, with no tag the
    decoding formed: `&lt;b&gt;` in a page is not a <b> in its text."""
    return " ".join(defuse_tags(decoded).split())


def load_html(path: Path, corpus: CorpusInfo, source: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path), "html.parser")
    canonical = soup.find("link", rel="canonical")
    url = web_url(canonical.get("href")) if canonical is not None else None
    title_tag = soup.find("title")
    title_text = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(["nav", "header", "footer"]):
        tag.decompose()
    # What a reader of the page never sees is not guideline text (and a place to hide
    # instructions for a model): scripts, media, hidden and template elements.
    remove_unseen(soup)
    h1 = soup.find("h1")
    title = text_of(title_text) or (text_of(h1.get_text(" ", strip=True)) if h1 else "")
    title = title or path.stem

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
            text = text_of(element.get_text(" ", strip=True))
            while stack and stack[-1][0] >= level:
                stack.pop()
            if text and not (level == 1 and same_as_title(text, title)):
                stack.append((level, text))
        elif element.find_parent(_HTML_BLOCKS) is None:  # nested blocks are read with their parent
            if element.name == "tr":
                cells = [
                    text_of(c.get_text(" ", strip=True)) for c in element.find_all(["td", "th"])
                ]
                text = "| " + " | ".join(cells) + " |"
            elif element.name == "li":
                text = "- " + defuse_tags(element.get_text(" ", strip=True))
            else:
                text = defuse_tags(element.get_text(" ", strip=True))
            if text.strip("|- "):
                body.append(text)
    flush()
    # Rows and list items read one per block; keep runs of them together as one block.
    merged = tuple(Section(s.path, re.sub(r"\n\n(?=(\| |- ))", "\n", s.text)) for s in sections)
    return Document(corpus, source, source, title, merged, url=url, license=corpus.license)


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
    title = (text_of(str(info.title)) if info is not None and info.title else "") or path.stem
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
