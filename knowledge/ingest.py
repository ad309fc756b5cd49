"""Ingest corpus files into the knowledge base: discover, load, chunk, embed what is new, prune.

Chunk ids are content hashes, so the store itself says what is already there: an unchanged
file embeds and adds nothing, a changed file gets its new chunks and loses its stale ones, and
a run killed half-way is completed by the next run without duplicates. A small SQLite cache
(file content hash -> chunk ids) only spares re-chunking unchanged files; the store is checked
against it every time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.chunking import ChunkingParams, chunk_document
from knowledge.errors import UnreadableFile
from knowledge.knowledge_base import KnowledgeBase
from knowledge.loaders import (
    CORPUS_DESCRIPTOR_NAMES,
    JsonlFields,
    load_documents,
    read_corpus_descriptor,
)
from knowledge.provenance import SOURCE_FILE
from knowledge.types import Chunk, CorpusInfo, IngestReport, SkippedFile


@dataclass(frozen=True)
class CorpusFiles:
    info: CorpusInfo
    root: Path
    files: tuple[Path, ...]
    # What the input paths covered, relative to root ("." = all of it): only sources inside
    # these can be "no longer present" and pruned.
    scopes: tuple[str, ...] = (".",)

    def covers(self, source: str) -> bool:
        return any(
            scope == "." or source == scope or source.startswith(scope + "/")
            for scope in self.scopes
        )


@dataclass(frozen=True)
class IngestOptions:
    chunking: ChunkingParams = field(default_factory=ChunkingParams)
    jsonl_fields: JsonlFields = field(default_factory=JsonlFields)
    max_file_bytes: int = 50 * 1024 * 1024
    rebuild: bool = False
    prune: bool = False


# Called after each file: (files done, files in total, source label, chunks added so far).
ProgressCallback = Callable[[int, int, str, int], None]


# --------------------------------------------------------------------------- discovery


def _corpus_files(root: Path) -> tuple[Path, ...]:
    return tuple(
        sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.name not in CORPUS_DESCRIPTOR_NAMES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
    )


def _descriptor_root(path: Path) -> Path | None:
    for ancestor in [path, *path.parents][:4]:
        if (ancestor / SOURCE_FILE).is_file():
            return ancestor
    return None


def discover(
    paths: Sequence[Path], corpus_name: str | None = None
) -> tuple[list[CorpusFiles], list[SkippedFile]]:
    """Group input paths into corpora.

    A directory holding SOURCE.txt, or any directory given with a corpus name, is one corpus;
    so is a folder or file inside such a directory (it is part of that corpus). Another directory
    is a collection: each sub-directory is a corpus, and files directly inside form a corpus
    named after the directory. A lone file belongs to a corpus named after its folder.
    """
    roots: dict[Path, tuple[str, list[Path], list[str]]] = {}
    skipped: list[SkippedFile] = []

    def add(root: Path, name: str, files: Sequence[Path], scope: Path) -> None:
        entry = roots.setdefault(root, (name, [], []))
        entry[1].extend(files)
        entry[2].append(scope.relative_to(root).as_posix())

    for raw in paths:
        path = raw.resolve()
        enclosing = _descriptor_root(path if path.is_dir() else path.parent)
        if not path.exists():
            skipped.append(SkippedFile(str(raw), "it does not exist"))
        elif path.is_file():
            root = enclosing or path.parent
            add(root, corpus_name or root.name, [path], path)
        elif corpus_name:
            add(path, corpus_name, _corpus_files(path), path)
        elif enclosing is not None:
            add(enclosing, enclosing.name, _corpus_files(path), path)
        else:
            loose = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and p.name not in CORPUS_DESCRIPTOR_NAMES
                and not p.name.startswith(".")
            )
            for file in loose:
                add(path, path.name, [file], file)
            for sub in sorted(
                p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")
            ):
                add(sub, sub.name, _corpus_files(sub), sub)
    corpora = []
    for root, (name, files, scopes) in roots.items():
        descriptor_root = _descriptor_root(root)
        descriptor = descriptor_root / SOURCE_FILE if descriptor_root else None
        corpora.append(
            CorpusFiles(
                read_corpus_descriptor(name, descriptor),
                root,
                tuple(dict.fromkeys(files)),
                tuple(dict.fromkeys(scopes)),
            )
        )
    return corpora, skipped


# --------------------------------------------------------------------------- chunk-id cache


class ChunkIdCache:
    """file content + chunker settings -> the chunk ids they produce, and any load warnings."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunk_ids (key TEXT PRIMARY KEY, ids TEXT, warnings TEXT)"
        )
        self._db.commit()

    def get(self, key: str) -> tuple[list[str], list[str]] | None:
        row = self._db.execute(
            "SELECT ids, warnings FROM chunk_ids WHERE key = ?", (key,)
        ).fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def put(self, key: str, ids: list[str], warnings: list[str]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO chunk_ids VALUES (?, ?, ?)",
            (key, json.dumps(ids), json.dumps(warnings)),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def _file_key(content: bytes, corpus: CorpusInfo, source: str, options: IngestOptions) -> str:
    settings = json.dumps(
        [asdict(corpus), source, options.chunking.signature(), asdict(options.jsonl_fields)],
        sort_keys=True,
    )
    digest = hashlib.sha256(content)
    digest.update(settings.encode("utf-8"))
    return digest.hexdigest()


# --------------------------------------------------------------------------- ingest


class _Writer:
    """Embeds and writes; marks the collection changed once, before its first mutation."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.changed = False

    def _mark(self) -> None:
        if not self.changed:
            self.kb.store.bump_version()
            self.changed = True

    def add(self, chunks: list[Chunk]) -> None:
        if chunks:
            self._mark()
            batch = max(self.kb.embedder.batch_size * 4, 64)
            for start in range(0, len(chunks), batch):
                part = chunks[start : start + batch]
                self.kb.store.add(part, self.kb.embedder.embed([c.text for c in part]))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._mark()
            self.kb.store.delete(list(ids))


def ingest(
    kb: KnowledgeBase,
    paths: Sequence[Path],
    *,
    corpus_name: str | None = None,
    options: IngestOptions | None = None,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    options = options or IngestOptions()
    report = IngestReport()
    corpora, report.skipped = discover(paths, corpus_name)
    report.corpora = [c.info.name for c in corpora]
    writer = _Writer(kb)
    existing = kb.store.ids_by_source()
    if options.rebuild:
        names = {corpus.info.name for corpus in corpora}
        for key in [key for key in existing if key[0] in names]:
            stale = sorted(existing.pop(key))
            report.chunks_removed += len(stale)
            writer.delete(stale)
    cache = ChunkIdCache(kb.data_dir / "ingest-cache.sqlite")
    total = sum(len(c.files) for c in corpora)
    done = 0
    try:
        for corpus in corpora:
            seen_sources: set[str] = set()
            for path in corpus.files:
                source = path.relative_to(corpus.root).as_posix()
                seen_sources.add(source)
                report.files_seen += 1
                _ingest_file(
                    kb, writer, cache, corpus.info, path, source, existing, options, report
                )
                done += 1
                if progress is not None:
                    progress(done, total, f"{corpus.info.name}/{source}", report.chunks_added)
            gone = [
                (name, source)
                for (name, source) in existing
                if name == corpus.info.name and source not in seen_sources and corpus.covers(source)
            ]
            if gone and options.prune:
                for key in gone:
                    ids = existing.pop(key)
                    report.chunks_removed += len(ids)
                    writer.delete(sorted(ids))
            elif gone:
                count = sum(len(existing[key]) for key in gone)
                report.warnings.append(
                    f"{corpus.info.name}: {len(gone)} file(s) no longer present still have "
                    f"{count} chunks in the knowledge base; run ingest with --prune to remove them"
                )
    finally:
        cache.close()
    if writer.changed or kb.lexical_state() != "current":
        kb.rebuild_lexical_index()
    return report


def _ingest_file(
    kb: KnowledgeBase,
    writer: _Writer,
    cache: ChunkIdCache,
    corpus: CorpusInfo,
    path: Path,
    source: str,
    existing: dict[tuple[str, str], set[str]],
    options: IngestOptions,
    report: IngestReport,
) -> None:
    label = f"{corpus.name}/{source}"
    stored = existing.get((corpus.name, source), set())
    try:
        content = path.read_bytes() if path.stat().st_size <= options.max_file_bytes else b""
    except OSError as exc:
        report.skipped.append(SkippedFile(label, f"it cannot be read ({exc.strerror})"))
        return
    key = _file_key(content, corpus, source, options)
    cached = cache.get(key) if content else None
    if cached is not None and set(cached[0]) == stored and not options.rebuild:
        report.files_unchanged += 1
        report.chunks_unchanged += len(stored)
        report.warnings.extend(cached[1])
        return

    warnings: list[str] = []
    try:
        documents = load_documents(
            path,
            corpus,
            source,
            jsonl_fields=options.jsonl_fields,
            max_bytes=options.max_file_bytes,
            warn=warnings.append,
        )
    except UnreadableFile as exc:
        kept = f"; its {len(stored)} earlier chunks are kept" if stored else ""
        report.skipped.append(SkippedFile(label, f"{exc}{kept}"))
        return
    report.warnings.extend(warnings)
    chunks: dict[str, Chunk] = {}
    for document in documents:
        for chunk in chunk_document(document, options.chunking):
            chunks.setdefault(chunk.id, chunk)
    if not chunks:
        report.skipped.append(SkippedFile(label, "no indexable text after cleaning"))
        return
    new = [chunk for chunk_id, chunk in chunks.items() if chunk_id not in stored]
    stale = sorted(stored - chunks.keys())
    writer.add(new)  # new chunks first: a crash between the two leaves extra, never missing
    writer.delete(stale)
    existing[(corpus.name, source)] = set(chunks)
    cache.put(key, list(chunks), warnings)
    report.files_ingested += 1
    report.chunks_added += len(new)
    report.chunks_unchanged += len(chunks) - len(new)
    report.chunks_removed += len(stale)
