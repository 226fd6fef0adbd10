"""The dashboard keeps what the days before today add up to (the week's cases, the 30
days' attempts) until a write reaches back before today; the store's journal of call
writes (``calls.store.dashboard.calls_written_since``) tells."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.dashboard import DashboardFigures
from calls.outcomes import Outcome
from calls.reports import dashboard_period
from calls.store import Store
from calls.store import reports as q
from calls.store.dashboard import CaseRanks, calls_written_since, case_ranks
from calls.store.journals import JOURNAL_ROWS
from calls.store.reports import _rank_sql
from tests.core.test_report import add_customers, call

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_a_write_today_keeps_the_days_before_and_one_before_reads_them_again(db_path):
    mine, other = Store.open(db_path), Store.open(db_path)
    try:
        ids = list(add_customers(mine, ("a", "A"), ("b", "B"), ("c", "C")).values())
        q.insert_calls(other, [call(ids[0], "completed", NOW - timedelta(days=3)),
                               call(ids[1], "no_answer", NOW - timedelta(days=20))])
        figures = DashboardFigures(None, UTC)
        assert figures.period(mine, NOW) == dashboard_period(mine, NOW)
        assert figures.reads["days before today"] == 1
        # a seat wraps up today's call: the days before today are not read again
        [today] = q.insert_calls(other, [call(ids[1], None, NOW - timedelta(minutes=5))])
        with other.write():
            other.db.conn.execute("UPDATE calls SET outcome = 'refused' WHERE id = ?",
                                  (today,))
        assert figures.period(mine, NOW) == dashboard_period(mine, NOW)
        assert figures.reads["days before today"] == 1
        # a call logged for last week: they are
        q.insert_calls(other, [call(ids[2], "partial", NOW - timedelta(days=2))])
        period = figures.period(mine, NOW)
        assert figures.reads["days before today"] == 2
        assert period == dashboard_period(mine, NOW)
        assert period.week_counts["P"] == 1
    finally:
        mine.close()
        other.close()


def test_the_journal_says_when_it_no_longer_reaches_back(store):
    [cid] = add_customers(store, ("a", "A")).values()
    seq, earliest, reaches = calls_written_since(store, None)
    assert (seq, reaches) == (0, False)       # nothing read before: read everything
    q.insert_calls(store, [call(cid, "busy", NOW - timedelta(days=1))])
    newest, earliest, reaches = calls_written_since(store, seq)
    assert (earliest, reaches) == (to_iso(NOW - timedelta(days=1)), True)
    assert calls_written_since(store, newest) == (newest, None, True)
    q.insert_calls(store, [call(cid, "busy", NOW - timedelta(hours=h))
                           for h in range(JOURNAL_ROWS + 5)])
    assert store.scalar("SELECT count(*) FROM calls_written") == JOURNAL_ROWS
    assert calls_written_since(store, newest)[2] is False


def test_case_ranks_answer_as_the_dict_of_every_customer_they_are_made_from(store):
    """``case_ranks`` keeps the week's ranks compactly (``CaseRanks``): every answer the
    dashboard asks of it (a customer's rank, absent or present; the ranks; the pairs;
    how many) is the plain dict's, read by the same grouping."""
    rng = random.Random(18)
    ids = list(add_customers(store, *((f"c{i}", "A") for i in range(120))).values())
    outcomes = [o.value for o in Outcome] + [None]
    q.insert_calls(store, [call(rng.choice(ids[5:-5]), rng.choice(outcomes),
                                NOW - timedelta(days=rng.uniform(0, 9)))
                           for _ in range(400)])
    start, end = to_iso(NOW - timedelta(days=7)), to_iso(NOW - timedelta(hours=1))
    plain = {cid: rank for cid, rank in store.db.conn.execute(
        f"SELECT c.customer_id, min({_rank_sql()}) FROM calls c WHERE c.started_at >= ? "
        "AND c.started_at < ? AND c.outcome IS NOT NULL GROUP BY c.customer_id",
        (start, end)) if rank}
    kept = case_ranks(store, start, end)
    assert 50 < len(plain) < 110                      # some customers have none
    assert len(kept) == len(plain)
    assert dict(kept.items()) == plain
    assert sorted(kept.values()) == sorted(plain.values())
    for cid in [*ids, min(ids) - 1, max(ids) + 1, 0]:
        assert kept.get(cid) == plain.get(cid), cid
    assert CaseRanks() == CaseRanks([]) and CaseRanks().get(7) is None
    with pytest.raises(ValueError):
        CaseRanks([(3, 1), (2, 1)])                   # not ascending: refused
