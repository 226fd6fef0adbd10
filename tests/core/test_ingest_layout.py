"""The ingest package: its modules stack without a cycle, and its fast paths equal the plain ones."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import calls.ingest

# Lowest first: a module may import only the ones before it (and the core outside ingest).
LAYERS = ["values", "phones", "readers", "tiers", "pipeline", "customers", "orders"]
# What the package may use from the rest of the core: never the UI, the queue or a call.
# calls.outfile and calls.sheets: the one way to write a file and its cells; calls.language:
# how lists spell languages and salutations (leaf modules); calls.audit: who ran an import
# started without an account (the OS login; the store records it, never guesses it);
# calls.rules: the law's data (a leaf module: which zones a toll-free number rings in)
OUTSIDE = {"calls.clock", "calls.errors", "calls.store", "calls.orders", "calls.outfile",
           "calls.sheets", "calls.language", "calls.audit", "calls.rules"}
# ``from calls import __version__``: the package itself (its version) is fine too.
PACKAGE = "calls"


def _calls_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("calls"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("calls"))
    return found


def test_ingest_modules_import_only_lower_layers():
    folder = Path(calls.ingest.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
    assert modules == sorted(LAYERS)
    for name in LAYERS:
        allowed = {f"calls.ingest.{lower}" for lower in LAYERS[: LAYERS.index(name)]}
        for module in _calls_imports(folder / f"{name}.py"):
            inside = module in allowed
            outside = any(module == o or module.startswith(o + ".") for o in OUTSIDE)
            assert inside or outside or module == PACKAGE, f"calls/ingest/{name}.py imports {module}"


def test_purchase_figures_do_not_import_the_importers():
    path = Path(calls.ingest.__file__).parent.parent / "orders.py"
    assert not any(m.startswith("calls.ingest") for m in _calls_imports(path))


def test_forked_order_preparation_equals_the_plain_path(tmp_path):
    """Worker processes (measured in scripts/bench_orders.py) prepare exactly what the same
    function prepares in this process."""
    from calls.ingest.orders import _OrderConfig, _prepare_orders, detect_order_columns
    from calls.ingest.pipeline import prepare_in_chunks, table_chunks
    from calls.ingest.readers import read_table

    path = tmp_path / "orders.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
        for i in range(3000):
            w.writerow([f"{'C' if i % 97 == 0 else ''}{5000 + i // 3}", f"K{i % 40}",
                        f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}", str(1 + i % 5),
                        "abc" if i % 500 == 7 else f"{(i % 13) * 1.25}"])
    table = read_table(path)
    columns = detect_order_columns(table.headers)
    config = _OrderConfig(columns=columns, day_first=False, headers=tuple(table.headers),
                          customer_ids={"K1": 1})

    def run(workers: int) -> list:
        out = []
        for prepared in prepare_in_chunks(table_chunks(table, 200), _prepare_orders, config,
                                          workers):
            out.append((prepared.rows, prepared.rejects, prepared.no_customer,
                        prepared.cancellations, prepared.zero_price))
        return out

    plain = run(1)
    assert sum(len(chunk[0]) for chunk in plain) == 2994
    assert run(2) == plain


def test_forked_customer_preparation_equals_the_plain_path(tmp_path):
    from calls.ingest.customers import _Config, _prepare_any, detect_columns
    from calls.ingest.pipeline import prepare_in_chunks, table_chunks
    from calls.ingest.readers import read_table

    path = tmp_path / "list.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Customer Id", "Name", "Phone", "Country", "Revenue", "Since"])
        for i in range(3000):
            w.writerow([f"C{i}", f"Name {i}", f"(212) 555-{i:04d}" if i % 300 else "12",
                        ["US", "Germany", ""][i % 3], str(i * 3), f"2020-02-{1 + i % 28:02d}"])
    table = read_table(path)
    columns = detect_columns(table.headers)
    config = _Config(columns=columns, extra_headers=(), region="US", match_on="ref",
                     day_first={}, headers=tuple(table.headers))

    def run(workers: int) -> list:
        return [(p.records, p.rejects, p.phone2_invalid) for p in
                prepare_in_chunks(table_chunks(table, 200), _prepare_any, config, workers)]

    plain = run(1)
    assert sum(len(chunk[0]) for chunk in plain) == 2990
    assert run(2) == plain


def test_a_list_read_again_stays_in_this_process_with_the_same_result(tmp_path, monkeypatch):
    """A re-import whose first chunk is mostly known rows reads the rest in this process
    (no worker pool to start); a new list starts the pool. Same chunks either way."""
    import multiprocessing

    from calls.ingest.pipeline import prepare_in_chunks

    def double(config, chunk):
        return [config * x for x in chunk]

    chunks = [[1, 2], [3], [4, 5]]
    started = []
    real = multiprocessing.get_context

    def spy(method=None):
        started.append(method)
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", spy)
    serial = list(prepare_in_chunks(chunks, double, 2, 2, lambda first: True))
    assert serial == [[2, 4], [6], [8, 10]] and started == []
    pooled = list(prepare_in_chunks(chunks, double, 2, 2, lambda first: False))
    assert pooled == serial and len(started) == 1
    assert list(prepare_in_chunks([], double, 2, 2, lambda first: True)) == []
