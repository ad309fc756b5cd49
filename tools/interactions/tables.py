"""Interaction tables: drug pairs with severity and provenance, each read from one folder.

What: an `InteractionTable` is one source of drug-drug interaction pairs (the ONC lists, or a
table a hospital adds); `tools.interactions.knowledge` holds the tables one check consults.

Two folder layouts are read:

* the ONC high-priority list as dbmi-pitt/public-PDDI-analysis publishes it
  (`ONC_High_Priority_Mapped.csv`, '$'-separated DrugBank-mapped pairs; optionally the ONC
  non-interruptive list beside it) with a `SOURCE.txt`; the default, from `interactions_dir`;
* the table format, for any other source (a hospital's licensed knowledge base, a local list),
  from `interactions_dirs`:

  - `interactions.csv`, UTF-8 CSV with the header `drug_a,drug_b,severity,mechanism,management`
    (mechanism and management may be left empty; optional `source` and `license` columns give a
    row its own provenance, overriding SOURCE.txt). A drug field is one generic name, or the
    name of a class from `classes.csv`; a class expands to every pair of its drugs.
  - `classes.csv` (optional), header `class,drug`: one drug of a class per row.
  - `SOURCE.txt`, `KEY: value` lines (continuation lines indented): WHAT, OBTAINED FROM and
    LICENSE are required, NAME (a short name shown with each flag) is optional.

  Severity is one of contraindicated, major, moderate, minor, high-priority, informational (the
  ONC's levels), in any letter case. A row that cannot be used (too many or too few fields, no
  drug name, a drug paired with itself, an unknown severity) is skipped and counted; a table
  with no usable row, a binary or non-UTF-8 file, a missing header column or a missing
  SOURCE.txt field is refused with one sentence (`InteractionDataError`). Within one table a pair
  listed twice (a class row and a drug row) keeps its most severe row; across tables nothing is
  merged: each table that lists a pair gives its own flag, with its own severity and source.

Names are matched through `normalise_name`: a table's names are read as generic-name keys, so a
table may write "aspirin" or "meperidine" and still meet the ONC list's DrugBank spellings.
Tables are read once per process (per resolved folder).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from tools.interactions.names import normalise_name
from tools.interactions.table_files import (
    CLASSES_FILE,
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    NON_INTERRUPTIVE_FILE,
    REQUIRED_COLUMNS,
    InteractionDataError,
    one_drug,
    parse_onc_pairs,
    read_bytes,
    read_csv_rows,
    read_source,
)

Severity = Literal[
    "contraindicated", "high-priority", "major", "moderate", "minor", "informational"
]
# Most to least severe. The ONC's high-priority pairs are those to avoid in combination, so they
# rank between contraindicated and major; its non-interruptive pairs are informational.
SEVERITY_ORDER: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: Mapping[Severity, int] = {level: rank for rank, level in enumerate(SEVERITY_ORDER)}
_SEVERITY_OF_TEXT: Mapping[str, Severity] = {level: level for level in SEVERITY_ORDER}

ONC_NAME = "ONC high-priority list"
ONC_INFORMATIONAL_NAME = "ONC non-interruptive list"
_ONC_SCOPE = "the ONC high-priority interaction list (2012, mapped to drugs in 2014)"
_ONC_WIDE_SCOPE = (
    "the ONC high-priority and non-interruptive interaction lists (2012-2013, mapped to drugs "
    "in 2014)"
)
_MAX_PROBLEMS = 5  # skipped rows quoted in a table's `problems`


@dataclass(frozen=True)
class InteractionEntry:
    """What one table says about one pair."""

    severity: Severity
    source: str
    license: str
    list_name: str
    mechanism: str | None = None
    management: str | None = None


@dataclass(frozen=True, eq=False)
class InteractionTable:
    """Drug pairs of one source, keyed by its lower-case names, with provenance."""

    folder: Path
    pairs: Mapping[frozenset[str], InteractionEntry]
    names: frozenset[str]
    index: Mapping[str, str]
    source: str
    license: str
    rows_loaded: int
    rows_skipped: int
    name: str = ONC_NAME
    scope: str = _ONC_SCOPE
    problems: tuple[str, ...] = field(default=())  # a few skipped rows, "line 7: ..."

    @classmethod
    def load(cls, folder: Path, *, include_informational: bool = False) -> InteractionTable:
        """The table of `folder` (cached per resolved folder); raises `InteractionDataError`.

        A folder with the ONC file is read as the ONC list; one with only `interactions.csv`
        is read in the table format."""
        resolved = folder.expanduser().resolve()
        if not (resolved / HIGH_PRIORITY_FILE).exists() and (resolved / INTERACTIONS_FILE).exists():
            return _load_table_cached(resolved)
        return _load_onc_cached(resolved, include_informational)

    @classmethod
    def load_table(cls, folder: Path) -> InteractionTable:
        """A folder in the table format (`interactions.csv`, `SOURCE.txt`, optional
        `classes.csv`); cached per resolved folder; raises `InteractionDataError`."""
        return _load_table_cached(folder.expanduser().resolve())

    def canonical(self, key: str) -> str | None:
        """The table's name for a normalised name, or None when the table does not know it."""
        return self.index.get(key)

    def entry(self, drug_a: str, drug_b: str) -> InteractionEntry | None:
        return self.pairs.get(frozenset((drug_a, drug_b)))

    def severity(self, drug_a: str, drug_b: str) -> Severity | None:
        found = self.entry(drug_a, drug_b)
        return found.severity if found else None


def _build_index(names: Iterable[str]) -> dict[str, str]:
    ordered = sorted(names)
    index = {name: name for name in ordered}
    by_key: dict[str, set[str]] = {}
    for name in ordered:
        by_key.setdefault(normalise_name(name), set()).add(name)
    for key, owners in by_key.items():
        # A shortened key shared by two listed drugs would be a guess; keep only unique ones.
        if key and key not in index and len(owners) == 1:
            index[key] = next(iter(owners))
    return index


# --- the ONC lists ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _load_onc_cached(folder: Path, include_informational: bool) -> InteractionTable:
    if not folder.is_dir():
        raise InteractionDataError(f"The drug-interaction data folder {folder} does not exist.")
    files: list[tuple[str, Severity, str]] = [(HIGH_PRIORITY_FILE, "high-priority", ONC_NAME)]
    if include_informational:
        files.append((NON_INTERRUPTIVE_FILE, "informational", ONC_INFORMATIONAL_NAME))
    found: list[tuple[list[tuple[str, str]], Severity, str]] = []
    loaded = skipped = 0
    for file_name, severity, list_name in files:
        rows, bad = parse_onc_pairs(read_bytes(folder / file_name, folder))
        if not rows:
            raise InteractionDataError(f"No drug pairs could be read from {folder / file_name}.")
        loaded, skipped = loaded + len(rows), skipped + bad
        found.append((rows, severity, list_name))
    source = read_source(folder, "the interaction list")
    provenance, licence = source.provenance, source.license
    pairs: dict[frozenset[str], InteractionEntry] = {}
    for rows, severity, list_name in found:
        entry = InteractionEntry(severity, provenance, licence, list_name)
        for name_a, name_b in rows:
            pairs.setdefault(frozenset((name_a, name_b)), entry)  # high-priority wins
    names = frozenset(name for pair in pairs for name in pair)
    return InteractionTable(
        folder=folder,
        pairs=MappingProxyType(pairs),  # the table is cached and shared: keep it read-only
        names=names,
        index=MappingProxyType(_build_index(names)),
        source=provenance,
        license=licence,
        rows_loaded=loaded,
        rows_skipped=skipped,
        name=ONC_NAME,
        scope=_ONC_WIDE_SCOPE if include_informational else _ONC_SCOPE,
    )


# --- the table format -------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _load_table_cached(folder: Path) -> InteractionTable:
    if not folder.is_dir():
        raise InteractionDataError(f"The drug-interaction table folder {folder} does not exist.")
    source = read_source(folder, "the interaction table")
    provenance, licence = source.provenance, source.license
    list_name = source.name or f"the interaction table in {folder.name}"

    classes: dict[str, set[str]] = {}
    problems: list[str] = []
    skipped = 0

    def skip(file_name: str, line: int, why: str) -> None:
        nonlocal skipped
        skipped += 1
        if len(problems) < _MAX_PROBLEMS:
            problems.append(f"{file_name} line {line}: {why}")

    if (folder / CLASSES_FILE).exists():
        for line, row in read_csv_rows(folder / CLASSES_FILE, folder, ("class", "drug")):
            label, drug = row.get("class", "").lower(), one_drug(row.get("drug", ""))
            if not label or drug is None:
                skip(CLASSES_FILE, line, "a class row needs a class and one drug name")
                continue
            classes.setdefault(" ".join(label.split()), set()).add(drug)

    def drugs_of(written: str) -> set[str] | None:
        label = " ".join(written.lower().split())
        if label in classes:
            return classes[label]
        drug = one_drug(written)
        return {drug} if drug else None

    pairs: dict[frozenset[str], InteractionEntry] = {}
    loaded = 0
    for line, row in read_csv_rows(folder / INTERACTIONS_FILE, folder, REQUIRED_COLUMNS):
        if not row:
            skip(INTERACTIONS_FILE, line, "more fields than the header (quote text with commas)")
            continue
        written = row.get("severity", "")
        severity = _SEVERITY_OF_TEXT.get(written.lower())
        if severity is None:
            skip(INTERACTIONS_FILE, line, f"unknown severity {written!r}")
            continue
        side_a, side_b = drugs_of(row.get("drug_a", "")), drugs_of(row.get("drug_b", ""))
        if side_a is None or side_b is None:
            skip(INTERACTIONS_FILE, line, "drug_a and drug_b must each name one drug or class")
            continue
        found = [frozenset((a, b)) for a in sorted(side_a) for b in sorted(side_b) if a != b]
        if not found:
            skip(INTERACTIONS_FILE, line, "a drug paired with itself")
            continue
        entry = InteractionEntry(
            severity=severity,
            source=row.get("source") or provenance,
            license=row.get("license") or licence,
            list_name=list_name,
            mechanism=row.get("mechanism") or None,
            management=row.get("management") or None,
        )
        loaded += 1
        for pair in found:
            held = pairs.get(pair)
            if held is None or SEVERITY_RANK[entry.severity] < SEVERITY_RANK[held.severity]:
                pairs[pair] = entry  # the most severe row of the table wins
    if not pairs:
        why = f" ({problems[0]})" if problems else ""
        raise InteractionDataError(
            f"No interaction rows could be read from {folder / INTERACTIONS_FILE}{why}; "
            f"severities are {', '.join(SEVERITY_ORDER)}."
        )
    names = frozenset(name for pair in pairs for name in pair)
    return InteractionTable(
        folder=folder,
        pairs=MappingProxyType(pairs),
        names=names,
        index=MappingProxyType(_build_index(names)),
        source=provenance,
        license=licence,
        rows_loaded=loaded,
        rows_skipped=skipped,
        name=list_name,
        scope=list_name,
        problems=tuple(problems),
    )
