"""Question answering on MIRAGE (Xiong et al., 2024): accuracy with and without retrieval.

Five subsets of `benchmark.json` (MedQA-US, MedMCQA, PubMedQA*, BioASQ-Y/N, MMLU-Med), each a
seeded random sample of `limit` questions. The model answers by structured output: a
`json_schema` whose only field is an enum of the question's option letters (guided decoding in
vLLM), so every answer is a valid letter or, when the output does not validate, counted as
unparsed (and wrong). "With retrieval" puts the configured knowledge base's passages for the
question alone (MIRAGE's question-only retrieval; the options are not searched) before it,
cut to what fits the served model's context. MedRAG retrieved from PubMed, StatPearls,
textbooks and Wikipedia; ours are the configured guideline corpora, so the "with retrieval"
figures measure those corpora, not MedRAG's.

Beside each accuracy (Wilson 95% interval): the majority-class baseline (always answer the
subset's most frequent gold letter) and chance (1 / options).
"""

from __future__ import annotations

import json
import random
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.llm import ContextTooLong, InvalidModelOutput, LLMClient, Message
from agent.settings import api_root, shared_dir
from evaluation.report import (
    EngineInfo,
    Proportion,
    RunInfo,
    markdown_table,
    require_file,
)

if TYPE_CHECKING:
    from knowledge.knowledge_base import KnowledgeBase
    from knowledge.types import Passage

SUBSETS: dict[str, str] = {
    "medqa": "MedQA-US",
    "medmcqa": "MedMCQA",
    "pubmedqa": "PubMedQA*",
    "bioasq": "BioASQ-Y/N",
    "mmlu": "MMLU-Med",
}
# The answer is `{"answer":"A"}`: a handful of tokens under guided decoding.
ANSWER_TOKENS = 12
# Prompt characters per token assumed when fitting passages into the context (clinical English
# runs ~3-4 characters per token in SmolLM2's tokenizer; 2.5 leaves room for the template).
CHARS_PER_TOKEN = 2.5
TEMPLATE_TOKENS = 80
# Passage characters at most, whatever the context window: prefill dominates on a CPU (measured
# with SmolLM2-135M on 2 cores: a 1,044-token prompt took 5.4 s in fp32, 27 s in emulated bf16),
# so the local engine gets a few hundred tokens of passages; an engine by URL (GPUs) more.
# `eval qa --limit 50` (500 prompts) took 9.8 min here in fp32.
LOCAL_CONTEXT_CHARS = 800
REMOTE_CONTEXT_CHARS = 8000
PASSAGES = 4
WORKERS = 4  # concurrent requests: vLLM batches them

SYSTEM = (
    "You answer multiple-choice medical questions. Reply with the letter of the single best option."
)

# MedRAG's per-subset accuracies are published only as an image (Table 2 of the paper, shown
# as figs/result_llm.png in the MIRAGE README); no text copy was at hand, so none is
# reproduced here rather than retyped from memory.
PUBLISHED_SOURCE = (
    "Xiong, Jin, Lu, Zhang. Benchmarking Retrieval-Augmented Generation for Medicine. "
    "Findings of ACL 2024 (arXiv:2402.13178), Table 2; MIRAGE README figs/result_llm.png"
)
PUBLISHED_NOTE = (
    "Published MedRAG figures: the per-subset accuracies appear only as a table image in the "
    "MIRAGE README and paper; they were not available as text here and are not retyped. The "
    "paper's abstract states that MedRAG (MedCorp corpora, RRF of four retrievers, 32 "
    "snippets) raised six LLMs' accuracy by up to 18% over chain-of-thought prompting."
)


def mirage_file() -> Path:
    return shared_dir() / "eval" / "mirage" / "benchmark.json"


@dataclass(frozen=True)
class MirageQuestion:
    subset: str
    id: str
    question: str
    options: dict[str, str]  # letter -> text, in letter order
    answer: str


def load_mirage(path: Path) -> dict[str, list[MirageQuestion]]:
    raw = json.loads(require_file(path, "MIRAGE benchmark file").read_text(encoding="utf-8"))
    return {
        subset: [
            MirageQuestion(
                subset,
                str(qid),
                str(item["question"]),
                {str(k): str(v) for k, v in sorted(item["options"].items())},
                str(item["answer"]),
            )
            for qid, item in sorted(raw.get(subset, {}).items())
        ]
        for subset in SUBSETS
    }


def sample(questions: Sequence[MirageQuestion], limit: int | None, seed: int) -> list[Any]:
    """`limit` questions drawn with a seed that depends on the subset: the same every run."""
    if limit is None or limit >= len(questions):
        return list(questions)
    subset = questions[0].subset if questions else ""
    return random.Random(f"{subset}:{seed}").sample(list(questions), limit)


def answer_schema(letters: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": list(letters)}},
        "required": ["answer"],
        "additionalProperties": False,
    }


def question_block(q: MirageQuestion) -> str:
    options = "\n".join(f"{letter}. {text}" for letter, text in q.options.items())
    return f"Question: {q.question}\n{options}\nAnswer with one letter: {', '.join(q.options)}."


def context_block(passages: Sequence[Passage], chars: int) -> str:
    """Numbered passage bodies, the last one cut, within `chars` characters."""
    parts: list[str] = []
    left = chars
    for number, passage in enumerate(passages, start=1):
        head = f"[{number}] {passage.title}: "
        room = left - len(head) - 2
        if room < 80:
            break
        body = " ".join(passage.body.split())
        parts.append(head + body[:room])
        left -= len(parts[-1]) + 2
    return "\n\n".join(parts)


def prompt(q: MirageQuestion, context: str) -> list[Message]:
    user = question_block(q)
    if context:
        user = f"Reference passages (may or may not help):\n{context}\n\n{user}"
    return [Message("system", SYSTEM), Message("user", user)]


def served_context_tokens(base_url: str, fallback: int) -> int:
    """The served model's context window, from vLLM's /v1/models (`max_model_len`)."""
    url = api_root(base_url) + "/v1/models"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            cards = json.loads(response.read()).get("data") or []
        return int(cards[0].get("max_model_len") or fallback)
    except (OSError, ValueError, IndexError, AttributeError, TypeError):
        return fallback


@dataclass
class Outcome:
    predicted: str | None  # None: the output did not validate
    correct: bool


def ask(llm: LLMClient, q: MirageQuestion, context: str) -> Outcome:
    schema = answer_schema(list(q.options))
    for attempt in range(2):
        try:
            data = llm.structured(prompt(q, context), schema, max_tokens=ANSWER_TOKENS)
        except InvalidModelOutput:
            return Outcome(None, False)
        except ContextTooLong:
            if attempt or not context:
                return Outcome(None, False)
            context = context[: len(context) // 3]  # the estimate was off: try once, shorter
            continue
        letter = str(data["answer"])
        return Outcome(letter, letter == q.answer)
    return Outcome(None, False)


@dataclass
class ConditionResult:
    accuracy: Proportion
    unparsed: int
    predicted: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy.as_json(),
            "unparsed": self.unparsed,
            "predicted": dict(sorted(self.predicted.items())),
        }


@dataclass
class SubsetResult:
    subset: str
    n: int
    options: int
    majority_letter: str
    majority: Proportion
    without_retrieval: ConditionResult
    with_retrieval: ConditionResult
    context_chars_mean: float

    def as_json(self) -> dict[str, Any]:
        return {
            "name": SUBSETS[self.subset],
            "n": self.n,
            "options": self.options,
            "chance": round(1 / self.options, 4),
            "majority_baseline": {"letter": self.majority_letter, **self.majority.as_json()},
            "without_retrieval": self.without_retrieval.as_json(),
            "with_retrieval": self.with_retrieval.as_json(),
            "context_chars_mean": round(self.context_chars_mean),
            "published_medrag": None,
        }


def condition(outcomes: Sequence[Outcome]) -> ConditionResult:
    return ConditionResult(
        Proportion(sum(o.correct for o in outcomes), len(outcomes)),
        sum(o.predicted is None for o in outcomes),
        Counter(o.predicted for o in outcomes if o.predicted is not None),
    )


@dataclass(frozen=True)
class QAReport:
    run: RunInfo
    subsets: list[SubsetResult]
    seed: int
    context_chars: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "task": "qa",
            "seed": self.seed,
            "context_chars": self.context_chars,
            "seconds": round(self.seconds, 1),
            "subsets": {s.subset: s.as_json() for s in self.subsets},
            "published_medrag": {"figures": None, "source": PUBLISHED_SOURCE},
            "run": self.run.as_json(),
        }

    def markdown(self) -> str:
        rows = [
            [
                f"{SUBSETS[s.subset]} (n={s.n})",
                str(s.without_retrieval.accuracy),
                str(s.with_retrieval.accuracy),
                f"{s.without_retrieval.unparsed} / {s.with_retrieval.unparsed}",
                f"{s.majority} [{s.majority_letter}]",
                f"{1 / s.options:.3f}",
                "n/a (image only)",
            ]
            for s in self.subsets
        ]
        table = markdown_table(
            [
                "MIRAGE subset",
                "accuracy, no retrieval (95% CI)",
                "with retrieval (95% CI)",
                "unparsed (no / with)",
                "majority class",
                "chance",
                "MedRAG published",
            ],
            rows,
        )
        return "\n".join(
            [
                "## Question answering on MIRAGE",
                "",
                self.run.markdown(),
                f"- passages: the top {PASSAGES} for the question alone, at most "
                f"{self.context_chars:,} characters; answers by guided JSON (enum of letters)",
                f"- took {self.seconds / 60:.1f} min",
                "",
                table,
                "",
                "Retrieval here searches the configured guideline corpora; MedRAG searched "
                "PubMed, StatPearls, textbooks and Wikipedia (MedCorp).",
                PUBLISHED_NOTE,
                f"Source: {PUBLISHED_SOURCE}.",
            ]
        )


def evaluate_qa(
    llm: LLMClient,
    kb: KnowledgeBase,
    *,
    engine: EngineInfo,
    context_tokens: int,
    limit: int | None,
    seed: int = 0,
    context_chars: int = LOCAL_CONTEXT_CHARS,
    subsets: Sequence[str] = tuple(SUBSETS),
    path: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> QAReport:
    import time

    from evaluation.report import KnowledgeBaseInfo

    data = load_mirage(path or mirage_file())
    started = time.perf_counter()
    results: list[SubsetResult] = []
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="eval-qa") as pool:
        for subset in subsets:
            questions = sample(data[subset], limit, seed)
            if not questions:
                continue
            progress(f"{SUBSETS[subset]}: {len(questions)} questions, without retrieval ...")
            plain = list(pool.map(lambda q: ask(llm, q, ""), questions))
            contexts = []
            for q in questions:
                room_tokens = context_tokens - ANSWER_TOKENS - TEMPLATE_TOKENS
                room = int(room_tokens * CHARS_PER_TOKEN) - len(question_block(q))
                passages = kb.search(q.question, k=PASSAGES)
                contexts.append(context_block(passages, min(context_chars, room)))
            progress(f"{SUBSETS[subset]}: {len(questions)} questions, with retrieval ...")
            retrieved = list(pool.map(ask, [llm] * len(questions), questions, contexts))
            gold = Counter(q.answer for q in data[subset])
            majority_letter = sorted(gold.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            results.append(
                SubsetResult(
                    subset=subset,
                    n=len(questions),
                    options=max(len(q.options) for q in questions),
                    majority_letter=majority_letter,
                    majority=Proportion(
                        sum(q.answer == majority_letter for q in questions), len(questions)
                    ),
                    without_retrieval=condition(plain),
                    with_retrieval=condition(retrieved),
                    context_chars_mean=sum(map(len, contexts)) / len(contexts),
                )
            )
    run = RunInfo(
        task="qa",
        limit=limit,
        sample=(
            f"per subset, {limit if limit is not None else 'all'} questions drawn at random "
            f"with seed {seed} (random.Random('<subset>:{seed}'))"
        ),
        engine=engine,
        knowledge_base=KnowledgeBaseInfo.of(kb),
    )
    return QAReport(run, results, seed, context_chars, time.perf_counter() - started)
