"""Hybrid retrieval: dense (Chroma, cosine) and BM25 candidates fused by reciprocal rank."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.errors import EmptyKnowledgeBase
from knowledge.lexical import LexicalHit
from knowledge.markup import web_url
from knowledge.store import StoredChunk
from knowledge.types import Passage, SearchFilters


@dataclass(frozen=True)
class RetrievalParams:
    k: int = 8
    candidates: int = 50  # per retriever, before fusion
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0


@dataclass(frozen=True)
class RankedId:
    id: str
    score: float  # the retriever's own score (cosine similarity or BM25)
    rank: int  # 1-based


def reciprocal_rank_fusion(
    rankings: Sequence[tuple[Sequence[RankedId], float]], rrf_k: float
) -> list[tuple[str, float]]:
    """Σ weight / (rrf_k + rank) over the rankings that contain an id; best first.

    Equal sums are common (ranks 1+2 against 2+1); they are broken by the rankings in the order
    given (the first ranking's better rank wins), and only then by id, so the order stays
    meaningful and deterministic.
    """
    fused: dict[str, float] = {}
    ranks: dict[str, list[float]] = {}
    used = [(ranking, weight) for ranking, weight in rankings if weight > 0]
    for position, (ranking, weight) in enumerate(used):
        for item in ranking:
            fused[item.id] = fused.get(item.id, 0.0) + weight / (rrf_k + item.rank)
            ranks.setdefault(item.id, [math.inf] * len(used))[position] = item.rank
    return sorted(fused.items(), key=lambda pair: (-pair[1], ranks[pair[0]], pair[0]))


def dense_ranking(hits: Sequence[StoredChunk]) -> list[RankedId]:
    return [
        RankedId(hit.id, 1.0 - float(hit.distance or 0.0), rank)
        for rank, hit in enumerate(hits, start=1)
    ]


def lexical_ranking(hits: Sequence[LexicalHit]) -> list[RankedId]:
    return [RankedId(hit.id, hit.score, hit.rank) for hit in hits]


def passage_from_stored(chunk: StoredChunk, **scores: float | int | None) -> Passage:
    meta = chunk.metadata

    def text_field(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    return Passage(
        id=chunk.id,
        text=chunk.text,
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        url=web_url(meta.get("url")),
        updated=text_field("updated"),
        license=text_field("license"),
        corpus=str(meta.get("corpus", "")),
        source=str(meta.get("source", "")),
        doc_id=str(meta.get("doc_id", "")),
        corpus_license=text_field("corpus_license"),
        corpus_source_url=web_url(meta.get("corpus_source_url")),
        **scores,  # type: ignore[arg-type]
    )


def fuse_to_passages(
    dense: Sequence[StoredChunk],
    lexical: Sequence[LexicalHit],
    fetch: dict[str, StoredChunk],
    params: RetrievalParams,
    k: int,
) -> list[Passage]:
    """Top-k passages by fused score; `fetch` holds stored chunks for every candidate id."""
    dense_ranked = dense_ranking(dense)
    lexical_ranked = lexical_ranking(lexical)
    by_dense = {r.id: r for r in dense_ranked}
    by_lexical = {r.id: r for r in lexical_ranked}
    fused = reciprocal_rank_fusion(
        [(dense_ranked, params.dense_weight), (lexical_ranked, params.bm25_weight)],
        params.rrf_k,
    )
    passages: list[Passage] = []
    for chunk_id, score in fused:
        stored = fetch.get(chunk_id)
        if stored is None:  # the BM25 index is briefly older than the store: skip, never invent
            continue
        d, b = by_dense.get(chunk_id), by_lexical.get(chunk_id)
        passages.append(
            passage_from_stored(
                stored,
                score=score,
                dense_score=d.score if d else None,
                dense_rank=d.rank if d else None,
                bm25_score=b.score if b else None,
                bm25_rank=b.rank if b else None,
            )
        )
        if len(passages) == k:
            break
    return passages


def require_nonempty(count: int) -> None:
    if count == 0:
        raise EmptyKnowledgeBase()


__all__ = [
    "RankedId",
    "RetrievalParams",
    "SearchFilters",
    "fuse_to_passages",
    "reciprocal_rank_fusion",
    "require_nonempty",
]
