"""BM25 over the stored chunks (bm25s, English stop words, Snowball stemming), and the corpus
vocabulary derived in the same pass (`knowledge.vocabulary`).

The index is a derived artefact saved beside the vector store with the collection's version
token; it is rebuilt only when that token changed, i.e. when the collection did.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.analysis import tokenize
from knowledge.store import StoredChunk
from knowledge.types import SearchFilters
from knowledge.vocabulary import CorpusVocabulary

SIDECAR = "clinassist.json"
VOCABULARY = "vocabulary.json"
FORMAT = 4  # 2: with the corpus vocabulary; 3: prefix hyphens normalised; 4: titles


@dataclass(frozen=True)
class LexicalHit:
    id: str
    score: float
    rank: int  # 1-based


class LexicalIndex:
    def __init__(
        self,
        retriever: Any,
        ids: list[str],
        fields: dict[str, list[str]],
        version: str,
        vocabulary: CorpusVocabulary | None = None,
    ) -> None:
        self._retriever = retriever
        self.ids = ids
        self._fields = {key: np.asarray(values, dtype=object) for key, values in fields.items()}
        self.version = version
        self.vocabulary = vocabulary or CorpusVocabulary()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, chunks: list[StoredChunk], version: str) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25()
        if chunks:
            retriever.index(
                tokenize([c.text for c in chunks], return_ids=True), show_progress=False
            )
        fields = {
            key: [str(c.metadata.get(key, "")) for c in chunks]
            for key in ("corpus", "source", "doc_id")
        }
        vocabulary = CorpusVocabulary.build([(c.text, c.metadata) for c in chunks])
        return cls(retriever, [c.id for c in chunks], fields, version, vocabulary)

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write to a fresh folder, then swap it in: a crash leaves the old index or none."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=directory.parent))
        if self.ids:
            self._retriever.save(str(staging), show_progress=False)
        sidecar = {
            "format": FORMAT,
            "version": self.version,
            "ids": self.ids,
            "fields": {key: list(values) for key, values in self._fields.items()},
        }
        (staging / VOCABULARY).write_text(json.dumps(self.vocabulary.as_json()), encoding="utf-8")
        (staging / SIDECAR).write_text(json.dumps(sidecar), encoding="utf-8")
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when there is none or it cannot be read (then rebuild)."""
        import bm25s

        try:
            sidecar = json.loads((directory / SIDECAR).read_text(encoding="utf-8"))
            if sidecar.get("format") != FORMAT:
                return None
            ids = list(sidecar["ids"])
            retriever = (
                bm25s.BM25.load(str(directory), show_progress=False, mmap=False)
                if ids
                else bm25s.BM25()
            )
            vocabulary = CorpusVocabulary.from_json(
                json.loads((directory / VOCABULARY).read_text(encoding="utf-8"))
            )
            return cls(retriever, ids, dict(sidecar["fields"]), str(sidecar["version"]), vocabulary)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # ------------------------------------------------------------------ search

    def search(self, query: str, n: int, filters: SearchFilters | None = None) -> list[LexicalHit]:
        if not self.ids or n <= 0:
            return []
        tokens = tokenize([query], return_ids=False)
        vocabulary = self._retriever.vocab_dict
        known = [[t for t in tokens[0] if t in vocabulary]]
        if not known[0]:
            return []
        mask = None
        if filters is not None and not filters.is_empty():
            keep = np.ones(len(self.ids), dtype=bool)
            for key, values in (
                ("corpus", filters.corpus),
                ("source", filters.source),
                ("doc_id", filters.doc_id),
            ):
                if values:
                    keep &= np.isin(self._fields[key], list(values))
            if not keep.any():
                return []
            mask = keep.astype(np.float32)
        documents, scores = self._retriever.retrieve(
            known, k=min(n, len(self.ids)), show_progress=False, weight_mask=mask
        )
        hits: list[LexicalHit] = []
        for index, score in zip(documents[0], scores[0], strict=True):
            if score <= 0:
                break
            hits.append(LexicalHit(self.ids[int(index)], float(score), len(hits) + 1))
        return hits
