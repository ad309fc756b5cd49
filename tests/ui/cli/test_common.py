"""What every command shares (ui/cli/common.py): an invalid setting is one sentence. And what
every child process of the tests runs with (tests/serving.py `cli_environment`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import OFFLINE_ENVIRONMENT, PROJECT_ROOT, Settings
from tests.serving import cli_environment
from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow

CHILD_SEES = """
import json, os
from agent import settings
seen = settings.Settings()
print(json.dumps({
    "retrieval_k": seen.retrieval_k,
    "data_dir": str(seen.data_dir),
    "offline": {name: os.environ.get(name) for name in settings.OFFLINE_ENVIRONMENT},
    "checkout": str(settings.PROJECT_ROOT),
}))
"""


def test_invalid_setting_is_one_sentence(tmp_path: Path) -> None:
    result = run("kb", "stats", data_dir=tmp_path / "data", CLINASSIST_RETRIEVAL_K="many")
    assert_one_sentence_error(result)
    assert "retrieval_k" in result.stderr


def test_a_child_sees_its_own_data_dir_offline_and_none_of_the_callers_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINASSIST_RETRIEVAL_K", "many")  # the caller's shell, invalid here
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    done = subprocess.run(
        [sys.executable, "-c", CHILD_SEES],
        env=cli_environment(tmp_path / "data"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["retrieval_k"] == Settings.model_fields["retrieval_k"].default
    assert seen["data_dir"] == str(tmp_path / "data")
    assert seen["offline"] == OFFLINE_ENVIRONMENT
    assert seen["checkout"] == str(PROJECT_ROOT)  # this checkout's code, not an installed one
