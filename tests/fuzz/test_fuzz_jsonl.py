"""Fuzzing the JSONL loader: any lines, bytes and JSON values.

Documented behaviour, and only it: a file that cannot be read at all raises `UnreadableFile`
with its reason; otherwise every non-blank line either becomes one document or is reported
through `warn` (one line, naming the file and line number) and skipped; nothing is lost
silently and no other exception escapes.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from knowledge.errors import UnreadableFile
from knowledge.loaders import JsonlFields, load_documents
from knowledge.types import CorpusInfo, Document

CORPUS = CorpusInfo(name="fuzz", license="CC0")
FIELDS = JsonlFields()
SOURCE = "records.jsonl"

# Text a UTF-8 file can hold: a lone surrogate ("\ud800") cannot be encoded at all (bytes that
# are not UTF-8 are test_jsonl_bytes's part).
_UTF8 = st.characters(codec="utf-8")

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_UTF8, max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(_UTF8, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELD_NAMES = st.sampled_from(
    [
        *FIELDS.text,
        *FIELDS.title,
        *FIELDS.id,
        *FIELDS.url,
        *FIELDS.date,
        *FIELDS.license,
        "other",
    ]
)
records = st.dictionaries(_FIELD_NAMES, json_values | st.text(_UTF8, max_size=200), max_size=8)


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["record", "value", "broken", "blank", "text"]))
    if kind == "record":
        return json.dumps(draw(records), ensure_ascii=draw(st.booleans()))
    if kind == "value":
        return json.dumps(draw(json_values))
    if kind == "broken":
        return json.dumps(draw(records))[: draw(st.integers(0, 40))] + draw(
            st.sampled_from(["", "}", ",", "NaN", "]", "\\"])
        )
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t"]))
    return draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60))


jsonl_text = st.lists(lines(), max_size=20).map("\n".join)


def load(data: bytes) -> tuple[list[Document] | UnreadableFile, list[str]]:
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-jsonl-") as folder:
        path = Path(folder) / SOURCE
        path.write_bytes(data)
        try:
            documents = load_documents(
                path, CORPUS, SOURCE, jsonl_fields=FIELDS, max_bytes=1 << 20, warn=warnings.append
            )
        except UnreadableFile as exc:
            return exc, warnings
    return documents, warnings


def as_text(data: bytes) -> str | None:
    """The text a JSONL file holds, as the loader decodes it (UTF-8, a leading BOM dropped);
    None for a file that cannot be read as text at all: empty, binary or not UTF-8."""
    if not data.strip() or b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def check(data: bytes) -> None:
    result, warnings = load(data)
    for warning in warnings:
        assert warning.startswith(f"{SOURCE}:") and "\n" not in warning, warning
        assert warning.endswith("line skipped"), warning
    if isinstance(result, UnreadableFile):
        assert str(result) and "\n" not in str(result)
    text = as_text(data)
    if text is None:  # refused whole, with its reason, before any line was read
        assert isinstance(result, UnreadableFile) and not warnings, (result, warnings)
        return
    # a file read as text accounts for every line, also when it is refused for holding no
    # usable record: each non-blank line is one document or one warning
    documents = [] if isinstance(result, UnreadableFile) else result
    non_blank = [line for line in text.split("\n") if line.strip()]
    assert len(documents) + len(warnings) == len(non_blank), (result, warnings)
    assert len({d.doc_id for d in documents}) == len(documents)
    assert all(any(s.text.strip() for s in d.sections) for d in documents)


@given(text=jsonl_text)
@example(text='{"text": "Aspirin 75 mg daily.", "id": 1}\n{"text": "again", "id": "1"}')
@example(text='{"text": "ok"}\n' + "[" * 100_000)
@example(text='{"text": "ok"}\n' + '{"a":' * 50_000)
@example(text='{"text": "ok", "date": 1e999}\n{"text": 5}\n"just a string"')
@example(text='\ufeff{"text": "BOM first"}\r\n{"text": "crlf"}\u2028{"text": "ls"}')
@example(text='{"text": "a\u2028b\x85c\x1cd", "id": "x"}\n{"text": "ok"}')  # was cut and lost
@example(text='{"text": "ok"}\n{"text": "<br>"}')  # markup only: was a document with no text
@example(text='{"text": "<p></p>"}\n[1]\n')  # refused, and still says why for each line
@example(text="\ufeff\n")
def test_jsonl_lines(text: str) -> None:
    check(text.encode("utf-8"))


@given(data=st.binary(max_size=512))
@example(data=b'{"text": "ok"}\n\xff\xfe')
@example(data=b'{"text": "ok"}\x00')
@example(data=b"\xef\xbb\xbf")
def test_jsonl_bytes(data: bytes) -> None:
    check(data)


@given(record=records)
def test_a_record_with_text_is_never_lost(record: dict[str, Any]) -> None:
    record = {**record, "text": "Metformin is first line.\u2028Then\x85more.", "id": "only"}
    result, warnings = load(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    assert not isinstance(result, UnreadableFile), result
    assert [d.doc_id for d in result] == [f"{SOURCE}#only"] and not warnings
