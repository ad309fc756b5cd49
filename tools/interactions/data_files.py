"""The package's vocabulary files (`data/*.json`), read once per process.

Each file says what it holds ("about") and where it came from ("source"); a module that uses one
turns its lists and maps into frozensets and mappings when it is imported. The files ship with the
package (pyproject.toml's package-data), so an installed wheel reads them as a checkout does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any


@functools.cache
def read_data_file(name: str) -> dict[str, Any]:
    """The parsed JSON of `data/<name>`; a missing or malformed file is a packaging bug."""
    text = (resources.files("tools.interactions") / "data" / name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def word_set(*groups: Iterable[str]) -> frozenset[str]:
    """The words of one or more lists of a data file."""
    return frozenset(str(word) for group in groups for word in group)


def name_map(*groups: Mapping[str, str]) -> dict[str, str]:
    """One mapping of one or more maps of a data file; a later map wins, as in `{**a, **b}`."""
    return {str(key): str(value) for group in groups for key, value in group.items()}
