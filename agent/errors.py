"""Errors of the agent layer that a user can cause or meet; each message is one sentence."""

from __future__ import annotations


class AgentError(Exception):
    """Base class: `str(error)` is the sentence to show the user."""


class ModelError(AgentError):
    """A model that cannot be found or prepared."""
