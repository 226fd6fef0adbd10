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
from calls.store import Store

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


def counts(store: Store, as_of: str, cutoffs: Mapping[str, str], unreached_cutoff: str
           ) -> dict | None:
    """What ``calls.store.reports.coverage_counts`` answers (the same dict), from the kept
    columns; None when more than :data:`LATER_LIMIT` customers have a call dated at or
    after ``as_of`` (walk them all instead). Only while :func:`in_step`."""
    conn = store.db.conn
    default_cutoff = cutoffs.get("C", min(cutoffs.values()))
    tier_values = _tiers(conn)
    # Customers whose latest call is dated at or after as_of: their latest call says
    # nothing about as_of, so their calls before it are read. Many of them (coverage at
    # a moment weeks back): walking everyone is quicker.
    completed_later = ("SELECT {} FROM customers WHERE do_not_call = 0 AND tier IS ? "
                       "AND last_completed_at >= ?")
    contact_later = "SELECT {} FROM customers WHERE do_not_call = 0 AND last_contact_at >= ?"
    later_sql = [(completed_later, (t, as_of)) for t in tier_values]
    later_sql.append((contact_later, (as_of,)))
    if sum(conn.execute(sql.format("count(*)"), args).fetchone()[0]
           for sql, args in later_sql) > LATER_LIMIT:
        return None
    later = {row[0]: row for sql, args in later_sql for row in conn.execute(
        sql.format("id, tier, last_completed_at, last_contact_at"), args)}

    dnc_by_tier = dict(conn.execute(
        "SELECT tier, count(*) FROM customers WHERE do_not_call != 0 GROUP BY tier"))
    tiers: dict[str, tuple[int, int]] = {}
    for tier in tier_values:
        cutoff = cutoffs.get(tier, default_cutoff) if tier is not None else default_cutoff
        customers = conn.execute(
            "SELECT count(*) FROM customers WHERE tier IS ?", (tier,)).fetchone()[0]
        customers -= dnc_by_tier.get(tier, 0)
        covered = conn.execute(
            "SELECT count(*) FROM customers WHERE do_not_call = 0 AND tier IS ? "
            "AND last_completed_at >= ? AND last_completed_at < ?",
            (tier, cutoff, as_of)).fetchone()[0]
        if customers:
            tiers[tier if tier is not None else "?"] = (customers, covered)
    reached = conn.execute(
        "SELECT count(*) FROM customers WHERE do_not_call = 0 "
        "AND last_contact_at >= ? AND last_contact_at < ?",
        (unreached_cutoff, as_of)).fetchone()[0]
    window = min([unreached_cutoff, *cutoffs.values()])
    codes = contact_codes()
    # Their calls before as_of, all in one read (one index range per customer).
    calls_of: dict[int, list[tuple[str, str]]] = {}
    if later:
        for cid, outcome, started in conn.execute(
                "SELECT customer_id, outcome, started_at FROM calls "
                "WHERE customer_id IN (SELECT value FROM json_each(?)) "
                "AND started_at >= ? AND started_at < ?",
                (json.dumps(list(later)), window, as_of)):
            calls_of.setdefault(cid, []).append((outcome, started))
    for cid, tier, done, contact in later.values():
        cutoff = cutoffs.get(tier, default_cutoff) if tier is not None else default_cutoff
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
            "do_not_call": sum(dnc_by_tier.values())}
