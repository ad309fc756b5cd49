"""The `clinassist` console script as an engineer runs it: a real subprocess, and the one
sentence it prints for an error a user can cause."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.serving import CLI, cli_environment


def run(
    *args: str, data_dir: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=cli_environment(data_dir, **env),
        cwd=data_dir.parent,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("clinassist:")]
    assert len(lines) == 1, result.stderr
