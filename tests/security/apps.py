"""The app served in this process over the small test corpus, with no engine (extractive
answers): what the issue-17 tests call over HTTP, as a browser or an API client would."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import httpx

from agent.engine import free_port
from agent.service import Service
from agent.settings import Settings
from knowledge.embedding import Embedder
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import always_covered_model, write_corpus
from ui.web import build_app, launch, status_reporter
from ui.web.guard import LoginThrottle


@dataclass
class App:
    url: str
    port: int
    data_dir: Path
    service: Service
    throttle: LoginThrottle
    blocks: gr.Blocks  # the served Blocks: its queue, its upload set


@contextmanager
def served_app(
    root: Path,
    embedder: Embedder,
    *,
    credentials: Sequence[tuple[str, str]] = (),
    throttle: LoginThrottle | None = None,
) -> Iterator[App]:
    """`build_app` + `launch` (as `clinassist serve --no-engine` does) on a free loopback port."""
    data_dir = root / "data"
    corpus = write_corpus(root / "guides", with_pdf=False)
    ingest(KnowledgeBase(data_dir=data_dir, embedder=embedder), [corpus])
    kb = KnowledgeBase(data_dir=data_dir, embedder=embedder)
    coverage = always_covered_model(root / "coverage")
    service = Service(Settings(data_dir=data_dir, corpus_dirs=[], coverage_model=coverage), kb)
    app = build_app(service, status_reporter(None, kb.stats(), no_engine="none"))
    port = free_port()
    throttle = throttle or LoginThrottle()
    launch(app, port=port, credentials=credentials, block=False, throttle=throttle)
    try:
        yield App(f"http://127.0.0.1:{port}", port, data_dir, service, throttle, app)
    finally:
        app.close()
        service.close()


def upload(url: str, name: str, content: bytes) -> Path:
    """One file through Gradio's upload route, as a browser sends it: where it was stored."""
    response = httpx.post(
        f"{url}/gradio_api/upload",
        files={"files": (name, content, "application/octet-stream")},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    [stored] = response.json()
    return Path(stored)
