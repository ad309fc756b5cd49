"""Ingest with the real embedder and embedded Chroma."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.embedding import Embedder, default_embedder_path
from knowledge.errors import KnowledgeError
from knowledge.ingest import IngestOptions, discover, ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import ASPIRIN_MD, write_bad_files, write_corpus
from tests.ui.cli.console import assert_one_sentence_error, run

KbFactory = Callable[..., KnowledgeBase]


def stored_texts(kb: KnowledgeBase) -> list[str]:
    return [c.text for c in kb.store.iter_all(with_text=True)]


def test_ingest_all_file_types_with_provenance(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb()
    report = ingest(kb, [corpus])
    assert report.corpora == ["guides"]
    assert report.files_seen == 7 and report.files_ingested == 7 and not report.skipped
    assert report.chunks_added == kb.store.count() > 7
    sources = {c.metadata["source"] for c in kb.store.iter_all(with_text=False)}
    assert sources == {
        "hot-flashes.md",
        "aspirin.md",
        "smoking.md",
        "colorectal.txt",
        "hypertension.html",
        "records.jsonl",
        "lung.pdf",
    }
    for chunk in kb.store.iter_all(with_text=False):
        assert chunk.metadata["corpus"] == "guides"
        assert chunk.metadata["corpus_license"] == "CC0 1.0 test licence; reuse freely."
        assert chunk.metadata["corpus_source_url"] == "https://guidelines.example.org/test"
        assert chunk.metadata["title"]


def test_reingest_unchanged_embeds_and_adds_nothing(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb()
    first = ingest(kb, [corpus])
    version = kb.store.version
    calls: list[int] = []
    original = kb.embedder.embed

    def counting_embed(texts: list[str]):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(texts)

    kb.embedder.embed = counting_embed  # type: ignore[method-assign]
    try:
        again = ingest(kb, [corpus])
        # Even without the chunk-id cache, the store alone shows nothing is new.
        (kb.data_dir / "ingest-cache.sqlite").unlink()
        third = ingest(kb, [corpus])
    finally:
        del kb.embedder.embed
    assert calls == []
    assert again.chunks_added == third.chunks_added == 0
    assert again.files_unchanged == 7
    assert third.chunks_unchanged == first.chunks_added
    assert kb.store.count() == first.chunks_added
    assert kb.store.version == version  # nothing changed, so BM25 stays valid


def test_changed_file_replaces_its_chunks(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb()
    ingest(kb, [corpus])
    before = kb.store.count()
    (corpus / "aspirin.md").write_text(ASPIRIN_MD.replace("60 years or older", "70 years or older"))
    report = ingest(kb, [corpus])
    assert report.files_ingested == 1 and report.files_unchanged == 6
    assert report.chunks_added == report.chunks_removed == 1
    texts = stored_texts(kb)
    assert kb.store.count() == before
    assert any("70 years or older" in t for t in texts)
    assert not any("60 years or older" in t for t in texts)
    passages = kb.search("low-dose aspirin primary prevention older adults", k=3)
    assert any("70 years or older" in p.text for p in passages)


def test_deleted_file_is_pruned_only_on_request(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb()
    ingest(kb, [corpus])
    aspirin = [
        c.id for c in kb.store.iter_all(with_text=False) if c.metadata["source"] == "aspirin.md"
    ]
    (corpus / "aspirin.md").unlink()
    kept = ingest(kb, [corpus])
    assert kept.chunks_removed == 0
    assert any("--prune" in w for w in kept.warnings)
    assert len(kb.store.get(aspirin)) == len(aspirin)
    pruned = ingest(kb, [corpus], options=IngestOptions(prune=True))
    assert pruned.chunks_removed == len(aspirin)
    assert kb.store.get(aspirin) == []
    assert all("Aspirin" not in p.title for p in kb.search("aspirin bleeding risk", k=8))


def test_rebuild_embeds_everything_again(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb()
    first = ingest(kb, [corpus])
    rebuilt = ingest(kb, [corpus], options=IngestOptions(rebuild=True))
    assert rebuilt.chunks_added == first.chunks_added == kb.store.count()
    assert rebuilt.chunks_removed == first.chunks_added


def test_bad_files_are_skipped_with_reasons_and_good_ones_kept(
    make_kb: KbFactory, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    expected = write_bad_files(corpus)
    (corpus / "partly.jsonl").write_text('{"id": "x", "text": "Statins lower LDL."}\n{oops\n')
    kb = make_kb()
    report = ingest(kb, [corpus], options=IngestOptions(max_file_bytes=1_000_000))
    reasons = {s.path.split("/", 1)[1]: s.reason for s in report.skipped}
    assert set(reasons) == set(expected)
    for name, word in expected.items():
        assert word in reasons[name]
    assert any("partly.jsonl:2" in w for w in report.warnings)
    assert report.files_ingested == 7  # 6 good files + the partly broken JSONL
    assert report.anything_usable


def test_nothing_usable_is_reported(make_kb: KbFactory, tmp_path: Path) -> None:
    write_bad_files(tmp_path / "bad")
    report = ingest(make_kb(), [tmp_path / "bad", tmp_path / "missing"])
    assert not report.anything_usable
    assert any(s.reason == "it does not exist" for s in report.skipped)


def test_discover_collection_folder_makes_one_corpus_per_subfolder(tmp_path: Path) -> None:
    write_corpus(tmp_path / "all" / "first")
    write_corpus(tmp_path / "all" / "second", with_pdf=False)
    (tmp_path / "all" / "loose.txt").write_text("Loose guideline text about fluids.")
    corpora, skipped = discover([tmp_path / "all"])
    assert not skipped
    names = {c.info.name: len(c.files) for c in corpora}
    assert names == {"first": 7, "second": 6, "all": 1}
    assert all(c.info.license for c in corpora if c.info.name != "all")
    [single], _ = discover([tmp_path / "all" / "first" / "aspirin.md"])
    assert single.info.name == "first" and single.info.license


def test_shared_corpus_subset_ingests(make_kb: KbFactory, tmp_path: Path) -> None:
    from tests.conftest import SHARED

    raw = SHARED / "corpora" / "nci-pdq-hp"
    if not raw.exists():
        pytest.skip("../shared corpora are not present")
    subset = tmp_path / "nci-pdq-hp"
    (subset / "raw").mkdir(parents=True)
    shutil.copy(raw / "SOURCE.txt", subset / "SOURCE.txt")
    name = "about-cancer-treatment-side-effects-hot-flashes-hp-pdq.md"
    shutil.copy(raw / "raw" / name, subset / "raw" / name)
    kb = make_kb()
    report = ingest(kb, [subset])
    assert report.files_ingested == 1 and report.chunks_added > 10
    [top, *_] = kb.search("venlafaxine for hot flashes in breast cancer survivors", k=5)
    assert (
        top.url == "https://www.cancer.gov/about-cancer/treatment/side-effects/hot-flashes-hp-pdq"
    )
    assert top.corpus_license and "US Government work" in top.corpus_license
    assert top.updated and top.updated.startswith("20")


def test_a_folder_inside_a_corpus_is_part_of_it_and_prunes_only_inside(
    make_kb: KbFactory, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "guides")
    (corpus / "raw").mkdir()
    (corpus / "raw" / "fluids.txt").write_text("Balanced crystalloids are preferred in sepsis.")
    kb = make_kb()
    ingest(kb, [corpus])
    [part], _ = discover([corpus / "raw"])
    assert part.info.name == "guides" and part.info.license  # named and licensed as the corpus
    (corpus / "raw" / "fluids.txt").unlink()
    (corpus / "raw" / "sodium.txt").write_text("Correct chronic hyponatraemia slowly.")
    report = ingest(kb, [corpus / "raw"], options=IngestOptions(prune=True))
    sources = {c.metadata["source"] for c in kb.store.iter_all(with_text=False)}
    assert "raw/sodium.txt" in sources and "raw/fluids.txt" not in sources
    assert "aspirin.md" in sources  # outside the ingested folder: not pruned
    assert report.chunks_removed == 1


def test_a_collection_refuses_another_embedder_and_keeps_what_it_holds(
    make_kb: KbFactory, tmp_path: Path
) -> None:
    """A collection filled with the packaged all-MiniLM-L6-v2 is neither searched nor
    ingested into with another sentence-transformers folder (`CLINASSIST_EMBEDDER_PATH`, here
    a copy of the packaged model under another name): one sentence naming both embedders, and
    the chunks, their ids and the version token are as they were."""
    corpus = write_corpus(tmp_path / "guides")
    data_dir = tmp_path / "data"
    kb = make_kb(data_dir)
    ingest(kb, [corpus])
    ids = sorted(c.id for c in kb.store.iter_all(with_text=False))
    version = kb.store.version
    other = tmp_path / "biomedical-encoder"
    shutil.copytree(default_embedder_path(), other)

    for command in (("search", "hot flashes"), ("ingest", str(corpus))):
        refused = run(*command, data_dir=data_dir, CLINASSIST_EMBEDDER_PATH=str(other))
        assert_one_sentence_error(refused)
        assert "all-MiniLM-L6-v2" in refused.stderr and "biomedical-encoder" in refused.stderr

    again = make_kb(data_dir)  # the original embedder still opens it, and nothing changed
    assert sorted(c.id for c in again.store.iter_all(with_text=False)) == ids
    assert again.store.count() == len(ids) and again.store.version == version
    assert again.search("hot flashes")
    assert ingest(again, [corpus]).chunks_added == 0


def test_a_collection_refuses_other_weights_under_the_same_embedder_name(
    make_kb: KbFactory, embedder: Embedder, tmp_path: Path
) -> None:
    """A folder named like the packaged model but holding other weights (a retrained copy)
    writes other vectors: the collection refuses it in one sentence, and keeps its chunks."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    corpus = write_corpus(tmp_path / "guides")
    data_dir = tmp_path / "data"
    kb = make_kb(data_dir)
    ingest(kb, [corpus])
    count, version = kb.store.count(), kb.store.version
    kb.close()
    retrained = tmp_path / "retrained" / "all-MiniLM-L6-v2"
    shutil.copytree(default_embedder_path(), retrained)
    weights = retrained / "model.safetensors"
    tensors = load_file(weights)
    noise = np.random.default_rng(7)
    save_file({k: v + noise.normal(0, 0.02, v.shape).astype(v.dtype) for k, v in tensors.items()},
              str(weights))  # fmt: skip
    other = Embedder(retrained)
    assert other.name == embedder.name  # the premise: the name alone cannot tell them apart
    text = ["hot flashes in women with breast cancer"]
    assert float(np.dot(other.embed(text)[0], embedder.embed(text)[0])) < 0.99  # other vectors

    with pytest.raises(KnowledgeError, match="built with the embedder all-MiniLM-L6-v2 as it was"):
        KnowledgeBase(data_dir=data_dir, embedder=other)
    again = make_kb(data_dir)  # the original embedder still opens it, and nothing changed
    assert again.store.count() == count and again.store.version == version
    assert again.search("hot flashes")


def test_a_collection_built_before_fingerprints_opens_and_takes_one_on_its_next_change(
    tmp_path: Path,
) -> None:
    from knowledge.store import EMBEDDER_FINGERPRINT_KEY, ChunkStore

    def store(fingerprint: str) -> ChunkStore:
        return ChunkStore(
            data_dir=tmp_path,
            collection="guides",
            embedder_name="e",
            embedder_fingerprint=fingerprint,
        )

    old = store("")  # as an earlier release wrote it
    old.bump_version()
    assert EMBEDDER_FINGERPRINT_KEY not in old._collection.metadata
    old.close()
    upgraded = store("f1")
    upgraded.bump_version()
    upgraded.close()
    assert store("f1")._collection.metadata[EMBEDDER_FINGERPRINT_KEY] == "f1"
