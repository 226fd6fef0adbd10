"""Property: importing arbitrary text rows never raises, and the counts always add up."""

from __future__ import annotations

import csv
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.ingest.customers import ImportOptions, import_customers
from calls.store import Store
from tests.conftest import FIXED_NOW

HEADER = ["id", "name", "phone", "country", "revenue", "birthday", "last purchase", "notes"]

# Cells mixing junk with values that parse, so rows land in every bucket.
cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "C1", "C2", "(212) 555-0100", "+44 20 8366 1177", "-4396", "US",
                     "Germany", "1,234.50", "abc", "2020-02-30", "14.03.1975", "x" * 3]),
)
row = st.lists(cell, min_size=0, max_size=len(HEADER) + 2)
_counter = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=25))
def test_import_never_raises_and_counts_add_up(tmp_path, rows):
    n = next(_counter)
    path = tmp_path / f"list{n}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    with Store.open(tmp_path / f"db{n}.sqlite") as store:
        for _ in range(2):  # the second run exercises updates / unchanged
            r = import_customers(store, path, ImportOptions(), FIXED_NOW)
            assert r.inserted + r.updated + r.unchanged + r.rejected + r.duplicates == r.rows_read
            assert r.rows_read <= len(rows)
        assert r.inserted == 0 and r.updated == 0
