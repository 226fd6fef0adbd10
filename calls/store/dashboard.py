"""Queries behind the dashboard's cached period figures (``calls.dashboard``): what the
days before today add up to, and whether a write since reached back into them."""

from __future__ import annotations

from calls.store import Store
from calls.store.reports import _rank_sql

# calls_written keeps this many of the latest writes (migration coverage_0003).
JOURNAL_ROWS = 1000


def calls_written_since(store: Store, seq: int | None) -> tuple[int, str | None, bool]:
    """(the newest write's number, the earliest call start touched by a write after
    ``seq``, whether the journal still reaches back to ``seq``). ``seq`` None: nothing
    read before (the journal does not reach back). Read it *before* the figures it
    guards: a write landing between the two is then seen again next time."""
    conn = store.db.conn
    low, high = conn.execute("SELECT min(seq), max(seq) FROM calls_written").fetchone()
    high = high or 0
    if seq is None:
        return high, None, False
    if seq >= high:
        return high, None, True
    reaches = low is not None and low <= seq + 1
    earliest = conn.execute("SELECT min(started_at) FROM calls_written WHERE seq > ?",
                            (seq,)).fetchone()[0]
    return high, earliest, reaches


def followups_version(store: Store) -> int:
    """A number that moves with every write to a follow-up (insert, update, delete: a
    counter kept by triggers, migration ``dashboard_0003``)."""
    return store.db.conn.execute(
        "SELECT n FROM followups_written WHERE id = 1").fetchone()[0]


def rank_rule() -> str:
    """The outcome-to-rank rule as SQL (built from the outcome table): ranks read under
    another rule must be read again."""
    return _rank_sql()


def case_ranks(store: Store, start: str, end: str) -> dict[int, int]:
    """{customer id: the best AAPOR family rank (1 = I) of their attempts started in
    ``[start, end)``} (customers whose attempts all have unknown outcomes left out):
    the per-customer step of ``calls.store.reports.case_families``, so that two periods'
    cases can be joined."""
    return {cid: rank for cid, rank in store.db.conn.execute(
        f"SELECT c.customer_id, min({_rank_sql()}) FROM calls c "
        "WHERE c.started_at >= ? AND c.started_at < ? AND c.outcome IS NOT NULL "
        "GROUP BY c.customer_id", (start, end)) if rank}


def today_slots(store: Store, start: str, end: str) -> tuple[list[tuple], list[tuple]]:
    """The calls started in ``[start, end)`` summed per 10-minute slot (``substr(started_at,
    1, 15)``, the slots a caller's active time is counted in): rows (slot, caller,
    outcome (None: in progress), calls, handle seconds of those ended, calls ended) and
    (slot, customer id, the best AAPOR family rank of their calls with an outcome in it)
    -- the parts of ``calls.store.reports.caller_calls``, ``caller_worked_seconds``,
    ``outcome_counts`` and ``case_families`` for a day's shift, which add up across
    slots (``calls.dashboard`` keeps the slots a write did not touch)."""
    conn = store.db.conn
    calls = conn.execute(
        "SELECT substr(started_at, 1, 15), caller, outcome, count(*), "
        "coalesce(sum(unixepoch(ended_at) - unixepoch(started_at)), 0), count(ended_at) "
        "FROM calls INDEXED BY idx_calls_started WHERE started_at >= ? AND started_at < ? "
        "GROUP BY 1, 2, 3", (start, end)).fetchall()
    ranks = conn.execute(
        f"SELECT substr(c.started_at, 1, 15), c.customer_id, min({_rank_sql()}) "
        "FROM calls c INDEXED BY idx_calls_started WHERE c.started_at >= ? "
        "AND c.started_at < ? AND c.outcome IS NOT NULL GROUP BY 1, 2", (start, end)).fetchall()
    return calls, ranks
