"""Citations: how the agent's verifier judges its answers on PubMedQA, and how often the
cosine floor (`abstain_threshold`) abstains.

Citation validity: the real `Agent` (in the configured answer mode) answers in-scope questions,
each in a fresh session; before any fallback the verifier reports, per answer, its markers and
sentences: markers that name a passage the model was given, cited sentences whose content terms
(and numbers) the cited passage covers, claim-like sentences that pass, answers that fell back
to quoting, answers abstained on.

Abstention: the agent abstains when the evidence strength (the best dense cosine among the
hybrid top 8) is below `abstain_threshold`; in-scope questions abstained on are wrong,
out-of-scope (non-medical) ones abstained on are right.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.grounding_sets import OUT_OF_SCOPE_QUESTIONS
from evaluation.report import EngineInfo, Proportion, RunInfo, markdown_table

if TYPE_CHECKING:
    from agent.llm import LLMClient
    from agent.settings import Settings
    from knowledge.embedding import Embedder
    from knowledge.knowledge_base import KnowledgeBase

K = 8


@dataclass(frozen=True)
class ThresholdRates:
    threshold: float
    wrong: int  # in-scope questions abstained on
    correct: int  # out-of-scope questions abstained on
    in_scope: int
    out_of_scope: int

    @property
    def wrong_rate(self) -> float:
        return self.wrong / max(self.in_scope, 1)

    @property
    def correct_rate(self) -> float:
        return self.correct / max(self.out_of_scope, 1)

    @property
    def youden(self) -> float:
        return self.correct_rate - self.wrong_rate


def rates_at(
    threshold: float, in_scope: Sequence[float], out_of_scope: Sequence[float]
) -> ThresholdRates:
    """The agent abstains when strength < threshold (agent/graph.py `_answer`)."""
    return ThresholdRates(
        threshold,
        sum(1 for s in in_scope if s < threshold),
        sum(1 for s in out_of_scope if s < threshold),
        len(in_scope),
        len(out_of_scope),
    )


@dataclass(frozen=True)
class CitationCounts:
    answers: int
    markers: int = 0
    mapped: int = 0  # markers naming a passage the answer was given
    cited: int = 0  # sentences with at least one valid marker
    cited_ok: int = 0  # ... that the verifier finds supported
    claims: int = 0  # claim-like sentences (>= 5 words), cited or not
    claims_ok: int = 0
    fallbacks: int = 0  # generated answers replaced by quotes (fewer than half passed)
    abstained: int = 0
    p50_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "markers_valid": Proportion(self.mapped, self.markers).as_json(),
            "cited_sentences_supported": Proportion(self.cited_ok, self.cited).as_json(),
            "claims_supported": Proportion(self.claims_ok, self.claims).as_json(),
            "fell_back_to_quoting": Proportion(self.fallbacks, self.answers).as_json(),
            "abstained": Proportion(self.abstained, self.answers).as_json(),
            "p50_turn_s": round(self.p50_s, 2),
        }


def citation_validity(
    settings: Settings,
    kb: KnowledgeBase,
    llm: LLMClient | None,
    questions: Sequence[str],
    progress: Callable[[str], None] = lambda _: None,
) -> CitationCounts:
    """Each question answered by the real agent in a fresh session, its raw answer verified."""
    from agent.flags import FlagKind
    from agent.graph import Agent
    from agent.grounding import is_claim, markers_in, verify
    from agent.prompts import given_passages

    agent = Agent(settings, kb, llm)
    totals = dict.fromkeys(("markers", "mapped", "cited", "cited_ok", "claims", "claims_ok"), 0)
    fallbacks = abstained = 0
    seconds: list[float] = []
    try:
        for number, question in enumerate(questions, start=1):
            started = time.perf_counter()
            result = agent.ask(question)
            seconds.append(time.perf_counter() - started)
            if result.abstained:
                abstained += 1
                continue
            fallbacks += any(f.kind is FlagKind.FALLBACK for f in result.flags)
            values = agent.state(result.session_id)
            raw = str(values.get("model_answer") or values.get("answer") or "")
            # generated answers saw only the passages that fit the context; quotes use them all
            given = (
                given_passages(values)
                if not settings.extractive_answers
                else list(values.get("passages") or [])
            )
            checked = verify(raw, given, support_threshold=settings.support_threshold)
            for sentence in checked.sentences:
                markers = markers_in(sentence.text)
                valid = [m for m in markers if 1 <= m <= len(given)]
                totals["markers"] += len(markers)
                totals["mapped"] += len(valid)
                if valid:
                    totals["cited"] += 1
                    totals["cited_ok"] += sentence.ok
                if is_claim(sentence.text):
                    totals["claims"] += 1
                    totals["claims_ok"] += sentence.ok
            if number % 10 == 0:
                progress(f"{number}/{len(questions)} answers")
    finally:
        agent.close()
    return CitationCounts(
        answers=len(questions),
        fallbacks=fallbacks,
        abstained=abstained,
        p50_s=statistics.median(seconds) if seconds else 0.0,
        **totals,
    )


@dataclass(frozen=True)
class CitationsReport:
    run: RunInfo
    mode: str  # the answer mode measured: "generated" or "extractive"
    citations: CitationCounts
    abstention: ThresholdRates

    def as_json(self) -> dict[str, Any]:
        a = self.abstention
        return {
            "task": "citations",
            "answer_mode": self.mode,
            "citations": self.citations.as_json(),
            "abstention": {
                "threshold": a.threshold,
                "in_scope_wrongly_abstained": Proportion(a.wrong, a.in_scope).as_json(),
                "out_of_scope_correctly_abstained": Proportion(a.correct, a.out_of_scope).as_json(),
                "youden_j": round(a.youden, 4),
            },
            "run": self.run.as_json(),
        }

    def markdown(self) -> str:
        c = self.citations
        a = self.abstention
        citations = markdown_table(
            ["measure (95% CI)", "value"],
            [
                ["markers that name a given passage", str(Proportion(c.mapped, c.markers))],
                ["cited sentences supported", str(Proportion(c.cited_ok, c.cited))],
                ["claims supported", str(Proportion(c.claims_ok, c.claims))],
                ["answers that fell back to quoting", str(Proportion(c.fallbacks, c.answers))],
                ["answers abstained", str(Proportion(c.abstained, c.answers))],
            ],
        )
        abstention = markdown_table(
            ["questions (95% CI)", "abstained", "baseline: never abstain"],
            [
                [
                    f"in-scope PubMedQA (n={a.in_scope}): wrong",
                    str(Proportion(a.wrong, a.in_scope)),
                    "0.000",
                ],
                [
                    f"out-of-scope, non-medical (n={a.out_of_scope}): right",
                    str(Proportion(a.correct, a.out_of_scope)),
                    "0.000",
                ],
            ],
        )
        return "\n".join(
            [
                f"## Citations: {c.answers} PubMedQA questions, {self.mode} answers",
                "",
                self.run.markdown(),
                "",
                citations,
                "",
                f"Abstention at abstain_threshold {a.threshold:.2f} (Youden's J {a.youden:.3f}):",
                "",
                abstention,
                "",
                "Quoted (extractive) answers pass by construction: they check the verifier, "
                "not a model. The out-of-scope set is non-medical: its rate is an upper bound.",
            ]
        )


def evidence_strengths(kb: KnowledgeBase, questions: Sequence[str]) -> list[float]:
    from agent.grounding import evidence_strength

    return [evidence_strength(kb.search(q, k=K)) for q in questions]


def evaluate_citations(
    settings: Settings,
    embedder: Embedder,
    llm: LLMClient | None,
    *,
    engine: EngineInfo,
    limit: int,
    progress: Callable[[str], None] = lambda _: None,
) -> CitationsReport:
    """The first `limit` PubMedQA abstracts indexed as in the retrieval evaluation; their
    questions answered by the agent (its sessions and audit rows in a temporary folder, never
    the clinicians' trail), then the abstention rates at the configured threshold."""
    import tempfile

    from evaluation.report import KnowledgeBaseInfo
    from evaluation.retrieval import open_eval_pubmedqa

    items, kb, _, _ = open_eval_pubmedqa(settings, embedder, limit, progress=progress)
    questions = [item.question for item in items]
    mode = "extractive" if settings.extractive_answers else "generated"
    with tempfile.TemporaryDirectory(prefix="clinassist-eval-citations-") as temp:
        agent_settings = settings.model_copy(update={"data_dir": Path(temp)})
        progress(f"{len(questions)} {mode} answers ...")
        citations = citation_validity(agent_settings, kb, llm, questions, progress)
    progress(f"evidence strength of {len(questions)} + {len(OUT_OF_SCOPE_QUESTIONS)} questions ...")
    abstention = rates_at(
        settings.abstain_threshold,
        evidence_strengths(kb, questions),
        evidence_strengths(kb, OUT_OF_SCOPE_QUESTIONS),
    )
    run = RunInfo(
        task="citations",
        limit=limit,
        sample=(
            f"the first {len(questions)} PubMedQA PQA-L questions (their abstracts indexed) and "
            f"{len(OUT_OF_SCOPE_QUESTIONS)} fixed non-medical questions"
        ),
        engine=engine,
        knowledge_base=KnowledgeBaseInfo.of(kb),
    )
    return CitationsReport(run, mode, citations, abstention)
