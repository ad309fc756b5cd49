"""Every request the agent sends the local engine fits its 2,048-token context with room for
the answer, counted with the packaged model's own tokenizer and the chat template the engine
serves, on the longest turns a clinician makes: a follow-up with a full history, a case whose
policy tools all report, a long question, and the tool list for the model's choice. A request
that does not fit is refused by vLLM, so the model's answer would be lost to a fallback."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.engine import HERMES_CHATML_TEMPLATE
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


Tokens = Callable[[list[Message], list[ToolSpec]], int]


class RecordingModel(LLMClient):
    """Stands in for the served model's side of the exchange (what it writes does not matter
    here): it records every request and answers at length, citing passage [1]."""

    def __init__(self) -> None:
        super().__init__(LLMConfig(base_url="http://127.0.0.1:9/v1", model="recording"))
        self.requests: list[tuple[list[Message], list[ToolSpec]]] = []

    def call_tool(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], choice: str = "auto"
    ) -> ToolCall | None:
        self.requests.append((list(messages), list(tools)))
        return None

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.requests.append((list(messages), []))
        first = re.search(r'\[1\][^\n]*\n"""(.+?[.])\s', messages[-1].content)
        assert first is not None
        for _ in range(6):
            yield f"{first.group(1)} [1] "


@pytest.fixture(scope="module")
def tokens(prepared_model: PreparedModel) -> Tokens:
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(
        str(prepared_model.folder), local_files_only=True
    )
    template = HERMES_CHATML_TEMPLATE.read_text(encoding="utf-8")

    def count(messages: list[Message], tools: list[ToolSpec]) -> int:
        text = tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tools=[t.openai() for t in tools] or None,
            chat_template=template,
            add_generation_prompt=True,
            tokenize=False,
        )
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


@pytest.fixture
def recorded(
    make_kb: Callable[..., KnowledgeBase], tmp_path: Path
) -> Callable[..., tuple[Settings, RecordingModel]]:
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

    def turns(*questions: str, case: str | None = None) -> tuple[Settings, RecordingModel]:
        model = RecordingModel()
        agent = Agent(settings, make_kb(data_dir), model, model_name="recording")
        try:
            for question in questions:
                agent.ask(question, session_id="bed-9", case=case)
        finally:
            agent.close()
        return settings, model

    return turns


def check_fits(settings: Settings, model: RecordingModel, tokens: Tokens) -> list[list[Message]]:
    """Every request fits with room for what the model may write; the answer prompts."""
    for messages, tools in model.requests:
        writes = TOOL_CALL_MAX_TOKENS if tools else settings.llm_max_tokens
        assert tokens(messages, tools) + writes <= settings.context_tokens, len(tools)
    answers = [messages for messages, tools in model.requests if not tools]
    for messages in answers:
        assert "[1] " in messages[-1].content  # at least one passage in every answer prompt
    return answers


def test_the_longest_case_turns_fit_the_local_context(
    recorded: Callable[..., tuple[Settings, RecordingModel]],
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


def test_plain_follow_ups_keep_their_history_and_several_passages(
    recorded: Callable[..., tuple[Settings, RecordingModel]],
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
