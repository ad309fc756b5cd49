"""Section-aware chunking: `Document` -> `Chunk`s of about `target_chars` characters.

Each chunk starts with a `title -- section > subsection` line so that both retrievers and the
reader see where it comes from. Paragraphs split at sentence boundaries with a small overlap;
short paragraphs are merged; list items and table rows are never cut (a continued table repeats
its header row); reference lists, image links and citation markers are dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from knowledge.markup import defuse_tags
from knowledge.types import Chunk, Document, Section

# Bumped whenever chunk boundaries or text could change for the same input.
CHUNKER_VERSION = "4"

DEFAULT_DROP_SECTIONS: tuple[str, ...] = (
    r"references?",
    r"bibliography",
    r"works cited",
    r"cited (literature|references)",
    r"(further|suggested) reading",
    # PDQ boilerplate repeated verbatim in every summary: change logs and "about this summary".
    r"latest updates to this summary.*",
    r"about this pdq summary",
)


@dataclass(frozen=True)
class ChunkingParams:
    target_chars: int = 1000
    overlap_chars: int = 150
    min_chars: int = 250
    drop_sections: tuple[str, ...] = DEFAULT_DROP_SECTIONS

    def signature(self) -> str:
        """Identifies the chunker's output for a given input: version plus parameters."""
        return f"v{CHUNKER_VERSION}:{json.dumps(self.__dict__, sort_keys=True)}"


# --------------------------------------------------------------------------- cleaning

_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
# PDQ's reference markers: [[1](#cit/...)], [[1](...),[4](...)] and ranges [[82](...)-[86](...)].
_CITATION_GROUP_RE = re.compile(r"\[\[\d+\]\([^)]*\)(?:\s*[,\-–]\s*\[\d+\]\([^)]*\))*\]")
_LINK_RE = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK_ONLY_LINE_RE = re.compile(r"^\s*\[[^\]]*\]\([^)]*\)\s*$", re.M)


def clean_markup(text: str) -> str:
    """Drop image links, citation markers and navigation-only link lines; links become text;
    no tag is left (the loaders read HTML as text: this holds for any loader)."""
    text = defuse_tags(text)
    text = _IMAGE_RE.sub("", text)
    text = _CITATION_GROUP_RE.sub("", text)
    text = _LINK_ONLY_LINE_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --------------------------------------------------------------------------- sentences

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "al",
        "e.g",
        "i.e",
        "vs",
        "etc",
        "fig",
        "figs",
        "no",
        "nos",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "approx",
        "ca",
        "cf",
        "eq",
        "ref",
        "refs",
        "vol",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "dept",
        "univ",
        "mg",
        "ml",
        "kg",
        "mo",
        "yr",
        "wk",
        "min",
        "max",
        "resp",
        "incl",
        "esp",
    ]
)
_BOUNDARY_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends, keeping abbreviations, initials and decimals intact."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        before = text[start : match.start()].rstrip("\"')]")
        last_word = re.split(r"\s", before)[-1].rstrip(".!?").lower() if before else ""
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _hard_wrap(text: str, limit: int) -> list[str]:
    """Last resort for a 'sentence' longer than a chunk: cut at word boundaries."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


# --------------------------------------------------------------------------- blocks and units


class UnitKind(Enum):
    SENTENCE = "sentence"  # part of a paragraph that was too long for one chunk
    PARAGRAPH = "paragraph"
    ITEM = "item"  # a list item, continuation lines included
    ROW = "row"  # a table row


@dataclass(frozen=True)
class _Unit:
    text: str
    kind: UnitKind
    block: int  # index of the block (paragraph, list, table) it came from
    table_header: str = ""  # for rows: the header to repeat when the table continues


_LIST_ITEM_RE = re.compile(r"^\s{0,3}([-*+]|\d{1,3}[.)])\s+")
_TABLE_SEPARATOR_RE = re.compile(r"^\|?\s*:?-{2,}")


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """Blank-line separated blocks as (kind, lines); adjacent list blocks form one list."""
    blocks: list[tuple[str, list[str]]] = []
    for raw in re.split(r"\n\s*\n", text):
        lines = [line for line in raw.split("\n") if line.strip()]
        if not lines:
            continue
        if all(line.lstrip().startswith("|") for line in lines):
            kind = "table"
        elif _LIST_ITEM_RE.match(lines[0]):
            kind = "list"
        else:
            kind = "paragraph"
        if kind == "list" and blocks and blocks[-1][0] == "list":
            blocks[-1][1].extend(lines)
        else:
            blocks.append((kind, lines))
    return blocks


def _units(text: str, target: int) -> list[_Unit]:
    units: list[_Unit] = []
    for index, (kind, lines) in enumerate(_blocks(text)):
        if kind == "table":
            header_lines = (
                lines[:2] if len(lines) > 1 and _TABLE_SEPARATOR_RE.match(lines[1]) else []
            )
            header = "\n".join(header_lines)
            rows = lines[len(header_lines) :] or lines
            if header_lines and rows is not lines:
                units.append(_Unit(header, UnitKind.ROW, index, table_header=""))
            units.extend(_Unit(row, UnitKind.ROW, index, table_header=header) for row in rows)
        elif kind == "list":
            items: list[str] = []
            for line in lines:
                if _LIST_ITEM_RE.match(line) or not items:
                    items.append(line.rstrip())
                else:
                    items[-1] += "\n" + line.rstrip()
            for item in items:
                if len(item) <= target:
                    units.append(_Unit(item, UnitKind.ITEM, index))
                else:
                    units.extend(
                        _Unit(piece, UnitKind.SENTENCE, index)
                        for sentence in split_sentences(item.replace("\n", " "))
                        for piece in _hard_wrap(sentence, target)
                    )
        else:
            paragraph = " ".join(line.strip() for line in lines)
            if len(paragraph) <= target:
                units.append(_Unit(paragraph, UnitKind.PARAGRAPH, index))
            else:
                units.extend(
                    _Unit(piece, UnitKind.SENTENCE, index)
                    for sentence in split_sentences(paragraph)
                    for piece in _hard_wrap(sentence, target)
                )
    return units


def _join(units: list[_Unit]) -> str:
    parts: list[str] = []
    for previous, unit in zip([None, *units[:-1]], units, strict=True):
        if previous is not None:
            if previous.block != unit.block:
                parts.append("\n\n")
            elif unit.kind is UnitKind.SENTENCE:
                parts.append(" ")
            else:
                parts.append("\n")
        parts.append(unit.text)
    return "".join(parts)


def _pack(units: list[_Unit], params: ChunkingParams) -> Iterator[str]:
    """Greedy packing of units into bodies of about `target_chars`.

    A new chunk starts with the carried overlap (the previous sentence of a split paragraph, or
    a continued table's header). A short tail goes back into the chunk before it when the two
    fit in 1.5 x target, so a split never leaves a fragment of one sentence on its own.
    """
    chunks: list[tuple[list[_Unit], int]] = []  # units, and how many of them were carried
    current: list[_Unit] = []
    carried_count = 0
    length = 0
    for unit in units:
        extra = len(unit.text) + (2 if current else 0)
        if current and length + extra > params.target_chars:
            chunks.append((current, carried_count))
            last = current[-1]
            carried: list[_Unit] = []
            if (
                last.kind is UnitKind.SENTENCE
                and unit.kind is UnitKind.SENTENCE
                and last.block == unit.block
                and len(last.text) <= params.overlap_chars
            ):
                carried = [last]
            elif unit.kind is UnitKind.ROW and unit.table_header and last.block == unit.block:
                carried = [_Unit(unit.table_header, UnitKind.ROW, unit.block)]
            current, carried_count = carried, len(carried)
            length = sum(len(u.text) + 2 for u in current)
        current.append(unit)
        length += extra
    if current:
        own = current[carried_count:]
        own_length = sum(len(u.text) + 2 for u in own)
        if chunks and own_length < params.min_chars:
            previous, previous_carried = chunks[-1]
            if sum(len(u.text) + 2 for u in previous) + own_length <= params.target_chars * 1.5:
                chunks[-1] = (previous + own, previous_carried)
                current = []
        if current:
            chunks.append((current, carried_count))
    for chunk_units, _ in chunks:
        yield _join(chunk_units)


# --------------------------------------------------------------------------- documents


def _is_dropped(path: tuple[str, ...], patterns: list[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(heading.strip()) for heading in path for p in patterns)


def _merged_sections(sections: Iterable[Section], min_chars: int) -> Iterator[Section]:
    """A short section's text moves into the next section when that one is its subsection."""
    pending: Section | None = None
    for section in sections:
        if pending is not None:
            if section.path[: len(pending.path)] == pending.path and section.path != pending.path:
                section = Section(section.path, pending.text + "\n\n" + section.text)
            else:
                yield pending
            pending = None
        if len(section.text) < min_chars:
            pending = section
        else:
            yield section
    if pending is not None:
        yield pending


def _one_line(text: str) -> str:
    """A title or heading on one line, no tag in it."""
    return " ".join(defuse_tags(text).split())


def _short_label(path: tuple[str, ...], limit: int = 200) -> str:
    """The section path for the prefix line; deep paths keep their top and their last two levels
    so the prefix does not crowd out the text it labels (metadata keeps the whole path)."""
    names = [" ".join(h.split()) for h in path]
    label = " > ".join(names)
    if len(label) <= limit or len(names) <= 3:
        return label
    return " > ".join([names[0], "…", *names[-2:]])


def chunk_id(text: str, metadata: dict[str, str | int]) -> str:
    """Content hash of the chunk text and its provenance: same input, same id."""
    payload = json.dumps([text, metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def chunk_document(document: Document, params: ChunkingParams) -> list[Chunk]:
    patterns = [re.compile(p, re.I) for p in params.drop_sections]
    title = _one_line(document.title)
    cleaned = (
        Section(tuple(_one_line(h) for h in s.path), clean_markup(s.text))
        for s in document.sections
        if not _is_dropped(s.path, patterns)
    )
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in _merged_sections((s for s in cleaned if s.text), params.min_chars):
        section_label = " > ".join(section.path)
        prefix = f"{title} -- {_short_label(section.path)}" if section_label else title
        for body in _pack(_units(section.text, params.target_chars), params):
            text = f"{prefix}\n{body}"
            partial = Chunk(
                id="",
                text=text,
                doc_id=document.doc_id,
                source=document.source,
                corpus=document.corpus.name,
                title=title,
                section=section_label,
                url=document.url,
                updated=document.updated,
                license=_one_line(document.license) if document.license else None,
                corpus_license=document.corpus.license,
                corpus_source_url=document.corpus.source_url,
            )
            identifier = chunk_id(text, partial.metadata())
            if identifier in seen:  # verbatim repeat inside one document
                continue
            seen.add(identifier)
            chunks.append(dataclasses.replace(partial, id=identifier))
    return chunks
