"""Concurrent turns are queued, four at a time per event, the rest wait, never dropped (README
"The app"; ui/web/serving.py `launch`). On the served app: each turn event's live queue has a
limit of 4, and six simultaneous `/ask` calls put four turns in flight and two in the queue, then
all six are answered. A turn here is the real one held at a gate until the test opens it: the
stand-in is only the gate, so that "in flight" can be seen without timing anything."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from knowledge.embedding import Embedder
from tests.security.apps import App, served_app

pytestmark = pytest.mark.slow

TURN_EVENTS = ("chat", "ask", "plan")  # the browser's chat box, the API's ask and plan


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[App]:
    with served_app(tmp_path_factory.mktemp("queue"), embedder) as served:
        yield served


class GatedTurns:
    """Stand-in for slow turns: each call waits at a gate the test opens, then runs the real
    turn. Counts the turns in flight and the most seen at once."""

    def __init__(self, turn: Callable[..., Any]) -> None:
        self.turn = turn
        self.gate = threading.Event()
        self.changed = threading.Condition()
        self.in_flight = 0
        self.most = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.changed:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.changed.notify_all()
        try:
            assert self.gate.wait(timeout=120), "the test never opened the gate"
            return self.turn(*args, **kwargs)
        finally:
            with self.changed:
                self.in_flight -= 1
                self.changed.notify_all()


def event_queue(app: App, name: str) -> Any:
    """The server's queue of one event (Gradio's EventQueue: its limit, the events waiting),
    made as the server makes it on the event's first call."""
    [fn] = [fn for fn in app.blocks.fns.values() if getattr(fn.fn, "__name__", "") == name]
    queue = app.blocks._queue
    queue.create_event_queue_for_fn(fn)
    return queue.event_queue_per_concurrency_id[fn.concurrency_id]


def test_each_turn_event_runs_four_at_a_time_and_queues_the_rest(app: App) -> None:
    queues = [event_queue(app, name) for name in TURN_EVENTS]
    assert [q.concurrency_limit for q in queues] == [4, 4, 4]
    assert len({q.concurrency_id for q in queues}) == 3  # four per event, not four in all
    assert app.blocks._queue.max_size is None  # a full queue would drop turns


def ask(url: str, question: str) -> dict[str, Any]:
    """One `/ask` call as gradio_client makes it: queued, then its result streamed."""
    with httpx.Client(base_url=url, timeout=180) as client:
        queued = client.post("/gradio_api/call/ask", json={"data": [question, "", ""]})
        queued.raise_for_status()
        event_id = queued.json()["event_id"]
        with client.stream("GET", f"/gradio_api/call/ask/{event_id}") as stream:
            lines = list(stream.iter_lines())
    assert "event: complete" in lines, lines
    [result] = json.loads(lines[lines.index("event: complete") + 1].removeprefix("data: "))
    return dict(result)


def wait_for(condition: Callable[[], bool], state: Callable[[], str], seconds: float = 60) -> None:
    """Until `condition` holds (polled; a bound, not a measure), else fail with `state`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never got there: {state()}"
        time.sleep(0.01)


def test_a_fifth_simultaneous_turn_waits_in_the_queue_with_gated_stand_in_turns(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    turns = GatedTurns(app.service.ask)
    monkeypatch.setattr(app.service, "ask", turns)
    waiting = event_queue(app, "ask").queue
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [pool.submit(ask, app.url, "Which drugs reduce hot flashes?") for _ in range(6)]
        try:
            # until four are in and two wait, or more than four got in
            wait_for(
                lambda: (turns.in_flight, len(waiting)) == (4, 2) or turns.in_flight > 4,
                lambda: f"{turns.in_flight} turns in flight, {len(waiting)} queued",
            )
            assert (turns.in_flight, len(waiting), turns.most) == (4, 2, 4)
        finally:
            turns.gate.set()
        results = [answer.result(timeout=180) for answer in answers]
    assert len(results) == 6 and all(r["citations"] for r in results)  # none dropped
    assert turns.most == 4
