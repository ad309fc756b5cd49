"""The outbound-connection recorder (`sitecustomize.py`), put first on a child process's
PYTHONPATH by `recorded_environment`; `read_record` reads what it wrote."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RECORDER_DIR = Path(__file__).resolve().parent
RECORD_VARIABLE = "OUTBOUND_RECORD"


@dataclass(frozen=True)
class Reach:
    """One socket connect or name lookup a recorded process made."""

    pid: int
    argv: tuple[str, ...]
    event: str
    family: str
    host: str | None
    port: int | None
    loopback: bool


def recorded_environment(env: Mapping[str, str], record: Path) -> dict[str, str]:
    """`env` with the recorder first on PYTHONPATH: every Python process started with it (and
    every Python child that inherits it) records to `record` and is refused anything but
    loopback."""
    path = [str(RECORDER_DIR), *filter(None, env.get("PYTHONPATH", "").split(":"))]
    return {**env, "PYTHONPATH": ":".join(path), RECORD_VARIABLE: str(record)}


def read_record(record: Path) -> list[Reach]:
    if not record.exists():
        return []
    reaches = []
    for line in record.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        reaches.append(Reach(**{**data, "argv": tuple(data["argv"])}))
    return reaches
