"""Read corpus files into `Document`s: Markdown (YAML front matter), JSONL, plain text, HTML, PDF.

Each loader keeps the heading hierarchy as `Section.path`; the chunker decides what to index.
A file that cannot be read raises `UnreadableFile` with the reason, never a library traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableFile
from knowledge.provenance import SOURCE_FILE, read_source_file
from knowledge.types import CorpusInfo, Document, Section

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = (
    MARKDOWN_SUFFIXES | JSONL_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
)

# Corpus-level files that describe a corpus rather than belong to it.
CORPUS_DESCRIPTOR_NAMES = frozenset({SOURCE_FILE, "LICENSE", "LICENSE.txt", "README.md"})


@dataclass(frozen=True)
class JsonlFields:
    """Which JSONL fields hold a record's text and metadata; each tuple is tried in order."""

    text: tuple[str, ...] = ("text", "content", "body", "major_recommendations", "abstract")
    title: tuple[str, ...] = ("title", "name")
    id: tuple[str, ...] = ("id", "doc_id", "_id")
    url: tuple[str, ...] = ("url", "source_url", "archived_url", "link")
    date: tuple[str, ...] = ("updated", "last_updated", "lastReviewed", "date_released", "date")
    license: tuple[str, ...] = ("license", "copyright_statement")


# --------------------------------------------------------------------------- corpus descriptor


def read_corpus_descriptor(name: str, source_txt: Path | None) -> CorpusInfo:
    """Corpus provenance from a `SOURCE.txt` (`knowledge.provenance`): its LICENSE, and the URL
    of its ORIGINAL SOURCE, ORIGINAL, SOURCE or OBTAINED FROM field."""
    if source_txt is None or not source_txt.is_file():
        return CorpusInfo(name=name)
    fields = read_source_file(source_txt).fields
    license_text = fields.get("LICENSE")
    source = (
        fields.get("ORIGINAL SOURCE")
        or fields.get("ORIGINAL")
        or fields.get("SOURCE")
        or fields.get("OBTAINED FROM")
    )
    url_match = re.search(r"https?://[^\s,;)]+", source or "") or re.search(
        r"\bwww\.[^\s,;)]+", source or ""
    )
    url = url_match.group(0) if url_match else None
    if url and not url.startswith("http"):
        url = "https://" + url
    return CorpusInfo(name=name, license=license_text, source_url=url)


# --------------------------------------------------------------------------- shared text helpers

_WS_RE = re.compile(r"[ \t\u00a0]+")


def _clean_plain(text: str) -> str:
    """Normalise line endings and runs of spaces, keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_WS_RE.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _looks_like_heading(paragraph: str) -> bool:
    """A plain-text heading: one short line without closing punctuation, mostly capitalised."""
    if "\n" in paragraph or len(paragraph) > 80 or len(paragraph) < 3:
        return False
    if paragraph[-1] in ".,;:?!)" or paragraph[0].islower():
        return False
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", paragraph)]
    if not words or len(words) > 12:
        return False
    minor = {"and", "or", "of", "the", "for", "in", "to", "a", "an", "on", "with", "by", "vs"}
    capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in minor)
    return capitalised / len(words) >= 0.8


def sections_from_plain_text(text: str) -> tuple[Section, ...]:
    """Split plain text into sections at heading-like lines (one level: plain text has no depth).

    A heading is a paragraph of its own, or a line inside a paragraph (PDF text has no blank
    lines) that follows a finished sentence and precedes a capitalised line.
    """
    sections: list[Section] = []
    heading: tuple[str, ...] = ()
    body: list[str] = []

    def start(new_heading: str) -> None:
        nonlocal heading
        if body:
            sections.append(Section(heading, "\n\n".join(body)))
            body.clear()
        heading = (new_heading,)

    for paragraph in _clean_plain(text).split("\n\n"):
        if _looks_like_heading(paragraph):
            start(paragraph)
            continue
        lines = paragraph.split("\n")
        kept: list[str] = []
        for index, line in enumerate(lines):
            after_sentence = index == 0 or lines[index - 1].rstrip()[-1:] in ".!?:"
            before_text = index + 1 < len(lines) and lines[index + 1][:1].isupper()
            if after_sentence and before_text and _looks_like_heading(line):
                if kept:
                    body.append("\n".join(kept))
                    kept = []
                start(line)
            else:
                kept.append(line)
        if kept and any(line.strip() for line in kept):
            body.append("\n".join(kept))
    if body:
        sections.append(Section(heading, "\n\n".join(body)))
    elif heading and (not sections or sections[-1].path != heading):
        sections.append(Section((), heading[0]))  # a last "heading" with nothing under it is text
    return tuple(sections)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("the file is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is not valid UTF-8 text (byte {exc.start})") from None


def _date_string(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value).strip() or None


# --------------------------------------------------------------------------- Markdown

_LATEST_UPDATE_RE = re.compile(r"latest updates?.*?\((\d{1,2})/(\d{1,2})/(\d{4})\)", re.I)


def _normalise_heading(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"[*_`#]+", "", text)
    return _WS_RE.sub(" ", text).strip()


def _same_as_title(heading: str, title: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"[^a-z0-9]+", "", s.lower())[:24]

    return bool(title) and key(heading) == key(title)


def load_markdown(path: Path, corpus: CorpusInfo, source: str) -> Document:
    import frontmatter
    from markdown_it import MarkdownIt

    raw = _read_text(path)
    try:
        post = frontmatter.loads(raw)
        meta: dict[str, Any] = dict(post.metadata)
        body: str = post.content
    except Exception as exc:  # a malformed front matter block: keep the text, note nothing
        raise UnreadableFile(
            f"its YAML front matter cannot be parsed ({type(exc).__name__})"
        ) from exc

    lines = body.split("\n")
    headings: list[tuple[int, int, int, str]] = []  # (start line, end line, level, text)
    for token_index, token in enumerate(
        tokens := MarkdownIt("commonmark").enable("table").parse(body)
    ):
        if token.type == "heading_open" and token.map is not None:
            inline = tokens[token_index + 1]
            headings.append(
                (token.map[0], token.map[1], int(token.tag[1]), _normalise_heading(inline.content))
            )

    title = str(meta.get("title") or "").strip()
    if not title:
        first_h1 = next((h[3] for h in headings if h[2] == 1), "")
        title = first_h1 or path.stem.replace("-", " ").replace("_", " ")

    updated = None
    for _, _, _, text in headings:
        match = _LATEST_UPDATE_RE.search(text)
        if match:
            month, day, year = match.groups()
            updated = f"{year}-{int(month):02d}-{int(day):02d}"
            break
    if updated is None:
        for key in ("updated", "lastUpdated", "last_updated", "lastReviewed", "date", "modified"):
            updated = _date_string(meta.get(key))
            if updated:
                break

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    cursor = 0
    current_path: tuple[str, ...] = ()
    in_title_block = True  # level-1 headings before any content or subheading are titles
    for start, end, level, text in headings:
        chunk_text = "\n".join(lines[cursor:start]).strip()
        if chunk_text:
            sections.append(Section(current_path, chunk_text))
            in_title_block = False
        cursor = end
        if level == 1 and (in_title_block or _same_as_title(text, title)):
            continue
        in_title_block = False
        while stack and stack[-1][0] >= level:
            stack.pop()
        if text:
            stack.append((level, text))
        current_path = tuple(name for _, name in stack)
    tail = "\n".join(lines[cursor:]).strip()
    if tail:
        sections.append(Section(current_path, tail))

    license_value = meta.get("license") or corpus.license
    return Document(
        corpus=corpus,
        source=source,
        doc_id=source,
        title=title,
        sections=tuple(sections),
        url=str(meta["url"]).strip() if meta.get("url") else None,
        updated=updated,
        license=str(license_value) if license_value else None,
    )


# --------------------------------------------------------------------------- JSONL


def _first_field(record: dict[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def load_jsonl(
    path: Path,
    corpus: CorpusInfo,
    source: str,
    fields: JsonlFields,
    warn: Callable[[str], None],
) -> Iterator[Document]:
    """One document per JSON line; broken or text-less lines are reported through `warn`."""
    text = _read_text(path)
    seen_ids: set[str] = set()
    produced = 0
    # JSON Lines ends records at "\n" only: splitlines() would also cut at U+2028, U+0085 and
    # other characters that a JSON string may hold raw, and lose the record.
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            warn(f"{source}:{line_number}: not valid JSON ({exc.msg}); line skipped")
            continue
        except RecursionError:  # json raises this, not JSONDecodeError, for deep nesting
            warn(f"{source}:{line_number}: JSON nested too deeply; line skipped")
            continue
        if not isinstance(record, dict):
            warn(f"{source}:{line_number}: not a JSON object; line skipped")
            continue
        body = _first_field(record, fields.text)
        if not isinstance(body, str) or not body.strip():
            wanted = ", ".join(fields.text)
            warn(f"{source}:{line_number}: no text in any of the fields {wanted}; line skipped")
            continue
        record_id = str(_first_field(record, fields.id) or f"line-{line_number}")
        if record_id in seen_ids:
            warn(f"{source}:{line_number}: duplicate id {record_id!r}; line skipped")
            continue
        seen_ids.add(record_id)
        title = str(_first_field(record, fields.title) or record_id).strip()
        url = _first_field(record, fields.url)
        license_value = _first_field(record, fields.license) or corpus.license
        produced += 1
        yield Document(
            corpus=corpus,
            source=source,
            doc_id=f"{source}#{record_id}",
            title=title,
            sections=sections_from_plain_text(body),
            url=str(url) if url else None,
            updated=_date_string(_first_field(record, fields.date)),
            license=str(license_value) if license_value else None,
        )
    if produced == 0:
        raise UnreadableFile("no line holds a usable record")


# --------------------------------------------------------------------------- plain text, HTML, PDF


def load_text(path: Path, corpus: CorpusInfo, source: str) -> Document:
    text = _read_text(path)
    sections = sections_from_plain_text(text)
    first = text.strip().split("\n", 1)[0].strip()
    title = first if _looks_like_heading(first) else path.stem.replace("_", " ").replace("-", " ")
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

    soup = BeautifulSoup(_read_text(path), "html.parser")
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
            if text and not (level == 1 and _same_as_title(text, title)):
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
        updated = _date_string(modified)
    return Document(
        corpus,
        source,
        source,
        title,
        sections_from_plain_text(text),
        updated=updated,
        license=corpus.license,
    )


# --------------------------------------------------------------------------- dispatch


def load_documents(
    path: Path,
    corpus: CorpusInfo,
    source: str,
    *,
    jsonl_fields: JsonlFields,
    max_bytes: int,
    warn: Callable[[str], None],
) -> list[Document]:
    """All documents in one file. Raises `UnreadableFile` with the reason it was skipped."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(f"it cannot be read ({exc.strerror})") from None
    if size == 0:
        raise UnreadableFile("the file is empty")
    if size > max_bytes:
        raise UnreadableFile(
            f"it is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit (max_file_mb)"
        )
    try:
        if suffix in MARKDOWN_SUFFIXES:
            documents = [load_markdown(path, corpus, source)]
        elif suffix in JSONL_SUFFIXES:
            documents = list(load_jsonl(path, corpus, source, jsonl_fields, warn))
        elif suffix in TEXT_SUFFIXES:
            documents = [load_text(path, corpus, source)]
        elif suffix in HTML_SUFFIXES:
            documents = [load_html(path, corpus, source)]
        else:
            documents = [load_pdf(path, corpus, source)]
    except OSError as exc:
        raise UnreadableFile(f"it cannot be read ({exc.strerror})") from None
    if not any(section.text.strip() for doc in documents for section in doc.sections):
        raise UnreadableFile("it holds no text")
    return documents
