"""Order lines: cancellations, duplicates, unknown customers, ids, windows, tiers, reasons."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from calls.errors import UserError
from calls.ingest.customers import ImportOptions, import_customers
from calls.ingest.orders import OrderImportOptions, detect_order_columns, import_orders
from calls.orders import purchase_reason, window_start
from calls.store.customers import get_customer

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def write(path: Path, header, rows) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def customers(store, tmp_path, refs, revenue=None):
    rows = [[ref, f"Customer {ref}", f"020 7946 {i:04d}", "" if revenue is None else revenue]
            for i, ref in enumerate(refs)]
    path = write(tmp_path / f"c{len(refs)}-{refs[0]}.csv", ["Customer ID", "Name", "Phone",
                                                            "Revenue"], rows)
    return import_customers(store, path, ImportOptions(region="GB"), NOW)


def fig(store, ref):
    return store.one(
        "SELECT tier, revenue_12m, revenue_lifetime, order_count, first_purchase, "
        "last_purchase, avg_order_interval_days FROM customers WHERE ref = ?", (ref,))


def test_real_uci_sample(store, tmp_path):
    customers(store, tmp_path, ["17850", "14527", "17548"])
    r = import_orders(store, DATA / "uci_retail_sample.csv", None, NOW)
    # 14 lines: 1 exact duplicate, 2 without a customer id, 11 distinct stored lines.
    assert (r.rows_read, r.added, r.pending, r.duplicates, r.no_customer, r.rejected) == (
        14, 11, 0, 1, 2, 0)
    assert r.rows_read == r.added + r.pending + r.existing + r.duplicates + r.no_customer + (
        r.rejected)
    assert r.cancellations == 3
    assert r.columns["amount"] == "TotalPrice"
    f = fig(store, "17850")
    # US-style 2-digit-year dates: 12/1/10 is 1 December 2010.
    assert (f["first_purchase"], f["last_purchase"], f["order_count"]) == (
        "2010-12-01", "2010-12-01", 2)
    assert f["revenue_lifetime"] == pytest.approx(15.3 + 20.34 + 22 + 20.34 * 2 + 15.3 + 25.5
                                                  + 11.1)
    assert f["revenue_12m"] == 0            # 2010 is long before 2026
    # A customer with only credit notes has negative revenue and no orders.
    c = fig(store, "17548")
    assert c["revenue_lifetime"] == pytest.approx(-26.76)
    assert (c["order_count"], c["first_purchase"]) == (0, None)
    assert store.scalar("SELECT count(*) FROM order_lines WHERE cancellation = 1") == 3


def test_pandas_float_ids_and_iso_datetimes(store, tmp_path):
    customers(store, tmp_path, ["12923", "15594"])
    r = import_orders(store, DATA / "uci_retail_pandas_sample.csv", None, NOW)
    assert (r.added, r.pending, r.no_customer, r.zero_price) == (2, 3, 1, 0)
    assert store.scalar(
        "SELECT ordered_at FROM order_lines WHERE customer_ref = '12923'") == "2011-10-06 16:20:00"
    assert fig(store, "12923")["revenue_lifetime"] == pytest.approx(8.3)


def test_unknown_customers_wait_and_attach_on_customer_import(store, tmp_path):
    path = write(tmp_path / "o.csv", ["Order", "Customer", "Date", "Qty", "Price"],
                 [["1", "A1", "2026-03-01", "2", "50"], ["2", "B2", "2026-02-01", "1", "10"]])
    r = import_orders(store, path, None, NOW)
    assert (r.added, r.pending, r.pending_total) == (0, 2, 2)
    cust = customers(store, tmp_path, ["A1"])
    assert cust.orders_attached == 1
    a1 = fig(store, "A1")
    assert (a1["revenue_12m"], a1["order_count"], a1["last_purchase"]) == (100, 1, "2026-03-01")
    assert store.scalar("SELECT count(*) FROM order_lines WHERE customer_id IS NULL") == 1
    # Importing the same orders again changes nothing; B2's line is still waiting.
    again = import_orders(store, path, None, NOW)
    assert (again.added, again.pending, again.existing) == (0, 0, 2)
    assert again.pending_total == 1


def test_reimport_and_overlapping_newer_export(store, tmp_path):
    customers(store, tmp_path, ["A1"])
    header = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]
    old = [["10", "A1", "2026-01-05", "1", "100"], ["11", "A1", "2026-02-05", "1", "100"]]
    import_orders(store, write(tmp_path / "old.csv", header, old), None, NOW)
    newer = old[1:] + [["12", "A1", "2026-03-05", "2", "100"]]
    r = import_orders(store, write(tmp_path / "new.csv", header, newer), None, NOW)
    assert (r.added, r.existing) == (1, 1)
    f = fig(store, "A1")
    assert (f["order_count"], f["revenue_12m"], f["first_purchase"], f["last_purchase"]) == (
        3, 400, "2026-01-05", "2026-03-05")
    assert f["avg_order_interval_days"] == pytest.approx(29.5)  # (59 days) / 2 gaps
    dry = import_orders(store, write(tmp_path / "n2.csv", header, newer),
                        OrderImportOptions(dry_run=True), NOW)
    assert (dry.added, dry.existing) == (0, 2)


def test_twelve_month_window_edges(store, tmp_path):
    customers(store, tmp_path, ["W"])
    start = window_start(NOW)          # 2025-03-10: orders after it count
    assert start == date(2025, 3, 10)
    rows = [["1", "W", "2025-03-10", "1", "1000"],   # exactly 365 days ago: out
            ["2", "W", "2025-03-11", "1", "100"],    # 364 days ago: in
            ["3", "W", "2026-03-10", "1", "10"]]     # today: in
    import_orders(store, write(tmp_path / "w.csv", ["Order", "Customer", "Date", "Qty", "Price"],
                               rows), None, NOW)
    f = fig(store, "W")
    assert (f["revenue_12m"], f["revenue_lifetime"]) == (110, 1110)
    # A shorter policy window.
    import_orders(store, write(tmp_path / "w2.csv", ["Order", "Customer", "Date", "Qty",
                                                     "Price"], rows[:1]),
                  OrderImportOptions(revenue_window_days=30), NOW)
    assert fig(store, "W")["revenue_12m"] == 10


def test_tiers_follow_12_month_revenue_after_orders(store, tmp_path):
    # The list says B is the big customer; the orders of the last year say A is.
    rows = [["A", "Ann", "020 7946 0001", "10"], ["B", "Bob", "020 7946 0002", "900000"],
            ["C", "Cy", "020 7946 0003", "1"]]
    import_customers(store, write(tmp_path / "c.csv", ["id", "name", "phone", "revenue"], rows),
                     ImportOptions(region="GB"), NOW)
    assert get_customer(store, "B").tier == "A"
    orders = [["1", "A", "2026-01-10", "1", "9000"], ["2", "B", "2026-01-10", "1", "100"],
              ["3", "C", "2026-01-10", "1", "900"], ["4", "B", "2024-01-10", "1", "50000"]]
    import_orders(store, write(tmp_path / "o.csv", ["Order", "Customer", "Date", "Qty", "Price"],
                               orders), None, NOW)
    assert {c: get_customer(store, c).tier for c in "ABC"} == {"A": "A", "B": "C", "C": "B"}


def test_prices_quantities_and_bad_lines(store, tmp_path):
    customers(store, tmp_path, ["A1"])
    header = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice", "Currency"]
    rows = [
        ["B1", "A1", "2026-03-01", "1", "-11062.06", "GBP"],   # bad-debt adjustment: rejected
        ["5", "A1", "2026-03-01", "3", "0", "GBP"],            # free item: kept, reported
        ["6", "A1", "not a date", "1", "2", "GBP"],
        ["7", "A1", "2026-03-02", "lots", "2", "GBP"],
        ["8", "A1", "2026-03-02", "2", "1.234,50", "eur"],      # decimal comma
        ["C9", "A1", "2026-03-03", "1", "5", "EUR"],            # cancellation by number only
    ]
    out = tmp_path / "rej.csv"
    r = import_orders(store, write(tmp_path / "p.csv", header, rows),
                      OrderImportOptions(rejects_path=out), NOW)
    assert (r.rejected, r.negative_price, r.zero_price, r.added, r.cancellations) == (
        3, 1, 1, 3, 1)
    reasons = [row["reason"] for row in csv.DictReader(out.open())]
    assert "negative price" in reasons[0]
    assert "InvoiceDate" in reasons[1] and "Quantity" in reasons[2]
    assert out.stat().st_mode & 0o777 == 0o600
    amounts = dict(store.db.conn.execute("SELECT order_no, amount FROM order_lines"))
    assert amounts == {"5": 0, "8": 2469.0, "C9": -5}
    assert store.scalar("SELECT currency FROM order_lines WHERE order_no = '8'") == "EUR"
    assert store.scalar("SELECT count(*) FROM rejects") == 3


def test_columns_and_map():
    cols = detect_order_columns(["Invoice", "Customer ID", "Invoice Date", "Qty", "Price"])
    assert cols == {"order_no": "Invoice", "customer_ref": "Customer ID",
                    "date": "Invoice Date", "quantity": "Qty", "unit_price": "Price"}
    with pytest.raises(UserError, match="no customer_ref / date / unit_price or amount"):
        detect_order_columns(["Foo", "Bar"])
    with pytest.raises(UserError, match="unknown field 'client'"):
        detect_order_columns(["Foo"], {"client": "Foo"})
    cols = detect_order_columns(["Kunde", "Tag", "Summe"], {"customer_ref": "Kunde",
                                                            "date": "Tag", "amount": "Summe"})
    assert cols["amount"] == "Summe"


def test_purchase_reason():
    now = NOW
    assert purchase_reason(date(2026, 3, 1), 30, 5, now) == "thank_you"
    assert purchase_reason(date(2026, 2, 24), 30, 5, now) == "thank_you"   # 14 days
    assert purchase_reason(date(2026, 2, 23), 30, 5, now) is None          # 15 days
    assert purchase_reason(date(2025, 12, 1), 30, 5, now) == "at_risk"     # 99 > 2 x 30
    assert purchase_reason(date(2026, 1, 9), 30, 5, now) is None           # 60 = 2 x 30
    assert purchase_reason(date(2026, 1, 8), 30, 5, now) == "at_risk"      # 61
    assert purchase_reason(date(2025, 1, 1), None, 1, now) is None         # no rhythm yet
    assert purchase_reason(None, None, 0, now) is None
    assert purchase_reason(date(2026, 3, 1), 30, 5, now, thank_you_days=3) is None
    assert purchase_reason(date(2026, 1, 20), 30, 5, now, at_risk_factor=1.5) == "at_risk"


def test_migration_keeps_lines_stored_under_the_old_hash(tmp_path):
    """orders_0002 re-keys lines by the first 8 bytes of their old 12-byte hex hash, which
    is the key a re-import computes: nothing is stored twice."""
    import hashlib
    import sqlite3

    import sqlite_utils

    from calls.ingest.orders import line_key
    from calls.store import Store
    from calls.store.schema import migrations

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(path))
    later = [m.name for m in migrations._migrations if m.name == "orders_0002_order_lines_keyed_by_hash"]
    migrations.apply(db, stop_before=later)
    text = "K1\x1f100\x1f2026-01-05 00:00:00"
    old_hex = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    db.execute(
        "INSERT INTO order_lines (customer_ref, order_no, ordered_at, order_date, amount, "
        "line_hash) VALUES ('K1', '100', '2026-01-05 00:00:00', '2026-01-05', 5, ?)", [old_hex])
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.scalar("SELECT line_key FROM order_lines") == line_key(text)
        assert store.scalar("SELECT amount FROM order_lines") == 5


def test_reimport_counts_repeats_across_chunks_as_duplicates(store, tmp_path, monkeypatch):
    """Imported again, a file's repeated lines are still its duplicates (not 'already
    stored'), also when a repeat falls in a later chunk than its first copy."""
    import calls.ingest.orders as orders_module

    customers(store, tmp_path, ["A1", "A2"])
    header = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]
    rows = [[str(100 + i), "A1" if i % 2 else "A2", f"2026-01-{1 + i % 28:02d}", "1", "10"]
            for i in range(40)]
    rows += [rows[3], rows[30], rows[30]]            # repeats, far from their first copy
    path = write(tmp_path / "o.csv", header, rows)
    small = orders_module.table_chunks
    monkeypatch.setattr(orders_module, "table_chunks", lambda table, _rows: small(table, 2))
    first = import_orders(store, path, OrderImportOptions(workers=1), NOW)
    assert (first.added, first.existing, first.duplicates) == (40, 0, 3)
    again = import_orders(store, path, OrderImportOptions(workers=1), NOW)
    assert (again.added, again.existing, again.duplicates) == (0, 40, 3)
    dry = import_orders(store, path, OrderImportOptions(dry_run=True, workers=1), NOW)
    assert (dry.added, dry.existing, dry.duplicates) == (0, 40, 3)
