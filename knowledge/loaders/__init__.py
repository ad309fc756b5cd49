"""Read corpus files into `Document`s: Markdown (YAML front matter), JSONL, plain text, HTML, PDF.

Each loader keeps the heading hierarchy as `Section.path`; the chunker decides what to index.
A file that cannot be read raises `UnreadableFile` with the reason, never a library traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.errors import UnreadableFile
from knowledge.loaders.common import (
    CORPUS_DESCRIPTOR_NAMES,
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    MARKDOWN_SUFFIXES,
    PDF_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TEXT_SUFFIXES,
    JsonlFields,
    read_corpus_descriptor,
    sections_from_plain_text,
)
from knowledge.loaders.documents import load_html, load_pdf, load_text
from knowledge.loaders.jsonl import load_jsonl
from knowledge.loaders.markdown import load_markdown
from knowledge.types import CorpusInfo, Document

__all__ = [
    "CORPUS_DESCRIPTOR_NAMES",
    "PDF_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "JsonlFields",
    "load_documents",
    "load_html",
    "load_jsonl",
    "load_markdown",
    "load_pdf",
    "load_text",
    "read_corpus_descriptor",
    "sections_from_plain_text",
]


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
