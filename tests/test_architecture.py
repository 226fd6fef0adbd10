"""The core never imports the UI (DESIGN.md: one direction)."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "calls"


def test_core_does_not_import_textual_or_tui():
    """At any depth, function-level imports too: the commands that open the app are an
    area of ``tui`` (``tui/launch_cmd.py``), so no core module needs the UI."""
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE.parent)}:{node.lineno}: {name}"
                          for name in names if name.split(".")[0] in {"textual", "tui"}]
    assert not offenders, offenders


# -- the TUI uses Textual's public API only -------------------------------------------

TUI = CORE.parent / "tui"


def _tui_modules():
    for path in sorted(TUI.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


# The one exception, and why: tui/memory.py drops the cancelled timers CPython's asyncio
# keeps until due (each keeps a closed screen alive), as asyncio's own clean-up does; there
# is no public call for it. asyncio's names, not Textual's.
ASYNCIO_TIMER_QUEUE = {("tui/memory.py", "_scheduled"), ("tui/memory.py", "_timer_cancelled_count")}


def test_tui_reaches_into_no_other_objects_private_names():
    """``x._name`` only on ``self``/``cls``: never Textual's privates (``_check_bindings``,
    ``_forward_event``, ``_bindings``, ``super()._on_key`` …), nor another object's."""
    offenders = []
    for path, tree in _tui_modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and (str(path.relative_to(TUI.parent)), node.attr) not in ASYNCIO_TIMER_QUEUE
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
               "database_is_new", "time_zones_of"}
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
                    "calls.config", "calls.localtime", "calls.records"}


def test_the_store_imports_no_other_area():
    offenders = []
    for path in sorted((CORE / "store").rglob("*.py")):
        where = str(path.relative_to(CORE.parent))
        for module, _name in _imported(path):
            if not module.startswith("calls") or module.startswith("calls.store"):
                continue
            if module in STORE_MAY_IMPORT:
                continue
            offenders.append(f"{where}: {module}")
    assert not offenders, offenders


# -- no import cycle between areas -------------------------------------------------------

# An area is a module directly under calls/ or tui/ (calls/session.py, tui/app.py) or a
# package there, as a whole (calls/store/, calls/ingest/, tui/screens/). Every import
# counts, at any depth: an import inside a function is how a cycle hides, not a way out.


def _area_of_file(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts[:2])


def area_graph(root: Path, packages=("calls", "tui")) -> dict[str, set[str]]:
    """Area -> the other areas it imports, for the packages under ``root``."""
    files: dict[str, list[Path]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            files.setdefault(_area_of_file(root, path), []).append(path)

    def area_of(module: str) -> str | None:
        parts = module.split(".")
        for n in (2, 1):
            if ".".join(parts[:n]) in files:
                return ".".join(parts[:n])
        return None

    graph: dict[str, set[str]] = {area: set() for area in files}
    for area, paths in files.items():
        for path in paths:
            for module, name in _imported(path):
                # "from calls import audit" imports the area calls.audit, not calls.
                target = area_of(f"{module}.{name}") if name else None
                target = target or area_of(module)
                if target is not None and target != area:
                    graph[area].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of areas that import one another round a loop (Tarjan's strongly
    connected components with more than one area), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(area: str) -> None:
        index[area] = low[area] = len(index)
        stack.append(area)
        on_stack.add(area)
        for other in sorted(graph.get(area, ())):
            if other not in index:
                visit(other)
                low[area] = min(low[area], low[other])
            elif other in on_stack:
                low[area] = min(low[area], index[other])
        if low[area] == index[area]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == area:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for area in sorted(graph):
        if area not in index:
            visit(area)
    return sorted(cycles)


def test_no_import_cycle_between_areas():
    graph = area_graph(CORE.parent)
    assert {"calls.store", "calls.session", "calls.ingest", "tui.app", "tui.screens"} <= set(
        graph)
    assert "calls.store" in graph["calls.session"]
    assert import_cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    def write(relative: str, text: str) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    write("calls/__init__.py", "")
    write("calls/store/__init__.py", "from calls.clock import now\n")
    write("calls/clock.py", "def now():\n    from calls import audit\n")
    write("calls/audit.py", "from calls.store import x\n")
    write("calls/lonely.py", "import calls.clock\n")
    write("tui/__init__.py", "")
    write("tui/app.py", "from tui.screens.a import A\n")
    write("tui/screens/a.py", "def f():\n    from tui.app import make_app\n")
    graph = area_graph(tmp_path)
    assert graph["calls.clock"] == {"calls.audit"}          # "from calls import audit"
    assert import_cycles(graph) == [["calls.audit", "calls.clock", "calls.store"],
                                    ["tui.app", "tui.screens"]]
    write("tui/screens/a.py", "def f():\n    pass\n")
    assert import_cycles(area_graph(tmp_path)) == [["calls.audit", "calls.clock",
                                                    "calls.store"]]
