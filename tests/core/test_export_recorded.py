"""What a call row records for the export (calls.store.calls, migration
calls_0003_recorded_for_export): the customer's ref and zone when the call was written and
its moments' local times in that zone. The calls export reads them; the reference is the
export computing them fresh from the customer (``export_table(fresh=True)``, what it did
before). For calls whose customer did not change the two are equal, byte for byte, on
the plain path and the SQL path, in CSV and JSON: at and around every offset change of
2025-2027 in the local-time tests' zones, written through the call session and through
the store's writers. What was recorded stays when the customer changes or is gone; what a
raw write made stale, and what was never recorded, is computed as before."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta

import pytest

from calls import calling, export
from calls.clock import from_iso
from calls.export import export_table
from calls.localtime import LocalTimes
from calls.store import calls as q
from calls.store import reports as store_reports
from calls.store.calls import MOMENTS, RECORDED, fill_recorded
from tests.core.test_export_local_times import ODD, ZONES, _changes, _moments_around


def _export(store, *, fmt="csv", fresh=False, sql=False) -> str:
    """The calls export as text: ``sql`` the path SQLite builds (any row count), else the
    plain path; ``fresh`` each call's ref, zone and local times from its customer now."""
    saved = export.SQL_CSV_MIN_ROWS
    export.SQL_CSV_MIN_ROWS = 0 if sql else float("inf")
    try:
        buf = io.StringIO()
        export_table(store, "calls", buf, fmt=fmt, fresh=fresh)
    finally:
        export.SQL_CSV_MIN_ROWS = saved
    return buf.getvalue()


def _same_as_fresh(store) -> None:
    fresh = _export(store, fresh=True)
    assert fresh.count("\r\n") > 1
    assert _export(store) == fresh
    assert _export(store, sql=True) == fresh
    assert _export(store, fmt="json") == _export(store, fmt="json", fresh=True)


def _unrecorded(store, where: str = "1") -> int:
    """Calls that did not record their zone, or a local time there is (NULL: the export
    computes it itself). A moment whose local time is '' (no zone, text that is no time)
    may be NULL: a raw write cannot be told from a writer's that recorded '' again."""
    local = LocalTimes()
    bad = 0
    for zone, *pairs in store.db.conn.execute(
            f"SELECT time_zone, {', '.join(f'{m}, {m}_local' for m in MOMENTS)} FROM calls "
            f"WHERE {where}"):
        bad += zone is None or any(
            recorded is None and local.convert(zone, moment) != ""
            for moment, recorded in zip(pairs[::2], pairs[1::2]))
    return bad


def _customer(store, ref, zones) -> int:
    return store.db["customers"].insert({
        "ref": ref, "name": str(ref), "phone": "+12025550100",
        "time_zones": zones if zones is None or isinstance(zones, str) else json.dumps(zones),
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}).last_pk


@pytest.fixture
def zoned(store):
    """{zone: customer id} for every zone of the local-time tests, and customers whose
    zone list names no zone, is missing, or names a zone second."""
    ids = {zone: _customer(store, f"R{i}", [zone]) for i, zone in enumerate(ZONES)}
    ids["-"] = _customer(store, "=no zone", ["Mars/Olympus"])
    ids["--"] = _customer(store, 'no "list"', None)
    ids["second"] = _customer(store, "second", ["Nowhere/Else", "Europe/Paris"])
    store.db.conn.commit()
    return store, ids


def _write_calls(store, ids, rng) -> int:
    """Calls written by the store's writers as a shift writes them (start, connect, a
    chosen outcome with a callback, the end), at and around every offset change."""
    n = 0
    for zone, cid in ids.items():
        tz = zone if zone in ZONES else "Europe/Paris"
        moments = _moments_around(_changes(tz, 2025, 2027), rng)
        for moment in rng.sample(moments, min(len(moments), 12)):
            later = rng.choice(moments)
            with store.write():
                call = q.insert_call(store, cid, "ann", moment, None, "care")
                if rng.random() < 0.8:
                    q.set_connected(store, call, rng.choice([moment, later]))
                callback = rng.choice([None, later, rng.choice(ODD)])
                if rng.random() < 0.5:
                    q.set_chosen_outcome(store, call, "callback", callback, True)
                if rng.random() < 0.8:
                    q.end_call(store, call, later, "callback" if callback else "completed",
                               callback, bool(callback), None)
            n += 1
    return n


def test_calls_written_by_the_store_record_what_the_export_computed(zoned):
    store, ids = zoned
    assert _write_calls(store, ids, random.Random(18)) > 400
    assert _unrecorded(store) == 0          # the export reads what was recorded
    _same_as_fresh(store)


def test_calls_of_a_shift_record_what_the_export_computed(zoned):
    """Through the call session's API: start, connected, a callback chosen and recorded."""
    store, ids = zoned
    rng = random.Random(7)
    for zone in ("America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "-", "--"):
        tz = zone if zone in ZONES else "Europe/Paris"
        for moment in rng.sample(_moments_around(_changes(tz, 2026, 2026), rng), 6):
            at = from_iso(moment)
            call = calling.start_call(store, ids[zone], "ann", at)
            calling.mark_connected(store, call, at + timedelta(seconds=30))
            back = at + timedelta(days=rng.choice([1, 40, 200]), minutes=17)
            calling.choose_outcome(store, call, "callback", callback_at=back)
            calling.record_outcome(store, call, "callback", at + timedelta(minutes=4),
                                   callback_at=back)
    assert store.scalar("SELECT count(*) FROM calls WHERE callback_at_local <> '' "
                        "AND ended_at_local <> '' AND connected_at_local <> ''") >= 18
    assert _unrecorded(store) == 0
    _same_as_fresh(store)


def test_history_written_in_bulk_records_them_too(zoned):
    """calls.store.reports.insert_calls (demo history, tests) fills them in."""
    store, ids = zoned
    rng = random.Random(3)
    rows = [{"customer_id": cid, "caller": "bob", "started_at": m,
             "connected_at": rng.choice([m, None]), "ended_at": rng.choice([m, None, ""]),
             "callback_at": rng.choice([None, m] + ODD), "outcome": "completed"}
            for zone, cid in ids.items()
            for m in _moments_around(_changes(zone if zone in ZONES else "UTC", 2026, 2026),
                                     rng)[:8]]
    store_reports.insert_calls(store, rows)
    assert _unrecorded(store) == 0
    _same_as_fresh(store)


def test_what_was_recorded_stays_when_the_customer_changes_or_is_gone(zoned):
    """The ref and zone the call recorded, and its local times in that zone, are kept when
    the customer's number moves to another zone or the customer row is gone; calls
    written afterwards record the new ones; a call never recorded follows the customer."""
    store, ids = zoned
    cid = ids["America/New_York"]
    conn = store.db.conn
    with store.write():
        before = q.insert_call(store, cid, "ann", "2026-03-10T15:00:00Z", None, None)
        gone = q.insert_call(store, ids["Asia/Tokyo"], "ann", "2026-03-10T15:00:00Z", None,
                             None)
    with store.write():
        conn.execute("UPDATE customers SET ref = 'NEW', time_zones = ? WHERE id = ?",
                     (json.dumps(["Europe/Berlin"]), cid))
        after = q.insert_call(store, cid, "ann", "2026-03-10T15:00:00Z", None, None)
        raw = conn.execute("INSERT INTO calls (customer_id, caller, started_at) "
                           "VALUES (?, 'ann', '2026-03-10T15:00:00Z')", (cid,)).lastrowid
    conn.execute("PRAGMA foreign_keys=OFF")
    with store.write():
        conn.execute("DELETE FROM customers WHERE id = ?", (ids["Asia/Tokyo"],))
        lost = conn.execute("INSERT INTO calls (customer_id, caller, started_at) "
                            "VALUES (?, 'ann', '2026-03-10T15:00:00Z')",
                            (ids["Asia/Tokyo"],)).lastrowid
    conn.execute("PRAGMA foreign_keys=ON")
    rows = {r["id"]: r for r in json.loads(_export(store, fmt="json"))}
    fresh = {r["id"]: r for r in json.loads(_export(store, fmt="json", fresh=True))}
    assert (rows[before]["customer_ref"], rows[before]["time_zone"],
            rows[before]["started_at_local"]) == ("R" + str(ZONES.index("America/New_York")),
                                                  "America/New_York",
                                                  "2026-03-10T11:00:00-04:00")
    assert fresh[before]["time_zone"] == "Europe/Berlin"
    for call in (after, raw):
        assert (rows[call]["customer_ref"], rows[call]["time_zone"],
                rows[call]["started_at_local"]) == ("NEW", "Europe/Berlin",
                                                    "2026-03-10T16:00:00+01:00")
    assert (rows[gone]["customer_ref"], rows[gone]["started_at_local"]) == (
        "R" + str(ZONES.index("Asia/Tokyo")), "2026-03-11T00:00:00+09:00")
    assert (fresh[gone]["customer_ref"], fresh[gone]["time_zone"]) == (None, "")
    assert rows[lost] == fresh[lost]
    assert (rows[lost]["customer_ref"], rows[lost]["time_zone"],
            rows[lost]["started_at_local"]) == (None, "", "")
    assert _export(store, sql=True) == _export(store)


def test_a_raw_write_never_leaves_a_stale_local_time(zoned):
    """SQL that moves a moment without its local time (the sqlite3 shell, an older
    carecall) or moves a call to another customer: those values are computed afresh."""
    store, ids = zoned
    _write_calls(store, ids, random.Random(5))
    conn = store.db.conn
    rng = random.Random(6)
    call_ids = [r[0] for r in conn.execute("SELECT id FROM calls")]
    with store.write():
        for call in rng.sample(call_ids, 200):
            column = rng.choice(MOMENTS)
            value = rng.choice([None, "2026-11-01T06:30:00Z", "2027-03-14T07:00:00Z",
                                rng.choice(ODD)])
            if column == "started_at" and value is None:
                value = "2026-03-08T07:00:00Z"
            conn.execute(f"UPDATE calls SET {column} = ? WHERE id = ?", (value, call))
        for call in rng.sample(call_ids, 50):
            conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?",
                         (rng.choice(list(ids.values())), call))
    assert _unrecorded(store) > 0
    # customers unchanged: what was recorded and what is computed afresh agree
    _same_as_fresh(store)
    # and a writer of the store after such a write records again (a call moved to another
    # customer recorded no zone there: its local times stay the export's to compute)
    kept = [r[0] for r in conn.execute("SELECT id FROM calls WHERE time_zone <> '' LIMIT 20")]
    with store.write():
        for call in kept:
            conn.execute("UPDATE calls SET ended_at = NULL, connected_at = NULL WHERE id = ?",
                         (call,))
            q.set_connected(store, call, "2026-10-25T00:59:59Z")
            q.end_call(store, call, "2026-10-25T01:00:00Z", "completed", None, None, None)
    assert len(kept) == 20
    marks = ", ".join("?" * len(kept))
    assert store.scalar(f"SELECT count(*) FROM calls WHERE id IN ({marks}) AND "
                        "(connected_at_local IS NULL OR ended_at_local IS NULL)", kept) == 0
    _same_as_fresh(store)
    # blobs written where text is recorded: both paths write them alike
    with store.write():
        conn.execute("UPDATE calls SET started_at_local = X'3d31', time_zone = X'2b31', "
                     "customer_ref = X'2d31' WHERE id = ?", (call_ids[0],))
        conn.execute("UPDATE calls SET ended_at_local = X'41', customer_ref = NULL "
                     "WHERE id = ?", (call_ids[1],))
    assert _export(store, sql=True) == _export(store)


def test_the_backfill_records_what_the_export_computed(zoned):
    """fill_recorded (the backfill in one transaction, in chunks) on calls that recorded
    nothing; the paced one, calls.recorded: tests/core/test_recorded_backfill.py."""
    store, ids = zoned
    _write_calls(store, ids, random.Random(9))
    conn = store.db.conn
    expected = _export(store, fresh=True)
    with store.write():
        conn.execute(f"UPDATE calls SET {', '.join(f'{c} = NULL' for c in RECORDED)}")
    assert _unrecorded(store) == store.scalar("SELECT count(*) FROM calls")
    assert _export(store) == expected          # unrecorded: computed as before
    with store.write():
        assert fill_recorded(conn, chunk=7) == store.scalar("SELECT count(*) FROM calls")
    assert _unrecorded(store) == 0
    assert _export(store) == expected
    assert _export(store, sql=True) == expected

