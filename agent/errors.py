"""Errors of the agent layer that a user can cause or meet; each message is one sentence."""

from __future__ import annotations

import errno
from pathlib import Path


class AgentError(Exception):
    """Base class: `str(error)` is the sentence to show the user."""


class ModelError(AgentError):
    """A model that cannot be found or prepared."""


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
STORAGE_ERRNOS = (*FULL_ERRNOS, errno.EROFS)  # what `storage_error` names by its cause


class StorageError(AgentError):
    """The data folder could not be written (full, read-only, failing): nothing was saved."""


def storage_error(data_dir: Path, exc: BaseException, what: str = "this turn") -> StorageError:
    """One sentence for a failed write under `data_dir` (an OSError or a SQLite error)."""
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if code in FULL_ERRNOS or "full" in text:
        reason = "is full"
    elif code == errno.EROFS or "readonly" in text or "read-only" in text:
        reason = "is read-only"
    else:
        reason = f"could not be written ({type(exc).__name__})"
    return StorageError(
        f"The data folder {data_dir} {reason}, so {what} was not saved: "
        "free space there (or fix it) and try again."
    )
