"""Issue 17, finding 8: with sign-in, failed sign-ins are throttled per client (no sleeping:
the throttle's clock is the test's), and Gradio's session routes (cancel, reset, heartbeat)
answer only a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from knowledge.embedding import Embedder
from tests.security.apps import App, served_app
from ui.web.guard import LoginThrottle

pytestmark = pytest.mark.slow

NURSE = ("nurse", "correct-horse-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, clock: Clock
) -> Iterator[App]:
    throttle = LoginThrottle(free=5, base_delay_s=30, clock=clock)
    root = tmp_path_factory.mktemp("sign-in")
    with served_app(root, embedder, credentials=[NURSE], throttle=throttle) as served:
        yield served


def login(app: App, password: str) -> httpx.Response:
    return httpx.post(
        f"{app.url}/login", data={"username": NURSE[0], "password": password}, timeout=10
    )


def test_failed_sign_ins_are_throttled_per_client(app: App, clock: Clock) -> None:
    codes = [login(app, f"wrong-password-{n}").status_code for n in range(8)]
    assert codes[:5] == [400] * 5  # the first failures are answered as usual
    assert codes[5:] == [429] * 3  # then refused, whatever the password
    refused = login(app, NURSE[1])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    clock.now += 31  # the delay passes: the right password signs in and clears the client
    assert login(app, NURSE[1]).status_code == 200
    assert login(app, "wrong-again").status_code == 400


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "/gradio_api/cancel", {"session_hash": "abc", "fn_index": 0, "event_id": "e"}),
        ("POST", "/gradio_api/reset", {"event_id": "e"}),
        ("GET", "/gradio_api/heartbeat/abc", None),
    ],
)
def test_session_routes_need_sign_in(
    app: App, method: str, route: str, body: dict[str, object] | None
) -> None:
    response = httpx.request(method, f"{app.url}{route}", json=body, timeout=5)
    assert response.status_code == 401
    with httpx.Client(timeout=5) as signed_in:
        signed_in.post(f"{app.url}/login", data={"username": NURSE[0], "password": NURSE[1]})
        if method == "GET":  # an event stream: its first line is enough
            with signed_in.stream(method, f"{app.url}{route}") as stream:
                assert stream.status_code == 200
        else:
            assert signed_in.request(method, f"{app.url}{route}", json=body).status_code == 200
