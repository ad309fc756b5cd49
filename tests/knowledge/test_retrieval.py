"""Hybrid search over a real knowledge base (real embedder, embedded Chroma, bm25s)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.errors import EmptyKnowledgeBase, KnowledgeError
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase, SearchMode
from knowledge.lexical import LexicalIndex
from knowledge.retrieval import RankedId, RetrievalParams, reciprocal_rank_fusion
from knowledge.types import SearchFilters
from tests.corpus import write_corpus

KbFactory = Callable[..., KnowledgeBase]


@pytest.fixture
def kb(make_kb: KbFactory, tmp_path: Path) -> KnowledgeBase:
    base = make_kb()
    ingest(base, [write_corpus(tmp_path / "guides")])
    return base


def test_passages_are_typed_with_provenance_and_scores(kb: KnowledgeBase) -> None:
    passages = kb.search("gabapentin dose for hot flashes", k=4)
    assert 1 <= len(passages) <= 4
    top = passages[0]
    assert top.title == "Hot Flashes and Night Sweats (PDQ) - Test"
    assert "Gabapentin" in top.text
    assert top.section == "Primary Interventions > Drug Interactions"
    assert top.url == "https://guidelines.example.org/hot-flashes"
    assert top.updated == "2025-01-15"
    assert top.license == "public_domain"
    assert top.corpus == "guides" and top.source == "hot-flashes.md"
    assert top.dense_rank is not None and top.bm25_rank is not None
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert "Gabapentin" in top.body and not top.body.startswith(top.title)


def test_modes_use_one_retriever_each(kb: KnowledgeBase) -> None:
    bm25 = kb.search("colonoscopy", k=3, mode=SearchMode.BM25)
    assert bm25 and all(p.dense_score is None and p.bm25_score for p in bm25)
    dense = kb.search("bowel cancer screening test", k=3, mode=SearchMode.DENSE)
    assert dense and all(p.bm25_score is None and p.dense_score is not None for p in dense)
    assert dense[0].source == "colorectal.txt"


def test_lexical_retriever_finds_exact_terms_dense_misses(kb: KnowledgeBase) -> None:
    # Rare exact tokens (a drug level) are what BM25 is for.
    [hit, *_] = kb.search("varenicline", k=3, mode=SearchMode.BM25)
    assert hit.source == "smoking.md"


def test_filters_restrict_both_retrievers(kb: KnowledgeBase) -> None:
    only_html = kb.search(
        "screening recommendation", k=5, filters=SearchFilters(source=("hypertension.html",))
    )
    assert only_html and all(p.source == "hypertension.html" for p in only_html)
    by_doc = kb.search("recommendation", k=5, filters=SearchFilters(doc_id=("records.jsonl#g-2",)))
    assert by_doc and all(p.doc_id == "records.jsonl#g-2" for p in by_doc)
    assert kb.search("aspirin", filters=SearchFilters(corpus=("no-such-corpus",))) == []


def test_empty_knowledge_base_says_so(make_kb: KbFactory) -> None:
    with pytest.raises(EmptyKnowledgeBase, match="knowledge base is empty"):
        make_kb().search("aspirin")


def test_blank_query_is_a_clear_error_and_huge_query_works(kb: KnowledgeBase) -> None:
    with pytest.raises(KnowledgeError, match="Type a question"):
        kb.search("   \n ")
    huge = "aspirin bleeding risk " * 2_500_000  # a 55 MB paste
    assert kb.search(huge, k=2)


def test_a_data_dir_copied_elsewhere_keeps_its_bm25_index(
    kb: KnowledgeBase, make_kb: KbFactory, tmp_path: Path
) -> None:
    """A data dir moved, copied or restored from a backup is the same collection: its BM25
    index is current, not rebuilt (it is rebuilt exactly when the collection changed)."""
    import shutil

    kb.close()
    shutil.copytree(tmp_path / "data", tmp_path / "elsewhere" / "data")
    copied = make_kb(tmp_path / "elsewhere" / "data")
    assert copied.lexical_state() == "current"
    stamp = (copied.lexical_dir / "clinassist.json").stat().st_mtime_ns
    assert copied.search("aspirin", k=1)[0].source == "aspirin.md"
    assert (copied.lexical_dir / "clinassist.json").stat().st_mtime_ns == stamp


def test_bm25_index_is_persisted_and_rebuilt_only_after_changes(
    kb: KnowledgeBase, make_kb: KbFactory, tmp_path: Path
) -> None:
    kb.search("aspirin")
    saved = LexicalIndex.load(kb.lexical_dir)
    assert saved is not None and saved.version == kb.store.version
    stamp = (kb.lexical_dir / "clinassist.json").stat().st_mtime_ns

    reopened = make_kb(tmp_path / "data")  # a new process would do the same
    reopened.search("aspirin")
    ingest(reopened, [tmp_path / "guides"])  # unchanged corpus
    assert (kb.lexical_dir / "clinassist.json").stat().st_mtime_ns == stamp

    (tmp_path / "guides" / "new.txt").write_text("Dabigatran requires dose reduction in CKD.")
    ingest(reopened, [tmp_path / "guides"])
    assert (kb.lexical_dir / "clinassist.json").stat().st_mtime_ns != stamp
    [hit, *_] = reopened.search("dabigatran", k=1, mode=SearchMode.BM25)
    assert hit.source == "new.txt"
    # The first knowledge-base object notices the change too and reloads.
    assert kb.search("dabigatran", k=1, mode=SearchMode.BM25)[0].source == "new.txt"


def test_stale_bm25_index_is_rebuilt_after_an_outside_change(kb: KnowledgeBase) -> None:
    kb.search("aspirin")
    kb.store.bump_version()  # what a crashed ingest leaves behind
    assert kb.lexical_state().startswith("stale")
    kb.search("aspirin")
    assert kb.lexical_state() == "current"


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    dense = [RankedId("a", 0.9, 1), RankedId("b", 0.8, 2), RankedId("c", 0.7, 3)]
    lexical = [RankedId("b", 12.0, 1), RankedId("c", 10.0, 2)]
    fused = reciprocal_rank_fusion([(dense, 1.0), (lexical, 1.0)], rrf_k=60)
    assert [i for i, _ in fused] == ["b", "c", "a"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    only_dense = reciprocal_rank_fusion([(dense, 1.0), (lexical, 0.0)], rrf_k=60)
    assert [i for i, _ in only_dense] == ["a", "b", "c"]


def test_retrieval_params_are_used(make_kb: KbFactory, tmp_path: Path) -> None:
    base = make_kb(params=RetrievalParams(k=2))
    ingest(base, [write_corpus(tmp_path / "g2")])
    assert len(base.search("screening")) == 2


def test_stats_per_corpus(kb: KnowledgeBase) -> None:
    stats = kb.stats()
    [corpus] = stats.corpora
    assert corpus.name == "guides" and corpus.files == 7 and corpus.documents == 8
    assert corpus.chunks == stats.chunks == kb.store.count()
    assert corpus.license == "CC0 1.0 test licence; reuse freely."
    assert stats.embedder == "all-MiniLM-L6-v2"


def test_fusion_ties_go_to_the_first_rankings_better_rank() -> None:
    dense = [RankedId("z", 0.9, 1), RankedId("a", 0.8, 2)]
    lexical = [RankedId("a", 9.0, 1), RankedId("z", 8.0, 2)]
    fused = reciprocal_rank_fusion([(dense, 1.0), (lexical, 1.0)], rrf_k=60)
    assert fused[0][1] == fused[1][1]  # 1+2 against 2+1
    assert [i for i, _ in fused] == ["z", "a"]  # dense's first, though "a" sorts first by id
