"""Interaction tables the tests build or find, and the checks they share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED
from tools.interactions import (
    CLASSES_FILE,
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    SOURCE_FILE,
    InteractionKnowledge,
    InteractionReport,
    InteractionTable,
    check_interactions,
)

ONC = SHARED / "data" / "ddi-onc-high-priority"


SOURCE_TEXT = """WHAT: A test list of drug pairs
  split over two lines.
OBTAINED FROM: written by the test
LICENSE: test data,
  no terms.
"""


def file_pairs(name: str = HIGH_PRIORITY_FILE) -> set[frozenset[str]]:
    """The pairs as a plain reading of the file has them, independent of the module's parser."""
    lines = (ONC / name).read_text(encoding="utf-8-sig").splitlines()
    return {frozenset((f[0].lower(), f[2].lower())) for f in (ln.split("$") for ln in lines)}


def check(
    table: InteractionTable, *meds: str, allergies: tuple[str, ...] = ()
) -> InteractionReport:
    return check_interactions(meds, allergies, table=table)


def pairs_of(report: InteractionReport) -> set[tuple[str, str]]:
    return {(flag.drug_a, flag.drug_b) for flag in report.interactions}


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert ". " not in message


def write_folder(folder: Path, csv: bytes, source: str | None = SOURCE_TEXT) -> Path:
    folder.mkdir()
    (folder / HIGH_PRIORITY_FILE).write_bytes(csv)
    if source is not None:
        (folder / SOURCE_FILE).write_text(source, encoding="utf-8")
    return folder


def onc_table() -> InteractionTable:
    """The real ONC list beside the checkout; the test is skipped without it."""
    if not (ONC / HIGH_PRIORITY_FILE).exists():
        pytest.skip("../shared/data/ddi-onc-high-priority is not present")
    return InteractionTable.load(ONC)


# --- a small ONC-format table of the ONC list's own names ------------------------------------

PAIRS_SOURCE_TEXT = "WHAT: test pairs\nOBTAINED FROM: the test\nLICENSE: test data\n"
# DrugBank-style rows, as the ONC list writes them; the names are the ONC list's own.
PAIRS = (
    ("Amiodarone", "DB01118", "Simvastatin", "DB00641"),
    ("Clarithromycin", "DB01211", "Simvastatin", "DB00641"),
    ("Escitalopram", "DB01175", "Ondansetron", "DB00904"),
    ("Metoprolol", "DB00264", "Fluticasone Propionate", "DB00588"),
    ("Pethidine", "DB00454", "Phenelzine", "DB00780"),
)


def pairs_table(folder: Path) -> InteractionTable:
    """`PAIRS` as an ONC-format table in `folder`."""
    rows = "".join(f"{a}${ia}${b}${ib}$\r\n" for a, ia, b, ib in PAIRS)
    (folder / HIGH_PRIORITY_FILE).write_text(rows, encoding="utf-8")
    (folder / SOURCE_FILE).write_text(PAIRS_SOURCE_TEXT, encoding="utf-8")
    return InteractionTable.load(folder)


# --- a hospital's table beside an ONC-style list ----------------------------------------------

ONC_SOURCE = "WHAT: ONC-style test pairs\nOBTAINED FROM: the test\nLICENSE: test data\n"


HOSPITAL_SOURCE = """NAME: St Test formulary interactions
WHAT: St Test Hospital drug interaction knowledge base, 2025 edition
OBTAINED FROM: pharmacy department, licensed from Example Vendor
LICENSE: licensed to St Test Hospital for internal clinical use only
"""


HOSPITAL_CSV = "".join(
    f"{row}\n"
    for row in (
        "drug_a,drug_b,severity,mechanism,management",
        'warfarin,aspirin,major,"Additive bleeding risk: antiplatelet effect plus '
        'anticoagulation","Avoid unless both are indicated; monitor for bleeding"',
        "sildenafil,Nitroglycerin,contraindicated,Additive vasodilation (cGMP),Do not combine",
        "Clarithromycin,simvastatin,Contraindicated,CYP3A4 inhibition raises simvastatin "
        "exposure,Withhold simvastatin during the course",
    )
)


def onc_folder(path: Path) -> Path:
    path.mkdir()
    rows = (
        "Simvastatin$DB00641$Clarithromycin$DB01211$\r\n"
        "Tizanidine$DB00697$Ciprofloxacin$DB00537$\r\n"
    )
    (path / HIGH_PRIORITY_FILE).write_text(rows, encoding="utf-8")
    (path / SOURCE_FILE).write_text(ONC_SOURCE, encoding="utf-8")
    return path


def table_folder(
    path: Path,
    csv: str | bytes = HOSPITAL_CSV,
    *,
    source: str | None = HOSPITAL_SOURCE,
    classes: str | None = None,
) -> Path:
    path.mkdir()
    data = csv.encode("utf-8") if isinstance(csv, str) else csv
    (path / INTERACTIONS_FILE).write_bytes(data)
    if source is not None:
        (path / SOURCE_FILE).write_text(source, encoding="utf-8")
    if classes is not None:
        (path / CLASSES_FILE).write_text(classes, encoding="utf-8")
    return path


def hospital_knowledge(tmp_path: Path) -> InteractionKnowledge:
    """An ONC-style list in `tmp_path/onc` and the hospital's table in `tmp_path/hospital`."""
    return InteractionKnowledge.load(
        onc_folder(tmp_path / "onc"), [table_folder(tmp_path / "hospital")]
    )
