"""JSONL corpora: one document per record, its fields named by `JsonlFields`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from knowledge.errors import UnreadableFile
from knowledge.loaders.common import JsonlFields, date_string, read_text, sections_from_plain_text
from knowledge.markup import html_to_text, plain_line, web_url
from knowledge.types import CorpusInfo, Document


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
    text = read_text(path)
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
        # a body of markup only ("<br>") is no text either, once read as text
        sections = sections_from_plain_text(html_to_text(body)) if isinstance(body, str) else ()
        if not any(section.text.strip() for section in sections):
            wanted = ", ".join(fields.text)
            warn(f"{source}:{line_number}: no text in any of the fields {wanted}; line skipped")
            continue
        record_id = str(_first_field(record, fields.id) or f"line-{line_number}")
        if record_id in seen_ids:
            warn(f"{source}:{line_number}: duplicate id {record_id!r}; line skipped")
            continue
        seen_ids.add(record_id)
        title = plain_line(str(_first_field(record, fields.title) or "")) or plain_line(record_id)
        # the first of the URL fields that holds a web link (a javascript: one is not a link)
        url = next((link for name in fields.url if (link := web_url(record.get(name)))), None)
        license_value = _first_field(record, fields.license) or corpus.license
        produced += 1
        yield Document(
            corpus=corpus,
            source=source,
            doc_id=f"{source}#{record_id}",
            title=title,
            sections=sections,
            url=url,
            updated=date_string(_first_field(record, fields.date)),
            license=plain_line(str(license_value or "")) or None,
        )
    if produced == 0:
        raise UnreadableFile("no line holds a usable record")
