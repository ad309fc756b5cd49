"""The one LLM path: langchain-openai's ChatOpenAI against the engine's OpenAI-compatible API.

Structured output uses vLLM's guided decoding (`response_format` json_schema), so what comes
back parses; it is still validated here. Tool calls with `tool_choice` required or named can be
made the same way (a json_schema over the tools' argument schemas), which is the default for
small local models whose native tool calls cannot be trusted; a capable served model can use
native tool calling (`native_tools`). Every failure a user can meet becomes a typed
`LLMError` with one clear sentence; timeouts and retries are bounded, so nothing hangs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from agent.errors import AgentError
from agent.settings import api_root

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_openai import ChatOpenAI

    from agent.settings import Settings


class LLMError(AgentError):
    """Base class of the engine errors a user can meet."""


class EngineDown(LLMError):
    pass


class EngineStarting(LLMError):
    pass


class ContextTooLong(LLMError):
    pass


class EngineTimeout(LLMError):
    pass


class InvalidModelOutput(LLMError):
    """The model's output did not validate even under guided decoding (a bug or a cut-off)."""


@dataclass(frozen=True)
class LLMConfig:
    base_url: str  # ending in /v1
    model: str
    api_key: str = "not-needed-for-local-vllm"
    timeout_s: float = 120.0
    max_retries: int = 1
    temperature: float = 0.0
    max_tokens: int = 512
    multimodal: bool = False  # the served model accepts image content parts
    native_tools: bool = False  # trust the engine's own tool-call parsing for required/named


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: name, description and a JSON schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


TOOL_CALL_MAX_TOKENS = 200  # a tool call is a name and a few arguments: more room for its prompt


def tools_prompt_chars(tools: Sequence[ToolSpec], *, compact: bool) -> int:
    """About how many characters a tool list adds to a request: one line a tool in the local
    engine's compact Hermes template (templates/hermes_chatml.jinja, erring long), the full
    JSON schemas in a served model's own template."""
    if not compact:
        return sum(len(json.dumps(tool.openai())) for tool in tools)
    return 300 + sum(
        len(tool.name) + 100 + sum(len(name) + 10 for name in tool.parameters.get("properties", {}))
        for tool in tools
    )


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class ImageInput:
    """A rendered, de-identified image for a multimodal model."""

    png: bytes
    mime: str = "image/png"

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.png).decode('ascii')}"


@dataclass
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    images: list[ImageInput] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None


ToolChoice = Literal["auto", "required"] | str  # a tool's name means "call this one"

# Chat-template markup: the engine tokenizes these strings as the real control tokens, so text
# carrying them (a passage, a DICOM description, a case) could close its own turn, open a
# forged system turn or write a tool call. ChatML/Qwen/Llama-3 `<|...|>` tokens, Hermes tool
# tags, Gemma turns, Llama-2/Mistral instruction brackets.
_CONTROL_MARKUP_RE = re.compile(
    r"<\|[A-Za-z0-9_.:-]{1,40}\|>"
    r"|</?(?:tool_call|tool_response|tools|start_of_turn|end_of_turn|s)>"
    r"|\[/?INST\]|<</?SYS>>",
    re.IGNORECASE,
)
# Invisible characters that hide or reorder text (zero-width, bidirectional controls, BOM).
INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def neutralise_markup(text: str) -> str:
    """`text` with chat-template control markup defused ("<|im_start|>" becomes
    "(im_start)") and invisible characters removed; everything else is left as it was."""
    text = INVISIBLE_RE.sub("", text)
    return _CONTROL_MARKUP_RE.sub(lambda m: f"({m.group(0).strip('<>|[]')})", text)


def _lc_messages(messages: Sequence[Message], multimodal: bool) -> list[BaseMessage]:
    """LangChain messages; every message but the system prompt (ours) is neutralised: only
    the system prompt and the template may speak in control tokens."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    converted: list[BaseMessage] = []
    for message in messages:
        if message.images and not multimodal:
            raise LLMError(
                "The served model does not accept images; describe the image in text or "
                "serve a multimodal model (llm_multimodal)."
            )
        if message.role != "system":
            message = dataclasses.replace(message, content=neutralise_markup(message.content))
        if message.role == "system":
            converted.append(SystemMessage(message.content))
        elif message.role == "assistant":
            converted.append(
                AIMessage(
                    content=message.content,
                    tool_calls=[
                        {"name": c.name, "args": c.arguments, "id": c.id or f"call_{i}"}
                        for i, c in enumerate(message.tool_calls)
                    ],
                )
            )
        elif message.role == "tool":
            converted.append(ToolMessage(message.content, tool_call_id=message.tool_call_id or ""))
        elif message.images:
            parts: list[str | dict[str, Any]] = [{"type": "text", "text": message.content}]
            parts += [
                {"type": "image_url", "image_url": {"url": image.data_url()}}
                for image in message.images
            ]
            converted.append(HumanMessage(content=parts))
        else:
            converted.append(HumanMessage(message.content))
    return converted


def tool_choice_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """One JSON schema whose instances are exactly the valid calls of one of `tools`."""
    variants = [
        {
            "type": "object",
            "properties": {"name": {"const": tool.name}, "arguments": tool.parameters},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for tool in tools
    ]
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


class LLMClient:
    def __init__(
        self,
        config: LLMConfig,
        *,
        engine_starting: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self._engine_starting = engine_starting or (lambda: False)
        self._chat: ChatOpenAI | None = None

    @property
    def chat(self) -> ChatOpenAI:
        if self._chat is None:
            from langchain_openai import ChatOpenAI

            self._chat = ChatOpenAI(
                model=self.config.model,
                base_url=self.config.base_url,
                api_key=self.config.api_key,  # type: ignore[arg-type]
                timeout=self.config.timeout_s,
                max_retries=self.config.max_retries,
                temperature=self.config.temperature,
                max_tokens=self.config.max_tokens,  # type: ignore[call-arg]
            )
        return self._chat

    # ------------------------------------------------------------------ errors

    def _translate(self, exc: Exception) -> LLMError:
        import httpx
        import openai

        url = self.config.base_url
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return EngineTimeout(
                f"The LLM engine at {url} did not answer within {self.config.timeout_s:.0f} s."
            )
        if isinstance(exc, openai.APIConnectionError | httpx.ConnectError):
            if self._engine_starting():
                return EngineStarting("The LLM engine is still starting; try again shortly.")
            return EngineDown(f"The LLM engine at {url} is not reachable; is it running?")
        if isinstance(exc, openai.BadRequestError):
            text = str(exc).lower()
            if "context length" in text or "max_model_len" in text or "too long" in text:
                return ContextTooLong(
                    "The request is too long for the model's context window; shorten the "
                    "question or the attached case."
                )
            return LLMError(f"The LLM engine rejected the request ({_short(exc)}).")
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 503 and self._engine_starting():
                return EngineStarting("The LLM engine is still starting; try again shortly.")
            return LLMError(f"The LLM engine failed ({exc.status_code}: {_short(exc)}).")
        raise exc

    def _invoke(self, runnable: Any, messages: Sequence[Message], **kwargs: Any) -> Any:
        try:
            return runnable.invoke(_lc_messages(messages, self.config.multimodal), **kwargs)
        except LLMError:
            raise
        except Exception as exc:
            raise self._translate(exc) from None

    # ------------------------------------------------------------------ calls

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> str:
        kwargs = {"max_tokens": max_tokens} if max_tokens else {}
        result = self._invoke(self.chat, messages, **kwargs)
        return str(result.content)

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Tokens (text deltas) as the engine produces them."""
        try:
            for chunk in self.chat.stream(_lc_messages(messages, self.config.multimodal)):
                if chunk.content:
                    yield str(chunk.content)
        except LLMError:
            raise
        except Exception as exc:
            raise self._translate(exc) from None

    def structured(
        self,
        messages: Sequence[Message],
        schema: dict[str, Any],
        *,
        name: str = "answer",
        model: type[BaseModel] | None = None,
        max_tokens: int | None = None,
    ) -> Any:
        """JSON that validates against `schema` (and `model`, when given), by guided decoding."""
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
        extra = {"max_tokens": max_tokens} if max_tokens else {}
        result = self._invoke(self.chat.bind(response_format=response_format, **extra), messages)
        text = str(result.content)
        try:
            data = json.loads(text)
            _validate(data, schema)
            return model.model_validate(data) if model is not None else data
        except (ValueError, ValidationError) as exc:
            finish = (result.response_metadata or {}).get("finish_reason")
            hint = " (cut off at max_tokens)" if finish == "length" else ""
            raise InvalidModelOutput(
                f"The model's structured answer did not validate{hint}: {_short(exc)}."
            ) from None

    def call_tool(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], choice: ToolChoice = "auto"
    ) -> ToolCall | None:
        """One tool call (or None when `choice` is auto and the model answered in text)."""
        if not tools:
            raise ValueError("call_tool needs at least one tool")
        if choice not in ("auto", "required"):
            chosen = [t for t in tools if t.name == choice]
            if not chosen:
                raise ValueError(f"no tool named {choice!r}")
        else:
            chosen = list(tools)
        if choice == "auto" or self.config.native_tools:
            return self._native_tool_call(messages, tools, choice)
        data = self.structured(messages, tool_choice_schema(chosen), name="tool_call")
        return ToolCall(str(data["name"]), dict(data["arguments"]))

    def _native_tool_call(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], choice: ToolChoice
    ) -> ToolCall | None:
        if choice in ("auto", "required"):
            tool_choice: Any = choice
        else:
            tool_choice = {"type": "function", "function": {"name": choice}}
        bound = self.chat.bind_tools(
            [t.openai() for t in tools],
            tool_choice=tool_choice,
            max_tokens=min(self.config.max_tokens, TOOL_CALL_MAX_TOKENS),
        )
        result = self._invoke(bound, messages)
        calls = getattr(result, "tool_calls", None) or []
        if not calls:
            if choice != "auto":
                raise InvalidModelOutput("The model did not return the required tool call.")
            return None
        call = calls[0]
        spec = next((t for t in tools if t.name == call["name"]), None)
        if spec is None:
            raise InvalidModelOutput(f"The model called an unknown tool {call['name']!r}.")
        try:
            _validate(call["args"], spec.parameters)
        except ValidationError as exc:
            raise InvalidModelOutput(
                f"The model's arguments for {spec.name} did not validate: {_short(exc)}."
            ) from None
        return ToolCall(str(call["name"]), dict(call["args"]), call.get("id"))


def client_for(settings: Settings, url: str, model: str, starting: Callable[[], bool]) -> LLMClient:
    """A client for the engine at `url` serving `model`, configured from the settings."""
    return LLMClient(
        LLMConfig(
            base_url=api_root(url) + "/v1",
            model=model,
            timeout_s=settings.llm_timeout_s,
            max_tokens=settings.llm_max_tokens,
            multimodal=settings.llm_multimodal,
            native_tools=settings.llm_native_tools,
        ),
        engine_starting=starting,
    )


def _validate(data: Any, schema: dict[str, Any]) -> None:
    """JSON-schema validation (jsonschema, which vLLM's stack already installs)."""
    import jsonschema

    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise ValueError(exc.message) from None


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
