"""Issue 17, finding 2: a session id is not a key to someone's case. Two signed-in users of one
served app: the second gets no data from, and adds nothing to, the first's session through
`/ask`; a made-up id is refused; `/ask` returns the server-issued id to continue a session."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from knowledge.embedding import Embedder
from tests.security.apps import App, served_app

pytestmark = pytest.mark.slow

NURSE, DOCTOR = ("nurse", "correct-horse-1"), ("doctor", "battery-staple-2")
CASE = (
    "Medications: simvastatin 40 mg daily, clarithromycin 500 mg twice daily. "
    "Allergies: penicillin. Creatinine 0.9 mg/dL."
)
PLANTED = ("simvastatin", "clarithromycin", "penicillin")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[App]:
    root = tmp_path_factory.mktemp("owned-sessions")
    with served_app(root, embedder, credentials=[NURSE, DOCTOR]) as served:
        yield served


def client(app: App, user: tuple[str, str]) -> Any:
    from gradio_client import Client

    return Client(app.url, auth=user, verbose=False)


def refused_or_empty(call: Any) -> str:
    """What a call that must not reach another session gave: its error, or (today's code) the
    whole answer as JSON."""
    try:
        return json.dumps(call())
    except Exception as exc:
        return f"refused: {exc}"


def test_another_users_session_gives_no_data_and_gains_no_turn(app: App) -> None:
    nurse, doctor = client(app, NURSE), client(app, DOCTOR)
    first = nurse.predict("Which drugs reduce hot flashes?", "", CASE, api_name="/ask")
    session = first["session_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", session)  # issued by the server, returned to its owner
    assert any(planted in json.dumps(first["tool_calls"]) for planted in PLANTED)
    turns = len(app.service.history(session))

    stolen = refused_or_empty(
        lambda: doctor.predict("Which drugs interact?", session, "", api_name="/ask")
    )
    assert stolen.startswith("refused: ") and "No session of yours" in stolen
    for planted in PLANTED:
        assert planted not in stolen.lower()
    assert len(app.service.history(session)) == turns  # nothing appended to the nurse's session

    # the owner continues her session with the id she was given: the case carries over
    again = nurse.predict("Which drugs interact?", session, "", api_name="/ask")
    assert again["session_id"] == session
    assert len(app.service.history(session)) == turns + 2


def test_a_made_up_session_id_is_refused_in_one_sentence(app: App) -> None:
    nurse = client(app, NURSE)
    for made_up in ("ward3", "0" * 32):
        refused = refused_or_empty(
            lambda made_up=made_up: nurse.predict(
                "Which drugs reduce hot flashes?", made_up, "", api_name="/ask"
            )
        )
        assert refused.startswith("refused: ") and "No session of yours" in refused
        assert app.service.history(made_up) == []
