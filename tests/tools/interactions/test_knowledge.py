"""Interaction knowledge as pluggable tables: a hospital's table beside the ONC list, each flag
with its own table's severity and provenance, and a scope note naming every table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.interactions.folders import hospital_knowledge
from tools.interactions import (
    SCOPE_NOTE,
    InteractionKnowledge,
    InteractionTable,
    check_interactions,
)


@pytest.fixture
def knowledge(tmp_path: Path) -> InteractionKnowledge:
    return hospital_knowledge(tmp_path)


def test_a_hospital_table_adds_flags_with_severity_mechanism_and_provenance(
    knowledge: InteractionKnowledge,
) -> None:
    report = check_interactions(
        ["Warfarin sodium 5 mg", "Aspirin 81 MG Oral Tablet"], table=knowledge
    )
    (flag,) = report.interactions
    assert (flag.drug_a, flag.drug_b) == ("acetylsalicylic acid", "warfarin")
    assert flag.severity == "major"
    assert flag.mechanism == "Additive bleeding risk: antiplatelet effect plus anticoagulation"
    assert flag.management == "Avoid unless both are indicated; monitor for bleeding"
    assert flag.source == (
        "St Test Hospital drug interaction knowledge base, 2025 edition (obtained from: pharmacy "
        "department, licensed from Example Vendor)"
    )
    assert flag.license == "licensed to St Test Hospital for internal clinical use only"
    assert flag.list_name == "St Test formulary interactions"
    # warfarin is known to the hospital's table, so it is no longer reported as unchecked
    assert report.unrecognised == ()
    assert [s.name for s in report.sources] == ["ONC high-priority list", flag.list_name]
    assert [s.rows_loaded for s in report.sources] == [2, 3]


def test_the_scope_note_names_every_table_and_never_says_safe(
    knowledge: InteractionKnowledge, tmp_path: Path
) -> None:
    report = check_interactions(["sertraline"], table=knowledge)
    assert "ONC high-priority interaction list" in report.scope
    assert "St Test formulary interactions" in report.scope
    assert "no flag does not mean a combination is safe" in report.scope
    # the ONC list alone keeps its scope note word for word
    alone = InteractionTable.load(tmp_path / "onc")
    assert check_interactions(["sertraline"], table=alone).scope == SCOPE_NOTE


def test_two_tables_listing_one_pair_give_one_flag_each(knowledge: InteractionKnowledge) -> None:
    report = check_interactions(["Zocor 40 mg", "Biaxin 500 mg"], table=knowledge)
    assert [(f.drug_a, f.drug_b, f.severity, f.list_name) for f in report.interactions] == [
        ("clarithromycin", "simvastatin", "contraindicated", "St Test formulary interactions"),
        ("clarithromycin", "simvastatin", "high-priority", "ONC high-priority list"),
    ]
    onc_flag = report.interactions[1]
    assert onc_flag.mechanism is None and onc_flag.management is None
    assert onc_flag.source == "ONC-style test pairs (obtained from: the test)"


def test_tables_spell_drugs_their_own_way(knowledge: InteractionKnowledge) -> None:
    # "Nitroglycerin" in the table meets "Nitrostat"; "sildenafil" meets "Viagra 50 mg".
    report = check_interactions(["Viagra 50 mg", "Nitrostat 0.4 mg SL"], table=knowledge)
    assert [(f.drug_a, f.drug_b, f.severity) for f in report.interactions] == [
        ("nitroglycerin", "sildenafil", "contraindicated")
    ]
