"""Fuzzing the chunker (and the Markdown loader in front of it) with Markdown-ish text.

Properties: `chunk_document` never raises; every chunk has its prefix line and a non-empty body
within the size bound; a body holds only words of the (cleaned) input; ids are deterministic
and unique. The Markdown loader reads any text file or says why not (`UnreadableFile`).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from knowledge.chunking import ChunkingParams, chunk_document, clean_markup, split_sentences
from knowledge.errors import UnreadableFile
from knowledge.loaders import JsonlFields, load_documents
from knowledge.markup import defuse_tags
from knowledge.types import CorpusInfo, Document, Section

CORPUS = CorpusInfo(name="fuzz", license="CC0", source_url="https://example.org/fuzz")
MAX_TABLE_ROW = 60  # rows are never cut; keep them short so the size bound applies

_ASCII_WORDS = st.sampled_from(
    [
        "aspirin",
        "dose",
        "mg",
        "e.g.",
        "Dr.",
        "vs.",
        "2.5",
        "No.",
        "A",
        "i.e.",
        "patients",
        "CKD",
        "x",
        "—",
        "10%",
        "(see",
        "below)",
        '"quoted"',
    ]
)
_UNICODE_WORDS = st.text(
    st.characters(
        exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"], exclude_characters="|[]()<>!#*`"
    ),
    min_size=1,
    max_size=12,
)
words = _ASCII_WORDS | _UNICODE_WORDS


@st.composite
def sentences(draw: st.DrawFn) -> str:
    body = " ".join(draw(st.lists(words, min_size=1, max_size=14)))
    return body + draw(st.sampled_from([".", "!", "?", "", ";", ".)", ". "]))


@st.composite
def markdown_lines(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            ["heading", "paragraph", "list", "table", "long", "blank", "markup", "unicode"]
        )
    )
    if kind == "heading":
        return "#" * draw(st.integers(1, 6)) + " " + " ".join(draw(st.lists(words, max_size=5)))
    if kind == "paragraph":
        return " ".join(draw(st.lists(sentences(), min_size=1, max_size=8)))
    if kind == "list":
        marker = draw(st.sampled_from(["-", "*", "+", "1.", "12)"]))
        return f"{marker} {draw(sentences())}"
    if kind == "table":
        cells = draw(st.lists(st.text("abc 0123", max_size=8), min_size=1, max_size=4))
        row = "| " + " | ".join(cells) + " |"
        return draw(st.sampled_from([row, "|---|---|", "| :-- | --: |"]))[:MAX_TABLE_ROW]
    if kind == "long":  # one "word" far longer than a chunk: hard-wrapped
        return draw(st.sampled_from(["a", "xyz", "é", "9"])) * draw(st.integers(100, 3000))
    if kind == "markup":
        return draw(
            st.sampled_from(
                [
                    "See [the table](https://example.org/t) below.",
                    "![figure](fig.png)",
                    "Dose matters[[1](#cit/1),[4](#cit/4)].",
                    "Range[[82](#a)-[86](#b)] of cites.",
                    "[Back to top](#top)",
                    "<span>inline</span> html<br>",
                ]
            )
        )
    if kind == "unicode":
        return draw(st.text(max_size=80))
    return ""


markdown_text = st.lists(markdown_lines(), max_size=40).map("\n".join)

params_strategy = st.builds(
    ChunkingParams,
    target_chars=st.integers(200, 1200),
    overlap_chars=st.integers(0, 150),
    min_chars=st.integers(0, 300),
)
headings = st.lists(st.text(max_size=30), max_size=5).map(tuple)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    sections = tuple(
        Section(path, text)
        for path, text in draw(st.lists(st.tuples(headings, markdown_text), max_size=6))
    )
    return Document(
        corpus=CORPUS,
        source="fuzz.md",
        doc_id="fuzz.md",
        title=draw(st.text(max_size=60)),
        sections=sections,
        url=draw(st.none() | st.just("https://example.org/doc")),
        updated=draw(st.none() | st.just("2024-01-31")),
        license=draw(st.none() | st.just("CC0")),
    )


def dropped(path: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    return any(re.fullmatch(p, heading.strip(), re.I) for heading in path for p in patterns)


@given(document=documents(), params=params_strategy)
@example(
    document=Document(CORPUS, "e.md", "e.md", "", (Section((), ""), Section(("",), "  \n"))),
    params=ChunkingParams(),
)
@example(
    document=Document(CORPUS, "w.md", "w.md", "T", (Section(("S",), "a" * 5000),)),
    params=ChunkingParams(target_chars=200, overlap_chars=0, min_chars=0),
)
@example(  # found by the deep profile: the chunker's "< ?" title is the "<?" one, defused
    document=Document(CORPUS, "t.md", "t.md", "<?", (Section((), "# "),)),
    params=ChunkingParams(target_chars=200, overlap_chars=0, min_chars=0),
)
def test_chunks_are_bounded_non_empty_and_from_the_input(
    document: Document, params: ChunkingParams
) -> None:
    chunks = chunk_document(document, params)
    cleaned = "\n\n".join(clean_markup(s.text) for s in document.sections)
    # a document with text outside the dropped sections (references and the like) gives
    # chunks, so the checks of each chunk below run; one without gives none
    kept = [s for s in document.sections if not dropped(s.path, params.drop_sections)]
    assert bool(chunks) == any(clean_markup(s.text).strip() for s in kept), chunks
    title = " ".join(defuse_tags(document.title).split())  # a title holds no tag either
    bound = int(params.target_chars * 1.5) + params.overlap_chars + 2
    for chunk in chunks:
        prefix, _, body = chunk.text.partition("\n")
        assert prefix.startswith(title)
        assert body.strip(), chunk
        assert len(body) <= bound, (len(body), bound)
        for word in body.split():
            assert word in cleaned, word
        assert chunk.doc_id == document.doc_id and chunk.corpus == CORPUS.name
    assert len({c.id for c in chunks}) == len(chunks)
    again = chunk_document(document, params)
    assert [c.id for c in again] == [c.id for c in chunks]
    assert [c.text for c in again] == [c.text for c in chunks]


@given(
    row_length=st.integers(50, 3000),
    rows=st.integers(1, 6),
    target=st.integers(100, 600),
)
def test_table_rows_are_never_cut(row_length: int, rows: int, target: int) -> None:
    header = "| drug | dose |\n|---|---|"
    lines = [f"| row{i} | " + "x" * row_length + " |" for i in range(rows)]
    document = Document(
        CORPUS, "t.md", "t.md", "T", (Section(("Doses",), header + "\n" + "\n".join(lines)),)
    )
    chunks = chunk_document(document, ChunkingParams(target_chars=target, overlap_chars=50))
    everything = "\n".join(c.text for c in chunks)
    for line in lines:
        assert line in everything


@given(text=st.text(max_size=2000) | markdown_text)
@example(text="Dr. A. Smith et al. gave 2.5 mg. Then.")
def test_split_sentences_never_invents_text(text: str) -> None:
    for sentence in split_sentences(text):
        assert sentence and sentence in text


@given(
    text=markdown_text,
    front_matter=st.sampled_from(["", "---\ntitle: T\n---\n", "---\n: [\n---\n", "---\n"]),
)
def test_markdown_files_load_or_say_why(text: str, front_matter: str) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-md-") as folder:
        path = Path(folder) / "doc.md"
        path.write_text(front_matter + text, encoding="utf-8")
        try:
            documents = load_documents(
                path, CORPUS, "doc.md", jsonl_fields=JsonlFields(), max_bytes=1 << 20, warn=print
            )
        except UnreadableFile as exc:
            assert str(exc) and "\n" not in str(exc)
            return
    for document in documents:
        chunk_document(document, ChunkingParams())
