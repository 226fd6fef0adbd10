"""Coverage from per-customer columns the database keeps up to date itself.

Coverage (``calls.reports.coverage_as_of``) asks, for every customer, whether they had a
completed call within their tier's cadence and any contact within a year. Walking every
customer's calls for that takes ~170 ms at 100,000 customers, and the dashboard did it
after every write on the floor. Instead each customer row carries

- ``last_completed_at``: the start of their latest call with the outcome ``completed``;
- ``last_contact_at``: the start of their latest call that reached them (an outcome of
  ``calls.outcomes.CONTACT``, completed among them);

kept by triggers on ``calls`` (migration ``coverage_0001_last_calls``), so in the same
transaction as the call, whoever writes it (the call session, ``log-call``, an import of
history). Which outcomes are contacts is the outcome table's business and can change
with the code: the database holds the set its triggers use (``coverage_contact_outcomes``),
:func:`keep_in_step` rewrites it and recomputes ``last_contact_at`` when this code's table
differs (run at every writable open), and :func:`counts` is used only while the two agree
(:func:`in_step`); otherwise the plain walk answers. The cadences are the policy's and
are applied at read time, so a policy change needs no recompute.

:func:`counts` then reads index ranges: customers per tier, those per tier whose last
completed call falls in ``[cutoff, as_of)``, those whose last contact does. A customer
whose latest call is dated at or after ``as_of`` (a call logged with a later ``--at``, or
a figure asked for a moment in the past) may still have an earlier call that counts: those
few customers are looked at call by call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from calls.outcomes import CONTACT
from calls.records import record
from calls.store import Store
from calls.store.journals import reach

COMPLETED = "completed"
CONTACT_TABLE = "coverage_contact_outcomes"
# Customers with a call at or after the moment asked, read call by call; beyond this many
# (a moment weeks back) walking everyone is quicker.
LATER_LIMIT = 2000


def contact_codes() -> frozenset[str]:
    """The outcomes that reach a customer in this code's outcome table."""
    return frozenset(o.value for o in CONTACT)


def stored_codes(conn) -> frozenset[str]:
    """The contact outcomes the database's triggers use."""
    return frozenset(r[0] for r in conn.execute(f"SELECT outcome FROM {CONTACT_TABLE}"))


def in_step(store: Store) -> bool:
    """Whether the kept columns mean what this code's outcome table says (else the plain
    walk must answer). A completed call must be a contact: coverage counts a customer
    covered within their cadence as reached."""
    codes = contact_codes()
    return COMPLETED in codes and stored_codes(store.db.conn) == codes


def recompute(conn, codes: Iterable[str], *, completed: bool = True) -> None:
    """Set the contact outcomes to ``codes`` and recompute ``last_contact_at`` (and
    ``last_completed_at`` unless ``completed=False``) of every customer from their calls.
    Inside the caller's write transaction."""
    codes = sorted(set(codes))
    conn.execute(f"DELETE FROM {CONTACT_TABLE}")
    conn.executemany(f"INSERT INTO {CONTACT_TABLE} (outcome) VALUES (?)",
                     [(c,) for c in codes])
    columns = ["last_contact_at"] + (["last_completed_at"] if completed else [])
    conn.execute(
        f"UPDATE customers SET {', '.join(f'{c} = NULL' for c in columns)} "
        f"WHERE {' OR '.join(f'{c} IS NOT NULL' for c in columns)}")
    # One pass over the (customer, time, outcome) index, customers in id order.
    sets = ["last_contact_at = m.contact"]
    if completed:
        sets.append("last_completed_at = m.done")
    conn.execute(
        f"""
        UPDATE customers SET {', '.join(sets)}
        FROM (SELECT customer_id,
                     max(CASE WHEN outcome = '{COMPLETED}' THEN started_at END) AS done,
                     max(CASE WHEN outcome IN (SELECT outcome FROM {CONTACT_TABLE})
                              THEN started_at END) AS contact
              FROM calls WHERE outcome IS NOT NULL GROUP BY customer_id) AS m
        WHERE customers.id = m.customer_id
          AND (m.contact IS NOT NULL {'OR m.done IS NOT NULL' if completed else ''})
        """)


def keep_in_step(store: Store) -> bool:
    """Bring the database's contact outcomes in line with this code's outcome table,
    recomputing ``last_contact_at`` when they differ (under the write lock; a read-only
    database is left alone: :func:`counts` is then not used). True if it recomputed."""
    conn = store.db.conn
    if store.read_only is not None or stored_codes(conn) == contact_codes():
        return False
    with store.write():
        if stored_codes(conn) == contact_codes():   # another process did it meanwhile
            return False
        recompute(store.db.conn, contact_codes(), completed=False)
    return True


def _tiers(conn) -> list[str | None]:
    """Every tier value customers have (NULL included), from the tier index's ends
    (a skip over the index, not a walk of it)."""
    out: list[str | None] = []
    row = conn.execute("SELECT min(tier) FROM customers").fetchone()
    while row[0] is not None:
        out.append(row[0])
        row = conn.execute("SELECT min(tier) FROM customers WHERE tier > ?", (row[0],)
                           ).fetchone()
    if conn.execute("SELECT 1 FROM customers WHERE tier IS NULL LIMIT 1").fetchone():
        out.append(None)
    return out


def _cutoff(tier: str | None, cutoffs: Mapping[str, str]) -> str:
    """The cutoff a tier's customers are covered from (a tier the policy does not name,
    and customers without a tier: C's, else the longest cadence's)."""
    default = cutoffs.get("C", min(cutoffs.values()))
    return cutoffs.get(tier, default) if tier is not None else default


@record
class RangeCounts:
    """What :func:`counts` reads from index ranges, before the customers whose latest
    call is dated at or after the moment asked are looked at call by call."""

    customers: dict[str | None, int]   # per tier, do-not-call included
    dnc: dict[str | None, int]         # per tier, on do-not-call
    covered: dict[str | None, int]     # per tier, callable, last completed within cadence
    reached: int                       # callable, last contact within the year

    def copy(self) -> RangeCounts:
        return RangeCounts(dict(self.customers), dict(self.dnc), dict(self.covered),
                           self.reached)

    def tiers(self) -> list[str | None]:
        """The tiers customers have, in :func:`_tiers`' order (NULL last)."""
        return sorted((t for t, n in self.customers.items() if n),
                      key=lambda t: (t is None, t or ""))


def _covered_sql(column: str, by_tier: bool) -> str:
    return (f"SELECT count(*) FROM customers WHERE do_not_call = 0 "
            f"{'AND tier IS ? ' if by_tier else ''}AND {column} >= ? AND {column} < ?")


def read_ranges(conn, tiers: list[str | None], as_of: str, cutoffs: Mapping[str, str],
                unreached_cutoff: str) -> RangeCounts:
    """:class:`RangeCounts` at ``as_of``, read whole (the plain way)."""
    dnc = dict(conn.execute(
        "SELECT tier, count(*) FROM customers WHERE do_not_call != 0 GROUP BY tier"))
    customers: dict[str | None, int] = {}
    covered: dict[str | None, int] = {}
    for tier in tiers:
        customers[tier] = conn.execute(
            "SELECT count(*) FROM customers WHERE tier IS ?", (tier,)).fetchone()[0]
        covered[tier] = conn.execute(_covered_sql("last_completed_at", True),
                                     (tier, _cutoff(tier, cutoffs), as_of)).fetchone()[0]
    reached = conn.execute(_covered_sql("last_contact_at", False),
                           (unreached_cutoff, as_of)).fetchone()[0]
    return RangeCounts(customers, dnc, covered, reached)


def _later(conn, tiers: list[str | None], as_of: str) -> dict | None:
    """The callable customers whose latest completed call or contact is dated at or after
    ``as_of``: their latest call says nothing about as_of, so their calls before it are
    read. None when more than :data:`LATER_LIMIT` (coverage at a moment weeks back:
    walking everyone is quicker)."""
    completed_later = ("SELECT {} FROM customers WHERE do_not_call = 0 AND tier IS ? "
                       "AND last_completed_at >= ?")
    contact_later = "SELECT {} FROM customers WHERE do_not_call = 0 AND last_contact_at >= ?"
    later_sql = [(completed_later, (t, as_of)) for t in tiers]
    later_sql.append((contact_later, (as_of,)))
    if sum(conn.execute(sql.format("count(*)"), args).fetchone()[0]
           for sql, args in later_sql) > LATER_LIMIT:
        return None
    return {row[0]: row for sql, args in later_sql for row in conn.execute(
        sql.format("id, tier, last_completed_at, last_contact_at"), args)}


def counts(store: Store, as_of: str, cutoffs: Mapping[str, str], unreached_cutoff: str
           ) -> dict | None:
    """What ``calls.store.reports.coverage_counts`` answers (the same dict), from the kept
    columns; None when more than :data:`LATER_LIMIT` customers have a call dated at or
    after ``as_of`` (walk them all instead). Only while :func:`in_step`."""
    conn = store.db.conn
    tiers = _tiers(conn)
    later = _later(conn, tiers, as_of)
    if later is None:
        return None
    return _answer(conn, read_ranges(conn, tiers, as_of, cutoffs, unreached_cutoff), later,
                   as_of, cutoffs, unreached_cutoff)


def _answer(conn, ranges: RangeCounts, later: dict, as_of: str, cutoffs: Mapping[str, str],
            unreached_cutoff: str) -> dict:
    """The counts' answer: the ranges, with the customers dated later looked at call by
    call (their calls before ``as_of``, all in one read: one index range per customer)."""
    tiers: dict[str, tuple[int, int]] = {}
    for tier in ranges.tiers():
        customers = ranges.customers[tier] - ranges.dnc.get(tier, 0)
        if customers:
            tiers[tier if tier is not None else "?"] = (customers, ranges.covered.get(tier, 0))
    reached = ranges.reached
    window = min([unreached_cutoff, *cutoffs.values()])
    codes = contact_codes()
    calls_of: dict[int, list[tuple[str, str]]] = {}
    if later:
        for cid, outcome, started in conn.execute(
                "SELECT customer_id, outcome, started_at FROM calls "
                "WHERE customer_id IN (SELECT value FROM json_each(?)) "
                "AND started_at >= ? AND started_at < ?",
                (json.dumps(list(later)), window, as_of)):
            calls_of.setdefault(cid, []).append((outcome, started))
    for cid, tier, done, contact in later.values():
        cutoff = _cutoff(tier, cutoffs)
        key = tier if tier is not None else "?"
        kept_covered = done is not None and cutoff <= done < as_of
        kept_reached = contact is not None and unreached_cutoff <= contact < as_of
        covered = reached_now = False
        for outcome, started in calls_of.get(cid, ()):
            if outcome == COMPLETED and started >= cutoff:
                covered = reached_now = True
            elif outcome in codes and started >= unreached_cutoff:
                reached_now = True
        n, c = tiers[key]
        tiers[key] = (n, c - kept_covered + covered)
        reached += reached_now - kept_reached
    not_reached = sum(n for n, _ in tiers.values()) - reached
    return {"tiers": tiers, "not_reached": not_reached,
            "do_not_call": sum(ranges.dnc.values())}


# -- kept between reads -------------------------------------------------------------------


@record(frozen=True)
class _Kept:
    """Range counts as of the journal's change ``seq`` and the customer ``last_id``, at
    the moments they were read."""

    codes: frozenset[str]
    removed: int
    seq: int
    last_id: int
    as_of: str
    cutoffs: dict[str, str]
    unreached_cutoff: str
    ranges: RangeCounts


class KeptCounts:
    """:func:`counts` for a reader that asks again and again (the dashboard, at every
    refresh): the index ranges are read whole once, then brought up to date from the
    journal of coverage changes (migration ``dashboard_0002``: each change of a
    customer's tier, do-not-call flag or last completed/contact mark, old and new), the
    customers added since (ids above the last read's largest) and moved with the clock
    by the thin ranges between the last moments asked and these (a call left its cadence
    window, one came into it). Read whole again when a customer was removed, the journal
    no longer reaches back or the contact outcomes changed. The customers dated at or
    after ``as_of`` are looked at each time, as by :func:`counts`. The same answer as
    :func:`counts` (tests/core/test_coverage_between_reads.py, through random writes and
    clock moves). One per reader; one call at a time."""

    def __init__(self) -> None:
        self._kept: _Kept | None = None
        self.reads = 0       # whole reads, for tests and benches

    def counts(self, store: Store, as_of: str, cutoffs: Mapping[str, str],
               unreached_cutoff: str) -> dict | None:
        conn = store.db.conn
        with store.reading():      # the journal and the ranges from one snapshot
            ranges = self._ranges(conn, as_of, dict(cutoffs), unreached_cutoff)
            later = _later(conn, ranges.tiers(), as_of)
            if later is None:
                return None
            return _answer(conn, ranges, later, as_of, cutoffs, unreached_cutoff)

    def _ranges(self, conn, as_of: str, cutoffs: dict[str, str],
                unreached_cutoff: str) -> RangeCounts:
        codes = stored_codes(conn)
        removed = conn.execute("SELECT n FROM customers_removed WHERE id = 1").fetchone()[0]
        k = self._kept
        high, reaches = reach(conn, "coverage_changes", k.seq if k else None)
        last_id = conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 0
        if (k is None or not reaches or k.codes != codes or k.removed != removed
                or last_id < k.last_id):
            ranges = read_ranges(conn, _tiers(conn), as_of, cutoffs, unreached_cutoff)
            self.reads += 1
        else:
            ranges = k.ranges.copy()
            if high > k.seq:       # changes to customers counted at the last read
                for row in conn.execute(
                        "SELECT old_tier, old_dnc, old_completed, old_contact, new_tier, "
                        "new_dnc, new_completed, new_contact FROM coverage_changes "
                        "WHERE seq > ? AND customer_id <= ? ORDER BY seq", (k.seq, k.last_id)):
                    _count(ranges, *row[:4], -1, k)
                    _count(ranges, *row[4:], 1, k)
            if last_id > k.last_id:    # customers added since: as they are now
                for row in conn.execute(
                        "SELECT tier, do_not_call, last_completed_at, last_contact_at "
                        "FROM customers WHERE id > ?", (k.last_id,)):
                    _count(ranges, *row, 1, k)
            _move(conn, ranges, k, as_of, cutoffs, unreached_cutoff)
        self._kept = _Kept(codes, removed, high, last_id, as_of, cutoffs, unreached_cutoff,
                           ranges)
        return ranges


def _count(ranges: RangeCounts, tier: str | None, dnc: int, done: str | None,
           contact: str | None, sign: int, at: _Kept) -> None:
    """Add (``sign`` 1) or take away (-1) one customer's part in ``ranges`` read at the
    kept moments."""
    ranges.customers[tier] = ranges.customers.get(tier, 0) + sign
    if dnc != 0:
        ranges.dnc[tier] = ranges.dnc.get(tier, 0) + sign
        return
    if done is not None and _cutoff(tier, at.cutoffs) <= done < at.as_of:
        ranges.covered[tier] = ranges.covered.get(tier, 0) + sign
    if contact is not None and at.unreached_cutoff <= contact < at.as_of:
        ranges.reached += sign


def _move(conn, ranges: RangeCounts, k: _Kept, as_of: str, cutoffs: dict[str, str],
          unreached_cutoff: str) -> None:
    """Move ranges (up to date with the journal) from ``k``'s moments to these. A window
    count is the marks before its end less those before its start, so it moves by the
    marks between the old and the new end (added, or taken away when the end went back)
    less those between the old and the new start: thin ranges when the clock moved by a
    refresh's seconds."""
    def between(column: str, tier: tuple, low: str, high: str) -> int:
        if low == high:
            return 0
        sign = 1 if low < high else -1
        low, high = min(low, high), max(low, high)
        return sign * conn.execute(_covered_sql(column, bool(tier)),
                                   (*tier, low, high)).fetchone()[0]

    for tier in ranges.tiers():
        ranges.covered[tier] = (ranges.covered.get(tier, 0)
                                + between("last_completed_at", (tier,), k.as_of, as_of)
                                - between("last_completed_at", (tier,),
                                          _cutoff(tier, k.cutoffs), _cutoff(tier, cutoffs)))
    ranges.reached += (between("last_contact_at", (), k.as_of, as_of)
                       - between("last_contact_at", (), k.unreached_cutoff, unreached_cutoff))
