"""Errors a user can cause or meet in the knowledge layer; each message is one clear sentence."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class: `str(error)` is the sentence to show the user."""


class EmptyKnowledgeBase(KnowledgeError):
    def __init__(self) -> None:
        super().__init__(
            "The knowledge base is empty: ingest guideline files first (clinassist ingest PATH)."
        )


class StoreUnavailable(KnowledgeError):
    """The vector store (usually a Chroma server) cannot be reached or used."""


class UnreadableFile(KnowledgeError):
    """A corpus file that cannot be ingested; the message is the reason shown in the summary."""
