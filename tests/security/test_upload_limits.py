"""Uploads are limited to 512 MB and swept once older than 12 hours (SECURITY.md "Uploads",
README "The app"; ui/web/serving.py MAX_UPLOAD, ui/web/layout.py delete_cache). The limit is
checked where it takes effect, the served app's page and upload route, and a real upload over
it is refused, with the limit lowered through the same setting (writing 512 MB would cost the
suite a disk's worth of time). The sweep is the one the running server schedules, run on files
uploaded through the real route; twelve hours cannot pass here, so the sweep's clock is moved
(Gradio ages an upload by its ctime, which no call can set back)."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import gradio as gr
import httpx
import pytest

from knowledge.embedding import Embedder
from tests.security.apps import App, served_app, upload
from ui.web import serving

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
HOURS = 3600


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[App]:
    with served_app(tmp_path_factory.mktemp("uploads"), embedder) as served:
        yield served


def post_upload(url: str, name: str, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/gradio_api/upload",
        files={"files": (name, content, "application/octet-stream")},
        timeout=10,
    )


def test_the_served_app_limits_uploads_to_512_mb(app: App) -> None:
    # the upload route's limit, and what the page reads (the browser refuses a larger file
    # before sending it)
    assert app.blocks.max_file_size == 512 * MIB
    assert httpx.get(f"{app.url}/config", timeout=10).json()["max_file_size"] == 512 * MIB


def test_an_upload_over_the_limit_is_refused_with_the_limit_said(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving, "MAX_UPLOAD", "1kb")  # the setting `launch` hands to Gradio
    with served_app(tmp_path, embedder) as small:
        refused = post_upload(small.url, "scan.dcm", b"D" * 1025)
        assert refused.status_code == 413
        assert refused.text == "File size exceeded maximum allowed size of 1024 bytes."
        uploads = (small.data_dir / "uploads").resolve()
        kept = [p for p in uploads.rglob("*") if p.is_file()]
        assert not [p for p in kept if p.read_bytes().startswith(b"D" * 1024)]
        at_limit = upload(small.url, "scan.dcm", b"A" * 1024)
        assert at_limit.read_bytes() == b"A" * 1024
        # the premise of the scan above: an upload this app takes is stored in that folder
        assert at_limit.resolve().is_relative_to(uploads)


def sweep_schedule(blocks: gr.Blocks) -> tuple[int, int]:
    """(every, age) of the sweep task the running server was started with: Gradio's
    `delete_files_on_schedule` coroutine for this app, waiting between two sweeps."""
    from gradio.route_utils import delete_files_on_schedule

    code = delete_files_on_schedule.__code__
    running = [
        coroutine.cr_frame.f_locals
        for coroutine in gc.get_objects()
        if inspect.iscoroutine(coroutine)
        and coroutine.cr_code is code
        and coroutine.cr_frame is not None
        and coroutine.cr_frame.f_locals.get("app") is blocks.server_app
    ]
    assert len(running) == 1, "the server runs no sweep of its uploads"
    return int(running[0]["frequency"]), int(running[0]["age"])


@contextmanager
def sweep_clock_at(monkeypatch: pytest.MonkeyPatch, timestamp: float) -> Iterator[None]:
    """Stand-in for the hours that cannot pass here: the sweep reads the time as `timestamp`."""
    import gradio.route_utils

    class Moved(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Moved:
            return cls.fromtimestamp(timestamp)

    with monkeypatch.context() as patch:
        patch.setattr(gradio.route_utils, "datetime", Moved)
        yield


def test_uploads_are_swept_once_older_than_12_hours_on_a_moved_clock(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio.route_utils import delete_files_created_by_app

    every, age = sweep_schedule(app.blocks)
    assert age == 12 * HOURS and every <= HOURS  # swept at least hourly
    stored = [upload(app.url, f"scan-{n}.dcm", b"DICM %d" % n) for n in range(2)]
    uploaded_at = [path.lstat().st_ctime for path in stored]

    with sweep_clock_at(monkeypatch, max(uploaded_at) + age - 60):  # 11 h 59 min on
        delete_files_created_by_app(app.blocks, age)
    assert all(path.exists() for path in stored)

    with sweep_clock_at(monkeypatch, min(uploaded_at) + age + 60):  # 12 h 1 min on
        delete_files_created_by_app(app.blocks, age)
    assert not any(path.exists() for path in stored)
    assert not {str(path) for path in stored} & app.blocks.upload_file_set
