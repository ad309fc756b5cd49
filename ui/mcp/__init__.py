"""`clinassist mcp`: the assistant's tools for other agents, over the Model Context Protocol
(`server.py` the tools, `transports.py` stdio and streamable HTTP with a bearer token)."""

from __future__ import annotations

from ui.mcp.server import build_server
from ui.mcp.transports import MCP_PATH, BearerTokenGuard, http_app, serve_http, serve_stdio

__all__ = ["MCP_PATH", "BearerTokenGuard", "build_server", "http_app", "serve_http", "serve_stdio"]
