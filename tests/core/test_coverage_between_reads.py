"""Coverage's counts kept between reads (``calls.store.coverage.KeptCounts``: read whole
once, then brought up to date from the journal of coverage changes and moved with the
clock) answer what the plain walk over every customer's calls answers: random writes
from two connections (calls written, outcomes given and corrected, calls moved and
deleted, tiers, do-not-call, customers added and removed), the clock moving on by
seconds to days (and now and then back), cadences changed, the journal overflowing."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

import pytest

from calls.clock import to_iso
from calls.reports import NOT_REACHED_DAYS, coverage_as_of
from calls.store import Store, coverage
from calls.store import reports as q
from tests.core.test_coverage_kept import NOW, _write
from tests.core.test_report import add_customers, call

CADENCES = ({"A": 90, "B": 180, "C": 365}, {"A": 30, "B": 60},
            {"A": 7, "B": 365, "C": 200, "D": 14})


def _asked(at, cadence) -> tuple[str, dict, str]:
    return (to_iso(at), {t: to_iso(at - timedelta(days=d)) for t, d in cadence.items()},
            to_iso(at - timedelta(days=NOT_REACHED_DAYS)))


def _same(kept: coverage.KeptCounts, store: Store, at, cadence, where) -> None:
    as_of, cutoffs, unreached = _asked(at, cadence)
    plain = q.coverage_counts(store, as_of, cutoffs, unreached, plain=True)
    assert kept.counts(store, as_of, cutoffs, unreached) in (None, plain), where
    assert q.coverage_counts(store, as_of, cutoffs, unreached, kept=kept) == plain, where


@pytest.mark.parametrize("seed", range(8))
def test_counts_kept_between_reads_equal_the_walk(db_path, seed):
    rng = random.Random(seed)
    one, two = Store.open(db_path), Store.open(db_path)
    kept = {id(one): coverage.KeptCounts(), id(two): coverage.KeptCounts()}
    try:
        ids = list(add_customers(one, *[(f"c{i}", ("A", "B", "C", None)[i % 4], i % 7 == 0)
                                        for i in range(14)]).values())
        at, cadence = NOW - timedelta(days=2), CADENCES[0]
        for step in range(150):
            if rng.random() < 0.8:
                _write(rng, rng.choice((one, two)), ids)
            if rng.random() < 0.05 and len(ids) > 4:      # a customer erased
                gone = ids.pop(rng.randrange(len(ids)))
                with one.write():
                    one.db.conn.execute("DELETE FROM answers WHERE call_id IN "
                                        "(SELECT id FROM calls WHERE customer_id = ?)", (gone,))
                    one.db.conn.execute("DELETE FROM calls WHERE customer_id = ?", (gone,))
                    one.db.conn.execute("DELETE FROM customers WHERE id = ?", (gone,))
            if rng.random() < 0.08:    # added, then tiered (as an import does) before a read
                ref = f"i{rng.randrange(10**9)}"
                new = add_customers(one, (ref, None))[ref]
                ids.append(new)
                with one.write():
                    one.db.conn.execute("UPDATE customers SET tier = ? WHERE id = ?",
                                        (rng.choice(("A", "B", "D")), new))
                q.insert_calls(one, [call(new, "completed", at - timedelta(days=1))])
            at += rng.choice((timedelta(0), timedelta(seconds=rng.randint(1, 90)),
                              timedelta(minutes=rng.randint(1, 600)),
                              timedelta(days=rng.uniform(0, 40)),
                              -timedelta(minutes=rng.randint(1, 600))))
            if rng.random() < 0.05:
                cadence = rng.choice(CADENCES)
            store = rng.choice((one, two))
            _same(kept[id(store)], store, at, cadence, (seed, step))
    finally:
        one.close()
        two.close()


def _floor(store: Store) -> list[int]:
    ids = list(add_customers(store, *[(f"c{i}", ("A", "B", "C")[i % 3]) for i in range(30)]
                             ).values())
    q.insert_calls(store, [call(cid, ("completed", "refused", "no_answer")[i % 3],
                                NOW - timedelta(days=i * 7)) for i, cid in enumerate(ids)])
    return ids


def test_a_floor_of_calls_and_a_moving_clock_reads_the_ranges_once(store):
    """Calls wrapped up and the clock moving on (or standing still: calls dated at the
    very moment last asked): the counts follow from the journal and the thin ranges
    between the moments; the index ranges are read whole once."""
    ids = _floor(store)
    kept = coverage.KeptCounts()
    at = NOW
    rng = random.Random(3)
    for i in range(40):
        if i % 2:
            q.insert_calls(store, [call(rng.choice(ids), rng.choice(
                ("completed", "refused", "no_answer", None)),
                at - rng.choice((timedelta(0), timedelta(minutes=5))))])
        at += timedelta(seconds=rng.randint(0, 40))
        _same(kept, store, at, CADENCES[0], i)
    assert kept.reads == 1


def test_what_is_read_whole_again(store):
    """A customer removed, the journal no longer reaching back to the last read: the
    ranges are read whole again (and still agree); customers added, the clock going back,
    cadences changed: kept."""
    ids = _floor(store)
    kept = coverage.KeptCounts()
    _same(kept, store, NOW, CADENCES[0], "first")
    add_customers(store, ("new", "A"), ("newer", "B", True))
    _same(kept, store, NOW, CADENCES[0], "added")
    assert kept.reads == 1
    with store.write():
        store.db.conn.execute("DELETE FROM customers WHERE ref = 'newer'")
    _same(kept, store, NOW, CADENCES[0], "removed")
    assert kept.reads == 2
    _same(kept, store, NOW - timedelta(minutes=1), CADENCES[0], "back")
    _same(kept, store, NOW - timedelta(days=100), CADENCES[1], "cadences")
    _same(kept, store, NOW, CADENCES[2], "cadences again")
    assert kept.reads == 2
    with store.write():      # more changes than the journal keeps
        store.db.conn.executemany(
            "UPDATE customers SET do_not_call = 1 - do_not_call WHERE id = ?",
            [(ids[0],)] * 1001)
    _same(kept, store, NOW, CADENCES[0], "overflowed")
    assert kept.reads == 3
    with store.write():      # within it: kept
        store.db.conn.execute("UPDATE customers SET tier = 'D' WHERE id = ?", (ids[1],))
    _same(kept, store, NOW, CADENCES[2], "tier")
    assert kept.reads == 3


def test_the_journal_notes_each_change_of_a_customers_coverage(store):
    """One row per change of tier, do-not-call or the marks (old and new); none for a
    write that changes none of them; removed customers counted apart."""
    [cid] = add_customers(store, ("a", "A")).values()
    conn = store.db.conn

    def journal():
        return conn.execute("SELECT customer_id, old_tier, old_dnc, old_completed, "
                            "old_contact, new_tier, "
                            "new_dnc, new_completed, new_contact FROM coverage_changes "
                            "ORDER BY seq").fetchall()

    def removed():
        return conn.execute("SELECT n FROM customers_removed").fetchone()[0]

    assert journal() == [] and removed() == 0
    [call_id] = q.insert_calls(store, [call(cid, None, NOW)])
    assert journal() == []                     # a call without an outcome: no mark moved
    with store.write():
        conn.execute("UPDATE calls SET outcome = 'completed' WHERE id = ?", (call_id,))
        conn.execute("UPDATE customers SET name = 'Ann', tier = 'A' WHERE id = ?", (cid,))
        conn.execute("UPDATE customers SET tier = 'B', do_not_call = 1 WHERE id = ?", (cid,))
    now = to_iso(NOW)
    assert journal() == [(cid, "A", 0, None, None, "A", 0, now, now),
                         (cid, "A", 0, now, now, "B", 1, now, now)]
    with store.write():
        conn.execute("DELETE FROM answers")
        conn.execute("DELETE FROM calls")
        conn.execute("DELETE FROM customers")
    assert removed() == 1


def test_the_dashboard_reads_coverage_kept(store):
    """``dashboard_period(..., kept_coverage=)`` and ``coverage_as_of(..., kept=)`` answer
    as without."""
    from calls.reports import dashboard_period

    _floor(store)
    kept = coverage.KeptCounts()
    for minutes in (0, 1, 30):
        at = NOW + timedelta(minutes=minutes)
        assert coverage_as_of(store, to_iso(at), kept=kept) == coverage_as_of(store, to_iso(at))
        assert (dashboard_period(store, at, tz=UTC, kept_coverage=kept)
                == dashboard_period(store, at, tz=UTC))
    assert kept.reads == 1
