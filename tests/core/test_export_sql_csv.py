"""The CSV lines SQLite builds (calls.export.sql_csv_chunks, the path of a large calls
export) equal the plain path's (Python per row: RowShaper) byte for byte: across every
offset change of zones with DST, :30 and :45 offsets and a half-hour change, odd text in
moment columns, formula cells, cells to quote, numbers and blobs where text belongs,
customers without a zone or missing, ids with gaps; on one connection and several, in
chunks of any size, with --since/--until; on one snapshot while another connection
writes; and the plain path wherever the SQL one cannot have a snapshot."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from datetime import date, timedelta

import pytest

from calls import export
from calls.export import export_table, sql_csv_chunks
from calls.reports import day_start
from calls.store import Store
from calls.store import export as store_export
from calls.store import reports as store_reports
from tests.core.test_export_local_times import ODD, ZONES, _changes, _moments_around
from tests.core.test_export_safe import HOSTILE, PLAIN

QUOTING = ['said "hi", then left', "a,b", "line\nbreak", "cr\rhere", '"', ",", "é ü 中"]


def _plain(store, table="calls", **kw) -> str:
    """The export through the plain path (the SQL one refused by its row threshold)."""
    saved = export.SQL_CSV_MIN_ROWS
    export.SQL_CSV_MIN_ROWS = float("inf")
    try:
        buf = io.StringIO()
        count = export_table(store, table, buf, fmt="csv", **kw)
    finally:
        export.SQL_CSV_MIN_ROWS = saved
    return buf.getvalue(), count


def _sql(store, *, workers=2, chunk=7, start=None, end=None) -> tuple[str, int]:
    """The same export built by SQLite, ``workers`` connections, ``chunk`` rows a range."""
    saved = export.SQL_CSV_CHUNK_ROWS
    export.SQL_CSV_CHUNK_ROWS = chunk
    try:
        built = sql_csv_chunks(store, "calls", start, end, workers=workers, min_rows=0)
        assert built is not None
        count, columns, chunks = built
        text = ",".join(columns) + "\r\n" + "".join(chunks)
    finally:
        export.SQL_CSV_CHUNK_ROWS = saved
    return text, count


def _customer(store, ref, zones, **more):
    return store.db["customers"].insert({
        "ref": ref, "name": str(ref), "phone": "+12025550100",
        "time_zones": zones if zones is None or isinstance(zones, str) else json.dumps(zones),
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        **more}).last_pk


@pytest.fixture
def odd_calls(store):
    """Calls of customers in every zone of the local-times tests (moments at and around
    each offset change 2025-2027, odd text), customers with a zone list that names no
    zone, no list, a second zone only, refs to quote and neutralise, and calls with
    text to quote and neutralise, numbers where text belongs, callbacks years out."""
    rng = random.Random(18)
    ids = {zone: _customer(store, f"R{i}", [zone]) for i, zone in enumerate(ZONES)}
    odd_customers = [
        _customer(store, HOSTILE[0], ["Mars/Olympus"]),            # no such zone
        _customer(store, 'ref "with", quotes', None),               # no zone list
        _customer(store, "-12.5", ["Nowhere/Else", "Europe/Paris"]),  # the second zone
        _customer(store, "", "not json"),
        _customer(store, "+12025550100", "[]"),
    ]
    texts = HOSTILE + PLAIN + QUOTING + [None]
    rows = []
    for zone in ZONES:
        moments = _moments_around(_changes(zone, 2025, 2027), rng)
        picks = rng.sample(moments, min(len(moments), 30)) + rng.sample(ODD, 4)
        for moment in picks:
            rows.append({
                "customer_id": ids[zone], "caller": rng.choice(texts) or "ann",
                "reason": rng.choice(texts), "started_at": moment,
                "connected_at": rng.choice([moment, None, rng.choice(picks)]),
                "ended_at": rng.choice(picks + [None, ""]),
                "outcome": rng.choice(["completed", "busy", None, "=odd"]),
                "callback_at": rng.choice([None, rng.choice(ODD), rng.choice(picks),
                                           "2031-06-01T12:00:00Z", "1999-12-31T23:59:59Z",
                                           "0999-01-01T00:00:00Z"]),
                "callback_personal": rng.choice([None, 0, 1]),
                "notes": rng.choice(texts), "purpose": rng.choice(texts),
                "recording_ok": rng.choice([None, "yes", "=no"]),
            })
    for cid in odd_customers:
        for text in texts[:6]:
            rows.append({"customer_id": cid, "caller": "bob", "reason": text,
                         "started_at": "2026-03-29T01:30:00Z",
                         "ended_at": "2026-03-29T01:35:00Z", "outcome": "completed"})
    store_reports.insert_calls(store, rows)
    conn = store.db.conn
    conn.commit()
    conn.execute("PRAGMA foreign_keys=OFF")
    # numbers and blobs in columns of text, a real where integers go, a gap in the ids, a
    # call whose customer is gone
    conn.execute("INSERT INTO calls (id, customer_id, caller, reason, started_at, notes, "
                 "script_id, callback_personal) VALUES (100000, ?, 5, 2.5, "
                 "'2026-03-12T11:00:00Z', -7, 1.5, 0.30000000000000004)", (ids["UTC"],))
    conn.execute("INSERT INTO calls (id, customer_id, caller, reason, started_at, outcome) "
                 "VALUES (100001, ?, X'3d31', X'00ff', '2026-03-12T11:00:00Z', X'6f6b')",
                 (ids["UTC"],))
    conn.execute("INSERT INTO calls (id, customer_id, caller, started_at) "
                 "VALUES (100005, 999999, 'ann', '2026-03-12T11:00:00Z')")
    conn.commit()
    conn.execute("PRAGMA foreign_keys=ON")
    return store


@pytest.mark.parametrize("workers, chunk", [(1, 1), (1, 10_000), (2, 7), (3, 50)])
def test_sql_lines_equal_the_plain_path(odd_calls, workers, chunk):
    plain, count = _plain(odd_calls)
    assert count > 1000 and plain.count("\r\n") > count
    assert _sql(odd_calls, workers=workers, chunk=chunk) == (plain, count)


def _python_calls(store) -> list[str]:
    """The Python functions the SQL path called while building the calls export."""
    calls = []
    functions = store_export.sql_csv_prepare

    def counted(name, function):
        def call(*args):
            calls.append(name)
            return function(*args)
        return call

    def counting(conn, funcs):
        return functions(conn, {name: (n, counted(name, f)) for name, (n, f) in funcs.items()})

    store_export.sql_csv_prepare = counting
    try:
        _sql(store, workers=1, chunk=100)
    finally:
        store_export.sql_csv_prepare = functions
    return calls


def test_the_fixture_takes_every_way_through_the_sql(odd_calls):
    """The cases the SQL hands to Python are in the data: hours with an offset change,
    part-hour zones, odd moments, cells to quote or neutralise, non-text cells."""
    assert {"py_cell", "py_text", "py_local"} <= set(_python_calls(odd_calls))


def test_ordinary_calls_need_no_python_per_row(store):
    """Whole-hour zones (DST days included), plain text, calls across a year and a
    callback weeks later: every line is SQLite's alone."""
    ids = [_customer(store, f"C{n}", [zone]) for n, zone in enumerate(
        ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"])]
    rows = []
    for day in range(0, 400, 3):
        for n, cid in enumerate(ids):
            moment = f"2025-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T{n * 5:02d}:{n:02d}:07Z"
            rows.append({"customer_id": cid, "caller": f"caller{n}", "reason": "care",
                         "started_at": moment, "connected_at": moment, "ended_at": moment,
                         "callback_at": "2026-02-01T09:00:00Z" if n == 2 else None,
                         "outcome": "completed", "notes": "fine thanks"})
    store_reports.insert_calls(store, rows)
    assert _python_calls(store) == []
    assert _sql(store, workers=2, chunk=50) == _plain(store)


@pytest.mark.parametrize("since, until", [("2026-01-01", None), (None, "2026-03-29"),
                                          ("2025-10-26", "2026-11-01")])
def test_sql_lines_with_since_and_until(odd_calls, since, until):
    kw = {"since": date.fromisoformat(since) if since else None,
          "until": date.fromisoformat(until) if until else None}
    plain, count = _plain(odd_calls, **kw)
    start = f"{since}T00:00:00Z" if since else None
    end = None
    if until:
        end = day_start(kw["until"] + timedelta(days=1))
    assert count > 100
    # many calls share a start moment: ranges of one value
    for chunk in (1, 3, 1000):
        assert _sql(odd_calls, workers=2, chunk=chunk, start=start, end=end) == (plain, count)


def test_export_table_takes_the_sql_path_for_large_calls_exports(odd_calls, monkeypatch):
    plain, count = _plain(odd_calls)
    monkeypatch.setattr(export, "SQL_CSV_MIN_ROWS", 10)
    monkeypatch.setattr(export, "SQL_CSV_CHUNK_ROWS", 100)
    monkeypatch.setattr(export, "sql_workers", lambda: 2)
    taken = []
    real = export.sql_csv_chunks
    monkeypatch.setattr(export, "sql_csv_chunks",
                        lambda *a, **kw: taken.append(r := real(*a, **kw)) or r)
    buf = io.StringIO()
    seen = []
    assert export_table(odd_calls, "calls", buf, fmt="csv", progress=seen.append,
                        total=seen.append) == count
    assert taken and taken[0] is not None
    assert buf.getvalue() == plain
    assert seen[0] == count and sum(seen[1:]) == count


def test_one_snapshot_while_another_connection_writes(odd_calls, db_path):
    """Rows written after the export started are not in it, rows changed are as they
    were: every connection reads the snapshot of the moment the export began."""
    plain, count = _plain(odd_calls)
    saved = export.SQL_CSV_CHUNK_ROWS
    export.SQL_CSV_CHUNK_ROWS = 50
    try:
        built = sql_csv_chunks(odd_calls, "calls", None, None, workers=3, min_rows=0)
    finally:
        export.SQL_CSV_CHUNK_ROWS = saved
    got_count, columns, chunks = built
    first = next(chunks)
    other = Store.open(db_path)
    with other.write():
        other.db.conn.execute("UPDATE calls SET notes = 'changed' WHERE id > 10")
        other.db.conn.execute("UPDATE customers SET ref = 'moved' || id, time_zones = NULL")
        other.db.conn.execute("INSERT INTO calls (customer_id, caller, started_at) "
                              "VALUES (1, 'late', '2026-03-12T11:00:00Z')")
    other.close()
    text = ",".join(columns) + "\r\n" + first + "".join(chunks)
    assert (text, got_count) == (plain, count)
    assert _plain(odd_calls)[1] == count + 1


def test_no_snapshot_no_sql_path(odd_calls, monkeypatch):
    """Inside a transaction, on an in-memory database, under a writer that holds the
    lock, below the row threshold, for another table: the plain path (None)."""
    monkeypatch.setattr(export, "sql_workers", lambda: 2)
    with odd_calls.reading():
        assert sql_csv_chunks(odd_calls, "calls", None, None, min_rows=0) is None
    assert sql_csv_chunks(odd_calls, "calls", None, None) is None      # too few rows
    assert sql_csv_chunks(odd_calls, "answers", None, None, min_rows=0) is None
    memory = Store.open(":memory:")
    assert sql_csv_chunks(memory, "calls", None, None, min_rows=0) is None
    writer = sqlite3.connect(odd_calls.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store_export, "_SNAPSHOT_LOCK_SECONDS", 0.05)
    try:
        assert sql_csv_chunks(odd_calls, "calls", None, None, min_rows=0) is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    built = sql_csv_chunks(odd_calls, "calls", None, None, min_rows=0)
    assert built is not None
    built[2].close()


def test_closing_early_closes_the_connections(odd_calls):
    import threading

    before = threading.active_count()
    saved = export.SQL_CSV_CHUNK_ROWS
    export.SQL_CSV_CHUNK_ROWS = 5
    try:
        _count, _columns, chunks = sql_csv_chunks(odd_calls, "calls", None, None,
                                                  workers=2, min_rows=0)
    finally:
        export.SQL_CSV_CHUNK_ROWS = saved
    next(chunks)
    chunks.close()
    assert threading.active_count() == before
    # the store's own connection can write at once (no reader left in a transaction
    # matters for WAL, but no connection is left open either)
    with odd_calls.write():
        odd_calls.db.conn.execute("UPDATE calls SET notes = 'x' WHERE id = 1")


@pytest.mark.parametrize("cores, load, workers", [
    (2, 0.1, 2), (2, 0.8, 1), (2, 5.0, 1), (8, 0.0, 4), (8, 5.2, 3), (1, 0.0, 1)])
def test_connections_for_the_cores_left_free(monkeypatch, cores, load, workers):
    """One connection always (it builds while the main thread writes), more for the
    cores the load average leaves free of those this process may use, at most 4."""
    monkeypatch.setattr(export.os, "sched_getaffinity", lambda pid: set(range(cores)),
                        raising=False)
    monkeypatch.setattr(export.os, "getloadavg", lambda: (load, load, load))
    assert export.sql_workers() == workers
