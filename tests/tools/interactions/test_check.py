"""check_interactions against the real ONC list (pairs in either order, brands and doses,
duplicates, unknown names, allergy conflicts) and the one-line description of its flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.interactions.folders import (
    check,
    file_pairs,
    hospital_knowledge,
    onc_table,
    pairs_of,
    write_folder,
)
from tools.interactions import InteractionKnowledge, InteractionTable, check_interactions


@pytest.fixture(scope="module")
def table() -> InteractionTable:
    return onc_table()


@pytest.fixture
def knowledge(tmp_path: Path) -> InteractionKnowledge:
    return hospital_knowledge(tmp_path)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("simvastatin", "clarithromycin"),
        ("atazanavir", "omeprazole"),
        ("tizanidine", "ciprofloxacin"),
        ("ramelteon", "fluvoxamine"),
        ("tramadol", "phenelzine"),
        ("citalopram", "amiodarone"),
        ("ritonavir", "simvastatin"),
    ],
)
def test_listed_pair_is_flagged_in_either_order(
    table: InteractionTable, first: str, second: str
) -> None:
    assert frozenset((first, second)) in file_pairs()
    forward = check(table, first, second)
    backward = check(table, second, first)
    assert forward.interactions == backward.interactions
    assert len(forward.interactions) == 1
    flag = forward.interactions[0]
    assert (flag.drug_a, flag.drug_b) == tuple(sorted((first, second)))
    assert flag.severity == "high-priority"
    assert flag.source == table.source
    assert flag.license == table.license


def test_brand_and_dose_laden_names_are_matched(table: InteractionTable) -> None:
    report = check(table, "Zocor 40 mg tablet PO nightly", "Biaxin 500mg bid")
    assert pairs_of(report) == {("clarithromycin", "simvastatin")}
    flag = report.interactions[0]
    assert (flag.as_given_a, flag.as_given_b) == (
        "Biaxin 500mg bid",
        "Zocor 40 mg tablet PO nightly",
    )
    assert report.unrecognised == ()

    report = check(table, "Prilosec 20 mg capsule", "Reyataz 300 mg PO daily")
    assert pairs_of(report) == {("atazanavir", "omeprazole")}
    # The list spells meperidine the DrugBank way (pethidine).
    report = check(table, "Demerol 50 mg IM", "Nardil 15 mg")
    assert pairs_of(report) == {("pethidine", "phenelzine")}


def test_drugbank_multiword_names(table: InteractionTable) -> None:
    assert frozenset(("levomethadyl acetate", "haloperidol")) in file_pairs()
    for given in ("levomethadyl acetate", "Levomethadyl", "Arsenic Trioxide"):
        report = check(table, given, "haloperidol 5 mg")
        assert len(report.interactions) == 1, given
        assert report.unrecognised == ()
    assert pairs_of(check(table, "levomethadyl", "haloperidol")) == {
        ("haloperidol", "levomethadyl acetate")
    }


def test_combination_brand_is_checked_part_by_part(table: InteractionTable) -> None:
    report = check(table, "Kaletra", "Zocor")
    assert pairs_of(report) == {("lopinavir", "simvastatin"), ("ritonavir", "simvastatin")}
    assert set(report.checked) == {"lopinavir", "ritonavir", "simvastatin"}


def test_known_but_non_interacting_drugs_give_no_flag(table: InteractionTable) -> None:
    assert frozenset(("sertraline", "omeprazole")) not in file_pairs()
    report = check(table, "sertraline", "omeprazole", "simvastatin")
    assert report.interactions == ()
    assert report.checked == ("sertraline", "omeprazole", "simvastatin")
    assert report.unrecognised == ()


def test_duplicates_are_counted_once(table: InteractionTable) -> None:
    report = check(
        table, "simvastatin", "Zocor 20 mg", "clarithromycin", "simvastatin 40mg PO", "Biaxin"
    )
    assert pairs_of(report) == {("clarithromycin", "simvastatin")}
    assert len(report.interactions) == 1
    assert report.checked == ("simvastatin", "clarithromycin")
    assert report.duplicates == ("Zocor 20 mg", "simvastatin 40mg PO", "Biaxin")


def test_unknown_names_are_reported_not_guessed(table: InteractionTable) -> None:
    report = check(table, "simvastatin", "Flibbertigibbet 10 mg", "clarithromicin", "warfarin")
    # A misspelling is not fuzzy-matched, so the pair with clarithromycin is not found.
    assert report.interactions == ()
    # The mapped ONC list has no warfarin pairs: the UI must say it was not checked.
    assert report.unrecognised == ("Flibbertigibbet 10 mg", "clarithromicin", "warfarin")
    assert report.checked == ("simvastatin",)


def test_empty_list_gives_empty_report(table: InteractionTable) -> None:
    report = check(table)
    assert report.interactions == ()
    assert report.allergy_conflicts == ()
    assert report.checked == ()
    assert report.unrecognised == ()
    assert report.source == table.source
    assert report.license == table.license
    assert "does not mean" in report.scope


def test_parts_of_one_product_are_not_paired(tmp_path: Path) -> None:
    csv = b"Lopinavir$DB01601$Ritonavir$DB00503$\r\nRitonavir$DB00503$Simvastatin$DB00641$\r\n"
    table = InteractionTable.load(write_folder(tmp_path / "kaletra", csv))
    # Kaletra is lopinavir and ritonavir by design: only pairs across products are flagged.
    assert pairs_of(check(table, "Kaletra", "simvastatin")) == {("ritonavir", "simvastatin")}
    assert pairs_of(check(table, "lopinavir", "ritonavir")) == {("lopinavir", "ritonavir")}


# --- allergies, on the real list -------------------------------------------------------------


def test_penicillin_allergy_flags_amoxicillin(table: InteractionTable) -> None:
    report = check(table, "amoxicillin 500 mg capsule", "simvastatin", allergies=("Penicillin",))
    assert len(report.allergy_conflicts) == 1
    conflict = report.allergy_conflicts[0]
    assert conflict.medication == "amoxicillin"
    assert conflict.medication_as_given == "amoxicillin 500 mg capsule"
    assert conflict.allergy == "Penicillin"
    assert conflict.kind == "same-class"
    assert "penicillins" in conflict.reason
    assert "amoxicillin" in report.checked


def test_an_allergy_conflict_reads_as_one_line(table: InteractionTable) -> None:
    report = check(table, "amoxicillin 500 mg capsule", allergies=("Penicillin",))
    (conflict,) = report.allergy_conflicts
    line = conflict.describe()
    assert line.startswith("amoxicillin conflicts with the recorded allergy to Penicillin")
    assert conflict.reason in line


@pytest.mark.parametrize(
    ("medication", "allergy", "generic", "kind"),
    [
        ("Augmentin 875 mg", "PCN", "amoxicillin", "same-class"),
        ("ampicillin", "amoxicillin", "ampicillin", "same-class"),
        ("ampicillin 1 g IV", "Amoxicillin allergy (rash)", "ampicillin", "same-class"),
        ("dicloxacillin", "Penicillin G (anaphylaxis)", "dicloxacillin", "same-class"),
        ("piperacillin-tazobactam 4.5 g IV", "penicillins", "piperacillin", "same-class"),
        ("cefazolin 2 g IV", "penicillin", "cefazolin", "cross-reactivity"),
        ("amoxicillin", "Rocephin", "amoxicillin", "cross-reactivity"),
        ("cephalexin", "cefazolin", "cephalexin", "same-class"),
        ("Bactrim DS", "sulfa", "sulfamethoxazole", "same-class"),
        ("ibuprofen 400 mg", "aspirin", "ibuprofen", "same-class"),
        ("naproxen", "NSAIDs", "naproxen", "same-class"),
        ("codeine 30 mg", "Codeine (nausea)", "codeine", "same-drug"),
    ],
)
def test_allergy_conflicts(
    table: InteractionTable, medication: str, allergy: str, generic: str, kind: str
) -> None:
    report = check(table, medication, allergies=(allergy,))
    assert [(c.medication, c.kind) for c in report.allergy_conflicts] == [(generic, kind)]
    assert report.unrecognised_allergies == ()


def test_unrelated_allergies_give_no_flag(table: InteractionTable) -> None:
    # Non-antibiotic sulfonamides do not cross-react with sulfa antibiotics: not flagged.
    report = check(table, "furosemide", "simvastatin", allergies=("sulfa", "penicillin", "latex"))
    assert report.allergy_conflicts == ()
    assert report.unrecognised_allergies == ("latex",)


# --- flags in one line -----------------------------------------------------------------------


def test_a_flag_describes_itself_in_one_line(knowledge: InteractionKnowledge) -> None:
    report = check_interactions(
        ["warfarin 5 mg", "aspirin 81 mg", "Zocor", "Biaxin"], table=knowledge
    )
    described = [flag.describe() for flag in report.interactions]
    assert described == [
        "Biaxin + Zocor: contraindicated (St Test formulary interactions); CYP3A4 inhibition "
        "raises simvastatin exposure; Withhold simvastatin during the course.",
        "Biaxin + Zocor: high-priority (ONC high-priority list).",
        "aspirin 81 mg + warfarin 5 mg: major (St Test formulary interactions); Additive bleeding "
        "risk: antiplatelet effect plus anticoagulation; Avoid unless both are indicated; monitor "
        "for bleeding.",
    ]
    assert report.interactions[1].describe(as_given=False) == (
        "clarithromycin + simvastatin: high-priority (ONC high-priority list)."
    )
