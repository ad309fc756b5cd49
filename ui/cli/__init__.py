"""The `clinassist` command line (`main.py` wires one module per command group)."""

from __future__ import annotations

from ui.cli.main import app, main

__all__ = ["app", "main"]
