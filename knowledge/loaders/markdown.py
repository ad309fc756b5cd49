"""Markdown guidelines (with YAML front matter): sections from headings, the title, URL,
update date and licence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableFile
from knowledge.loaders.common import WS_RE, date_string, read_text
from knowledge.markup import html_to_text, plain_line, web_url
from knowledge.types import CorpusInfo, Document, Section

_LATEST_UPDATE_RE = re.compile(r"latest updates?.*?\((\d{1,2})/(\d{1,2})/(\d{4})\)", re.I)


def _normalise_heading(text: str) -> str:
    text = html_to_text(text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links -> their text
    text = re.sub(r"[*_`#]+", "", text)
    return WS_RE.sub(" ", text).strip()


def same_as_title(heading: str, title: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"[^a-z0-9]+", "", s.lower())[:24]

    return bool(title) and key(heading) == key(title)


def load_markdown(path: Path, corpus: CorpusInfo, source: str) -> Document:
    import frontmatter
    from markdown_it import MarkdownIt

    raw = read_text(path)
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

    title = plain_line(str(meta.get("title") or ""))
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
            updated = date_string(meta.get(key))
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
            sections.append(Section(current_path, html_to_text(chunk_text)))
            in_title_block = False
        cursor = end
        if level == 1 and (in_title_block or same_as_title(text, title)):
            continue
        in_title_block = False
        while stack and stack[-1][0] >= level:
            stack.pop()
        if text:
            stack.append((level, text))
        current_path = tuple(name for _, name in stack)
    tail = "\n".join(lines[cursor:]).strip()
    if tail:
        sections.append(Section(current_path, html_to_text(tail)))

    license_value = meta.get("license") or corpus.license
    return Document(
        corpus=corpus,
        source=source,
        doc_id=source,
        title=title,
        sections=tuple(sections),
        url=web_url(meta.get("url")),
        updated=updated,
        license=plain_line(str(license_value or "")) or None,
    )
