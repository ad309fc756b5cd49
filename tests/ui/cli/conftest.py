"""The CLI tests' fixtures: a data dir of each test's own, holding the test corpus ingested
through the CLI once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_data_dir, kept_unchanged
from tests.corpus import write_bad_files, write_corpus
from tests.ui.cli.console import run


@pytest.fixture(scope="session")
def cli_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The test corpus (`guides`, with files that cannot be ingested) and its data dir
    (`data`), ingested through the CLI (the process has ended, so Chroma is closed). Only
    copied (`ingested`): the session fails at the end if anything wrote in it."""
    root = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(root / "guides")
    write_bad_files(root / "guides")
    result = run("ingest", str(corpus), data_dir=root / "data")
    assert result.returncode == 0, result.stderr
    assert "7 new or changed" in result.stdout and "6 skipped" in result.stdout
    assert "skipped guides/binary.txt: the file is binary" in result.stdout
    with kept_unchanged(root, "the CLI tests' shared data dir"):
        yield root


@pytest.fixture
def ingested(cli_knowledge: Path, tmp_path: Path) -> Path:
    """A data dir of this test's own with the test corpus ingested through the CLI; its
    corpus is beside it (`ingested.parent / "guides"`)."""
    shutil.copytree(cli_knowledge / "guides", tmp_path / "guides")
    return copy_data_dir(cli_knowledge / "data", tmp_path / "data")
