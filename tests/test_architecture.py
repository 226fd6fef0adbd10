"""The core never imports the UI (DESIGN.md: one direction)."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "calls"


def _module_level_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:  # module level only: cli.py may import the app inside a function
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_core_does_not_import_textual_or_tui():
    offenders = []
    for path in CORE.rglob("*.py"):
        for name in _module_level_imports(path):
            if name.split(".")[0] in {"textual", "tui"}:
                offenders.append(f"{path.relative_to(CORE.parent)}: {name}")
    assert not offenders, offenders


def test_core_function_level_ui_imports_only_in_cli_py():
    offenders = []
    for path in CORE.rglob("*.py"):
        if path.relative_to(CORE) == Path("cli.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] in {"textual", "tui"}:
                    offenders.append(str(path))
            elif isinstance(node, ast.Import) and any(
                a.name.split(".")[0] in {"textual", "tui"} for a in node.names
            ):
                offenders.append(str(path))
    assert not offenders, offenders
