"""Recorded allergies as EHRs word them (SNOMED wordings, non-drug allergies, "no known
allergy") and the beta-lactam allergy classes with their cross-reactivity."""

from __future__ import annotations

import pytest

from tests.tools.interactions.folders import check, pairs_table
from tools.interactions import InteractionTable


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> InteractionTable:
    return pairs_table(tmp_path_factory.mktemp("onc"))


@pytest.mark.parametrize(
    ("medication", "allergy", "kind"),
    [
        ("amoxicillin 500 mg", "Allergy to penicillin", "same-class"),
        ("amoxicillin 500 mg", "Allergy to penicillin (finding)", "same-class"),
        ("Penicillin V Potassium 500 MG Oral Tablet", "Penicillin allergy", "same-class"),
        ("penicillin G benzathine 2.4 million units IM", "penicillin", "same-class"),
        ("Bactrim DS", "Allergy to sulfonamides", "same-class"),
        ("cefazolin 2 g IV", "Allergy to cephalosporin", "same-class"),
        ("Ibuprofen 200 MG Oral Tablet", "Allergy to aspirin", "same-class"),
        ("naproxen", "allergic to NSAIDs", "same-class"),
        ("amoxicillin", "allergic reaction to amoxicillin", "same-drug"),
    ],
)
def test_snomed_allergy_wordings(
    table: InteractionTable, medication: str, allergy: str, kind: str
) -> None:
    report = check(table, medication, allergies=(allergy,))
    assert [c.kind for c in report.allergy_conflicts] == [kind]
    assert report.unrecognised_allergies == ()


def test_non_drug_allergies_are_reported_as_such(table: InteractionTable) -> None:
    non_drug = (
        "Allergy to peanuts",
        "Latex allergy",
        "Allergy to mould",
        "Dander (animal) allergy",
        "House dust mite allergy",
        "Shellfish allergy",
        "Allergy to bee venom",
        "Allergy to grass pollen",
        "Allergy to dairy product",
    )
    report = check(table, "amoxicillin", allergies=(*non_drug, "Allergy to substance"))
    assert report.allergy_conflicts == ()
    assert report.unrecognised_allergies == (*non_drug, "Allergy to substance")
    assert report.non_drug_allergies == non_drug


@pytest.mark.parametrize(
    "statement",
    [
        "No known allergy",
        "No known allergies",
        "No known drug allergy",
        "No Known Drug Allergies (situation)",
        "NKDA",
        "NKA",
        "none known",
    ],
)
def test_no_known_allergy_is_not_an_allergy(table: InteractionTable, statement: str) -> None:
    report = check(table, "amoxicillin", "simvastatin", allergies=(statement,))
    assert report.allergy_conflicts == ()
    assert report.unrecognised_allergies == ()
    assert report.non_drug_allergies == ()


@pytest.mark.parametrize(
    ("medication", "allergy", "kind", "words"),
    [
        # a recorded beta-lactam allergy covers all four classes
        ("meropenem 1 g IV", "beta-lactam allergy", "same-class", "carbapenems"),
        ("aztreonam 1 g IV", "Beta-lactams", "same-class", "monobactams"),
        ("cefazolin", "β-lactam", "same-class", "cephalosporins"),
        ("amoxicillin", "beta lactam antibiotics", "same-class", "penicillins"),
        ("ertapenem", "carbapenem", "same-class", "carbapenems"),
        ("imipenem-cilastatin 500 mg IV", "carbapenems", "same-class", "carbapenems"),
        # penicillin -> carbapenem: cross-reactivity is low, and said so
        ("meropenem", "penicillin", "cross-reactivity", "under 1%"),
        ("amoxicillin", "ertapenem", "cross-reactivity", "low"),
        ("doripenem", "cephalosporins", "cross-reactivity", "about 1%"),
        # aztreonam shares its side chain with ceftazidime only
        ("aztreonam", "ceftazidime", "cross-reactivity", "side chain"),
        ("ceftazidime", "aztreonam", "cross-reactivity", "side chain"),
    ],
)
def test_beta_lactam_classes(
    table: InteractionTable, medication: str, allergy: str, kind: str, words: str
) -> None:
    report = check(table, medication, allergies=(allergy,))
    assert [c.kind for c in report.allergy_conflicts] == [kind]
    assert words in report.allergy_conflicts[0].reason


@pytest.mark.parametrize(
    ("medication", "allergy"),
    [
        ("aztreonam", "penicillin"),
        ("aztreonam", "cefazolin"),
        ("aztreonam", "cephalosporins"),
        ("meropenem", "sulfa"),
    ],
)
def test_aztreonam_is_not_flagged_by_other_beta_lactam_allergies(
    table: InteractionTable, medication: str, allergy: str
) -> None:
    assert check(table, medication, allergies=(allergy,)).allergy_conflicts == ()
