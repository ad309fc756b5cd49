"""Load (issue 7, reliability): 16 concurrent sessions for 3 minutes through the served app's
API. Every turn succeeds, no session's planted marker shows up in another session's answers or
stored history, and the app's memory stays bounded once warm. The figures are written to
test-output/reliability-load.json (README "Validation" quotes them).

Each session's marker is a medication in its case, given with the session's first question and
kept by the session for the later ones: the interaction check names a medication it does not
know, so every answer and plan shows its own session's marker (checked: the leak check could
see a leak), and no answer or plan may show another's."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.graph import Agent
from agent.settings import Settings
from knowledge.knowledge_base import KnowledgeBase
from tests.conftest import REPO_ROOT
from tests.corpus import always_covered_model, write_corpus
from tests.serving import serve_subprocess

pytestmark = pytest.mark.slow

SESSIONS = 16
DURATION_S = 180.0
WARM_UP_S = 30.0
RSS_GROWTH_LIMIT_MB = 150.0  # after warm-up; about 1,000 turns: ~150 KB a turn would fail it
QUESTIONS = (
    "Which drugs reduce hot flashes?",
    "What dose of gabapentin reduces hot flashes?",
    "Does venlafaxine reduce hot flash scores?",
    "Which non-drug options help with hot flashes?",
)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def case_for(marker: str) -> str:
    return (
        "58-year-old woman with hot flashes after breast cancer treatment. "
        f"Meds: tamoxifen 20 mg daily, {marker} 5 mg daily. Creatinine 0.9 mg/dL. 64 kg, 160 cm."
    )


def test_sixteen_sessions_for_three_minutes(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> None:
    from gradio_client import Client

    data_dir = tmp_path / "data"
    env = {
        "CLINASSIST_CORPUS_DIRS": str(write_corpus(tmp_path / "guides", with_pdf=False)),
        # every question is answered (what is covered is tested in test_coverage.py)
        "CLINASSIST_COVERAGE_MODEL": str(always_covered_model(tmp_path)),
    }
    markers = {f"load-{n:02d}": f"MRK{n:02d}{secrets.token_hex(4).upper()}" for n in range(16)}
    turns: dict[str, int] = dict.fromkeys(markers, 0)
    plans: dict[str, int] = dict.fromkeys(markers, 0)
    echoed: dict[str, int] = dict.fromkeys(markers, 0)  # answers and plans showing their own
    failures: list[str] = []
    leaks: list[str] = []
    latencies: list[float] = []
    session_ids: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Event()

    def session(served_url: str, name: str, deadline: float) -> None:
        own = markers[name]
        others = [m for s, m in markers.items() if s != name]
        client = Client(served_url, verbose=False)
        start.wait()
        turn = 0
        session_id = ""  # the server issues it with the first answer
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                if turn % 5 == 4:  # every fifth turn a case-level plan
                    output: Any = client.predict(case_for(own), api_name="/plan")
                else:
                    # the marker is a code no guideline uses: it names no topic
                    question = f"{QUESTIONS[turn % len(QUESTIONS)]} ({own}-{turn})"
                    case = "" if session_id else case_for(own)  # then the session's own
                    output = client.predict(question, session_id, case, api_name="/ask")
                    assert output["session_id"] == (session_id or output["session_id"])
                    assert output["citations"]
                    session_ids[name] = session_id = output["session_id"]
            except Exception as exc:
                with lock:
                    failures.append(f"{name} turn {turn}: {type(exc).__name__}: {exc}"[:300])
                turn += 1
                continue
            text = json.dumps(output)
            with lock:
                latencies.append(time.monotonic() - began)
                echoed[name] += own in text
                leaks.extend(f"{name} saw {m}" for m in others if m in text)
                if turn % 5 == 4:
                    plans[name] += 1
                else:
                    turns[name] += 1
            turn += 1

    with serve_subprocess(data_dir, "--no-engine", env=env) as served:
        deadline = time.monotonic() + DURATION_S
        threads = [
            threading.Thread(target=session, args=(served.url, name, deadline), daemon=True)
            for name in markers
        ]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        start.set()
        rss: list[tuple[float, float]] = []
        while any(t.is_alive() for t in threads):
            rss.append((time.monotonic() - began, rss_mb(served.process.pid)))
            time.sleep(2)
        for thread in threads:
            thread.join(timeout=120)
        assert served.process.poll() is None, "the app died under load"
    output = served.output()

    warm = [mb for t, mb in rss if t >= WARM_UP_S]
    growth = warm[-1] - warm[0]
    total = sum(turns.values()) + sum(plans.values())
    ordered = sorted(latencies)
    figures = {
        "sessions": SESSIONS,
        "duration_s": DURATION_S,
        "turns": sum(turns.values()),
        "plans": sum(plans.values()),
        "failed": len(failures),
        "leaks": len(leaks),
        "turns_per_min": round(total / (DURATION_S / 60), 1),
        "p50_s": round(ordered[len(ordered) // 2], 2) if ordered else None,
        "p95_s": round(ordered[int(len(ordered) * 0.95)], 2) if ordered else None,
        "rss_after_warm_up_mb": round(warm[0], 1),
        "rss_end_mb": round(warm[-1], 1),
        "rss_peak_mb": round(max(mb for _, mb in rss), 1),
    }
    out = REPO_ROOT / "test-output"
    out.mkdir(exist_ok=True)
    (out / "reliability-load.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps(figures))

    assert failures == [], failures[:5]
    # The premise: every answer and plan shows its own session's case, so it could show another's.
    shown = {name: (echoed[name], turns[name] + plans[name]) for name in markers}
    assert all(own == total for own, total in shown.values()), (shown, leaks[:3])
    assert leaks == [], leaks[:5]
    assert all(turns[name] >= 3 and plans[name] >= 1 for name in markers), (turns, plans)
    assert growth < RSS_GROWTH_LIMIT_MB, figures
    assert "Traceback" not in output

    # What is stored: each session's history holds its own turns and no one else's marker.
    agent = Agent(Settings(data_dir=data_dir, corpus_dirs=[]), make_kb(data_dir), None)
    try:
        for name, own in markers.items():
            history = json.dumps(agent.history(session_ids[name]))
            asked = [m for m in agent.history(session_ids[name]) if m["role"] == "user"]
            assert len(asked) == turns[name]
            assert own in history
            assert not [m for s, m in markers.items() if s != name and m in history]
    finally:
        agent.close()
