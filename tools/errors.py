"""Errors of the tools layer that a user can cause; each message is one sentence."""

from __future__ import annotations


class ToolError(Exception):
    """Base class: `str(error)` is the sentence to show the user."""


class ImageError(ToolError):
    """An image file that cannot be opened or shown."""
