"""One way to reach Chroma: embedded on disk under the data dir, or a server by URL.

Shared by the guideline store and the image index, so both fail the same way: a server that
is down or goes away becomes one clear sentence (`StoreUnavailable`), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from knowledge.errors import KnowledgeError, StoreUnavailable

T = TypeVar("T")


def connect_chroma(data_dir: Path, chroma_url: str | None) -> Any:
    """A Chroma client: `PersistentClient` under `data_dir/chroma`, or an `HttpClient`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url is None:
        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    parsed = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StoreUnavailable(f"The Chroma URL {chroma_url!r} is not an http(s) URL.")
    try:
        client = chromadb.HttpClient(
            host=parsed.hostname,
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
        client.heartbeat()
    except Exception as exc:  # chromadb raises plain ValueError/httpx errors when down
        raise StoreUnavailable(
            f"Cannot reach the Chroma server at {chroma_url} ({type(exc).__name__}); "
            "check that it is running and the URL is right."
        ) from None
    return client


def guarded_call(
    chroma_url: str | None, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """Run a Chroma call; against a server, any failure becomes `StoreUnavailable`."""
    try:
        return fn(*args, **kwargs)
    except KnowledgeError:
        raise
    except Exception as exc:
        if chroma_url is None:
            raise
        raise StoreUnavailable(
            f"The Chroma server at {chroma_url} failed while {what} "
            f"({type(exc).__name__}); check that it is running."
        ) from None
