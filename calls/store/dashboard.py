"""Queries behind the dashboard's cached period figures (``calls.dashboard``): what the
days before today add up to, and whether a write since reached back into them."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from calls.store import Store
from calls.store.journals import reach
from calls.store.reports import _rank_sql


def calls_written_since(store: Store, seq: int | None) -> tuple[int, str | None, bool]:
    """(the newest write's number, the earliest call start touched by a write after
    ``seq`` (None when it does not reach back), whether the journal still reaches back to
    ``seq`` (:func:`calls.store.journals.reach`; ``seq`` None: nothing read before). Read
    it *before* the figures it guards: a write landing between the two is then seen
    again next time."""
    conn = store.db.conn
    high, reaches = reach(conn, "calls_written", seq)
    if not reaches or seq == high:
        return high, None, reaches
    earliest = conn.execute("SELECT min(started_at) FROM calls_written WHERE seq > ?",
                            (seq,)).fetchone()[0]
    return high, earliest, True


def followups_written_seq(store: Store) -> int:
    """The newest row of the journal of follow-up writes (migrations ``dashboard_0004``,
    ``dashboard_0005``): it moves with every follow-up added, removed, or changed in what
    the backlog or the deadlines depend on (kind, status, times, occasion, owner,
    customer)."""
    return store.db.conn.execute("SELECT max(seq) FROM followups_changes").fetchone()[0] or 0


def followups_written_since(store: Store, seq: int) -> list[int] | None:
    """The follow-ups written after the journal's row ``seq`` (None: the journal no
    longer reaches back to it)."""
    conn = store.db.conn
    with store.reading():
        high, reaches = reach(conn, "followups_changes", seq)
        if not reaches:
            return None
        rows = conn.execute("SELECT followup_id FROM followups_changes WHERE seq > ?",
                            (seq,)).fetchall() if high > seq else []
    return sorted({r[0] for r in rows})


def rank_rule() -> str:
    """The outcome-to-rank rule as SQL (built from the outcome table): ranks read under
    another rule must be read again."""
    return _rank_sql()


class CaseRanks:
    """{customer id: best rank} kept small: the ids ascending in one array of 64-bit
    integers, the ranks in bytes beside them. The dashboard keeps the week's ranks while
    it is open (3,455 customers at 100,000: as a dict of int objects about 0.5 MB of a
    seat's live objects, the most of any one thing it keeps; this way 31 KB). Answers
    ``get``, ``values``, ``items`` and ``len`` as the dict would
    (tests/core/test_dashboard_past_days.py)."""

    __slots__ = ("ids", "ranks")

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        ids, ranks = array("q"), bytearray()
        for cid, rank in pairs:
            if ids and cid <= ids[-1]:
                raise ValueError("customer ids must come ascending, each once")
            ids.append(cid)
            ranks.append(rank)
        self.ids, self.ranks = ids, bytes(ranks)

    def get(self, cid: int, default: int | None = None) -> int | None:
        """The rank of ``cid``, or ``default`` when they have none."""
        at = bisect_left(self.ids, cid)
        return self.ranks[at] if at < len(self.ids) and self.ids[at] == cid else default

    def values(self) -> Iterator[int]:
        return iter(self.ranks)

    def items(self) -> Iterator[tuple[int, int]]:
        return zip(self.ids, self.ranks, strict=True)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CaseRanks) and (self.ids, self.ranks) == (other.ids,
                                                                           other.ranks)


def case_ranks(store: Store, start: str, end: str) -> CaseRanks:
    """{customer id: the best AAPOR family rank (1 = I) of their attempts started in
    ``[start, end)``} (customers whose attempts all have unknown outcomes left out):
    the per-customer step of ``calls.store.reports.case_families``, so that two periods'
    cases can be joined. Made row by row into a :class:`CaseRanks` (no dict of them
    all on the way)."""
    return CaseRanks((cid, rank) for cid, rank in store.db.conn.execute(
        f"SELECT c.customer_id, min({_rank_sql()}) FROM calls c "
        "WHERE c.started_at >= ? AND c.started_at < ? AND c.outcome IS NOT NULL "
        "GROUP BY c.customer_id ORDER BY c.customer_id", (start, end)) if rank)


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


# -- the backlog kept between reads ---------------------------------------------------------

_STATE_ZERO = {"open": 0, "overdue": 0, "done": 0, "cancelled": 0}
# What the journal notes of a follow-up (migration dashboard_0004), old then new (a change
# of only its occasion, owner or customer: the same, dashboard_0005).
_VERSION = ("kind", "status", "created_at", "due_at", "closed_at")
_JOURNAL_SINCE = ("SELECT followup_id, "
                  + ", ".join([*(f"old_{c}" for c in _VERSION), *(f"new_{c}" for c in _VERSION)])
                  + " FROM followups_changes WHERE seq > ? ORDER BY seq")


class KeptBacklog:
    """``calls.store.reports.followup_state`` and ``followups_next_change`` for a reader
    that asks again and again (the dashboard): read whole once, then brought up to date
    from the journal of follow-up changes (migration ``dashboard_0004``: each follow-up
    added, removed or changed in what the backlog counts, old and new): each follow-up
    written since counts as it was at the last read's moment taken away and as it is now
    at this one added. The rest count the same at any moment up to the first follow-up
    moment after the last read (``followups_next_change``); past it, or when the journal no
    longer reaches back or the period moved, read whole again. The same answers
    (tests/core/test_backlog_kept.py, through random writes and clock moves). One per
    reader; one call at a time."""

    def __init__(self) -> None:
        # (period, seq, as_of, valid until, state, follow-ups per kind)
        self._kept: tuple | None = None
        self.reads = 0       # whole reads, for tests and benches

    def read(self, store: Store, start: str, end: str, as_of: str
             ) -> tuple[dict[str, dict[str, int]], list[str | None]]:
        """(``followup_state(store, start, end, as_of)``, the follow-ups' next moments
        (their earliest, as ``period_next_change`` takes them))."""
        from calls.store import reports as q

        conn = store.db.conn
        with store.reading():       # the journal and the counts from one snapshot
            kept = self._kept
            high, reaches = reach(conn, "followups_changes", kept[1] if kept else None)
            if kept is not None and reaches:
                period, _seq, read_at, until, _state, _kinds = kept
                if (period == (start, end) and read_at <= as_of
                        and (until is None or as_of <= until)):
                    return self._moved(conn, kept, high, as_of)
            state = q.followup_state(store, start, end, as_of)
            until = min((m for m in q.followups_next_change(store, as_of) if m is not None),
                        default=None)
            kinds: dict[str, int] = {}
            for kind, n in conn.execute("SELECT kind, count(*) FROM followups INDEXED BY "
                                        "idx_followups_open_due GROUP BY status, kind"):
                kinds[kind] = kinds.get(kind, 0) + n
            self._kept = ((start, end), high, as_of, until, state, kinds)
            self.reads += 1
            return _answer(state, kinds), [until]

    def _moved(self, conn, kept: tuple, high: int, as_of: str
               ) -> tuple[dict[str, dict[str, int]], list[str | None]]:
        (start, end), seq, read_at, until, state, kinds = kept
        state = {kind: dict(figures) for kind, figures in state.items()}
        kinds = dict(kinds)
        first: dict[int, tuple] = {}
        last: dict[int, tuple] = {}
        for fid, *row in conn.execute(_JOURNAL_SINCE, (seq,)):
            first.setdefault(fid, tuple(row[:5]))
            last[fid] = tuple(row[5:])
        for fid, now in last.items():
            _count(state, kinds, first[fid], -1, start, end, read_at)
            _count(state, kinds, now, 1, start, end, as_of)
            until = min((m for m in (until, *_moments(now, as_of)) if m is not None),
                        default=None)
        self._kept = ((start, end), high, as_of, until, state, kinds)
        return _answer(state, kinds), [until]


def _answer(state: dict, kinds: dict[str, int]) -> dict[str, dict[str, int]]:
    """Every kind the table holds (as ``followup_state``), a copy."""
    return {kind: dict(state.get(kind, _STATE_ZERO)) for kind, n in kinds.items() if n}


def _count(state: dict, kinds: dict[str, int], version: tuple, sign: int, start: str,
           end: str, as_of: str) -> None:
    """Add (``sign`` 1) or take away (-1) one follow-up ``version`` (kind, status,
    opened, due, closed; status None: not there) as ``followup_state`` counts it."""
    kind, status, created, due, closed = version
    if status is None:
        return
    kinds[kind] = kinds.get(kind, 0) + sign
    figures = state.setdefault(kind, dict(_STATE_ZERO))
    if created < as_of and (status == "open" or (closed is not None and closed >= as_of)):
        figures["open"] += sign
        if due is not None and due < as_of:
            figures["overdue"] += sign
    if status in ("done", "cancelled") and closed is not None and start <= closed < end:
        figures[status] += sign


def _moments(version: tuple, as_of: str) -> list[str]:
    """A follow-up version's moments at or after ``as_of`` at which what it counts can
    change (as ``plain_followups_next_change``)."""
    _kind, status, created, due, closed = version
    if status is None:
        return []
    out = [m for m in (created, closed) if m is not None and m >= as_of]
    if due is not None and due >= as_of and (
            status == "open" or (closed is not None and closed >= as_of)):
        out.append(due)
    return out
