"""The layers point one way: ui -> agent (its service, types and settings) -> tools -> knowledge.

Read from the source with `ast`, so that an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT


def imported_modules(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


def test_the_ui_imports_nothing_from_knowledge_or_tools() -> None:
    modules = imported_modules(REPO_ROOT / "ui")
    assert len(modules) >= 8  # the premise: the CLI package and the app are read
    reached = {
        (path, name)
        for path, names in modules.items()
        for name in names
        if name.split(".")[0] in ("knowledge", "tools")
    }
    assert reached == set()


def test_lower_layers_never_import_upper_ones() -> None:
    for layer, forbidden in (
        ("agent", ("ui", "evaluation", "bench")),
        ("tools", ("ui", "agent", "evaluation", "bench")),
        ("knowledge", ("ui", "agent", "tools", "evaluation", "bench")),
    ):
        for path, names in imported_modules(REPO_ROOT / layer).items():
            upward = {n for n in names if n.split(".")[0] in forbidden}
            assert not upward, f"{path} imports {sorted(upward)}"
