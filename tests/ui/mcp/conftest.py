"""The MCP tests' fixtures: a small ingested knowledge base, an image, and `clinassist mcp` as
a real subprocess reached through the MCP SDK's own client."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent.settings import default_interactions_dir
from knowledge.embedding import Embedder
from tests.conftest import copy_data_dir, ingest_closed, kept_unchanged
from tests.corpus import write_corpus

# The tools every MCP client must see.
REQUIRED_TOOLS = {"search_guidelines", "check_interactions", "analyze_image", "plan_treatment"}


@pytest.fixture(scope="package")
def mcp_knowledge(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Path]:
    """The small test corpus ingested once (no PDF: a few seconds), Chroma closed; only copied
    (`mcp_data_dir`): the session fails at the end if anything wrote in it."""
    if default_interactions_dir() is None:
        pytest.skip("../shared/data/ddi-onc-high-priority is not present")
    root = tmp_path_factory.mktemp("mcp")
    corpus = write_corpus(root / "guides", with_pdf=False)
    report = ingest_closed(root / "data", embedder, [corpus])
    assert report.files_ingested == 6
    with kept_unchanged(root / "data", "the MCP tests' shared data dir") as data_dir:
        yield data_dir


@pytest.fixture
def mcp_data_dir(mcp_knowledge: Path, tmp_path: Path) -> Path:
    """A data dir of this test's own with the small test corpus ingested: its audit trail
    holds this test's calls only."""
    return copy_data_dir(mcp_knowledge, tmp_path / "data")


@pytest.fixture(scope="package")
def chest_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 320 x 320 greyscale PNG with some structure (not blank, not low resolution)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:320, 0:320]
    pixels = ((np.sin(x / 17.0) + np.cos(y / 23.0) + 2) * 60).astype(np.uint8)
    path = tmp_path_factory.mktemp("images") / "Doe_Jane_1954-03-02.png"
    Image.fromarray(pixels, mode="L").save(path)
    return path


def mcp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "mcp", *args]


def run_async(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run the client's scenario in a thread of its own: the browser tests' Playwright keeps an
    event loop running in the main thread for the whole session."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, scenario).result()
