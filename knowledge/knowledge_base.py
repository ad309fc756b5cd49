"""The knowledge base: one store, one embedder, the BM25 index derived from the store, search."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from knowledge.embedding import Embedder
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError
from knowledge.lexical import LexicalIndex
from knowledge.retrieval import RetrievalParams, fuse_to_passages
from knowledge.store import ChunkStore, StoredChunk
from knowledge.types import Passage, SearchFilters
from knowledge.vocabulary import CorpusVocabulary

# A pasted case can be huge; retrieval only needs its start (the embedder reads 256 tokens).
MAX_QUERY_CHARS = 4000


class SearchMode(Enum):
    HYBRID = "hybrid"
    DENSE = "dense"
    BM25 = "bm25"


@dataclass(frozen=True)
class CorpusStats:
    name: str
    documents: int
    files: int
    chunks: int
    license: str | None


@dataclass(frozen=True)
class KnowledgeBaseStats:
    chunks: int
    store: str
    collection: str
    embedder: str
    lexical_index: str  # "current", "stale (rebuilt on next search)" or "absent"
    corpora: list[CorpusStats] = field(default_factory=list)


class KnowledgeBase:
    def __init__(
        self,
        *,
        data_dir: Path,
        embedder: Embedder,
        collection: str = "clinassist_guidelines",
        chroma_url: str | None = None,
        params: RetrievalParams | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self.params = params or RetrievalParams()
        self.store = ChunkStore(
            data_dir=data_dir,
            collection=collection,
            embedder_name=embedder.name,
            embedder_fingerprint=embedder.fingerprint,
            chroma_url=chroma_url,
        )
        # The index lies in the data dir, beside an embedded store: only a server's URL tells
        # stores apart, so a data dir moved or copied keeps its index.
        where = chroma_url or "embedded"
        location_key = hashlib.sha256(f"{where}|{collection}".encode()).hexdigest()
        self.lexical_dir = data_dir / "bm25" / f"{collection}-{location_key[:12]}"
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the store's Chroma client (see `ChunkStore.close`)."""
        self.store.close()

    # ------------------------------------------------------------------ lexical index

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index for the store's current contents: memory, else disk, else rebuilt."""
        version = self.store.version
        with self._lock:
            if self._lexical is not None and self._lexical.version == version:
                return self._lexical
            loaded = LexicalIndex.load(self.lexical_dir)
            if loaded is None or loaded.version != version:
                loaded = self.rebuild_lexical_index(version)
            self._lexical = loaded
            return loaded

    def rebuild_lexical_index(self, version: str | None = None) -> LexicalIndex:
        version = version if version is not None else self.store.version
        index = LexicalIndex.build(list(self.store.iter_all(with_text=True)), version)
        index.save(self.lexical_dir)
        return index

    def vocabulary(self) -> CorpusVocabulary:
        """The corpus vocabulary (document frequencies, headings, abbreviations), derived with
        the BM25 index from the store's current contents."""
        return self.lexical_index().vocabulary

    def lexical_state(self) -> str:
        loaded = LexicalIndex.load(self.lexical_dir)
        if loaded is None:
            return "absent"
        return (
            "current" if loaded.version == self.store.version else "stale (rebuilt on next search)"
        )

    # ------------------------------------------------------------------ search

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: SearchMode = SearchMode.HYBRID,
    ) -> list[Passage]:
        query = " ".join(query[: MAX_QUERY_CHARS * 4].split())[:MAX_QUERY_CHARS]
        if not query:
            raise KnowledgeError("Type a question or keywords to search the guidelines.")
        k = k or self.params.k
        lexical_index = self.lexical_index()
        if len(lexical_index) == 0:
            raise EmptyKnowledgeBase()
        candidates = min(max(self.params.candidates, k), len(lexical_index))

        dense: list[StoredChunk] = []
        if mode is not SearchMode.BM25:
            dense = self.store.query(self.embedder.embed_query(query), candidates, filters)
        lexical = (
            lexical_index.search(query, candidates, filters) if mode is not SearchMode.DENSE else []
        )
        params = self.params
        if mode is SearchMode.DENSE:
            params = RetrievalParams(**{**params.__dict__, "bm25_weight": 0.0})
        elif mode is SearchMode.BM25:
            params = RetrievalParams(**{**params.__dict__, "dense_weight": 0.0})

        fetched = {chunk.id: chunk for chunk in dense}
        # Texts for BM25-only hits that can reach the top k (at most k of them are needed).
        missing = [hit.id for hit in lexical[: k + len(dense)] if hit.id not in fetched]
        fetched.update({chunk.id: chunk for chunk in self.store.get(missing[: max(k, 1) * 2])})
        return fuse_to_passages(dense, lexical, fetched, params, k)

    # ------------------------------------------------------------------ stats

    def stats(self) -> KnowledgeBaseStats:
        documents: dict[str, set[str]] = {}
        files: dict[str, set[str]] = {}
        chunks: Counter[str] = Counter()
        licenses: dict[str, str | None] = {}
        for chunk in self.store.iter_all(with_text=False):
            corpus = str(chunk.metadata.get("corpus", ""))
            chunks[corpus] += 1
            documents.setdefault(corpus, set()).add(str(chunk.metadata.get("doc_id", "")))
            files.setdefault(corpus, set()).add(str(chunk.metadata.get("source", "")))
            licenses.setdefault(corpus, chunk.metadata.get("corpus_license"))
        return KnowledgeBaseStats(
            chunks=sum(chunks.values()),
            store=self.store.location,
            collection=self.store.collection_name,
            embedder=self.embedder.name,
            lexical_index=self.lexical_state(),
            corpora=[
                CorpusStats(
                    name, len(documents[name]), len(files[name]), chunks[name], licenses[name]
                )
                for name in sorted(chunks)
            ],
        )
