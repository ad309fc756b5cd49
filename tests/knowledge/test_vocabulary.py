"""The corpus vocabulary: document frequencies, headings and titles per document, and the
abbreviations the corpus defines; saved and rebuilt with the BM25 index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.analysis import content_terms
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from knowledge.lexical import LexicalIndex
from knowledge.vocabulary import CorpusVocabulary, abbreviations_in
from tests.corpus import write_corpus


def test_definitions_in_the_text_become_abbreviations() -> None:
    text = (
        "Patients with chronic obstructive pulmonary disease (COPD) benefit. Non-small cell "
        "lung cancer (NSCLC) is common; bacillus Calmette-Guérin (BCG) is instilled. "
        "The trial (N=200) and the drug (dose) define nothing."
    )
    assert dict(abbreviations_in(text)) == {
        "COPD": "chronic obstructive pulmonary disease",
        "NSCLC": "non-small cell lung cancer",
        "BCG": "bacillus calmette-guérin",
    }


def test_a_prefix_is_one_word_however_it_is_hyphenated() -> None:
    (terms,) = content_terms(["non-muscle-invasive and nonmuscle-invasive post-traumatic"])
    assert "nonmuscl" in terms and "posttraumat" in terms and "non" not in terms


def test_the_vocabulary_counts_documents_and_keeps_their_titles_and_headings(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    (corpus / "copd.md").write_text(
        "# COPD Care - Test\n\n## Bronchodilators\n\nIn chronic obstructive pulmonary disease "
        "(COPD), long-acting bronchodilators reduce exacerbations.\n",
        encoding="utf-8",
    )
    kb = make_kb()
    ingest(kb, [corpus])
    vocabulary = kb.vocabulary()
    assert vocabulary.documents == 8  # seven files, one of them JSONL with two records
    assert vocabulary.document_frequency["flash"] == 1
    assert vocabulary.idf("flash") > vocabulary.idf("recommend") > 0
    assert vocabulary.idf("never-used-anywhere") > vocabulary.idf("flash")
    key = next(k for k in vocabulary.titles if k.endswith("copd.md"))
    assert vocabulary.titles[key] == {"copd", "care", "test"}
    assert "bronchodil" in vocabulary.headings[key]
    assert vocabulary.abbreviations["copd"] == [
        frozenset({"chronic", "obstruct", "pulmonari", "diseas"})
    ]
    # saved beside the BM25 index with the collection's version, read back whole
    loaded = LexicalIndex.load(kb.lexical_dir)
    assert loaded is not None and loaded.vocabulary == vocabulary


def test_an_empty_vocabulary_round_trips() -> None:
    empty = CorpusVocabulary.build([])
    assert empty.documents == 0 and CorpusVocabulary.from_json(empty.as_json()) == empty
