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


def test_binding_ids_are_unique_and_documented():
    """One id, one binding (a keymap entry must not move two keys); docs/config.md lists
    every id a user can remap."""
    from textual.binding import Binding

    from tui.keymap import binding_ids

    owners: dict[str, set[str]] = {}
    for path, tree in _tui_modules():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding":
                    for k in node.keywords:
                        if k.arg == "id" and isinstance(k.value, ast.Constant):
                            owners.setdefault(k.value.value, set()).add(cls.name)
    assert not {i: c for i, c in owners.items() if len(c) > 1}
    ids = binding_ids()
    assert all(isinstance(b, Binding) for b in ids.values())
    doc = (CORE.parent / "docs" / "config.md").read_text(encoding="utf-8")
    missing = [i for i in ids if f"| `{i}` |" not in doc]
    assert not missing, f"add these binding ids to the table in docs/config.md: {missing}"


# -- the TUI displays; the core's call session works the call ----------------------------

# What the TUI may import from the store: the handle and reads. Everything that writes is
# reached through a core service (a call only through calls.session).
STORE_READS = {"Store", "is_locked_error", "get_customer", "count_customers", "tier_counts",
               "database_is_new"}
# Working a call outside the session: never from the TUI.
CALL_WRITES = {
    "calls.calling": None,  # the whole module: the session wraps it
    "calls.queue": {"claim_next", "claim_customer", "renew_claim", "release", "skip_customer"},
    "calls.followups": {"add_followup", "apply_rule_followups"},
}
# Methods that open a transaction or run SQL on a connection.
TRANSACTION_CALLS = {"write", "atomic", "execute", "executemany", "executescript"}


def _imported(path: Path):
    """(module, name or None) for every import in a file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node.module, alias.name


def _tui_offenders(root: Path) -> list[str]:
    offenders = []
    for path in root.rglob("*.py"):
        where = path.relative_to(root.parent)
        for module, name in _imported(path):
            if module == "calls.store" or module.startswith("calls.store."):
                if name is None or name not in STORE_READS:
                    offenders.append(f"{where}: {module}.{name or '*'}")
            elif module in CALL_WRITES:
                banned = CALL_WRITES[module]
                if banned is None or name is None or name in banned:
                    offenders.append(f"{where}: {module}.{name or '*'}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TRANSACTION_CALLS):
                offenders.append(f"{where}:{node.lineno}: .{node.func.attr}()")
    return offenders


def test_tui_opens_no_transaction_and_calls_no_store_write():
    offenders = _tui_offenders(TUI)
    assert not offenders, offenders


def test_the_tui_check_catches_a_screen_that_writes(tmp_path):
    bad = tmp_path / "tui"
    bad.mkdir()
    (bad / "screen.py").write_text(
        "from calls.store.scripts import save_answer\n"
        "from calls.queue import claim_next, build_queue\n"
        "def f(store):\n    with store.write():\n        pass\n", encoding="utf-8")
    found = " ".join(_tui_offenders(bad))
    assert "calls.store.scripts.save_answer" in found
    assert "calls.queue.claim_next" in found and "build_queue" not in found
    assert ".write()" in found


def test_tui_css_lives_in_tcss_files():
    """Styles are in ``tui/**/*.tcss`` (CSS_PATH), never inline ``DEFAULT_CSS``/``CSS``."""
    offenders = []
    for path, tree in _tui_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id in ("DEFAULT_CSS", "CSS") for t in node.targets):
                offenders.append(f"{path.relative_to(TUI.parent)}:{node.lineno}")
    assert not offenders, offenders


# -- the store is the bottom layer -----------------------------------------------------

# Leaf modules the store may use: they import nothing of calls/ at module level.
# "calls" itself: the package's __version__, which the store writes into carecall_meta.
STORE_MAY_IMPORT = {"calls", "calls.errors", "calls.clock", "calls.models", "calls.outcomes",
                    "calls.config"}
# Known debts, to be turned round (the store asks the audit area for the OS login; the
# login should reach the store as an argument): listed so that no new one creeps in.
STORE_KNOWN_DEBTS = {("calls/store/imports.py", "calls.audit"),
                     ("calls/store/scripts.py", "calls.audit")}


def test_the_store_imports_no_other_area():
    offenders = []
    for path in sorted((CORE / "store").rglob("*.py")):
        where = str(path.relative_to(CORE.parent))
        for module, _name in _imported(path):
            if not module.startswith("calls") or module.startswith("calls.store"):
                continue
            if module in STORE_MAY_IMPORT or (where, module) in STORE_KNOWN_DEBTS:
                continue
            offenders.append(f"{where}: {module}")
    assert not offenders, offenders
