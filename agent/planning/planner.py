"""Treatment planning: a case in, a cited plan with its safety checks out.

For each problem of the case the guidelines are searched separately and the coverage decision
(`agent.coverage`) judges whether they address that problem: a problem they do not address is
shown as not covered, with the nearest guidelines, and gets no option; the options of a covered
problem come only from the passages that address it. All passages are numbered once for the
whole plan. The plan's options come from the model through `json_schema`
structured output (bounded strings and arrays, so the small model's output always parses), or,
in extractive mode and whenever the model fails, from the passages themselves. Either way an
option must cite a passage it was given: options without a valid citation are removed and
said so. The interaction check always runs on the case's medications together with every drug
the plan mentions; the calculators the case allows run too, and a reduced eGFR raises a
renal-dosing flag for the medications involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.case import Case, CaseError
from agent.coverage import CoverageModel, judge
from agent.flags import FlagKind
from agent.grounding import AnswerMode, source_label
from agent.llm import LLMClient, LLMError
from agent.planning.evidence import (
    ProblemEvidence,
    checked_options,
    extractive_draft,
    found_items,
    plan_prompt,
    quoted_problem,
)
from agent.planning.models import (
    MAX_PROBLEMS,
    PASSAGES_PER_PROBLEM,
    PLAN_TOKENS,
    SEARCHED_PER_PROBLEM,
    Plan,
    PlanDraft,
    PlanFlag,
    PlanProblem,
    draft_schema,
)
from agent.planning.safety import calculations_for, renal_flags, safety_flags
from agent.settings import Settings
from knowledge.errors import KnowledgeError
from knowledge.knowledge_base import KnowledgeBase
from knowledge.types import Passage


def plan_for_settings(
    case: Case, kb: KnowledgeBase, llm: LLMClient | None, settings: Settings
) -> Plan:
    """`plan_treatment` as the settings configure it: the one place every caller (the agent,
    its tool, the CLI) takes it from."""
    return plan_treatment(
        case,
        kb,
        llm,
        extractive=settings.extractive_answers or llm is None,
        interactions_dir=settings.interactions_dir,
        interactions_dirs=settings.interactions_dirs,
        context_chars=settings.prompt_chars,
        support_threshold=settings.support_threshold,
        coverage_model=CoverageModel.load(settings.coverage_model),
        min_dense=settings.abstain_threshold,
    )


def plan_treatment(
    case: Case,
    kb: KnowledgeBase,
    llm: LLMClient | None,
    *,
    extractive: bool,
    interactions_dir: Any = None,
    interactions_dirs: Sequence[Any] = (),
    context_chars: int = 4000,
    support_threshold: float = 0.5,
    coverage_model: CoverageModel | None = None,
    min_dense: float = 0.0,
) -> Plan:
    """A cited plan for `case`; raises CaseError when the case names no problem.

    What the model writes is checked as the answers are: an option must cite a passage that
    addresses its own problem and be supported by it; contraindications, monitoring and
    follow-up items must be found in the passages; a strength of evidence must be one a cited
    passage states. What fails is removed and flagged; a covered problem left without an option
    gets options quoted from its passages. Problems keep the case's own names."""
    from tools.calculators import calculator_tools

    problems = case.problems[:MAX_PROBLEMS]
    if not problems:
        raise CaseError(
            "The case names no diagnosis or problem to plan for (add, for example, "
            '"Diagnoses: hot flashes").'
        )
    model = coverage_model or CoverageModel.load()
    flags: list[PlanFlag] = []
    passages: list[Passage] = []
    evidence: dict[str, ProblemEvidence] = {}
    per_problem_chars = max(600, context_chars // len(problems))
    try:
        vocabulary = kb.vocabulary()  # once: it asks the store for its version
    except KnowledgeError as exc:
        raise CaseError(str(exc)) from None
    for problem in problems:
        # searched for its treatment, judged on the problem itself: a guideline that
        # addresses the problem but never says "treatment" still covers it
        query = f"{problem} treatment"
        try:
            found = kb.search(query, k=SEARCHED_PER_PROBLEM)
            judgement = judge(
                problem,
                found,
                vocabulary=vocabulary,
                embedder=kb.embedder,
                model=model,
                min_dense=min_dense,
            )
        except KnowledgeError as exc:
            raise CaseError(str(exc)) from None
        markers: list[int] = []
        used = 0
        for passage in judgement.addressing_passages()[:PASSAGES_PER_PROBLEM]:
            if markers and used + min(len(passage.body), 900) > per_problem_chars:
                break
            if passage.id not in {p.id for p in passages}:
                passages.append(passage)
            markers.append(next(i for i, p in enumerate(passages, 1) if p.id == passage.id))
            used += min(len(passage.body), 900)
        evidence[problem] = ProblemEvidence(judgement, markers, query)
        if not judgement.covered:
            nearest = judgement.nearest_titles()
            flags.append(
                PlanFlag(
                    kind=FlagKind.NOT_COVERED,
                    message=f"The guidelines in this knowledge base do not address {problem!r}"
                    + (f"; nearest: {nearest}." if nearest else "."),
                )
            )
    covered = [p for p in problems if evidence[p].judgement.covered]

    mode = AnswerMode.EXTRACTIVE
    draft: PlanDraft | None = None
    if covered and not extractive and llm is not None:
        try:
            draft = llm.structured(
                plan_prompt(case, covered, passages),
                draft_schema(),
                name="plan",
                model=PlanDraft,
                max_tokens=PLAN_TOKENS,
            )
            mode = AnswerMode.GENERATED
        except LLMError as exc:
            flags.append(
                PlanFlag(kind=FlagKind.ENGINE, message=f"{exc} The plan quotes the passages.")
            )
    if draft is None:
        draft = extractive_draft(covered, evidence, passages, kb)

    drafted_for = dict(zip(covered, list(draft.problems) + [None] * len(covered), strict=False))
    plan_problems = []
    fell_back = 0
    for problem in problems:
        judgement = evidence[problem].judgement
        if not judgement.covered:
            plan_problems.append(
                PlanProblem(
                    problem=problem,
                    options=[],
                    contraindications=[],
                    monitoring=[],
                    covered=False,
                    nearest=[source_label(p) for p in judgement.nearest()],
                )
            )
            continue
        drafted = drafted_for.get(problem)
        own = [passages[m - 1] for m in evidence[problem].markers]
        options = checked_options(
            problem, drafted, passages, evidence[problem].markers, support_threshold, flags
        )
        if not options and mode is AnswerMode.GENERATED:
            flags.append(
                PlanFlag(
                    kind=FlagKind.FALLBACK,
                    message=f"The model gave no supported option for {problem!r}; the options "
                    "quote the passages.",
                )
            )
            # Quoted only now: a problem whose drafted options survive never needs them.
            fallback = quoted_problem(problem, evidence[problem], passages, kb)
            options = checked_options(
                problem, fallback, passages, evidence[problem].markers, support_threshold, []
            )
            fell_back += 1
        if not options:
            flags.append(
                PlanFlag(
                    kind=FlagKind.NOT_COVERED,
                    message=f"No passage sentence gives an option for {problem!r}.",
                )
            )
        plan_problems.append(
            PlanProblem(
                problem=problem,
                options=options,
                contraindications=found_items(
                    problem,
                    "contraindication",
                    drafted.contraindications if drafted else [],
                    own,
                    support_threshold,
                    flags,
                ),
                monitoring=found_items(
                    problem,
                    "monitoring",
                    drafted.monitoring if drafted else [],
                    own,
                    support_threshold,
                    flags,
                ),
            )
        )
    follow_up = found_items(
        "the case", "follow-up", draft.follow_up, passages, support_threshold, flags
    )
    questions = found_items(
        "the case", "open-question", draft.open_questions, passages, support_threshold, flags
    )

    if covered and fell_back == len(covered):  # nothing of the model's survived: say so
        mode = AnswerMode.EXTRACTIVE
    if not covered:
        mode = AnswerMode.ABSTAINED
    calculations = calculations_for(case, calculator_tools())
    flags += renal_flags(case, calculations)
    if interactions_dir is not None or interactions_dirs:
        flags += safety_flags(case, plan_problems, interactions_dir, interactions_dirs)
    flags.sort(key=lambda flag: flag.kind.rank)  # what a clinician must see first, first
    return Plan(
        case_summary=case.summary(),
        mode=mode,
        problems=plan_problems,
        follow_up=follow_up,
        open_questions=questions,
        flags=flags,
        calculations=calculations,
    )
