"""The ONC high-priority interaction check: real pairs, names, allergies, bad data, the tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from tests.conftest import SHARED
from tools.errors import ToolError
from tools.interactions import (
    HIGH_PRIORITY_FILE,
    SOURCE_FILE,
    InteractionReport,
    InteractionTable,
    check_interactions,
    interaction_tools,
    normalise_name,
)

ONC = SHARED / "data" / "ddi-onc-high-priority"
SOURCE_TEXT = """WHAT: A test list of drug pairs
  split over two lines.
OBTAINED FROM: written by the test
LICENSE: test data,
  no terms.
"""


@pytest.fixture(scope="module")
def table() -> InteractionTable:
    if not (ONC / HIGH_PRIORITY_FILE).exists():
        pytest.skip("../shared/data/ddi-onc-high-priority is not present")
    return InteractionTable.load(ONC)


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


# --- the real list ----------------------------------------------------------------------------


def test_real_list_loads_every_row_with_provenance(table: InteractionTable) -> None:
    assert table.rows_loaded == 1930
    assert table.rows_skipped == 0
    # Most pairs are listed in both orders; the table keeps each unordered pair once.
    assert len(table.pairs) == len(file_pairs()) == 1150
    assert "Phansalkar" in table.source
    assert "dbmi-pitt/public-PDDI-analysis" in table.source
    assert "NO license" in table.license
    assert InteractionTable.load(ONC) is table


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


@pytest.mark.parametrize(
    ("given", "generic"),
    [
        ("Warfarin sodium 5 mg tablet", "warfarin"),
        ("simvastatin 40mg PO", "simvastatin"),
        ("ZOCOR 20 mg PO nightly", "simvastatin"),
        ("simvastatin 40 mg by mouth at bedtime", "simvastatin"),
        ("Coumadin", "warfarin"),
        ("Diltiazem HCl 120 mg", "diltiazem"),
        ("metoprolol succinate ER 50 mg", "metoprolol"),
        ("Sertraline hydrochloride 50mg tab", "sertraline"),
        ("Penicillin V potassium 500 mg", "penicillin v"),
        ("Arsenic trioxide 10 mg IV", "arsenic trioxide"),
        ("calcium acetate 667 mg", "calcium acetate"),
        ("Demerol", "pethidine"),
        ("aspirin 81 mg", "acetylsalicylic acid"),
        ("Augmentin 875 mg", "amoxicillin/clavulanate"),
    ],
)
def test_names_normalise_to_generics(given: str, generic: str) -> None:
    # Demerol -> meperidine -> pethidine takes two steps, as the checker applies it.
    assert "/".join(normalise_name(part) for part in normalise_name(given).split("/")) == generic


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


def test_informational_level_is_opt_in_and_labelled(table: InteractionTable) -> None:
    assert frozenset(("warfarin", "simvastatin")) in file_pairs("ONC_Non_Interuptive_Mapped.csv")
    assert check(table, "warfarin", "simvastatin").interactions == ()
    wide = InteractionTable.load(ONC, include_informational=True)
    assert wide.rows_loaded == 1930 + 2101
    report = check(wide, "warfarin", "simvastatin", "citalopram", "sotalol")
    severities = {(f.drug_a, f.drug_b): f.severity for f in report.interactions}
    # citalopram + sotalol is on both lists: the high-priority level wins.
    assert severities == {
        ("simvastatin", "warfarin"): "informational",
        ("citalopram", "sotalol"): "high-priority",
    }
    assert report.interactions[0].severity == "high-priority"  # sorted by level first


# --- allergies --------------------------------------------------------------------------------


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


# --- bad data ---------------------------------------------------------------------------------


def test_missing_folder_is_a_one_sentence_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as caught:
        InteractionTable.load(tmp_path / "nowhere")
    assert "does not exist" in str(caught.value)
    assert_one_sentence(str(caught.value))


def test_missing_list_or_source_is_a_tool_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ToolError, match=HIGH_PRIORITY_FILE) as caught:
        InteractionTable.load(empty)
    assert_one_sentence(str(caught.value))

    no_source = write_folder(tmp_path / "nosource", b"A$DB00001$B$DB00002$\n", source=None)
    with pytest.raises(ToolError, match=SOURCE_FILE) as caught:
        InteractionTable.load(no_source)
    assert_one_sentence(str(caught.value))


def test_corrupt_csv_keeps_good_lines_and_counts_the_rest(tmp_path: Path) -> None:
    csv = (
        b"\xef\xbb\xbfSimvastatin$DB00641$Clarithromycin$DB01211$\r\n"
        b"\xff\xfe\x00\x80garbage\x81\r\n"  # not UTF-8
        b"\x00\x01\x02$DB00001$\x03$DB00002$\r\n"  # UTF-8, but no drug names
        b"drug1$DBID$drug2$DBID$\r\n"  # a header
        b"Omeprazole$DB00338$Atazanavir$DB01072$\r"  # a bare CR ends a line too
        b"\r\n"
        b"Simvastatin$DB00641$Simvastatin$DB00641$\n"  # a drug paired with itself
        b"Tizanidine$DB00697$Ciprofloxacin$DB00537$"  # no final line break
    )
    table = InteractionTable.load(write_folder(tmp_path / "corrupt", csv))
    assert table.rows_loaded == 3
    assert table.rows_skipped == 4
    assert set(table.pairs) == {
        frozenset(("simvastatin", "clarithromycin")),
        frozenset(("omeprazole", "atazanavir")),
        frozenset(("tizanidine", "ciprofloxacin")),
    }
    assert table.source == (
        "A test list of drug pairs split over two lines. (obtained from: written by the test)"
    )
    assert table.license == "test data, no terms."
    report = check_interactions(["Biaxin", "Zocor", "sertraline"], table=table)
    assert pairs_of(report) == {("clarithromycin", "simvastatin")}
    assert report.unrecognised == ("sertraline",)


def test_parts_of_one_product_are_not_paired(tmp_path: Path) -> None:
    csv = b"Lopinavir$DB01601$Ritonavir$DB00503$\r\nRitonavir$DB00503$Simvastatin$DB00641$\r\n"
    table = InteractionTable.load(write_folder(tmp_path / "kaletra", csv))
    # Kaletra is lopinavir and ritonavir by design: only pairs across products are flagged.
    assert pairs_of(check(table, "Kaletra", "simvastatin")) == {("ritonavir", "simvastatin")}
    assert pairs_of(check(table, "lopinavir", "ritonavir")) == {("lopinavir", "ritonavir")}


def test_csv_without_any_good_line_is_a_tool_error(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "garbage", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8\xff")
    with pytest.raises(ToolError, match="No drug pairs") as caught:
        InteractionTable.load(folder)
    assert_one_sentence(str(caught.value))


# --- the LangChain tool -----------------------------------------------------------------------


def invoke(folder: Path, **args: object) -> ToolMessage:
    (tool,) = interaction_tools(folder)
    assert tool.name == "check_interactions"
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def test_tool_returns_the_report_json(table: InteractionTable) -> None:
    message = invoke(
        ONC, medications=["Zocor 40 mg", "clarithromycin", "amoxicillin"], allergies=["penicillin"]
    )
    assert message.status == "success"
    assert isinstance(message.content, str)
    data = json.loads(message.content)
    assert [(f["drug_a"], f["drug_b"]) for f in data["interactions"]] == [
        ("clarithromycin", "simvastatin")
    ]
    assert data["interactions"][0]["license"] == table.license
    assert [c["medication"] for c in data["allergy_conflicts"]] == ["amoxicillin"]
    assert InteractionReport.model_validate(data).checked == (
        "simvastatin",
        "clarithromycin",
        "amoxicillin",
    )


def test_tool_rejects_too_many_medications_with_a_message(table: InteractionTable) -> None:
    message = invoke(ONC, medications=[f"drug {i}" for i in range(51)])
    assert message.status == "error"
    assert "at most 50" in str(message.content)
    message = invoke(ONC, medications=["x" * 201])
    assert message.status == "error"


def test_tool_reports_missing_data_as_an_error_message(tmp_path: Path) -> None:
    message = invoke(tmp_path / "nowhere", medications=["simvastatin"])
    assert message.status == "error"
    assert "does not exist" in str(message.content)
    assert_one_sentence(str(message.content))
