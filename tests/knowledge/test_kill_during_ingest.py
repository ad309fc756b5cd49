"""`kill -9` of a real `clinassist ingest` half-way, then ingest again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.serving import CLI, cli_environment

pytestmark = pytest.mark.slow

KbFactory = Callable[..., KnowledgeBase]


def write_large_corpus(root: Path, files: int = 24, sections: int = 6) -> Path:
    root.mkdir(parents=True)
    (root / "SOURCE.txt").write_text("LICENSE: test licence\n")
    for f in range(files):
        parts = [f"---\ntitle: Synthetic guideline {f}\n---\n"]
        for s in range(sections):
            sentences = " ".join(
                f"Drug{f}x{s}x{n} at {n + 1} mg per kilogram is advised for condition {f}-{s}."
                for n in range(14)
            )
            parts.append(f"## Section {s}\n\n{sentences}\n")
        (root / f"guide-{f:02d}.md").write_text("\n".join(parts))
    return root


def cached_files(data_dir: Path) -> int:
    path = data_dir / "ingest-cache.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM chunk_ids").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_kill_9_during_ingest_then_ingest_again(make_kb: KbFactory, tmp_path: Path) -> None:
    corpus = write_large_corpus(tmp_path / "synthetic")
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [str(CLI), "ingest", str(corpus)],
        env=cli_environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while cached_files(data_dir) < 4:
        assert process.poll() is None, "ingest finished before it could be killed"
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert cached_files(data_dir) < 24  # it really was killed half-way
    for store in ("chroma/chroma.sqlite3", "ingest-cache.sqlite"):  # nothing corrupt
        with sqlite3.connect(f"file:{data_dir / store}?mode=ro", uri=True) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", store

    kb = make_kb(data_dir)
    partial = kb.store.count()
    report = ingest(kb, [corpus])
    assert report.files_seen == 24 and not report.skipped
    assert report.chunks_added > 0 and report.chunks_unchanged >= partial - 50

    reference = make_kb(tmp_path / "reference")
    ingest(reference, [corpus])
    ids = [c.id for c in kb.store.iter_all(with_text=False)]
    assert sorted(ids) == sorted(c.id for c in reference.store.iter_all(with_text=False))
    texts = Counter(c.text for c in kb.store.iter_all(with_text=True))
    assert texts.most_common(1)[0][1] == 1  # no duplicate chunk

    # Search is consistent: BM25 was rebuilt for the completed collection.
    assert kb.lexical_state() == "current"
    [hit] = kb.search("Drug17x3x2", k=1)
    assert hit.title == "Synthetic guideline 17" and "Drug17x3x2" in hit.text
    assert len(kb.lexical_index()) == kb.store.count()
