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
    # ... and their imports are seen: the ui imports the layer below it, the agent
    assert any(name.split(".")[0] == "agent" for names in modules.values() for name in names)
    reached = {
        (path, name)
        for path, names in modules.items()
        for name in names
        if name.split(".")[0] in ("knowledge", "tools")
    }
    assert reached == set()


def test_lower_layers_never_import_upper_ones() -> None:
    for layer, below, forbidden in (
        ("agent", "tools", ("ui", "evaluation", "bench")),
        ("tools", "knowledge", ("ui", "agent", "evaluation", "bench")),
        ("knowledge", "chromadb", ("ui", "agent", "tools", "evaluation", "bench")),
    ):
        modules = imported_modules(REPO_ROOT / layer)
        # the premise: the layer's modules are read and their imports seen (of what lies below)
        seen = {name.split(".")[0] for names in modules.values() for name in names}
        assert len(modules) >= 5 and below in seen, (layer, len(modules))
        for path, names in modules.items():
            upward = {n for n in names if n.split(".")[0] in forbidden}
            assert not upward, f"{path} imports {sorted(upward)}"


def test_the_app_handlers_import_no_gradio() -> None:
    # ui/web/handlers.py, and each ui module it imports in turn, never import gradio (nor its
    # server): the handlers run, and are tested, without a browser or a server
    modules = imported_modules(REPO_ROOT / "ui")
    reached, todo = set(), ["ui/web/handlers.py"]
    while todo:
        path = todo.pop()
        if path in reached:
            continue
        reached.add(path)
        for name in modules[path]:
            if name.split(".")[0] == "ui":
                module = name.replace(".", "/")
                todo.append(
                    f"{module}.py" if f"{module}.py" in modules else f"{module}/__init__.py"
                )
    assert {"ui/web/handlers.py", "ui/web/forms.py", "ui/web/rendering.py"} <= reached
    web = {
        (path, name)
        for path in reached
        for name in modules[path]
        if name.split(".")[0] in ("gradio", "gradio_client", "fastapi", "starlette")
    }
    assert web == set()
