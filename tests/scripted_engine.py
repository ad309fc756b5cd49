"""A scripted OpenAI-compatible engine on 127.0.0.1: it stands in for a model that writes cited
text, which the packaged SmolLM2-135M does not (its answers almost always fail verification and
fall back to quotes), so that the generated-answer path runs on every execution.

The app talks to it exactly as to vLLM: `agent.llm.LLMClient` (langchain-openai) posts to
`/v1/chat/completions`, streaming (server-sent events) for an answer and not streaming for a
tool choice. What it answers is a script: a function of the request, which can read the
numbered passages the app put in the prompt (`EngineRequest.passages`, in the form
`agent.grounding.passages_block` writes) and copy sentences from them with their markers. Every
request body is recorded (`ScriptedEngine.requests`), every reply (`ScriptedEngine.replies`), and
what the script raised (`ScriptedEngine.errors`; the app gets a 500). Tests that use it say so in
their names ("scripted_engine").
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from agent.grounding import INSTRUCTION_REMOVED, is_claim, split_sentences, strip_markers
from agent.llm import ToolCall

# `[n] title -- section` then the passage body in triple quotes (agent.grounding.passages_block)
PASSAGE_RE = re.compile(r'^\[(\d+)\] [^\n]*\n"""(.*?)"""', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class EngineRequest:
    """One chat request as the engine received it."""

    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def prompt(self) -> str:
        """The last user message: the turn's question, case, tool results and passages."""
        users = [m for m in self.messages if m.get("role") == "user"]
        content = users[-1].get("content") if users else ""
        if isinstance(content, list):  # text and image parts
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        return str(content or "")

    @property
    def streaming(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def tools(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools") or []]

    @property
    def passages(self) -> dict[int, str]:
        """The passages numbered in the prompt, as the model was given them: number -> body."""
        return {int(n): " ".join(body.split()) for n, body in PASSAGE_RE.findall(self.prompt)}


Reply = str | ToolCall | None  # text, a tool call, or (for a tool choice) no call
Script = Callable[[EngineRequest], Reply]


def claims_of(body: str) -> list[str]:
    """The plain sentences of a passage body that state something, without their markers and
    their full stop: the notice that stands where an instruction was removed ends a sentence,
    and a sentence with other brackets (a "[Level of evidence: 1]" tag) is left out."""
    plain = [
        " ".join(strip_markers(sentence).split())
        for part in body.split(INSTRUCTION_REMOVED)
        for sentence in split_sentences(part)
    ]
    return [
        sentence[:-1].rstrip()
        for sentence in plain
        if is_claim(sentence)
        and sentence.endswith(".")
        and not any(mark in sentence for mark in ('"', "[", "]"))
    ]


def copied(request: EngineRequest, *, per_passage: int = 1, passages: int = 3) -> list[str]:
    """Sentences copied from the first `passages` passages given, each ending in its passage's
    marker (as a model that follows the system prompt writes them)."""
    written: list[str] = []
    for number, body in sorted(request.passages.items())[:passages]:
        written += [f"{claim} [{number}]." for claim in claims_of(body)[:per_passage]]
    return written


def pieces(text: str) -> list[str]:
    """`text` in the pieces an engine streams: a word and the space after it."""
    return re.findall(r"\S+\s*", text) or [text]


class ScriptedEngine:
    """An OpenAI-compatible chat server on 127.0.0.1 that answers with `script`."""

    def __init__(self, script: Script, *, model: str = "scripted-engine") -> None:
        self.script = script
        self.model = model
        self.requests: list[EngineRequest] = []
        self.replies: list[Reply] = []
        self.errors: list[str] = []  # what the script raised
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's root (the app's `llm_url`); the API is under /v1."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answers(self) -> list[str]:
        """What it wrote for each answer (streamed) request, in order."""
        return [
            str(reply)
            for request, reply in zip(self.requests, self.replies, strict=True)
            if request.streaming
        ]

    def respond(self, body: dict[str, Any]) -> Reply:
        request = EngineRequest(body)
        try:
            reply = self.script(request)
        except Exception as exc:  # the test sees it (engine.errors) as well as the app (500)
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        with self._lock:
            self.requests.append(request)
            self.replies.append(reply)
        return reply

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ScriptedEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class _Chunks:
    """The server-sent events of a streamed reply."""

    model: str
    text: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[bytes]:
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": piece} for piece in pieces(self.text)]
        for delta in deltas:
            yield _event(self.model, delta, None)
        yield _event(self.model, {}, "stop")
        yield b"data: [DONE]\n\n"


def _event(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    chunk = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _completion(model: str, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    finish = "stop"
    if isinstance(reply, ToolCall):
        message["tool_calls"] = [
            {
                "id": "call_scripted",
                "type": "function",
                "function": {"name": reply.name, "arguments": json.dumps(reply.arguments)},
            }
        ]
        finish = "tool_calls"
    elif reply:
        message["content"] = reply
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _handler(engine: ScriptedEngine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test reads engine.requests

        def _json(self, status: int, data: dict[str, Any]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                models = [{"id": engine.model, "object": "model"}]
                self._json(200, {"object": "list", "data": models})
            elif self.path == "/health":
                self._json(200, {})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                reply = engine.respond(body)
            except Exception as exc:
                self._json(500, {"error": {"message": f"the script failed: {exc}"}})
                return
            if not body.get("stream"):
                self._json(200, _completion(engine.model, reply))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for event in _Chunks(engine.model, str(reply or "")):
                self.wfile.write(event)
                self.wfile.flush()

    return Handler
