"""A model's tool choice, scripted: the packaged CPU model is not trusted with tools, and cannot
be made to choose a given tool or to go on choosing, so the tests of the tool loop script what a
GPU-sized model would choose. The loop, the tools, the audit trail and the checks are the real
ones."""

from __future__ import annotations

from collections.abc import Sequence

from agent.llm import LLMClient, LLMConfig, Message, ToolCall, ToolChoice, ToolSpec


class ScriptedToolChooser(LLMClient):
    """Stands in for a GPU-sized model's tool choice: asked for a tool, it gives its `calls` in
    turn, then none (or, with `forever`, its last call again at every step); it records the
    names of the tools it was offered each time it was asked."""

    def __init__(self, *calls: ToolCall, forever: bool = False) -> None:
        super().__init__(LLMConfig(base_url="http://127.0.0.1:9/v1", model="scripted"))
        self.calls = calls
        self.forever = forever
        self.offered: list[list[str]] = []

    def call_tool(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], choice: ToolChoice = "auto"
    ) -> ToolCall | None:
        self.offered.append([tool.name for tool in tools])
        step = len(self.offered) - 1
        if step < len(self.calls):
            return self.calls[step]
        return self.calls[-1] if self.forever and self.calls else None
