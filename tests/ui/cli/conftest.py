"""The CLI tests' fixtures: a data dir with the test corpus ingested through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import write_bad_files, write_corpus
from tests.ui.cli.console import run


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the test corpus ingested through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(root / "guides")
    write_bad_files(root / "guides")
    result = run("ingest", str(corpus), data_dir=root / "data")
    assert result.returncode == 0, result.stderr
    assert "7 new or changed" in result.stdout and "6 skipped" in result.stdout
    assert "skipped guides/binary.txt: the file is binary" in result.stdout
    return root / "data"
