"""Calls written before migration calls_0003_recorded_for_export: the migration adds the
columns and leaves those calls NULL (the export computes them as before, the same bytes);
``calls.recorded.record_old_calls`` (``carecall upgrade``) records them later in short
write transactions, between which other connections write, resuming where the last step
of any run ended, never overwriting what a writer recorded, and ending with what the
export computed for them."""

from __future__ import annotations

import io
import json
import random
import sqlite3

import pytest
from typer.testing import CliRunner

from calls.audit import os_login
from calls.export import export_table
from calls.localtime import LocalTimes
from calls.recorded import record_old_calls
from calls.store import Pacer, Store
from calls.store import calls as q
from calls.store.calls import RECORDED, RECORDED_FROM
from tests.core.test_export_local_times import ODD, ZONES, _changes, _moments_around
from tests.core.test_export_recorded import _customer, _export, _unrecorded

STEP = 7


class _Steps(Pacer):
    """Steps of ``STEP`` ids, no pause; ``between(n)`` runs after step n (1, 2, ...)."""

    def __init__(self, store, between=None):
        super().__init__(store, first=STEP, low=STEP, high=STEP)
        self.between, self.steps = between, 0

    def done(self, held: float) -> None:
        self.steps += 1
        if self.between is not None:
            self.between(self.steps)


def _all_exports(store) -> tuple[str, str, str]:
    return _export(store), _export(store, sql=True), _export(store, fmt="json")


@pytest.fixture
def old(db_path):
    """A database written before calls_0003: customers in every zone of the local-time
    tests and calls at and around their offset changes; (path, export bytes then)."""
    from calls.store.schema import migrations

    names = migrations.names()
    store = Store.open(db_path, migrate=False)
    try:
        migrations.apply(store.db, stop_before=names[names.index(
            "calls_0003_recorded_for_export")])
        store.db.conn.commit()
        rng = random.Random(11)
        rows = []
        for i, zone in enumerate(ZONES):
            cid = _customer(store, f"R{i}", [zone])
            for m in _moments_around(_changes(zone, 2026, 2026), rng)[:10]:
                rows.append((cid, "ann", m, rng.choice([m, None]), m, rng.choice([None, m])))
        store.db.conn.executemany(
            "INSERT INTO calls (customer_id, caller, started_at, connected_at, ended_at, "
            "callback_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        store.db.conn.commit()
        before = (_export(store, fresh=True), _export(store, fmt="json", fresh=True))
    finally:
        store.close()
    return db_path, before


def test_the_migration_writes_no_call_and_the_export_is_unchanged(old):
    """The migration is the columns and the trigger: the write lock for a moment, not for
    a pass over every call. Its calls stay NULL, which every export path computes as
    before."""
    path, (csv, js) = old
    conn = sqlite3.connect(path)
    calls = conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    conn.close()
    assert calls > 300
    store = Store.open(path, migrate=False)
    try:
        changed = store.db.conn.total_changes
        store.migrate()
        # the migration's own rows (its name, the schema version, the coverage marks'
        # check), not one per call
        assert store.db.conn.total_changes - changed < 20
        assert _unrecorded(store) == calls
        assert store.scalar("SELECT count(*) FROM calls WHERE "
                            + " OR ".join(f"{c} IS NOT NULL" for c in RECORDED)) == 0
        assert _all_exports(store) == (csv, csv, js)
    finally:
        store.close()


def test_the_backfill_steps_and_resumes_and_others_write_between(old):
    """Steps of STEP ids, each one write transaction: between two steps another
    connection takes the write lock at once (it would fail at once, timeout 0, were the
    lock held); stopped after three steps, 3 x STEP calls are filled and the rest not;
    the next run goes on from there; a third finds nothing to do. The export is the same
    bytes at every stage."""
    path, (csv, js) = old
    store = Store.open(path)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        first = store.scalar("SELECT min(id) FROM calls")
        calls = store.scalar("SELECT count(*) FROM calls")
        got = []

        def between(step: int) -> None:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT OR REPLACE INTO carecall_meta (key, value) VALUES (?, 'x')",
                          (f"between {step}",))
            other.execute("COMMIT")
            got.append(step)

        steps = _Steps(store, between)
        done = record_old_calls(store, pacer=steps, stop=lambda: steps.steps >= 3)
        assert (done.stopped, done.steps, done.filled, done.looked) == (True, 3, 3 * STEP,
                                                                         3 * STEP)
        assert got == [1, 2, 3]
        assert done.left == calls - 3 * STEP
        assert int(store.scalar("SELECT value FROM carecall_meta WHERE key = ?",
                                (RECORDED_FROM,))) == first + 3 * STEP
        assert _unrecorded(store, f"id < {first + 3 * STEP}") == 0
        assert _unrecorded(store) == calls - 3 * STEP
        assert _all_exports(store) == (csv, csv, js)

        done = record_old_calls(store, pacer=_Steps(store, between))
        assert not done.stopped and done.left == 0
        assert done.filled == done.looked == calls - 3 * STEP
        assert done.steps == -(-(calls - 3 * STEP) // STEP)
        assert _unrecorded(store) == 0
        assert _all_exports(store) == (csv, csv, js)
        assert record_old_calls(store, pacer=_Steps(store)).looked == 0
    finally:
        other.close()
        store.close()


def test_calls_written_and_moved_between_steps(old):
    """Between steps: a call written by the store's writer (it records its own values,
    then its customer moves zone: the backfill must not overwrite them); raw SQL moving a
    call the backfill has passed and one it has not reached to another customer, and a
    moment of one not reached. At the end every call holds what it recorded or what the
    export computes from its customer now, and both export paths agree with that."""
    path, _ = old
    store = Store.open(path)
    try:
        ids = [r[0] for r in store.db.conn.execute("SELECT id FROM calls ORDER BY id")]
        customers = [r[0] for r in store.db.conn.execute("SELECT id FROM customers")]
        tokyo = store.scalar("SELECT id FROM customers WHERE time_zones = ?",
                             (json.dumps(["Asia/Tokyo"]),))
        written = []

        def between(step: int) -> None:
            if step != 2:
                return
            with store.write():
                call = q.insert_call(store, tokyo, "bob", "2026-03-10T15:00:00Z", None, None)
                written.append(call)
                store.db.conn.execute(
                    "UPDATE customers SET time_zones = ?, ref = 'MOVED' WHERE id = ?",
                    (json.dumps(["Europe/Berlin"]), tokyo))
                store.db.conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?",
                                      (customers[-1], ids[0]))          # passed
                store.db.conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?",
                                      (customers[0], ids[-1]))          # not reached
                store.db.conn.execute("UPDATE calls SET ended_at = '2026-10-25T00:30:00Z' "
                                      "WHERE id = ?", (ids[-2],))

        done = record_old_calls(store, pacer=_Steps(store, between))
        assert done.left == 0 and written
        rows = {r["id"]: r for r in json.loads(_export(store, fmt="json"))}
        fresh = {r["id"]: r for r in json.loads(_export(store, fmt="json", fresh=True))}
        call = written[0]
        assert (rows[call]["customer_ref"], rows[call]["time_zone"],
                rows[call]["started_at_local"]) == (
            f"R{ZONES.index('Asia/Tokyo')}", "Asia/Tokyo", "2026-03-11T00:00:00+09:00")
        assert fresh[call]["time_zone"] == "Europe/Berlin"
        assert {k: v for k, v in rows.items() if k != call} == {
            k: v for k, v in fresh.items() if k != call}
        # the call moved after the backfill passed it stays NULL (computed), the rest filled
        assert store.scalar("SELECT time_zone FROM calls WHERE id = ?", (ids[0],)) is None
        assert _unrecorded(store, f"id NOT IN ({ids[0]})") == 0
        assert _export(store, sql=True) == _export(store)
    finally:
        store.close()


def test_two_runs_at_once_share_the_steps(old):
    """A second run started between the first's steps goes on from where the last step
    ended: no id looked at twice, every call filled once."""
    path, _ = old
    store, second = Store.open(path), Store.open(path)
    try:
        calls = store.scalar("SELECT count(*) FROM calls")
        theirs = []

        def between(step: int) -> None:
            if step in (2, 4):           # the other run does two steps, twice
                steps = _Steps(second)
                theirs.append(record_old_calls(second, pacer=steps,
                                               stop=lambda: steps.steps >= 2))

        mine = record_old_calls(store, pacer=_Steps(store, between))
        assert [t.looked for t in theirs] == [2 * STEP, 2 * STEP]
        assert mine.looked + sum(t.looked for t in theirs) == calls
        assert mine.filled + sum(t.filled for t in theirs) == calls
        assert _unrecorded(store) == 0
    finally:
        second.close()
        store.close()


def test_a_bounded_cache_converts_as_an_unbounded_one():
    """LocalTimes keeps at most about ``kept`` hours (it drops the earlier half of the
    days past that) and converts every moment as a cache that keeps all."""
    rng = random.Random(4)
    moments = []
    for zone in ZONES:
        moments += [(zone, m) for m in _moments_around(_changes(zone, 2025, 2027), rng)]
    moments.sort(key=lambda zm: zm[1])           # mostly in time order, as calls are
    moments += rng.sample(moments, 300)          # and some not
    kept, small = LocalTimes(kept=10 ** 9), LocalTimes(kept=500)
    for zone, moment in moments:
        assert small.convert(zone, moment) == kept.convert(zone, moment)
        assert small.cached <= 500
    assert small.cached == sum(len(c) + len(c.parts) for c in small._zones.values())
    assert kept.cached > 10_000


def test_carecall_upgrade(old):
    from calls.cli import app

    path, (csv, _js) = old
    runner = CliRunner()
    result = runner.invoke(app, ["export", "calls", "--db", str(path)])
    assert result.exit_code == 0 and "carecall upgrade records them once" in result.stderr
    result = runner.invoke(app, ["upgrade", "--db", str(path)])
    assert result.exit_code == 0, result.output
    with Store.open(path) as store:
        calls = store.scalar("SELECT count(*) FROM calls")
        assert f"on {calls:,} calls written by an older carecall" in result.output
        assert _unrecorded(store) == 0
        assert _export(store) == csv
    result = runner.invoke(app, ["upgrade", "--db", str(path)])
    assert (result.exit_code, result.output) == (
        0, "Nothing to do: the database is up to date.\n")
    result = runner.invoke(app, ["export", "calls", "--db", str(path)])
    assert result.exit_code == 0 and "upgrade" not in result.stderr
    assert result.stdout.replace("\r\n", "\n") == csv.replace("\r\n", "\n")
    # the run that recorded them is someone's, in the trail; the one with nothing to do
    # changed nothing and wrote no row
    rows = _upgrades(runner, path)
    assert len(rows) == 1
    assert rows[0]["actor"] == os_login() and rows[0]["subject"] == "calls"
    assert rows[0]["details"]["recorded"] == calls
    assert rows[0]["details"]["ended"] == "finished" and rows[0]["details"]["left"] == 0


def _upgrades(runner, path) -> list[dict]:
    """The ``upgrade`` rows of the audit trail, as ``carecall audit --json`` shows them."""
    from calls.cli import app

    result = runner.invoke(app, ["audit", "--action", "upgrade", "--json", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_carecall_upgrade_stopped_by_ctrl_c_says_so_in_the_audit_trail(old, monkeypatch):
    """ctrl+c (SIGINT) during a step: the step ends whole, the run stops (exit 130), the
    trail says who stopped it after how many calls; the next run finishes the rest and
    has its own row."""
    import os
    import signal

    from calls import recorded
    from calls.cli import app

    path, (csv, _js) = old
    step = q.fill_recorded_step
    steps = []

    def interrupted(*args):
        got = step(*args)
        steps.append(got)
        if len(steps) == 2:
            os.kill(os.getpid(), signal.SIGINT)      # as a terminal's ctrl+c
        return got

    monkeypatch.setattr(q, "fill_recorded_step", interrupted)
    monkeypatch.setattr(recorded, "FIRST_STEP", STEP)
    runner = CliRunner()
    result = runner.invoke(app, ["upgrade", "--db", str(path)])
    assert result.exit_code == 130, result.output
    filled = sum(n for _low, _high, n in steps)
    assert len(steps) == 2 and filled > 0
    assert result.output.startswith(f"Stopped: {filled:,} calls recorded in ")
    (row,) = _upgrades(runner, path)
    assert row["actor"] == os_login()
    assert row["details"]["ended"] == "stopped" and row["details"]["recorded"] == filled
    assert row["details"]["left"] > 0
    monkeypatch.setattr(q, "fill_recorded_step", step)
    result = runner.invoke(app, ["upgrade", "--db", str(path)])
    assert result.exit_code == 0, result.output
    with Store.open(path) as store:
        calls = store.scalar("SELECT count(*) FROM calls")
        assert _unrecorded(store) == 0 and _export(store) == csv
    first, second = _upgrades(runner, path)
    assert first == row
    assert second["details"]["ended"] == "finished"
    assert second["details"]["recorded"] == calls - filled


def test_nothing_to_record_where_the_migration_found_no_calls_or_filled_them(store):
    """A database the migration found without calls (new), or one it filled itself (as
    it did until 2026-12-04: no calls_recorded_* rows): the calls there record their own,
    and the backfill looks at none of them."""
    from calls.store.calls import RECORDED_BELOW

    assert store.scalar("SELECT count(*) FROM carecall_meta WHERE key IN (?, ?)",
                        (RECORDED_FROM, RECORDED_BELOW)) == 0
    cid = _customer(store, "R1", ["Europe/Paris"])
    with store.write():
        q.insert_call(store, cid, "ann", "2026-03-10T15:00:00Z", None, None)
    assert record_old_calls(store, pacer=_Steps(store)).looked == 0


def test_carecall_upgrade_with_accounts_is_a_supervisors_and_named_by_account(old, now,
                                                                               monkeypatch):
    """With accounts in force a caller is refused (one line, exit 2, nothing recorded,
    no row); a supervisor's run is in the trail under the account's name."""
    from calls.cli import app
    from tests.support.team import as_os_login, make_team

    path, _before = old
    with Store.open(path) as store:
        make_team(store, now)
    runner = CliRunner()
    as_os_login(monkeypatch, "ann")
    refused = runner.invoke(app, ["upgrade", "--db", str(path)])
    assert refused.exit_code == 2 and "supervisor" in refused.stderr
    with Store.open(path) as store:
        assert _unrecorded(store) == store.scalar("SELECT count(*) FROM calls")
    as_os_login(monkeypatch, "sue")
    assert runner.invoke(app, ["upgrade", "--db", str(path)]).exit_code == 0
    (row,) = _upgrades(runner, path)
    assert row["actor"] == "sue" and row["details"]["ended"] == "finished"


def _csv_export(store, since=None, until=None) -> str:
    """The calls CSV for days ``since``..``until`` (on the SQL path from
    export.SQL_CSV_MIN_ROWS rows)."""
    buf = io.StringIO()
    export_table(store, "calls", buf, since=since, until=until)
    return buf.getvalue()


@pytest.mark.parametrize("customers_apart", [0, 400])
def test_calls_that_recorded_nothing_are_exported_as_the_same_bytes(
        old, monkeypatch, customers_apart):
    """Calls that recorded nothing (before calls_0003, not yet upgraded; one moved by raw
    SQL; of customers without a zone or not there) are shaped in Python on the plain path
    (calls.export.CallShaper), from the customers in memory or, with few such calls per
    customer (``customers_apart`` customers without calls), from the customer joined; on
    the SQL path the chunks that may hold them are built by SQLite from temporary tables
    of the customers and the hours (calls.export._Unrecorded), beside chunks built from
    what the calls recorded. Every path, chunk size, number of connections and period
    writes what the export computing every call afresh writes."""
    from datetime import date

    from calls import export

    path, _before = old
    store = Store.open(path)
    try:
        steps = _Steps(store)
        record_old_calls(store, pacer=steps, stop=lambda: steps.steps >= 2)   # a few
        first = store.scalar("SELECT min(id) FROM calls")
        assert q.unrecorded_ids(store.db.conn)[0] == first + 2 * STEP
        rng = random.Random(23)
        ids = [r[0] for r in store.db.conn.execute("SELECT id FROM customers")]
        with store.write():     # refs a spreadsheet would run, or that need quoting
            for cid, ref in zip(ids[-2:], ('=HYPERLINK("x")', 'a,"b"')):
                store.db.conn.execute("UPDATE customers SET ref = ? WHERE id = ?", (ref, cid))
        moments = _moments_around(_changes("Europe/Berlin", 2026, 2026), rng)
        with store.write():
            for _ in range(60):                       # recorded when written
                m = rng.choice(moments)
                call = q.insert_call(store, rng.choice(ids), "bo", m, None, "care")
                if rng.random() < 0.7:
                    q.end_call(store, call, rng.choice(moments), "completed", None, None, None)
            for i in range(customers_apart):
                _customer(store, f"X{i}", ["Asia/Kolkata"])
        conn = store.db.conn
        top = store.scalar("SELECT max(id) FROM calls")
        with store.write():                           # raw SQL: a moment and a customer
            conn.execute("UPDATE calls SET ended_at = ? WHERE id = ?",
                         ("2026-10-25T00:30:00Z", first))
            conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?", (ids[3], top))
            conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?", (ids[4], top - 90))
        # calls not yet recorded of customers whose zone list names no zone, is missing,
        # names a zone second, and of a customer that is not there
        odd = [_customer(store, "=no zone", ["Mars/Olympus"]), _customer(store, 'no "list"', None),
               _customer(store, "second", ["Nowhere/Else", "Europe/Paris"]), 10**6]
        conn.commit()
        conn.execute("PRAGMA foreign_keys=OFF")
        with store.write():
            for i, cid in enumerate(odd):
                conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?", (cid, first + 30 + i))
        conn.execute("PRAGMA foreign_keys=ON")
        # text that is not a store moment in calls not yet recorded, in another hour of
        # their start's day (read off the hour table by its own hour) and in the same
        inside = conn.execute(
            "SELECT id, started_at FROM calls WHERE id > ? AND started_at >= '2024-03-01' "
            "ORDER BY id LIMIT ?", (first + 40, len(ODD))).fetchall()
        assert len(inside) == len(ODD)
        with store.write():
            for (cid, started), odd in zip(inside, ODD):
                day, hour = started[:10], int(started[11:13])
                conn.execute("UPDATE calls SET connected_at = ?, ended_at = ? WHERE id = ?", (
                    *(odd.replace("2026-03-10T10", f"{day}T{h:02d}").replace("2026-03-10", day)
                      for h in ((hour + 5) % 24, hour)), cid))
        assert 0 < _unrecorded(store) < store.scalar("SELECT count(*) FROM calls") - 60

        lookups, built, now = [], {}, [None]
        lookup_of, chunk_of = export._unrecorded_lookup, export._Unrecorded.chunk

        def lookup(*args, **kwargs):
            got = lookup_of(*args, **kwargs)
            lookups.append(got is not None)
            return got

        def chunk(self, *args):
            got = chunk_of(self, *args)
            kind = (now[0], "recorded" if got is None else "unrecorded")
            built[kind] = built.get(kind, 0) + 1
            return got

        monkeypatch.setattr(export, "_unrecorded_lookup", lookup)
        monkeypatch.setattr(export._Unrecorded, "chunk", chunk)
        monkeypatch.setattr(export, "SQL_CSV_MIN_ROWS", 0)
        # all; a period of the old calls (2024); one of the new ones (2026)
        periods = [(None, None), (date(2024, 1, 15), date(2024, 3, 31)),
                   (date(2026, 1, 1), date(2026, 12, 31))]
        fresh = {p: _fresh(store, *p) for p in periods}
        for rows in (7, 10_000):
            monkeypatch.setattr(export, "SQL_CSV_CHUNK_ROWS", rows)
            for workers in (1, 2):
                monkeypatch.setattr(export, "sql_workers", lambda w=workers: w)
                for period in periods:
                    now[0] = period
                    assert _csv_export(store, *period) == fresh[period], (rows, workers, period)
        # chunks of both kinds, also in periods (ranges of time)
        assert {(periods[0], "unrecorded"), (periods[0], "recorded"),
                (periods[1], "unrecorded"), (periods[2], "recorded")} <= set(built)
        monkeypatch.setattr(export, "SQL_CSV_MIN_ROWS", float("inf"))    # the plain path
        for period in periods:
            assert _csv_export(store, *period) == fresh[period], period
        assert any(lookups) == (customers_apart == 0) and not all(lookups)
        assert _export(store, fmt="json") == _export(store, fmt="json", fresh=True)
        # raw SQL that clears a zone but not a local time: the local time is kept, the
        # zone and ref are the customer's now, on every path (the fresh one differs here)
        with store.write():
            conn.execute("UPDATE calls SET time_zone = NULL, started_at_local = 'kept', "
                         "customer_ref = 'old ref' WHERE id IN (?, ?)", (first + 1, top - 1))
        plain = _export(store)
        assert plain.count(",kept,") == 2 and "old ref" not in plain
        monkeypatch.setattr(export, "SQL_CSV_MIN_ROWS", 0)
        for rows in (7, 10_000):
            monkeypatch.setattr(export, "SQL_CSV_CHUNK_ROWS", rows)
            assert _csv_export(store) == plain
    finally:
        store.close()


def _fresh(store, since=None, until=None) -> str:
    buf = io.StringIO()
    export_table(store, "calls", buf, since=since, until=until, fresh=True)
    return buf.getvalue()
