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


# -- the TUI uses Textual's public API only -------------------------------------------

TUI = CORE.parent / "tui"


def _tui_modules():
    for path in sorted(TUI.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_tui_reaches_into_no_other_objects_private_names():
    """``x._name`` only on ``self``/``cls``: never Textual's privates (``_check_bindings``,
    ``_forward_event``, ``_bindings``, ``super()._on_key`` …), nor another object's."""
    offenders = []
    for path, tree in _tui_modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offenders.append(f"{path.relative_to(TUI.parent)}:{node.lineno} .{node.attr}")
    assert not offenders, offenders


def _textual_private_names(cls: type) -> set[str]:
    """Private names Textual's classes in ``cls``'s ancestry define or set on ``self``."""
    import inspect
    import re

    names: set[str] = set()
    for base in cls.__mro__:
        if not base.__module__.startswith("textual"):
            continue
        names |= {n for n in vars(base) if n.startswith("_") and not n.startswith("__")}
        try:
            source = inspect.getsource(base)
        except (OSError, TypeError):
            continue
        names |= set(re.findall(r"(?:def |self\.)(_[a-z]\w*)", source))
    return names


def test_tui_classes_neither_override_nor_shadow_textual_privates():
    """A method or attribute of ours named like one of Textual's private ones replaces it
    (a screen's ``_closed`` once turned a callback into ``False``)."""
    import importlib

    offenders = []
    for path, tree in _tui_modules():
        module = importlib.import_module(".".join(path.relative_to(TUI.parent).with_suffix("").parts))
        for cls_node in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            cls = getattr(module, cls_node.name, None)
            if not isinstance(cls, type):
                continue
            ours = set()
            for node in ast.walk(cls_node):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in ("self", "cls") and node.attr.startswith("_")):
                    ours.add(node.attr)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    ours.add(node.name)
            clash = {n for n in ours if not n.startswith("__")} & _textual_private_names(cls)
            offenders += [f"{path.relative_to(TUI.parent)} {cls_node.name}.{n}" for n in clash]
    assert not offenders, offenders


def test_every_binding_has_an_id():
    """Every key can be remapped in the config file's ``[keymap]`` by its binding id."""
    offenders = []
    for path, tree in _tui_modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding"
                    and not any(k.arg == "id" for k in node.keywords)):
                offenders.append(f"{path.relative_to(TUI.parent)}:{node.lineno}")
    assert not offenders, offenders
