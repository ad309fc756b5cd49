"""Provenance files (`SOURCE.txt`): what a data folder holds, where it came from, its licence.

Every folder of outside data (a guideline corpus, an image set, a drug-interaction table) carries
a `SOURCE.txt` of `KEY: value` fields, and every reader of one reads it here:

- a key is a capital letter, then capitals, digits, spaces, `/`, `_`, `-` and brackets, 2 to 41
  characters in all, at the start of its line ("WHAT", "OBTAINED FROM", "LICENSE", "NAME",
  "NOTE (2024)");
- a value goes on over the lines that follow, up to the next key: continuation lines are usually
  indented, but an unindented one still belongs to the field, so that no text is dropped; blank
  lines are skipped; the parts are joined with single spaces;
- text before the first key belongs to no field; a key given twice keeps its last value.

What each caller requires of the fields, and the sentence it gives when a field is missing, stays
with the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

SOURCE_FILE = "SOURCE.txt"

_FIELD = re.compile(r"([A-Z][A-Z0-9 /_()-]{1,40}):\s*(.*)")


@dataclass(frozen=True)
class SourceInfo:
    """The fields of one SOURCE.txt, by key; a key that is absent or empty gives None."""

    fields: Mapping[str, str]

    def get(self, key: str) -> str | None:
        return self.fields.get(key) or None

    @property
    def what(self) -> str | None:
        return self.get("WHAT")

    @property
    def obtained_from(self) -> str | None:
        return self.get("OBTAINED FROM")

    @property
    def license(self) -> str | None:
        return self.get("LICENSE")

    @property
    def name(self) -> str | None:
        return self.get("NAME")


def parse_source_text(text: str) -> SourceInfo:
    """The fields of SOURCE.txt text (see the module docstring for the format)."""
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _FIELD.fullmatch(line.rstrip())
        if match:
            current = match.group(1).strip()
            fields[current] = [match.group(2).strip()]
        elif current is not None:
            fields[current].append(line.strip())
    joined = {key: " ".join(part for part in parts if part) for key, parts in fields.items()}
    return SourceInfo(MappingProxyType(joined))


def read_source_file(path: Path) -> SourceInfo:
    """The fields of the SOURCE.txt at `path` (bytes that are not UTF-8 are replaced); raises
    `OSError` when the file cannot be read, for the caller to say so in its own words."""
    return parse_source_text(path.read_bytes().decode("utf-8-sig", errors="replace"))
