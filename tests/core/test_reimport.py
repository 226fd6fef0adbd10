"""Importing a list again: an unchanged file is recognised; a changed one reads only the
rows it does not know, with the result of reading them all."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from calls.cli import app
from calls.ingest.customers import ImportOptions, import_customers
from calls.store import Store
from tests.support.lists import write_list

HEADER = ["Customer Id", "Name", "Phone", "Revenue", "Customer Since", "Notes"]
COLUMNS = ("ref, name, phone, phone_raw, revenue, customer_since, extra, tier, row_hash, "
           "time_zones, country")


def _rows(n: int) -> list[list[str]]:
    return [[f"C{i}", f"Name {i}", f"(212) 555-{i:04d}", str((i * 37) % 900),
             f"2020-01-{1 + i % 28:02d}", 'said "hi"\nthen left' if i % 50 == 3 else ""]
            for i in range(n)]


def _write(path, rows):
    return write_list(path, HEADER, rows)


def _state(store):
    # extra as data: an update writes it through json_patch (compact), an insert as is.
    return [{**row, "extra": json.loads(row["extra"] or "null")}
            for row in store.all(f"SELECT {COLUMNS} FROM customers ORDER BY ref")]


def test_an_unchanged_file_is_recognised_and_recorded(store, now, tmp_path):
    path = _write(tmp_path / "list.csv", [*_rows(60), ["C99", "No phone", "", "1", "", ""]])
    first = import_customers(store, path, ImportOptions(workers=1), now)
    before = _state(store)
    again = import_customers(store, path, ImportOptions(workers=1), now)
    assert again.unchanged_since == first.import_id
    assert (again.rows_read, again.inserted, again.updated, again.unchanged, again.rejected) == (
        61, 0, 0, 60, 1)
    assert [r.line for r in again.rejects] == [64]   # two notes span two lines each
    assert _state(store) == before
    assert store.scalar("SELECT count(*) FROM rejects WHERE import_id = ?",
                        (again.import_id,)) == 1
    # Other options read the file differently: no shortcut then.
    other = import_customers(store, path, ImportOptions(workers=1, region="GB"), now)
    assert other.unchanged_since is None


@pytest.mark.parametrize("workers", [1, 2])
def test_a_changed_file_gives_what_a_full_read_gives(tmp_path, now, workers):
    rows = _rows(2500)   # two chunks: the first is mostly known, the second is read here
    path = _write(tmp_path / "list.csv", rows)
    changed = [list(r) for r in rows]
    changed[10][3] = "12345"                 # a new revenue
    changed[103][5] = 'said "bye"\nand left'  # a multi-line cell changed
    changed.append(["C5", "Name 5 again", "(212) 555-0005", "77", "", ""])   # a repeat
    changed.append(["C9000", "New", "(212) 555-9000", "5", "", ""])           # a new one
    changed.append(["C20", "Bad", "12", "5", "", ""])                         # a reject
    changed_path = _write(tmp_path / "changed.csv", changed)
    with Store.open(tmp_path / "again.db") as store:
        import_customers(store, path, ImportOptions(workers=workers), now)
        skipped = store.scalar("SELECT count(*) FROM customers WHERE source_hash IS NOT NULL")
        assert skipped == 2500
        result = import_customers(store, changed_path, ImportOptions(workers=workers), now)
        assert (result.rows_read, result.inserted, result.updated, result.unchanged,
                result.rejected, result.duplicates) == (2503, 1, 3, 2497, 1, 1)
        again = _state(store)
    with Store.open(tmp_path / "fresh.db") as store:
        import_customers(store, changed_path, ImportOptions(workers=1), now)
        fresh = _state(store)
    assert again == fresh


def test_an_unchanged_order_file_is_recognised(store, now, tmp_path):
    from calls.ingest.orders import OrderImportOptions, import_orders

    import_customers(store, _write(tmp_path / "list.csv", _rows(5)), ImportOptions(), now)
    path = tmp_path / "orders.csv"
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                    "1,C1,2026-01-05,2,10\n2,C2,2026-01-06,1,-5\n3,,2026-01-07,1,5\n"
                    "4,C7,2026-01-08,1,5\n1,C1,2026-01-05,2,10\n")
    first = import_orders(store, path, OrderImportOptions(workers=1), now)
    again = import_orders(store, path, OrderImportOptions(workers=1), now)
    assert again.unchanged_since == first.import_id
    assert (again.rows_read, again.added, again.pending, again.existing, again.duplicates,
            again.no_customer, again.rejected, again.negative_price) == (
        5, 0, 0, 2, 1, 1, 1, 1)
    assert again.rows_read == (again.added + again.pending + again.existing
                               + again.duplicates + again.no_customer + again.rejected)
    assert store.scalar("SELECT count(*) FROM order_lines") == 2
    assert again.pending_total == 1


# A customer of the Datablist sample (datablist_customers-10000.csv, line 3047) and one
# made up without a second number, then as the list comes back from a spreadsheet round
# trip (as in the sample's Excel copy): Excel evaluated the second number
# '+1-270-871-7146' as a formula ('-8286') and rewrote the dates day first.
DATABLIST = ["Index", "Customer Id", "First Name", "Last Name", "Company", "City", "Country",
             "Phone 1", "Phone 2", "Email", "Subscription Date", "Website"]
PRISTINE = [
    ["3046", "fE3dcedce0bb637", "Patrick", "Lucero", "Williams PLC", "Annetteside",
     "Montserrat", "5157952114", "+1-270-871-7146", "marcusgeorge@cortez-york.biz",
     "2021-12-03", "https://foley.info/"],
    ["7", "9b12Ae76fdBc9bE", "Clara", "Diaz", "Moss Ltd", "Leeton", "United States",
     "(212) 555-0107", "", "clara@example.com", "2020-05-04", ""],
]
# Excel's second numbers (a formula's result) and its dates (day first).
ROUND_TRIP = [[*row[:8], phone2, row[9], since, row[11]]
              for row, phone2, since in zip(PRISTINE, ["-8286", "-4396"],
                                            ["03-12-2021", "04-05-2020"], strict=True)]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_damaged_second_number_never_replaces_a_valid_one(store, now, tmp_path, chunked):
    first = write_list(tmp_path / "customers.csv", DATABLIST, PRISTINE)
    import_customers(store, first, ImportOptions(workers=1), now)
    again = write_list(tmp_path / "customers_excel.csv", DATABLIST, ROUND_TRIP)
    dry = import_customers(store, again, ImportOptions(workers=1, dry_run=True), now)
    assert (dry.updated, dry.phone2_invalid, dry.phone2_kept) == (2, 2, 1)
    result = import_customers(store, again, ImportOptions(workers=1, chunked=chunked), now)
    assert (result.updated, result.phone2_invalid, result.phone2_kept) == (2, 2, 1)
    rows = {r["ref"]: r for r in store.all(
        "SELECT ref, phone, phone2, phone2_raw FROM customers ORDER BY ref")}
    # The valid second number and how the list wrote it stay; one never valid is replaced
    # by the list's text, as a first import keeps it.
    assert rows["fE3dcedce0bb637"]["phone2"] == "+12708717146"
    assert rows["fE3dcedce0bb637"]["phone2_raw"] == "+1-270-871-7146"
    assert (rows["9b12Ae76fdBc9bE"]["phone2"], rows["9b12Ae76fdBc9bE"]["phone2_raw"]) == (
        None, "-4396")
    # The card shows both: the valid second number, and the text of one never valid.
    card = " ".join(CliRunner().invoke(app, ["customers", "show", "fE3dcedce0bb637"]).stdout
                    .split())
    assert "Phone +15157952114" in card and "Also +12708717146 (second)" in card
    card = " ".join(CliRunner().invoke(app, ["customers", "show", "9b12Ae76fdBc9bE"]).stdout
                    .split())
    assert "Second number as the list wrote it, not valid: -4396" in card
    assert "Also" not in card
    # A valid new second number still replaces the one on file.
    fixed = [list(r) for r in ROUND_TRIP]
    fixed[0][8] = "+1-270-871-7199"
    third = write_list(tmp_path / "customers_fixed.csv", DATABLIST, fixed)
    result = import_customers(store, third, ImportOptions(workers=1, chunked=chunked), now)
    assert result.phone2_kept == 0
    assert store.scalar("SELECT phone2 FROM customers WHERE ref = 'fE3dcedce0bb637'") == (
        "+12708717199")
