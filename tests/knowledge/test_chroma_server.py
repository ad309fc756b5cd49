"""The server path: a real `chroma run` on loopback, reached through HttpClient."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.engine import free_port
from knowledge.errors import StoreUnavailable
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import write_corpus

pytestmark = [pytest.mark.server, pytest.mark.slow]

KbFactory = Callable[..., KnowledgeBase]
CHROMA = Path(sys.executable).parent / "chroma"


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("chroma run did not start listening")


def start_chroma(
    db: Path, log: Path, port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A real `chroma run` on loopback (`port`, or a free one), listening when this returns."""
    port = port or free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(db), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(port, process)
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    process, url = start_chroma(tmp_path / "server-db", tmp_path / "chroma.log")
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_ingest_and_search_through_a_chroma_server(
    chroma_server: str, make_kb: KbFactory, tmp_path: Path
) -> None:
    corpus = write_corpus(tmp_path / "guides")
    kb = make_kb(chroma_url=chroma_server)
    report = ingest(kb, [corpus])
    assert report.files_ingested == 7 and report.chunks_added == kb.store.count()
    assert not (tmp_path / "data" / "chroma").exists()  # nothing embedded on local disk
    [top, *_] = kb.search("gabapentin dose for hot flashes", k=3)
    assert top.source == "hot-flashes.md" and top.url

    # A second app instance (another data dir) sees the same store and adds nothing.
    other = make_kb(tmp_path / "other-data", chroma_url=chroma_server)
    again = ingest(other, [corpus])
    assert again.chunks_added == 0 and again.chunks_unchanged == report.chunks_added
    assert other.search("gabapentin dose for hot flashes", k=1)[0].id == top.id


def test_down_server_is_one_clear_error(make_kb: KbFactory) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable, match=f"Cannot reach the Chroma server at {url}"):
        make_kb(chroma_url=url)


def test_server_stopping_mid_session_is_one_clear_error(make_kb: KbFactory, tmp_path: Path) -> None:
    process, url = start_chroma(tmp_path / "db", tmp_path / "chroma.log")
    try:
        kb = make_kb(chroma_url=url)
        ingest(kb, [write_corpus(tmp_path / "guides", with_pdf=False)])
        kb.search("aspirin", k=1)
    finally:
        process.kill()
        process.wait(timeout=15)
    with pytest.raises(StoreUnavailable, match=r"Chroma server .* failed while"):
        kb.search("aspirin", k=1)
