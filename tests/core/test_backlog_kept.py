"""The dashboard's backlog counts kept between reads (``calls.store.dashboard.KeptBacklog``:
read whole once, then from the journal of follow-up changes) answer what
``followup_state`` answers, through random follow-ups added, closed, reopened, moved,
re-kinded, given another owner or occasion and removed from two connections, the clock moving by seconds to days (and
back) and the week moving; the moment it names for the next change by time is never
later than the real one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.store import Store
from calls.store import reports as q
from calls.store.dashboard import KeptBacklog
from tests.core.test_report import add_customers

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
KINDS = ("callback", "fix_problem", "gift", "thank_you_note")


def _write(rng: random.Random, store: Store, cid: int, at: datetime) -> None:
    conn = store.db.conn
    ids = [r[0] for r in conn.execute("SELECT id FROM followups")]
    what = rng.choice(("add", "add", "close", "close", "reopen", "due", "kind", "delete",
                       "first_contact", "owner", "occasion"))
    if what == "add" or not ids:
        created = at - timedelta(hours=rng.uniform(-3, 200))
        row = {"kind": rng.choice(KINDS), "customer_id": cid, "status": "open",
               "created_at": to_iso(created),
               "due_at": rng.choice((None, to_iso(created + timedelta(hours=rng.uniform(0, 80)))))}
        if rng.random() < 0.3:
            row.update(status=rng.choice(("done", "cancelled")),
                       closed_at=to_iso(at - timedelta(hours=rng.uniform(-2, 200))))
        q.insert_followups(store, [row])
        return
    fid = rng.choice(ids)
    with store.write():
        if what == "close":
            conn.execute("UPDATE followups SET status = ?, closed_at = ? WHERE id = ?",
                         (rng.choice(("done", "cancelled")),
                          to_iso(at - timedelta(seconds=rng.randint(0, 3000))), fid))
        elif what == "reopen":
            conn.execute("UPDATE followups SET status = 'open', closed_at = NULL "
                         "WHERE id = ?", (fid,))
        elif what == "due":
            conn.execute("UPDATE followups SET due_at = ? WHERE id = ?",
                         (to_iso(at + timedelta(minutes=rng.uniform(-600, 600))), fid))
        elif what == "kind":
            conn.execute("UPDATE followups SET kind = ? WHERE id = ?", (rng.choice(KINDS), fid))
        elif what == "delete":     # with what refers to it
            tables = [t for (t,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for fk in conn.execute(f"PRAGMA foreign_key_list({table})").fetchall():
                    if fk[2] == "followups" and table != "followups":
                        conn.execute(f"DELETE FROM {table} WHERE {fk[3]} = ?", (fid,))
            conn.execute("UPDATE followups SET parent_id = NULL WHERE parent_id = ?", (fid,))
            conn.execute("DELETE FROM followups WHERE id = ?", (fid,))
        elif what == "owner":    # a journal row whose counted parts stay the same
            conn.execute("UPDATE followups SET owner = ? WHERE id = ?",
                         (rng.choice(("ann", "bob", None)), fid))
        elif what == "occasion":
            conn.execute("UPDATE followups SET occasion = ? WHERE id = ?",
                         (f"birthday {(at + timedelta(days=rng.randint(-3, 3))).date()}", fid))
        else:          # not what the backlog counts: no journal row
            conn.execute("UPDATE followups SET first_contact_at = ? WHERE id = ?",
                         (to_iso(at), fid))


def _same(kept: KeptBacklog, store: Store, at: datetime, where) -> None:
    start, end, as_of = (to_iso(at - timedelta(days=6)), to_iso(at + timedelta(days=1)),
                         to_iso(at))
    start = start[:10] + "T00:00:00Z"
    end = end[:10] + "T00:00:00Z"
    state, [until] = kept.read(store, start, end, as_of)
    assert state == q.followup_state(store, start, end, as_of, plain=True), where
    truth = [m for m in q.plain_followups_next_change(store.db.conn, as_of) if m is not None]
    if until is not None:
        assert as_of <= until and (not truth or until <= min(truth)), where
    else:
        assert not truth, where


@pytest.mark.parametrize("seed", range(8))
def test_kept_backlog_equals_the_plain_counts(db_path, seed):
    rng = random.Random(seed)
    one, two = Store.open(db_path), Store.open(db_path)
    kept = {id(one): KeptBacklog(), id(two): KeptBacklog()}
    try:
        [cid] = add_customers(one, ("a", "A")).values()
        at = NOW
        for _ in range(10):
            _write(rng, one, cid, at)
        for step in range(150):
            for _ in range(rng.choice((0, 1, 1, 2))):
                _write(rng, rng.choice((one, two)), cid, at)
            at += rng.choice((timedelta(0), timedelta(seconds=rng.randint(1, 60)),
                              timedelta(minutes=rng.randint(1, 300)),
                              timedelta(days=rng.uniform(0, 3)),
                              -timedelta(minutes=rng.randint(1, 60))))
            store = rng.choice((one, two))
            _same(kept[id(store)], store, at, (seed, step))
        assert sum(k.reads for k in kept.values()) < 150     # it did keep
    finally:
        one.close()
        two.close()


def test_a_floor_closing_callbacks_reads_the_counts_once(store):
    """Callbacks closed and thank-you notes added as the clock moves on by seconds: the
    counts follow from the journal; the follow-ups are read whole once."""
    [cid] = add_customers(store, ("a", "A")).values()
    q.insert_followups(store, [{"kind": "callback", "customer_id": cid, "status": "open",
                                "created_at": to_iso(NOW - timedelta(days=2)),
                                "due_at": to_iso(NOW + timedelta(days=5 + i))}
                               for i in range(20)])
    kept = KeptBacklog()
    at = NOW
    for i in range(1, 20):
        with store.write():
            store.db.conn.execute("UPDATE followups SET status = 'done', closed_at = ? "
                                  "WHERE id = ?", (to_iso(at), i))
        q.insert_followups(store, [{"kind": "thank_you_note", "customer_id": cid,
                                    "status": "open", "created_at": to_iso(at),
                                    "due_at": to_iso(at + timedelta(days=3))}])
        at += timedelta(seconds=20)
        _same(kept, store, at, i)
    assert kept.reads == 1


def test_more_changes_than_the_journal_keeps_are_read_whole(store):
    [cid] = add_customers(store, ("a", "A")).values()
    q.insert_followups(store, [{"kind": "callback", "customer_id": cid, "status": "open",
                                "created_at": to_iso(NOW - timedelta(days=1)),
                                "due_at": to_iso(NOW + timedelta(days=1))}])
    kept = KeptBacklog()
    _same(kept, store, NOW, "first")
    with store.write():
        for i in range(1001):
            store.db.conn.execute("UPDATE followups SET due_at = ? WHERE id = 1",
                                  (to_iso(NOW + timedelta(days=1, seconds=i)),))
        store.db.conn.execute("UPDATE followups SET due_at = ? WHERE id = 1",
                              (to_iso(NOW - timedelta(hours=1)),))     # overdue now
    _same(kept, store, NOW, "after")
    assert kept.reads == 2
