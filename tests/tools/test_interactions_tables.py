"""Interaction knowledge as pluggable tables: a hospital's table beside the ONC list, class rows,
severities, provenance per flag and per row, the scope note, and bad tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from tools.errors import ToolError
from tools.interactions import (
    CLASSES_FILE,
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    SCOPE_NOTE,
    SOURCE_FILE,
    InteractionDataError,
    InteractionKnowledge,
    InteractionReport,
    InteractionTable,
    check_interactions,
    interaction_tools,
)

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


def assert_one_sentence(message: str) -> None:
    assert message.endswith(".")
    assert "\n" not in message
    assert ". " not in message


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


@pytest.fixture
def knowledge(tmp_path: Path) -> InteractionKnowledge:
    return InteractionKnowledge.load(
        onc_folder(tmp_path / "onc"), [table_folder(tmp_path / "hospital")]
    )


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


# --- the tool ---------------------------------------------------------------------------------


def invoke(folder: Path | None, extra: list[Path], **args: object) -> ToolMessage:
    (tool,) = interaction_tools(folder, extra_dirs=extra)
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def test_the_tool_consults_the_extra_tables(tmp_path: Path) -> None:
    onc = onc_folder(tmp_path / "onc")
    hospital = table_folder(tmp_path / "hospital")
    message = invoke(onc, [hospital], medications=["warfarin 5 mg", "aspirin 81 mg", "Zocor"])
    assert message.status == "success"
    assert isinstance(message.content, str)
    report = InteractionReport.model_validate(json.loads(message.content))
    assert [(f.drug_a, f.severity) for f in report.interactions] == [
        ("acetylsalicylic acid", "major")
    ]
    assert len(report.sources) == 2
    (tool,) = interaction_tools(onc, extra_dirs=[hospital])
    assert "1 local interaction table" in tool.description


def test_the_tool_reports_a_bad_extra_table_as_an_error_message(tmp_path: Path) -> None:
    onc = onc_folder(tmp_path / "onc")
    bad = table_folder(tmp_path / "bad", source=None)
    message = invoke(onc, [bad], medications=["warfarin"])
    assert message.status == "error"
    assert "SOURCE.txt is missing" in str(message.content)
    assert_one_sentence(str(message.content))
