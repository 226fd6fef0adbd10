"""Property: importing arbitrary order lines never raises and every line is accounted for."""

from __future__ import annotations

import csv
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.ingest.customers import ImportOptions, import_customers
from calls.ingest.orders import OrderImportOptions, import_orders
from calls.store import Store
from tests.conftest import FIXED_NOW

HEADER = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice", "Currency"]
cell = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "C1", "C2", "12923.0", "C536379", "536365", "2026-01-05",
                     "12/1/10 8:26", "-1", "3", "2.55", "0", "-11062.06", "1,5", "EUR"]),
)
_counter = itertools.count()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=7), max_size=20),
       dry=st.booleans())
def test_orders_import_accounts_for_every_line(tmp_path, rows, dry):
    n = next(_counter)
    path = tmp_path / f"o{n}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    people = tmp_path / f"c{n}.csv"
    people.write_text("id,phone\nC1,(212) 555-0100\n12923,(212) 555-0101\n")
    with Store.open(tmp_path / f"db{n}.sqlite") as store:
        import_customers(store, people, ImportOptions(), FIXED_NOW)
        for _ in range(2):
            r = import_orders(store, path, OrderImportOptions(dry_run=dry), FIXED_NOW)
            assert r.rows_read == (r.added + r.pending + r.existing + r.duplicates
                                   + r.no_customer + r.rejected)
        if not dry:
            assert r.added == 0 and r.pending == 0   # the second run stored nothing new
