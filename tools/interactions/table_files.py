"""The files of an interaction table's folder, read with one clear sentence for each fault.

`read_source` reads the folder's provenance (its SOURCE.txt, through `knowledge.provenance`),
`parse_onc_pairs` the ONC lists' '$'-separated rows, `read_csv_rows` a UTF-8 CSV file of the
table format; a file that is missing, unreadable, binary or not UTF-8 raises
`InteractionDataError`. `tools.interactions.tables` turns what they read into tables.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.provenance import SOURCE_FILE, read_source_file
from tools.errors import ToolError
from tools.interactions.names import generic_parts

HIGH_PRIORITY_FILE = "ONC_High_Priority_Mapped.csv"
NON_INTERRUPTIVE_FILE = "ONC_Non_Interuptive_Mapped.csv"  # sic: the source's spelling
INTERACTIONS_FILE = "interactions.csv"
CLASSES_FILE = "classes.csv"

REQUIRED_COLUMNS = ("drug_a", "drug_b", "severity")
_COLUMN_ALIASES: Mapping[str, str] = {"licence": "license"}


class InteractionDataError(ToolError):
    """An interaction table or its provenance file is missing or unreadable."""


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_DRUGBANK_ID = re.compile(r"DB\d{5}")
_DRUG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 ,.'()\-]*")
_SOURCE_FIELDS = ("WHAT", "OBTAINED FROM", "LICENSE")


def _unreadable(path: Path, exc: OSError) -> InteractionDataError:
    return InteractionDataError(
        f"The drug-interaction data file {path} could not be read ({exc.strerror or exc})."
    )


def read_bytes(path: Path, folder: Path) -> bytes:
    if not path.is_file():
        raise InteractionDataError(
            f"The drug-interaction data file {path.name} is missing from {folder}."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


@dataclass(frozen=True)
class TableSource:
    """What a table's SOURCE.txt gives each of its flags."""

    provenance: str  # "WHAT (obtained from: OBTAINED FROM)"
    license: str
    name: str | None  # the short name shown with each flag, when the file gives one


def read_source(folder: Path, what: str) -> TableSource:
    """The provenance of the table in `folder` (`knowledge.provenance` reads the file); WHAT,
    OBTAINED FROM and LICENSE are required."""
    path = folder / SOURCE_FILE
    if not path.is_file():
        raise InteractionDataError(
            f"The provenance file {SOURCE_FILE} is missing from {folder}, so {what} cannot be "
            "shown with its source and licence."
        )
    try:
        source = read_source_file(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    holds, obtained_from, licence = source.what, source.obtained_from, source.license
    if not (holds and obtained_from and licence):
        missing = [key for key in _SOURCE_FIELDS if not source.get(key)]
        raise InteractionDataError(
            f"The provenance file {path} lacks the field(s) {', '.join(missing)}."
        )
    return TableSource(f"{holds} (obtained from: {obtained_from})", licence, source.name)


def parse_onc_pairs(raw: bytes) -> tuple[list[tuple[str, str]], int]:
    """Pairs of lower-case names from '$'-separated rows, and how many lines were malformed.

    Rows are `name$DBID$name$DBID$`; the README's longer layout (class, name, id, URIs per drug)
    also parses, because each name is read as the field just before its DrugBank id.
    """
    rows: list[tuple[str, str]] = []
    skipped = 0
    for line in _LINE_BREAK.split(raw):
        try:
            text = line.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if not text.strip():
            continue
        fields = [f.strip() for f in text.split("$")]
        ids = [i for i, f in enumerate(fields) if _DRUGBANK_ID.fullmatch(f)]
        if len(ids) != 2 or ids[0] == 0 or ids[1] - ids[0] < 2:
            skipped += 1
            continue
        name_a, name_b = fields[ids[0] - 1], fields[ids[1] - 1]
        if not (_DRUG_NAME.fullmatch(name_a) and _DRUG_NAME.fullmatch(name_b)):
            skipped += 1
            continue
        if name_a.lower() == name_b.lower():
            skipped += 1
            continue
        rows.append((name_a.lower(), name_b.lower()))
    return rows, skipped


def read_csv_rows(
    path: Path, folder: Path, required: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a UTF-8 CSV file whose header has the `required` columns; a row
    with more fields than the header has is given as {} (counted as malformed by the caller)."""
    raw = read_bytes(path, folder)
    if b"\x00" in raw:
        raise InteractionDataError(f"{path} is a binary file, not a CSV table.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InteractionDataError(f"{path} is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        columns = [_COLUMN_ALIASES.get(c, c) for c in (h.strip().lower() for h in header or [])]
        missing = [column for column in required if column not in columns]
        if missing:
            raise InteractionDataError(
                f"{path} lacks the column(s) {', '.join(missing)} in its header line (expected "
                f"{','.join(required)} first)."
            )
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            line = reader.line_num
            if len(cells) > len(columns):
                rows.append((line, {}))
                continue
            rows.append((line, {c: v.strip() for c, v in zip(columns, cells, strict=False)}))
    except csv.Error as exc:
        raise InteractionDataError(f"{path} is not a readable CSV table ({exc}).") from None
    return rows


def one_drug(name: str) -> str | None:
    parts = generic_parts(name) if _DRUG_NAME.fullmatch(name) else []
    return parts[0] if len(parts) == 1 else None
