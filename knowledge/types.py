"""Domain objects of the knowledge layer: what loaders produce and what retrieval returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.markup import web_url


@dataclass(frozen=True)
class CorpusInfo:
    """A named collection of guideline files and the provenance every chunk carries."""

    name: str
    license: str | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class Section:
    """Text under one heading path, in document order. `path` excludes the document title."""

    path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Document:
    """One guideline document as a loader read it, before chunking."""

    corpus: CorpusInfo
    source: str  # the file, relative to the corpus root
    doc_id: str  # unique within the corpus; a JSONL file holds several documents
    title: str
    sections: tuple[Section, ...]
    url: str | None = None
    updated: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: `text` starts with the `title -- section > subsection` prefix."""

    id: str
    text: str
    doc_id: str
    source: str
    corpus: str
    title: str
    section: str
    url: str | None
    updated: str | None
    license: str | None
    corpus_license: str | None
    corpus_source_url: str | None

    def metadata(self) -> dict[str, str | int]:
        """Chroma metadata (no None values allowed there)."""
        values: dict[str, str | int | None] = {
            "doc_id": self.doc_id,
            "source": self.source,
            "corpus": self.corpus,
            "title": self.title,
            "section": self.section,
            "url": self.url,
            "updated": self.updated,
            "license": self.license,
            "corpus_license": self.corpus_license,
            "corpus_source_url": self.corpus_source_url,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its provenance and the scores that ranked it."""

    id: str
    text: str
    title: str
    section: str
    url: str | None
    updated: str | None
    license: str | None
    corpus: str
    source: str
    doc_id: str
    corpus_license: str | None = None
    corpus_source_url: str | None = None
    score: float = 0.0  # fused (reciprocal-rank) score
    dense_score: float | None = None  # cosine similarity, when the dense retriever found it
    bm25_score: float | None = None
    dense_rank: int | None = None  # 1-based
    bm25_rank: int | None = None

    @property
    def effective_license(self) -> str | None:
        """The passage's licence: its document's own, else its corpus's (the one rule every
        display and citation uses); None when neither states one."""
        return self.license or self.corpus_license

    @property
    def link(self) -> str | None:
        """The passage's URL when it is a web (http or https) link, the only kind shown as a
        link (`knowledge.markup.web_url`)."""
        return web_url(self.url)

    @property
    def body(self) -> str:
        """The chunk text without its `title -- section` prefix line."""
        head, sep, rest = self.text.partition("\n")
        return rest if sep and " -- " in head else self.text

    def citation(self) -> str:
        """One line naming where the passage comes from, for display beside it."""
        parts = [self.title]
        if self.section:
            parts.append(self.section)
        if self.url:
            parts.append(self.url)
        if self.updated:
            parts.append(f"updated {self.updated}")
        if self.license:
            parts.append(f"license: {self.license}")
        return "; ".join(parts)


@dataclass(frozen=True)
class SearchFilters:
    """Optional metadata filters; each list means 'any of these'."""

    corpus: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    doc_id: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.corpus or self.source or self.doc_id)

    def matches(self, metadata: dict[str, str]) -> bool:
        return (
            (not self.corpus or metadata.get("corpus") in self.corpus)
            and (not self.source or metadata.get("source") in self.source)
            and (not self.doc_id or metadata.get("doc_id") in self.doc_id)
        )


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did; printed as the final summary."""

    files_seen: int = 0
    files_ingested: int = 0  # loaded and chunked (new or changed)
    files_unchanged: int = 0
    chunks_added: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    corpora: list[str] = field(default_factory=list)

    @property
    def anything_usable(self) -> bool:
        return self.files_ingested + self.files_unchanged > 0
