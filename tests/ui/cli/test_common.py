"""What every command shares (ui/cli/common.py): an invalid setting is one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.cli.console import assert_one_sentence_error, run

pytestmark = pytest.mark.slow


def test_invalid_setting_is_one_sentence(tmp_path: Path) -> None:
    result = run("kb", "stats", data_dir=tmp_path / "data", CLINASSIST_RETRIEVAL_K="many")
    assert_one_sentence_error(result)
    assert "retrieval_k" in result.stderr
