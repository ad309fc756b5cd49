"""What every loader shares: the file kinds, a corpus's descriptor (SOURCE.txt), the JSONL field
names, and the plain-text helpers (headings, sections, dates)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableFile
from knowledge.provenance import SOURCE_FILE, read_source_file
from knowledge.types import CorpusInfo, Section

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

WS_RE = re.compile(r"[ \t\u00a0]+")


def clean_plain(text: str) -> str:
    """Normalise line endings and runs of spaces, keep paragraph breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [WS_RE.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def looks_like_heading(paragraph: str) -> bool:
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

    for paragraph in clean_plain(text).split("\n\n"):
        if looks_like_heading(paragraph):
            start(paragraph)
            continue
        lines = paragraph.split("\n")
        kept: list[str] = []
        for index, line in enumerate(lines):
            after_sentence = index == 0 or lines[index - 1].rstrip()[-1:] in ".!?:"
            before_text = index + 1 < len(lines) and lines[index + 1][:1].isupper()
            if after_sentence and before_text and looks_like_heading(line):
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


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("the file is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is not valid UTF-8 text (byte {exc.start})") from None


def date_string(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value).strip() or None
