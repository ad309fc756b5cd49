"""Text, not markup, from corpora (issue 17, findings 1 and 5): the loaders and the chunker keep
a hostile corpus's words and structure, and no tag or non-web link of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import ChunkingParams, chunk_document, clean_markup
from knowledge.loaders import JsonlFields, load_documents
from knowledge.markup import defuse_tags, html_to_text, web_url
from knowledge.types import Chunk, CorpusInfo, Document, Passage
from tests.hostile_corpus import BAD_SCHEMES, OVERLAY, live_markup, write_hostile_corpus

CORPUS = CorpusInfo("hostile", license="CC0", source_url="https://guidelines.example.org/h")


def load(path: Path) -> list[Document]:
    return load_documents(
        path, CORPUS, path.name, jsonl_fields=JsonlFields(), max_bytes=10**7, warn=print
    )


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, list[Chunk]]:
    folder = write_hostile_corpus(tmp_path / "hostile")
    return {
        name: [c for doc in load(folder / name) for c in chunk_document(doc, ChunkingParams())]
        for name in ("warfarin-dosing.md", "warfarin.jsonl", "warfarin-monitoring.html")
    }


def test_no_stored_title_section_text_licence_or_url_holds_markup(
    hostile: dict[str, list[Chunk]],
) -> None:
    chunks = [chunk for chunks in hostile.values() for chunk in chunks]
    assert len(chunks) >= 4
    for chunk in chunks:
        for field, value in chunk.metadata().items():
            assert not live_markup(str(value)), f"{field} of {chunk.source}: {value!r}"
        assert not live_markup(chunk.text), chunk.text
        assert chunk.url is None or chunk.url.startswith("https://"), chunk.url
        assert "javascript:" not in chunk.text.lower() and "127.0.0.1:9" not in chunk.text


def test_markdown_keeps_its_words_headings_lists_and_tables(
    hostile: dict[str, list[Chunk]],
) -> None:
    chunks = hostile["warfarin-dosing.md"]
    text = "\n".join(chunk.text for chunk in chunks)
    assert chunks[0].title == "Warfarin maintenance dosing"  # the front matter's, tags removed
    assert chunks[0].url is None  # javascript: in the front matter
    assert chunks[0].license == "CC0 hostile test licence"
    assert {chunk.section for chunk in chunks} == {"Warfarin maintenance dose"}
    assert OVERLAY in text  # the words stay, as text
    assert "- Check the INR weekly while starting warfarin\n- Then check the INR" in text
    assert "| INR | Warfarin action |\n| --- | --- |\n| below 2.0 |" in text
    assert "alert(3)" in text and "<script" not in text  # entity-encoded: text, not a tag
    assert "open the warfarin calculator" in text  # a javascript: link keeps its words only


def test_jsonl_titles_and_url_fields(hostile: dict[str, list[Chunk]]) -> None:
    by_doc = {chunk.doc_id: chunk for chunk in hostile["warfarin.jsonl"]}
    bridging = by_doc["warfarin.jsonl#warfarin-bridging"]
    reversal = by_doc["warfarin.jsonl#warfarin-reversal"]
    assert bridging.title == "Warfarin bridging summary"
    assert reversal.title == "Warfarin reversal"  # entity-encoded <img>: decoded once, dropped
    assert bridging.url is None and reversal.url is None  # data:, vbscript:, javascript:
    assert "Stop warfarin now" in bridging.text and "<" not in bridging.text


def test_html_entities_are_decoded_once_and_never_into_tags(
    hostile: dict[str, list[Chunk]],
) -> None:
    chunks = hostile["warfarin-monitoring.html"]
    assert chunks[0].title == "Warfarin monitoring" and chunks[0].url is None
    assert chunks[0].section == "Warfarin INR checks"
    text = "\n".join(chunk.text for chunk in chunks)
    assert OVERLAY in text and "- Warfarin INR target 2.0 to 3.0" in text


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://www.cancer.gov/types/hot-flashes", True),
        (" http://guidelines.example.org/a?b=c ", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
        ("//evil.example.org/x", False),
        ("/relative/path", False),
        ('https://x.org/"onmouseover="alert(1)', False),
        ("https://", False),
        (None, False),
        (["https://x.org"], False),
    ],
)
def test_web_url_keeps_only_http_links(url: object, kept: bool) -> None:
    assert (web_url(url) is not None) is kept
    assert BAD_SCHEMES.match(web_url(url) or "") is None


def test_passage_links_only_web_urls() -> None:
    passage = Passage("p", "t", "T", "S", "javascript:alert(1)", None, None, "c", "s", "d")
    assert passage.link is None
    assert Passage("p", "t", "T", "S", "https://x.org", None, None, "c", "s", "d").link


def test_text_with_comparisons_is_left_as_written() -> None:
    for text in ("eGFR <30 mL/min", "CrCl <= 30 and a < b", "5<10", "AT&T"):
        assert html_to_text(text) == text and defuse_tags(text) == text
    assert html_to_text("a &amp; b &lt;30") == "a & b <30"
    assert defuse_tags("x <img src=x onerror=alert(1)") == "x < img src=x onerror=alert(1)"
    assert clean_markup("see <https://www.cancer.gov/pdq> <b>now</b>") == (
        "see https://www.cancer.gov/pdq now"
    )
