"""Every request the agent sends the local engine fits its 2,048-token context with room for
the answer, counted with the packaged model's own tokenizer and the chat template the engine
serves (and checked to be the engine's own count), on the longest turns a clinician makes: a
follow-up with a full history, a case whose policy tools all report, a long question, and the
tool list for the model's choice. vLLM refuses a request longer than the context, and cuts the
answer of one that leaves less room than the answer may take."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.engine import HERMES_CHATML_TEMPLATE, EngineStatus
from agent.graph import Agent
from agent.llm import TOOL_CALL_MAX_TOKENS, LLMClient, LLMConfig, Message, ToolCall, ToolSpec
from agent.model_files import PreparedModel
from agent.settings import Settings
from knowledge.ingest import ingest
from knowledge.knowledge_base import KnowledgeBase
from tests.corpus import always_covered_model, write_corpus

CASE = (
    "68-year-old woman, 70 kg, 165 cm, breast cancer on tamoxifen, history of "
    "hyperlipidaemia and atrial fibrillation. Meds: tamoxifen 20 mg, simvastatin 40 mg, "
    "clarithromycin 500 mg bid, warfarin 5 mg, venlafaxine 37.5 mg. Allergies: penicillin. "
    "Creatinine 1.2 mg/dL. Problems: hot flashes, insomnia, fatigue."
)
QUESTION = (
    "She has eight to ten hot flashes a day and at night, they wake her, she is on tamoxifen "
    "and worried about interactions and about stopping it; which non-hormonal drugs reduce "
    "hot flash frequency and scores, at which doses, and which of them should be avoided "
    "with tamoxifen, warfarin or her other medicines? "
)


Request = tuple[list[Message], list[ToolSpec]]


@dataclass(frozen=True)
class Tokens:
    """Token counts by the packaged model's own tokenizer and the template the engine serves."""

    tokenizer: Any
    template: str

    def text(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def request(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
        prompt = self.tokenizer.apply_chat_template(
            chat(messages),
            tools=[t.openai() for t in tools] or None,
            chat_template=self.template,
            add_generation_prompt=True,
            tokenize=False,
        )
        return self.text(prompt)


def chat(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


class RecordingStandIn(LLMClient):
    """Stands in for the served model's writing, and records every request the agent sends.
    Its answers are the longest the model may write (`llm_max_tokens` of the model's own tokens,
    repeating passage [1]'s first sentence with its marker): the budget must hold the history of
    the longest answers, which SmolLM2 writes only when it happens to ramble. Offered tools, it
    answers in text."""

    def __init__(self, tokens: Tokens, max_tokens: int) -> None:
        super().__init__(LLMConfig(base_url="http://127.0.0.1:9/v1", model="stand-in"))
        self.tokens = tokens
        self.max_tokens = max_tokens
        self.requests: list[Request] = []
        self.answers: list[str] = []

    def call_tool(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], choice: str = "auto"
    ) -> ToolCall | None:
        self.requests.append((list(messages), list(tools)))
        return None

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.requests.append((list(messages), []))
        first = re.search(r'\[1\][^\n]*\n"""(.+?[.])\s', messages[-1].content)
        assert first is not None
        sentence = f"{first.group(1)} [1] "
        answer = sentence
        while self.tokens.text(answer + sentence) <= self.max_tokens:
            answer += sentence
        assert self.tokens.text(answer) <= self.max_tokens  # the premise: one sentence fits
        self.answers.append(answer)
        yield from re.findall(r"\S+\s*", answer)


@pytest.fixture(scope="module")
def tokens(prepared_model: PreparedModel) -> Tokens:
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(
        str(prepared_model.folder), local_files_only=True
    )
    return Tokens(tokenizer, HERMES_CHATML_TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture
def recorded(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path, tokens: Tokens
) -> Callable[..., tuple[Settings, RecordingStandIn]]:
    data_dir = tmp_path / "data"
    ingest(make_kb(data_dir), [write_corpus(tmp_path / "guides", with_pdf=False)])
    settings = Settings(
        data_dir=data_dir,
        corpus_dirs=[],
        answer_mode="generated",
        tool_calling=True,
        coverage_model=always_covered_model(tmp_path),  # every turn gets an answer prompt
    )
    assert settings.llm_url is None and settings.context_tokens == 2048

    def turns(*questions: str, case: str | None = None) -> tuple[Settings, RecordingStandIn]:
        model = RecordingStandIn(tokens, settings.llm_max_tokens)
        agent = Agent(settings, make_kb(data_dir), model, model_name="stand-in")
        try:
            for question in questions:
                agent.ask(question, session_id="bed-9", case=case)
        finally:
            agent.close()
        return settings, model

    return turns


def check_fits(settings: Settings, model: RecordingStandIn, tokens: Tokens) -> list[list[Message]]:
    """Every request fits with room for what the model may write; the answer prompts."""
    for messages, tools in model.requests:
        writes = TOOL_CALL_MAX_TOKENS if tools else settings.llm_max_tokens
        assert tokens.request(messages, tools) + writes <= settings.context_tokens, len(tools)
    answers = [messages for messages, tools in model.requests if not tools]
    for messages in answers:
        assert "[1] " in messages[-1].content  # at least one passage in every answer prompt
    # the premise: the stand-in wrote the longest answers, to within one sentence
    assert all(tokens.text(a) > settings.llm_max_tokens * 0.8 for a in model.answers)
    return answers


def test_a_stand_in_models_longest_case_turns_fit_the_local_context(
    recorded: Callable[..., tuple[Settings, RecordingStandIn]],
    tokens: Tokens,
) -> None:
    """A long question three times over with a case whose policy tools all report: the tool
    results are excerpted and the history shortened so that each request fits."""
    settings, model = recorded(*(QUESTION * 2 + f"(turn {n})" for n in range(3)), case=CASE)
    choices = [tools for _, tools in model.requests if tools]
    assert len(choices) == 3  # the model was offered the tools on every turn
    answers = check_fits(settings, model, tokens)
    assert len(answers) == 3
    assert all("Tool results (data):" in m[-1].content for m in answers)
    assert len(answers[-1]) > 4  # the follow-up still holds the last exchange


def test_a_stand_in_models_plain_follow_ups_keep_their_history_and_several_passages(
    recorded: Callable[..., tuple[Settings, RecordingStandIn]],
    tokens: Tokens,
) -> None:
    settings, model = recorded(
        "Which drugs reduce hot flashes?",
        "What dose of gabapentin reduces hot flashes?",
        "Does venlafaxine reduce hot flash scores more than placebo?",
    )
    answers = check_fits(settings, model, tokens)
    assert len(answers[-1]) == 3 + 2 * 2 + 1  # system, example, two exchanges, this turn
    assert all("\n[2] " in m[-1].content for m in answers)


@pytest.mark.slow
def test_the_counts_are_the_served_engines_own(
    recorded: Callable[..., tuple[Settings, RecordingStandIn]],
    tokens: Tokens,
    engine: EngineStatus,
) -> None:
    """The session's real engine counts the longest tool choice and answer prompt of a case
    follow-up (max_tokens=1: only the prompt is read) as the budget does above."""
    import openai

    _, model = recorded(QUESTION * 2 + "(turn 0)", QUESTION * 2 + "(turn 1)", case=CASE)
    longest = [
        max((r for r in model.requests if bool(r[1]) is offered), key=lambda r: tokens.request(*r))
        for offered in (True, False)
    ]
    client = openai.OpenAI(base_url=f"{engine.url}/v1", api_key="none", max_retries=0)
    for messages, tools in longest:
        request: dict[str, Any] = {"messages": chat(messages)}
        if tools:
            request["tools"] = [t.openai() for t in tools]
        served = client.chat.completions.create(model=str(engine.model), max_tokens=1, **request)
        assert served.usage is not None
        assert served.usage.prompt_tokens == tokens.request(messages, tools), len(tools)
