"""Filling a call's recorded local times in bulk (the migration's backfill, history
written in one go) keeps nothing in the process's conversion cache: a seat whose start
migrated a 100,000-customer database held every hour of every zone of the whole history
all shift (issue 18: a seat's memory; Anonymous after start 84.7 against 40.9 MB)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

from calls.localtime import LocalTimes
from calls.store import reports as store_reports
from calls.store.calls import RECORDED, fill_recorded
from tests.core.test_export_recorded import _export, _unrecorded, zoned  # noqa: F401

START = datetime(2026, 1, 1, tzinfo=UTC)


def _hours_cached() -> int:
    """Hours held by every conversion cache alive in the process (the process's own
    converter, ``q._LOCAL``, holds none: it converts exactly)."""
    gc.collect()
    return sum(len(cache) for o in gc.get_objects() if isinstance(o, LocalTimes)
               for cache in o._zones.values())


def test_bulk_fills_leave_the_process_cache_as_it_was(zoned):  # noqa: F811
    store, ids = zoned
    before = _hours_cached()
    rows = [{"customer_id": cid, "caller": "ann", "outcome": "completed",
             "started_at": (START + timedelta(hours=7 * i + n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "ended_at": (START + timedelta(hours=7 * i + n, minutes=5)).strftime(
                 "%Y-%m-%dT%H:%M:%SZ")}
            for n, cid in enumerate(ids.values()) for i in range(40)]
    store_reports.insert_calls(store, rows)           # history in one go
    assert _unrecorded(store) == 0
    expected = _export(store, fresh=True)
    with store.write():
        store.db.conn.execute(f"UPDATE calls SET {', '.join(f'{c} = NULL' for c in RECORDED)}")
        assert fill_recorded(store.db.conn, chunk=50) == len(rows)   # the backfill
    assert _unrecorded(store) == 0 and _export(store) == expected
    assert _hours_cached() == before
