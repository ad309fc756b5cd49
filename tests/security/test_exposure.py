"""What the app exposes (issue 7, security): loopback by default, never a share link, auth on
the API as well as the page, uploads kept inside the data dir whatever name they arrive with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agent.engine import free_port
from agent.service import Service
from agent.settings import Settings
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import write_corpus
from tests.security.apps import upload
from tests.serving import Served, listening_sockets, serve_subprocess
from ui.web import build_app, launch, status_reporter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`clinassist serve --no-engine --auth ...` as a clinician starts it: no --host given."""
    root = tmp_path_factory.mktemp("exposure")
    env = {"CLINASSIST_CORPUS_DIRS": str(write_corpus(root / "guides", with_pdf=False))}
    auth = ("--no-engine", "--auth", "nurse:correct-horse")
    with serve_subprocess(root / "data", *auth, env=env) as served:
        yield served


def test_serve_listens_on_loopback_only(served_with_auth: Served) -> None:
    """The served app's sockets, read from the kernel: its port is bound to 127.0.0.1, and
    nothing the app or a child of it listens on is bound to any other address (0.0.0.0, ::).
    --auth is given, so a default of 0.0.0.0 would not be refused: only the default keeps it
    on loopback."""
    port = int(served_with_auth.url.rsplit(":", 1)[1])
    listening = listening_sockets(served_with_auth.process.pid)
    assert ("127.0.0.1", port) in listening, listening
    assert {address for address, _ in listening} == {"127.0.0.1"}, listening
    output = served_with_auth.output()
    assert "gradio.live" not in output and "share" not in output.lower()


def test_an_unexpected_error_shows_the_caller_no_details(served_with_auth: Served) -> None:
    """An exception the app did not expect (here `int("abc")` in the search handler) reaches
    the caller as a bare failure: no exception text, which could carry a path or a value."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(served_with_auth.url, auth=("nurse", "correct-horse"), verbose=False)
    with pytest.raises(AppError) as error:
        client.predict("hot flashes", "abc", "", "", api_name="/search")
    assert "invalid literal" not in str(error.value) and "'abc'" not in str(error.value)


def test_auth_is_enforced_on_the_api_as_well_as_the_page(served_with_auth: Served) -> None:
    from gradio_client import Client

    url = served_with_auth.url
    assert httpx.get(f"{url}/config", timeout=5).status_code == 401
    assert httpx.get(f"{url}/gradio_api/info", timeout=5).status_code == 401
    call = httpx.post(
        f"{url}/gradio_api/call/search", json={"data": ["hot flashes", 3, "", ""]}, timeout=5
    )
    assert call.status_code == 401
    with pytest.raises(Exception, match="credentials"):
        Client(url, verbose=False)
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; never an answer
        Client(url, auth=("nurse", "wrong-password"), verbose=False)
    client = Client(url, auth=("nurse", "correct-horse"), verbose=False)
    assert client.predict("hot flashes", 3, "", "", api_name="/search")


@pytest.fixture
def served_app(make_kb: Callable[..., KnowledgeBase], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    corpus = write_corpus(tmp_path / "guides", with_pdf=False)
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [corpus])
    kb = make_kb(data_dir)
    agent = Service(Settings(data_dir=data_dir, corpus_dirs=[]), kb, None)
    app = build_app(agent, status_reporter(None, kb.stats(), no_engine="none"))
    port = free_port()
    launch(app, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}", data_dir
    finally:
        app.close()
        agent.close()


@pytest.mark.parametrize(
    "name",
    ["../../../../escape.dcm", "/etc/escape.dcm", "..\\..\\escape.dcm", "sub/../../escape.dcm"],
)
def test_an_uploaded_file_stays_in_the_data_dir_whatever_its_name(
    served_app: tuple[str, Path], name: str, tmp_path: Path
) -> None:
    url, data_dir = served_app
    stored = upload(url, name, b"DICM not really")
    assert Path(stored).resolve().is_relative_to((data_dir / "uploads").resolve())
    assert Path(stored).read_bytes() == b"DICM not really"
    for outside in (Path("/etc/escape.dcm"), Path("/escape.dcm"), tmp_path / "escape.dcm"):
        assert not outside.exists()
