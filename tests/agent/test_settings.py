from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.settings import OFFLINE_ENVIRONMENT, Settings, apply_offline_environment


def test_defaults(clean_env: Path) -> None:
    settings = Settings()
    assert settings.data_dir == Path(".clinassist")
    assert settings.chroma_url is None
    assert settings.embedder_path is None
    assert settings.retrieval.k == 8
    assert_default_corpora(settings, Path(__file__).resolve().parents[3] / "shared")


def assert_default_corpora(settings: Settings, shared: Path) -> None:
    """The default corpora are `shared`/corpora when it exists, wherever a symbolic link named
    `shared` (a common way to lay out the shared data) points: compared as resolved paths."""
    corpora = shared / "corpora"
    expected = [corpora.resolve()] if corpora.is_dir() else []
    assert [path.resolve() for path in settings.corpus_dirs] == expected


def test_defaults_when_shared_is_a_symbolic_link(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ../shared beside the checkout is a link to the data elsewhere (issue 17, finding 8)
    import agent.settings

    checkout = clean_env / "work" / "clinassist"
    checkout.mkdir(parents=True)
    data = clean_env / "volumes" / "public-data"
    (data / "corpora").mkdir(parents=True)
    (clean_env / "work" / "shared").symlink_to(data, target_is_directory=True)
    monkeypatch.setattr(agent.settings, "PROJECT_ROOT", checkout)
    monkeypatch.chdir(checkout)
    settings = Settings()
    assert settings.corpus_dirs and settings.corpus_dirs[0].resolve() == (data / "corpora")
    assert_default_corpora(settings, clean_env / "work" / "shared")


def test_environment_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINASSIST_DATA_DIR", "/srv/clinassist")
    monkeypatch.setenv("CLINASSIST_CHROMA_URL", "http://chroma.internal:8000")
    monkeypatch.setenv("CLINASSIST_CORPUS_DIRS", "/a,/b")
    monkeypatch.setenv("CLINASSIST_RRF_K", "30")
    monkeypatch.setenv("CLINASSIST_JSONL_TEXT_FIELDS", "summary,body")
    settings = Settings()
    assert settings.data_dir == Path("/srv/clinassist")
    assert settings.chroma_url == "http://chroma.internal:8000"
    assert settings.corpus_dirs == [Path("/a"), Path("/b")]
    assert settings.retrieval.rrf_k == 30
    assert settings.jsonl_fields.text == ("summary", "body")


def test_toml_file_with_environment_taking_precedence(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "clinassist.toml").write_text(
        'data_dir = "/var/lib/clinassist"\nretrieval_k = 12\ncorpus_dirs = ["/guides"]\n'
    )
    settings = Settings()
    assert settings.data_dir == Path("/var/lib/clinassist")
    assert settings.retrieval.k == 12
    assert settings.corpus_dirs == [Path("/guides")]
    monkeypatch.setenv("CLINASSIST_RETRIEVAL_K", "5")
    assert Settings().retrieval.k == 5
    other = clean_env / "elsewhere.toml"
    other.write_text("chunk_chars = 800\n")
    monkeypatch.setenv("CLINASSIST_CONFIG", str(other))
    assert Settings().chunking.target_chars == 800


def test_invalid_values_are_rejected(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINASSIST_COLLECTION", "ab")  # Chroma needs 3+ characters
    with pytest.raises(ValidationError):
        Settings()


def test_offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OFFLINE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    apply_offline_environment()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name}` | `CLINASSIST_{name.upper()}` |" in readme, name
