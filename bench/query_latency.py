"""Query latency over the full corpus: `kb.search(q, k=8)`, query embedding included.

After a warm-up (model load, BM25 index load, first kernels), each of ~200 distinct questions is
timed with `time.perf_counter` around one hybrid search. Dense-only, BM25-only and the query
embedding alone are timed the same way to show where the time goes.

Target (the issue): hybrid search p95 < 50 ms.

    python -m bench.query_latency [--data-dir DIR] [--queries N] [--warmup N]

`--data-dir` is a knowledge base filled by bench.ingest_corpus (collection clinassist_bench);
without it, or when it is empty, the full corpus is ingested first (several minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.settings import apply_offline_environment
from bench.common import (
    CORPORA_DIR,
    CORPUS_COLLECTION,
    PUBMEDQA_FILE,
    Latency,
    data_dir_or_temp,
    emit,
    load_average,
    markdown_table,
    progress,
    verdict,
)
from knowledge.embedding import Embedder
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase, SearchMode

K = 8
P95_TARGET_MS = 50.0

# Used when PubMedQA is not beside the checkout: questions a clinician might put to the guidelines.
CLINICAL_QUESTIONS: tuple[str, ...] = (
    "What is the first-line treatment for hypertension in adults?",
    "When should adults be screened for colorectal cancer?",
    "How is community-acquired pneumonia treated in outpatients?",
    "What are the recommended doses of aspirin for secondary prevention of stroke?",
    "Management of nausea and vomiting caused by chemotherapy",
    "Which patients with atrial fibrillation need anticoagulation?",
    "Screening for breast cancer with mammography in women aged 40 to 49",
    "How should neutropenic fever be managed in cancer patients?",
    "What is the role of radiotherapy after breast-conserving surgery?",
    "Treatment options for metastatic non-small cell lung cancer with EGFR mutation",
    "How is type 2 diabetes managed when metformin is not enough?",
    "What are the signs of tumour lysis syndrome and how is it prevented?",
    "Screening for depression in adolescents",
    "Pain management with opioids in patients with cancer",
    "When is prostate-specific antigen screening recommended?",
    "How to manage oral mucositis during head and neck radiotherapy",
    "Treatment of acute low back pain",
    "What vaccines are recommended for adults over 65?",
    "Management of hypercalcemia of malignancy",
    "How is cervical cancer screening done and at what intervals?",
    "Smoking cessation interventions for pregnant women",
    "Diagnosis and treatment of deep vein thrombosis",
    "Prophylaxis of venous thromboembolism in hospitalised medical patients",
    "What is the prognosis of stage III colon cancer after adjuvant chemotherapy?",
    "How should fatigue in cancer survivors be treated?",
)


def load_queries(count: int, pubmedqa: Path) -> list[str]:
    """`count` distinct PubMedQA questions, else the fixed clinical questions (repeated)."""
    if pubmedqa.is_file():
        raw = json.loads(pubmedqa.read_text(encoding="utf-8"))
        questions = [str(record["QUESTION"]) for record in raw.values()]
        if len(questions) >= count:
            return questions[:count]
    return [CLINICAL_QUESTIONS[i % len(CLINICAL_QUESTIONS)] for i in range(count)]


def time_calls(label: str, queries: Sequence[str], call: Callable[[str], object]) -> Latency:
    samples: list[float] = []
    for query in queries:
        started = time.perf_counter()
        call(query)
        samples.append((time.perf_counter() - started) * 1000.0)
    return Latency(label, tuple(samples))


def open_corpus_kb(data_dir: Path, corpora: Path) -> KnowledgeBase:
    """The benchmark's knowledge base in `data_dir`, ingesting `corpora` first when empty."""
    kb = KnowledgeBase(data_dir=data_dir, embedder=Embedder(), collection=CORPUS_COLLECTION)
    if kb.store.count() == 0:
        progress(f"query_latency: ingesting {corpora} first (several minutes) ...")
        report = ingest(kb, [corpora])
        progress(f"query_latency: {report.chunks_added} chunks ingested.")
    return kb


def measure(kb: KnowledgeBase, queries: Sequence[str], warmup: Sequence[str]) -> list[Latency]:
    for query in warmup:
        kb.search(query, k=K)
    kb.search(warmup[0], k=K, mode=SearchMode.DENSE)
    kb.search(warmup[0], k=K, mode=SearchMode.BM25)
    progress(f"query_latency: timing {len(queries)} queries per mode ...")
    return [
        time_calls("hybrid search (target)", queries, lambda q: kb.search(q, k=K)),
        time_calls(
            "dense-only search", queries, lambda q: kb.search(q, k=K, mode=SearchMode.DENSE)
        ),
        time_calls("BM25-only search", queries, lambda q: kb.search(q, k=K, mode=SearchMode.BM25)),
        time_calls("query embedding alone", queries, kb.embedder.embed_query),
    ]


def report(kb: KnowledgeBase, latencies: Sequence[Latency], warmup: int) -> str:
    hybrid = latencies[0]
    rows = [
        [
            lat.label,
            f"{lat.p50:.1f}",
            f"{lat.p95:.1f}",
            f"{lat.mean:.1f}",
            f"{lat.max:.1f}",
            f"< {P95_TARGET_MS:.0f}" if lat is hybrid else "",
            verdict(lat.p95 < P95_TARGET_MS) if lat is hybrid else "",
        ]
        for lat in latencies
    ]
    table = markdown_table(
        ["measure (ms)", "p50", "p95", "mean", "max", "p95 target", "status"], rows
    )
    load = load_average()
    return "\n".join(
        [
            f"## Query latency ({len(hybrid.samples_ms)} queries, k={K}, after {warmup} warm-up)",
            "",
            f"{kb.store.count():,} chunks in the knowledge base; embedder {kb.embedder.name} "
            f"({'bf16' if kb.embedder.use_bf16 else 'fp32'}); {os.cpu_count()} CPUs, "
            f"load average {load} at the end.",
            "",
            table,
            "",
            f"Target (hybrid p95 < {P95_TARGET_MS:.0f} ms): "
            f"{'met' if hybrid.p95 < P95_TARGET_MS else 'NOT met'} ({hybrid.p95:.1f} ms).",
        ]
    )


def run(data_dir: Path, corpora: Path, queries: int, warmup: int, pubmedqa: Path) -> str:
    kb = open_corpus_kb(data_dir, corpora)
    texts = load_queries(warmup + queries, pubmedqa)
    progress(f"query_latency: warming up with {warmup} queries ...")
    latencies = measure(kb, texts[warmup:], texts[:warmup] or texts[:1])
    return report(kb, latencies, warmup)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.query_latency", description="Search latency over the full corpus."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="A knowledge base filled by bench.ingest_corpus (default: ingest into a temp dir).",
    )
    parser.add_argument("--corpora", type=Path, default=CORPORA_DIR, help="Ingested when needed.")
    parser.add_argument("--queries", type=int, default=200, help="Timed queries per mode.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed queries first.")
    parser.add_argument("--pubmedqa", type=Path, default=PUBMEDQA_FILE, help="Query source.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    if args.queries < 1:
        raise SystemExit("query_latency: --queries must be at least 1.")
    with data_dir_or_temp(args.data_dir, "latency") as data_dir:
        if not args.corpora.is_dir() and not (data_dir / "chroma").is_dir():
            print(f"query_latency: {args.corpora} not found and no prepared data dir; skipped.")
            return 1
        text = run(data_dir, args.corpora.resolve(), args.queries, args.warmup, args.pubmedqa)
    emit("query_latency", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
