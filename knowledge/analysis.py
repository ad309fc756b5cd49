"""Text analysis shared by BM25, sentence verification and coverage: English stop words
removed, Snowball stemming (bm25s's tokenizer), so "found by BM25", "supported by a passage"
and "mentioned by a guideline" agree on what a word is."""

from __future__ import annotations

import re
from typing import Any

# "non-muscle-invasive" and "nonmuscle-invasive", "post-traumatic" and "posttraumatic": one
# word each, however a guideline hyphenates the prefix.
PREFIXES = ("non", "anti", "post", "pre", "peri", "co", "re", "multi", "sub", "intra", "inter")
_PREFIX_HYPHEN_RE = re.compile(rf"\b({'|'.join(PREFIXES)})-(?=[a-z])", re.IGNORECASE)


def normalise(text: str) -> str:
    return _PREFIX_HYPHEN_RE.sub(r"\1", text)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str], *, return_ids: bool) -> Any:
    import bm25s

    return bm25s.tokenize(
        [normalise(text) for text in texts],
        stopwords="en",
        stemmer=_stemmer(),
        return_ids=return_ids,
        show_progress=False,
    )


def content_terms(texts: list[str]) -> list[set[str]]:
    """Each text's stemmed, stopword-free terms."""
    if not texts:
        return []
    tokens = tokenize(texts, return_ids=False)
    return [set(words) for words in tokens]
