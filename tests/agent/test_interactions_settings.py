"""The `interactions_dirs` setting: further interaction tables, from the environment or TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import Settings


def test_no_extra_tables_by_default(clean_env: Path) -> None:
    assert Settings().interactions_dirs == []


def test_extra_tables_from_the_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINASSIST_INTERACTIONS_DIRS", "/srv/kb/hospital, /srv/kb/local")
    assert Settings().interactions_dirs == [Path("/srv/kb/hospital"), Path("/srv/kb/local")]
    monkeypatch.setenv("CLINASSIST_INTERACTIONS_DIRS", "/srv/kb/hospital:/srv/kb/local")
    assert Settings().interactions_dirs == [Path("/srv/kb/hospital"), Path("/srv/kb/local")]


def test_extra_tables_from_toml(clean_env: Path) -> None:
    (clean_env / "clinassist.toml").write_text('interactions_dirs = ["/srv/kb/hospital"]\n')
    settings = Settings()
    assert settings.interactions_dirs == [Path("/srv/kb/hospital")]
