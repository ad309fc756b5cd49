"""Interaction tables read from their folders: the real ONC list, the table format (class rows,
severities, provenance per row, skipped rows) and the one-sentence refusal of bad data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.interactions.folders import (
    HOSPITAL_CSV,
    HOSPITAL_SOURCE,
    ONC,
    assert_one_sentence,
    check,
    file_pairs,
    onc_table,
    pairs_of,
    table_folder,
    write_folder,
)
from tools.errors import ToolError
from tools.interactions import (
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    SOURCE_FILE,
    InteractionDataError,
    InteractionKnowledge,
    InteractionTable,
    check_interactions,
)


@pytest.fixture(scope="module")
def table() -> InteractionTable:
    return onc_table()


def test_real_list_loads_every_row_with_provenance(table: InteractionTable) -> None:
    assert table.rows_loaded == 1930
    assert table.rows_skipped == 0
    # Most pairs are listed in both orders; the table keeps each unordered pair once.
    assert len(table.pairs) == len(file_pairs()) == 1150
    assert "Phansalkar" in table.source
    assert "dbmi-pitt/public-PDDI-analysis" in table.source
    assert "NO license" in table.license
    assert InteractionTable.load(ONC) is table


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


# --- bad ONC-format data -----------------------------------------------------------------------


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


def test_csv_without_any_good_line_is_a_tool_error(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "garbage", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8\xff")
    with pytest.raises(ToolError, match="No drug pairs") as caught:
        InteractionTable.load(folder)
    assert_one_sentence(str(caught.value))


# --- the table format ---------------------------------------------------------------------------


def test_a_class_row_expands_to_every_drug_of_the_class(tmp_path: Path) -> None:
    csv = (
        "drug_a,drug_b,severity,mechanism,management,source,license\n"
        "Strong CYP3A4 inhibitors,simvastatin,contraindicated,CYP3A4 inhibition,Avoid,,\n"
        "erythromycin,Simvastatin,moderate,,,Hospital note 12,internal\n"
        "NSAIDs,SSRIs,moderate,Additive bleeding risk,Consider a PPI,,\n"
    )
    classes = (
        "class,drug\n"
        "strong CYP3A4 inhibitors,clarithromycin\n"
        "strong CYP3A4 inhibitors,erythromycin\n"
        "strong CYP3A4 inhibitors,Ketoconazole\n"
        "NSAIDs,ibuprofen\nNSAIDs,naproxen\nSSRIs,sertraline\nSSRIs,citalopram\n"
    )
    folder = table_folder(tmp_path / "classes", csv, classes=classes)
    table = InteractionTable.load_table(folder)
    assert table.rows_loaded == 3 and table.rows_skipped == 0
    report = check_interactions(
        ["ketoconazole 200 mg", "erythromycin", "simvastatin 20 mg", "Advil", "Celexa"], table=table
    )
    found = {(f.drug_a, f.drug_b): f for f in report.interactions}
    assert set(found) == {
        ("ketoconazole", "simvastatin"),
        ("erythromycin", "simvastatin"),
        ("citalopram", "ibuprofen"),
    }
    # the class row is more severe than the drug row of the same pair: the most severe row wins
    assert found[("erythromycin", "simvastatin")].severity == "contraindicated"
    assert found[("citalopram", "ibuprofen")].management == "Consider a PPI"
    assert report.interactions[0].severity == "contraindicated"  # severest first


def test_a_row_may_carry_its_own_source_and_licence(tmp_path: Path) -> None:
    csv = (
        "drug_a,drug_b,severity,mechanism,management,source,licence\n"
        "linezolid,sertraline,major,Serotonin syndrome,Avoid,Lexi-like vendor 2025,vendor EULA\n"
        "tramadol,sertraline,moderate,Serotonin syndrome,Monitor,,\n"
    )
    table = InteractionTable.load_table(table_folder(tmp_path / "rows", csv))
    report = check_interactions(["linezolid", "sertraline", "tramadol"], table=table)
    by_drug = {f.drug_a: f for f in report.interactions}
    assert (by_drug["linezolid"].source, by_drug["linezolid"].license) == (
        "Lexi-like vendor 2025",
        "vendor EULA",
    )
    assert by_drug["sertraline"].license == (
        "licensed to St Test Hospital for internal clinical use only"
    )


def test_a_table_format_folder_can_be_the_only_table(tmp_path: Path) -> None:
    folder = table_folder(tmp_path / "only")
    knowledge = InteractionKnowledge.load(None, [folder])
    report = check_interactions(["warfarin", "aspirin"], table=knowledge)
    assert [f.severity for f in report.interactions] == ["major"]
    assert report.source.startswith("St Test Hospital")
    # InteractionTable.load reads a table-format folder too
    assert InteractionTable.load(folder) is InteractionTable.load_table(folder)
    with pytest.raises(InteractionDataError, match="No drug-interaction table"):
        InteractionKnowledge.load(None, [])


def test_skipped_rows_are_counted_and_described(tmp_path: Path) -> None:
    csv = (
        "Drug_A , Drug_B,Severity,Mechanism,Management\n"
        "warfarin,aspirin,MAJOR,,\n"
        "warfarin,fluconazole,severe,,\n"  # not a severity of the vocabulary
        "warfarin,,major,,\n"  # no second drug
        "warfarin,warfarin,major,,\n"  # a drug with itself
        "warfarin,amiodarone,major,bleeding, INR rises,monitor\n"  # unquoted comma: 6 fields
        "\n"
        "tramadol,sertraline,moderate\n"  # short row: the empty text columns may be left out
    )
    table = InteractionTable.load_table(table_folder(tmp_path / "rows", csv))
    assert table.rows_loaded == 2
    assert table.rows_skipped == 4
    assert table.problems[0] == "interactions.csv line 3: unknown severity 'severe'"
    assert len(table.problems) == 4
    assert set(table.pairs) == {
        frozenset(("warfarin", "acetylsalicylic acid")),
        frozenset(("tramadol", "sertraline")),
    }


def test_a_source_txt_line_that_is_not_indented_stays_in_its_field(tmp_path: Path) -> None:
    # Read through knowledge.provenance, as corpora are: before, an unindented continuation
    # ended the field here and its text was lost; a key with brackets is still a key.
    source = (
        "WHAT: St Test interactions\nOBTAINED FROM: pharmacy\nLICENSE: internal use,\n"
        "no redistribution\nNOTE (REVIEW): yearly\n"
    )
    table = InteractionTable.load_table(table_folder(tmp_path / "wrapped", source=source))
    assert table.license == "internal use, no redistribution"
    assert table.source == "St Test interactions (obtained from: pharmacy)"


@pytest.mark.parametrize(
    ("csv", "source", "message"),
    [
        (HOSPITAL_CSV, None, "SOURCE.txt is missing"),
        (HOSPITAL_CSV, "WHAT: a table\n", "lacks the field(s) OBTAINED FROM, LICENSE"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", HOSPITAL_SOURCE, "is a binary file"),
        (b"drug_a,drug_b,severity\n\xff\xfewarfarin,aspirin,major\n", HOSPITAL_SOURCE, "UTF-8"),
        ("drug1,drug2,level\nwarfarin,aspirin,major\n", HOSPITAL_SOURCE, "lacks the column(s)"),
        ("", HOSPITAL_SOURCE, "lacks the column(s) drug_a, drug_b, severity"),
        (
            "drug_a,drug_b,severity\nwarfarin,aspirin,high\n",
            HOSPITAL_SOURCE,
            "No interaction rows could be read",
        ),
    ],
)
def test_bad_tables_are_refused_in_one_sentence(
    tmp_path: Path, csv: str | bytes, source: str | None, message: str
) -> None:
    folder = table_folder(tmp_path / "bad", csv, source=source)
    with pytest.raises(InteractionDataError) as caught:
        InteractionTable.load_table(folder)
    assert message in str(caught.value)
    assert isinstance(caught.value, ToolError)
    assert_one_sentence(str(caught.value))


def test_unknown_severity_is_named_with_the_vocabulary(tmp_path: Path) -> None:
    folder = table_folder(tmp_path / "vocab", "drug_a,drug_b,severity\nwarfarin,aspirin,high\n")
    with pytest.raises(InteractionDataError) as caught:
        InteractionTable.load_table(folder)
    assert "unknown severity 'high'" in str(caught.value)
    assert "contraindicated, high-priority, major, moderate, minor, informational" in str(
        caught.value
    )


def test_missing_table_folder_or_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InteractionDataError, match="does not exist") as caught:
        InteractionTable.load_table(tmp_path / "nowhere")
    assert_one_sentence(str(caught.value))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / SOURCE_FILE).write_text(HOSPITAL_SOURCE, encoding="utf-8")
    with pytest.raises(InteractionDataError, match=INTERACTIONS_FILE) as caught:
        InteractionTable.load_table(empty)
    assert_one_sentence(str(caught.value))


def test_a_bad_class_file_is_refused_and_bad_class_rows_counted(tmp_path: Path) -> None:
    folder = table_folder(tmp_path / "badclasses", classes="name,member\nx,y\n")
    with pytest.raises(InteractionDataError, match=r"classes\.csv lacks the column"):
        InteractionTable.load_table(folder)
    folder = table_folder(
        tmp_path / "someclasses",
        "drug_a,drug_b,severity\nazoles,simvastatin,major\n",
        classes="class,drug\nazoles,ketoconazole\nazoles,\n,itraconazole\n",
    )
    table = InteractionTable.load_table(folder)
    assert table.rows_skipped == 2
    assert set(table.pairs) == {frozenset(("ketoconazole", "simvastatin"))}
