"""Issue 17, findings 4, 7 and 8: the parts of Gradio's server the app does not use are closed.
Deep links are gone (and no copy of a chat lands in `uploads/deep_links`); a foreign Host or
Origin is refused on every route while loopback names are answered; uploads are stored under
random names, never the patient-identifying name they arrive with."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from knowledge.embedding import Embedder
from tests.security.apps import App, served_app, upload

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[App]:
    with served_app(tmp_path_factory.mktemp("surfaces"), embedder) as served:
        yield served


def search(url: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/gradio_api/call/search",
        json={"data": ["hot flashes", 3, "", ""]},
        headers=headers,
        timeout=10,
    )


def test_deep_links_are_gone(app: App) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False)  # a session with state on the server
    client.predict("Which drugs reduce hot flashes?", "", "", api_name="/ask")
    session_hash = client.session_hash
    response = httpx.get(
        f"{app.url}/gradio_api/deep_link", params={"session_hash": session_hash}, timeout=10
    )
    assert response.status_code == 404
    assert not (app.data_dir / "uploads" / "deep_links").exists()


@pytest.mark.parametrize(
    "host", ["attacker.example:{port}", "attacker.example", "127.0.0.1.attacker.example:{port}"]
)
def test_a_foreign_host_is_refused_on_every_route(app: App, host: str) -> None:
    host = host.format(port=app.port)
    for response in (
        httpx.get(f"{app.url}/config", headers={"Host": host}, timeout=10),
        httpx.get(f"{app.url}/", headers={"Host": host}, timeout=10),
        httpx.get(f"{app.url}/gradio_api/info", headers={"Host": host}, timeout=10),
        search(app.url, Host=host),
        httpx.options(
            f"{app.url}/gradio_api/call/search",
            headers={
                "Host": host,
                "Origin": f"http://{host}",
                "Access-Control-Request-Method": "POST",
            },
            timeout=10,
        ),
    ):
        assert response.status_code in (400, 421), (response.request.url, response.status_code)
        assert "access-control-allow-origin" not in response.headers
        assert "hot flashes" not in response.text.lower()


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_loopback_hosts_are_answered(app: App, host: str) -> None:
    host = host.format(port=app.port)
    assert httpx.get(f"{app.url}/config", headers={"Host": host}, timeout=10).status_code == 200
    assert search(app.url, Host=host).status_code == 200


def test_a_foreign_origin_is_never_echoed(app: App) -> None:
    response = search(app.url, Origin="http://attacker.example")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_uploads_are_stored_under_random_names(app: App) -> None:
    stored = upload(app.url, "DOE_JOHN_MRN12345.png", b"\x89PNG not really")
    assert "DOE" not in stored.name and "12345" not in stored.name and stored.suffix == ".png"
    assert stored.read_bytes() == b"\x89PNG not really"
    uploads = (app.data_dir / "uploads").resolve()
    assert stored.resolve().is_relative_to(uploads)  # the premise: the folder scanned is theirs
    on_disk = [p.name for p in uploads.rglob("*")]
    assert not [found for found in on_disk if "DOE" in found or "12345" in found]
    served = httpx.get(f"{app.url}/gradio_api/file={stored}", timeout=10)
    assert served.status_code == 200
    assert "DOE" not in served.headers.get("content-disposition", "")


def test_an_uploaded_original_is_deleted_once_decoded(app: App) -> None:
    """The Images tab decodes an upload once and keeps it (another window, another frame);
    the file itself, which may name the patient in its pixels' metadata, is deleted."""
    import shutil

    from tests.conftest import SHARED
    from ui.web.handlers import Handlers
    from ui.web.status import AppStatus

    status = AppStatus("no engine", None, False, "passages", "9.9", [])
    handlers = Handlers(app.service, lambda: status)
    folder = app.data_dir / "uploads" / "0123abcd"
    folder.mkdir(parents=True)
    upload = folder / "5f0c2b1e9d8a4c3b.dcm"
    shutil.copy(SHARED / "images" / "dicom-samples" / "CT_small.dcm", upload)
    shown = handlers.view_image(str(upload), "file window", 1)
    assert shown.image and shown.metadata and not upload.exists() and not folder.exists()
    again = handlers.view_image(str(upload), "lung", 1)  # kept decoded: re-windowed
    assert again.image and again.metadata == shown.metadata
