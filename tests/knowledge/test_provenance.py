"""The one SOURCE.txt reader: its fields, and the cases where the two readers it replaced (the
corpus descriptor's and the interaction tables') read the same file differently."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.provenance import SOURCE_FILE, parse_source_text, read_source_file


def test_fields_continuations_and_blank_lines() -> None:
    source = parse_source_text(
        "WHAT: A test list of drug pairs\n"
        "  split over two lines.\n"
        "\n"
        "OBTAINED FROM: https://example.org/a:b\n"
        "LICENSE : test data,\n"
        "\tno terms.\n"
        "NAME: St Test\n"
    )
    assert source.what == "A test list of drug pairs split over two lines."
    assert source.obtained_from == "https://example.org/a:b"
    assert source.license == "test data, no terms."
    assert source.name == "St Test"
    assert source.get("CAVEATS") is None


def test_text_before_the_first_key_and_lower_case_keys_belong_to_no_field() -> None:
    source = parse_source_text("nih_00000001.png: from github\n  more\nlower: q\nWHAT: x\n")
    assert dict(source.fields) == {"WHAT": "x"}


def test_an_empty_field_reads_as_absent_and_a_repeated_key_keeps_its_last_value() -> None:
    source = parse_source_text("LICENSE:\nWHAT: first\nWHAT: second\n")
    assert source.license is None and source.fields["LICENSE"] == ""
    assert source.what == "second"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        # The interaction tables' reader ended a field at an unindented line and dropped the line;
        # the corpus reader kept it. No text of a licence may be lost: it is kept.
        ("LICENSE: test data,\nno terms.\n", {"LICENSE": "test data, no terms."}),
        # The corpus reader glued a key with "_" onto the field before; the tables' reader read
        # it as a key. It is a key.
        (
            "LICENSE: CC0\nSOURCE_URL: https://x.org\n",
            {"LICENSE": "CC0", "SOURCE_URL": "https://x.org"},
        ),
        # The tables' reader did not take a key with brackets and dropped the line; the corpus
        # reader did. It is a key.
        ("LICENSE: CC0\nNOTE (DRAFT): y\n", {"LICENSE": "CC0", "NOTE (DRAFT)": "y"}),
        # Neither took a key with digits: "NOTE (2024)" was read as text of the licence.
        ("LICENSE: CC0\nNOTE (2024): y\n", {"LICENSE": "CC0", "NOTE (2024)": "y"}),
        # The corpus reader began a value given only on the next line with a space.
        ("LICENSE:\n  CC0 1.0\n", {"LICENSE": "CC0 1.0"}),
        # The tables' reader took a one-letter key or one over 41 characters; the corpus reader
        # read such a line as text of the field before, and so does this one.
        ("LICENSE: CC0\nA: see below\n", {"LICENSE": "CC0 A: see below"}),
        ("LICENSE: CC0\n" + "X" * 42 + ": y\n", {"LICENSE": "CC0 " + "X" * 42 + ": y"}),
    ],
)
def test_where_the_two_former_readers_differed(text: str, fields: dict[str, str]) -> None:
    assert dict(parse_source_text(text).fields) == fields


def test_read_source_file_replaces_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / SOURCE_FILE
    path.write_bytes(b"WHAT: caf\xe9 list\nLICENSE: CC0\n")
    source = read_source_file(path)
    assert source.what == "caf\ufffd list" and source.license == "CC0"
    with pytest.raises(OSError):
        read_source_file(tmp_path / "missing" / SOURCE_FILE)


def test_a_byte_order_mark_does_not_cost_the_first_field(tmp_path: Path) -> None:
    # Windows editors save UTF-8 with a BOM; the first key is still a key
    path = tmp_path / SOURCE_FILE
    path.write_bytes("\ufeffWHAT: a list\nLICENSE: CC0\n".encode())
    source = read_source_file(path)
    assert source.what == "a list" and source.license == "CC0"
