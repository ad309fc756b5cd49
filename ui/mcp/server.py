"""The MCP server: the assistant's tools (`Service.standalone_tools`) over the Model Context
Protocol, through the official SDK's low-level `Server` (the argument schemas are the tools'
own pydantic models, not ones derived from a function's signature).

A call that cannot run (bad arguments, an unreadable file, an empty knowledge base, an engine
that is down) is a tool result with `isError` and one sentence, never a protocol error or a
traceback; the server stays up. Tool calls run in a worker thread, so a slow one (an image
encoded, a plan drafted) does not hold up the others.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server

from agent.settings import app_version

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from agent.standalone_tools import StandaloneTools

INSTRUCTIONS = (
    "clinassist's clinical tools: guideline search with each passage's source, licence and "
    "link; drug-drug interaction and allergy checks; clinical calculators; de-identified image "
    "analysis; cited treatment plans; and questions answered from the guidelines. Results are "
    "JSON with flags (each with a severity) and a standing notice: they support, and do not "
    "replace, clinical judgement."
)


def build_server(tools: StandaloneTools) -> Server[Any]:
    """The low-level server listing `tools` and running their calls."""
    listed = [
        types.Tool(name=t.name, description=t.description, input_schema=t.input_schema())
        for t in tools.offered()
    ]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        outcome = await anyio.to_thread.run_sync(tools.call, params.name, params.arguments)
        if not outcome.ok:
            return types.CallToolResult(
                content=[types.TextContent(text=outcome.error or "The tool failed.")],
                is_error=True,
            )
        payload = outcome.as_json()
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(payload, ensure_ascii=False))],
            structured_content=payload,
        )

    return Server(
        "clinassist",
        version=app_version(),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
