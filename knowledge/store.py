"""The Chroma collection of guideline chunks: embedded on disk by default, a server by URL.

Vectors always come from the project's embedder (Chroma's default embedding function would
download a model). The collection's metadata records which embedder filled it and a version
token that changes before every mutation, so derived indexes (BM25) know when to rebuild.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.chroma import connect_chroma, guarded_call
from knowledge.embedding import FloatMatrix
from knowledge.errors import KnowledgeError
from knowledge.types import Chunk, SearchFilters

# Chroma caps one request's batch; stay well below it.
WRITE_BATCH = 1000
READ_PAGE = 5000

VERSION_KEY = "clinassist_version"
EMBEDDER_KEY = "clinassist_embedder"
# What the embedder's folder held (`Embedder.fingerprint`); absent in collections built before
# it was kept, which take it on their next change.
EMBEDDER_FINGERPRINT_KEY = "clinassist_embedder_fingerprint"


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    distance: float | None = None


def _where(filters: SearchFilters | None) -> dict[str, Any] | None:
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = [
        {key: {"$in": list(values)}}
        for key, values in (
            ("corpus", filters.corpus),
            ("source", filters.source),
            ("doc_id", filters.doc_id),
        )
        if values
    ]
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChunkStore:
    """Thin typed wrapper over one Chroma collection."""

    def __init__(
        self,
        *,
        data_dir: Path,
        collection: str,
        embedder_name: str,
        embedder_fingerprint: str = "",
        chroma_url: str | None = None,
    ) -> None:
        self.collection_name = collection
        self.chroma_url = chroma_url
        self.location = chroma_url or str(data_dir / "chroma")
        self.embedder_name = embedder_name
        self.embedder_fingerprint = embedder_fingerprint
        self._client = connect_chroma(data_dir, chroma_url)
        self._collection = self._open_collection()

    # ------------------------------------------------------------------ connection

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return guarded_call(self.chroma_url, what, fn, *args, **kwargs)

    def _open_collection(self) -> Any:
        collection = self._call(
            "opening the collection",
            self._client.get_or_create_collection,
            name=self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=self._metadata(),
        )
        metadata = collection.metadata or {}
        stored_embedder = metadata.get(EMBEDDER_KEY)
        stored_fingerprint = metadata.get(EMBEDDER_FINGERPRINT_KEY)
        other_name = stored_embedder not in (None, self.embedder_name)
        other_weights = stored_fingerprint not in (None, self.embedder_fingerprint)
        if (other_name or other_weights) and collection.count() > 0:
            theirs = stored_embedder if other_name else f"{stored_embedder} as it was then"
            ours = self.embedder_name if other_name else "the files now in its folder"
            raise KnowledgeError(
                f"The collection {self.collection_name} was built with the embedder "
                f"{theirs}, not {ours}: set the original embedder, or use another collection "
                "name and ingest again."
            )
        return collection

    def _metadata(self) -> dict[str, str]:
        """A new version token, and the embedder that wrote the vectors."""
        metadata = {VERSION_KEY: uuid.uuid4().hex, EMBEDDER_KEY: self.embedder_name}
        if self.embedder_fingerprint:
            metadata[EMBEDDER_FINGERPRINT_KEY] = self.embedder_fingerprint
        return metadata

    def close(self) -> None:
        """Release this store's Chroma client (it is not used after). Once the last client of
        an embedded store's folder is released, Chroma holds its files no more: a copy of the
        data dir is then a whole one."""
        self._client.close()

    # ------------------------------------------------------------------ version token

    @property
    def version(self) -> str:
        collection = self._call(
            "reading the collection", self._client.get_collection, name=self.collection_name
        )
        return str((collection.metadata or {}).get(VERSION_KEY, ""))

    def bump_version(self) -> None:
        """Mark the collection as changed; called before a mutation, so a crash mid-way still
        invalidates indexes derived from the old contents."""
        self._call(
            "updating the collection",
            self._collection.modify,
            metadata=self._metadata(),
        )

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        return int(self._call("counting chunks", self._collection.count))

    def iter_all(self, *, with_text: bool) -> Iterator[StoredChunk]:
        """Every chunk, page by page."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        offset = 0
        while True:
            page = self._call(
                "reading chunks",
                self._collection.get,
                include=include,
                limit=READ_PAGE,
                offset=offset,
            )
            ids: list[str] = page["ids"]
            if not ids:
                return
            documents = page.get("documents") or [""] * len(ids)
            for chunk_id, text, metadata in zip(ids, documents, page["metadatas"], strict=True):
                yield StoredChunk(chunk_id, text or "", dict(metadata or {}))
            offset += len(ids)

    def ids_by_source(self) -> dict[tuple[str, str], set[str]]:
        """(corpus, source file) -> ids of its chunks."""
        result: dict[tuple[str, str], set[str]] = {}
        for chunk in self.iter_all(with_text=False):
            key = (str(chunk.metadata.get("corpus", "")), str(chunk.metadata.get("source", "")))
            result.setdefault(key, set()).add(chunk.id)
        return result

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked (missing ids are left out)."""
        if not ids:
            return []
        page = self._call(
            "reading chunks",
            self._collection.get,
            ids=list(ids),
            include=["metadatas", "documents"],
        )
        found = {
            chunk_id: StoredChunk(chunk_id, text or "", dict(metadata or {}))
            for chunk_id, text, metadata in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            )
        }
        return [found[i] for i in ids if i in found]

    def query(
        self, embedding: FloatMatrix, n: int, filters: SearchFilters | None = None
    ) -> list[StoredChunk]:
        """Nearest chunks by cosine distance."""
        result = self._call(
            "searching",
            self._collection.query,
            query_embeddings=[embedding],
            n_results=n,
            where=_where(filters),
            include=["metadatas", "documents", "distances"],
        )
        return [
            StoredChunk(chunk_id, text or "", dict(metadata or {}), float(distance))
            for chunk_id, text, metadata, distance in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
        ]

    # ------------------------------------------------------------------ writes

    def add(self, chunks: Sequence[Chunk], embeddings: FloatMatrix) -> None:
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            self._call(
                "adding chunks",
                self._collection.upsert,
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
                embeddings=embeddings[start : start + WRITE_BATCH],
            )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            self._call(
                "removing chunks", self._collection.delete, ids=ids[start : start + WRITE_BATCH]
            )
