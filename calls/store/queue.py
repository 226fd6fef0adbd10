"""Queries for the call queue: candidate streams per reason, claims, skips, zone groups.

Every stream reads its candidates in priority order straight from an index (``INDEXED BY``
so that SQLite never prefers the zone-key index and sorts), with the exclusions that do
not depend on the calendar applied in SQL. ``calls.queue`` decides the exact reason for
each row in Python and stops reading once a page is full.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from calls.records import record
from calls.store import Store

# The calling window of a customer depends on the number's country, its zones, its
# North American area code (the state's rule pack) and the list's region: the "zone key".
_ZONE_KEY_INDEXED = (
    "ifnull(phone_region, '') || '|' || ifnull(time_zones, '') || '|' || "
    "CASE WHEN substr(phone, 1, 2) = '+1' THEN substr(phone, 3, 3) ELSE '' END || '|' || "
    "ifnull(region, '')"
)
ZONE_KEY = (
    "ifnull(c.phone_region, '') || '|' || ifnull(c.time_zones, '') || '|' || "
    "CASE WHEN substr(c.phone, 1, 2) = '+1' THEN substr(c.phone, 3, 3) ELSE '' END || '|' || "
    "ifnull(c.region, '')"
)

# The open follow-ups of one kind are a range of idx_followups_open_due (status, kind, ...):
# without INDEXED BY, SQLite walked every follow-up in customer order for the GROUP BY
# (idx_followups_customer): ~100-145 ms a statement with 160,000 follow-ups (a year of
# calls on 1,000,000 customers, none of them callbacks), against ~1 ms.
# Exclusions that hold whatever the reason. Parameters: now, caller, open_keys (JSON list
# of zone keys whose calling window is open), grace_cut (now minus the personal-callback
# grace period), need_consent (JSON list of "country|customer type" whose calls need
# recorded consent, e.g. "DE|consumer") and default_type (the policy's customer type).
# SQLite tests them in this order: first what most often turns away the rows a take
# passes over on a floor at work (waiting for a retry, claimed by another seat, a
# closed window), so that those rows cost the fewest steps (a third fewer for the
# thank-you stream 30 s into a 200-seat run; scripts/bench_floor.py).
EXCLUSIONS = f"""
    (c.retry_after IS NULL OR c.retry_after <= :now)
    AND c.id NOT IN (SELECT customer_id FROM claims
                     WHERE caller != :caller AND expires_at > :now)
    AND ({ZONE_KEY}) IN (SELECT value FROM json_each(:open_keys))
    AND c.do_not_call = 0
    AND c.number_status = 'ok'
    AND c.phone IS NOT NULL AND c.phone != ''
    AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
    AND ifnull(c.consent_calls, '') != 'withdrawn'
    AND (c.consent_calls = 'given'
         OR (ifnull(c.phone_region, '') || '|' || ifnull(c.customer_type, :default_type))
            NOT IN (SELECT value FROM json_each(:need_consent)))
    AND c.id NOT IN (SELECT customer_id FROM skips WHERE caller = :caller AND until > :now)
    AND c.id NOT IN (
        SELECT customer_id FROM followups INDEXED BY idx_followups_open_due
        WHERE kind = 'callback' AND status = 'open'
        GROUP BY customer_id
        HAVING sum(CASE WHEN ifnull(due_at, '') <= :now
                         AND (owner IS NULL OR owner = :caller
                              OR ifnull(due_at, '') <= :grace_cut)
                        THEN 1 ELSE 0 END) = 0)
"""


def stream(store: Store, sql: str, params: dict) -> Iterator[dict]:
    """Rows of ``sql`` as dicts, read lazily (the caller stops when its page is full)."""
    cursor = store.db.conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    try:
        for row in cursor:
            yield dict(zip(names, row))
    finally:
        cursor.close()


def callback_stream(store: Store, params: dict) -> Iterator[dict]:
    """Customers with an open callback due for this caller, earliest first."""
    sql = f"""
        SELECT c.*, f.due AS _due FROM (
            SELECT customer_id, min(ifnull(due_at, '')) AS due
            FROM followups INDEXED BY idx_followups_open_due
            WHERE kind = 'callback' AND status = 'open' AND ifnull(due_at, '') <= :now
              AND (owner IS NULL OR owner = :caller OR ifnull(due_at, '') <= :grace_cut)
            GROUP BY customer_id) f
        JOIN customers c ON c.id = f.customer_id
        WHERE {EXCLUSIONS}
        ORDER BY f.due, c.id
    """
    return stream(store, sql, params)


def recovery_stream(store: Store, params: dict) -> Iterator[dict]:
    """Customers with an open recovery call that is due, earliest first."""
    sql = f"""
        SELECT c.*, f.due AS _due FROM (
            SELECT customer_id, min(ifnull(due_at, '')) AS due
            FROM followups INDEXED BY idx_followups_open_due
            WHERE kind = 'recovery_call' AND status = 'open' AND ifnull(due_at, '') <= :now
            GROUP BY customer_id) f
        JOIN customers c ON c.id = f.customer_id
        WHERE {EXCLUSIONS}
        ORDER BY f.due, c.id
    """
    return stream(store, sql, params)


def _ordered(inner: str, outer_where: str, extra_cols: str = "") -> str:
    """Read ``inner`` (an index range in index order, selecting ``c.id``) lazily and
    filter it outside.

    The inner query runs as a co-routine, so rows come out in the index's order as they
    are read; with every filter in one flat query SQLite may instead estimate a small
    result and sort all of it first, reading the whole range before the first row.
    The co-routine hands out only the ids, read from the index alone; each customer's row
    is then looked up by id (``CROSS JOIN`` keeps the index's order as the outer loop).
    A co-routine that selected ``*`` copied all of a customer's ~50 columns for every row
    it passed, and on a floor at work a take passes many (customers claimed by the other
    seats, called since, waiting for a retry, in a closed window: ~800 rows 30 s into
    a 200-seat run, 3-4 ms a take; scripts/bench_floor.py).
    """
    return f"""
        SELECT c.*{extra_cols} FROM ({inner} LIMIT -1) AS i
        CROSS JOIN customers c ON c.id = i.id
        WHERE {outer_where} AND {EXCLUSIONS}
    """


def _tier_term(tier: str | None) -> str:
    return "c.tier IS NULL" if tier is None else "c.tier = :tier"


# Not called since the last purchase (the thank-you reason's SQL part); the partial
# index idx_customers_thank_you has exactly this WHERE (migration queue_0002), which
# SQLite requires to use it.
_NOT_THANKED = "(c.cycle_ended_at IS NULL OR c.cycle_ended_at < c.last_purchase)"


def thank_you_stream(store: Store, tier: str | None, lp_min: str, lp_max: str,
                     params: dict) -> Iterator[dict]:
    """Customers of one tier who bought between the dates and were not called since."""
    # idx_customers_thank_you holds only the customers not called since their purchase
    # (its WHERE is _NOT_THANKED): those called today are not walked past by every take.
    inner = f"""
        SELECT c.id FROM customers c INDEXED BY idx_customers_thank_you
        WHERE {_tier_term(tier)} AND c.last_purchase >= :lp_min AND c.last_purchase <= :lp_max
          AND {_NOT_THANKED}
        ORDER BY c.last_purchase, c.id
    """
    sql = _ordered(inner, "1")
    return stream(store, sql, {**params, "tier": tier, "lp_min": lp_min, "lp_max": lp_max})


def occasion_stream(store: Store, column: str, year: int, md_lo: str, md_hi: str,
                    days_ahead: int, params: dict) -> Iterator[dict]:
    """Customers whose ``column`` (birthday / customer_since) month-day is in the range.

    The occasion falls in ``year``; a customer called since ``days_ahead`` days before it
    is left out. 29 February counts as 28 February in a common year.
    """
    if column not in ("birthday", "customer_since"):
        raise ValueError(column)
    index = "idx_customers_birthday_md" if column == "birthday" else "idx_customers_since_md"
    md = f"substr(c.{column}, 6, 5)"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    feb29 = f"{year}-02-29" if leap else f"{year}-02-28"
    since_clause = "AND substr(c.customer_since, 1, 4) < :year_text" if (
        column == "customer_since") else ""
    inner = f"""
        SELECT c.id FROM customers c INDEXED BY {index}
        WHERE {md} BETWEEN :md_lo AND :md_hi
        ORDER BY {md}, c.id
    """
    outer = f"""(c.cycle_ended_at IS NULL OR c.cycle_ended_at < date(
                CASE {md} WHEN '02-29' THEN :feb29 ELSE :year_text || '-' || {md} END,
                :minus_days)) {since_clause}"""
    return stream(store, _ordered(inner, outer),
                  {**params, "md_lo": md_lo, "md_hi": md_hi, "feb29": feb29,
                   "year_text": f"{year:04d}", "minus_days": f"-{days_ahead} days"})


def at_risk_expr(factor: float, alias: str = "") -> str:
    """The SQL date a customer starts counting as "buying slowed" (matches its index)."""
    a = f"{alias}." if alias else ""
    return (f"date({a}last_purchase, '+' || (CAST({float(factor)!r} * "
            f"{a}avg_order_interval_days AS INTEGER) + 1) || ' days')")


def at_risk_index_name(factor: float) -> str:
    """The name of the expression index for one at-risk factor."""
    text = re.sub(r"[^0-9]", "_", f"{float(factor)!r}").rstrip("_0") or "0"
    return f"idx_customers_at_risk_{text}"


def ensure_at_risk_index(store: Store, factor: float) -> None:
    """Create the index for a non-default at-risk factor (once; the default ships with it)."""
    name = at_risk_index_name(factor)
    if store.scalar("SELECT 1 FROM sqlite_master WHERE type='index' AND name=?", (name,)):
        return
    with store.write():
        store.db.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON customers({at_risk_expr(factor)}) "
            "WHERE order_count >= 2"
        )


def at_risk_stream(store: Store, factor: float, day_max: str, params: dict) -> Iterator[dict]:
    """Customers whose buying slowed on or before ``day_max`` and not called since."""
    expr = at_risk_expr(factor)
    inner = f"""
        SELECT id, {expr} AS _risk FROM customers INDEXED BY {at_risk_index_name(factor)}
        WHERE order_count >= 2 AND {expr} <= :day_max
        ORDER BY {expr}, id
    """
    sql = _ordered(inner, "(c.cycle_ended_at IS NULL OR c.cycle_ended_at < i._risk)",
                   ", i._risk AS _risk")
    return stream(store, sql, {**params, "day_max": day_max})


def overdue_stream(store: Store, tier: str | None, cut: str, params: dict) -> Iterator[dict]:
    """Customers of one tier whose last cycle ended on or before ``cut``, oldest first."""
    inner = f"""
        SELECT c.id FROM customers c INDEXED BY idx_customers_overdue
        WHERE {_tier_term(tier)} AND c.cycle_ended_at IS NOT NULL AND c.cycle_ended_at <= :cut
        ORDER BY c.cycle_ended_at, c.id
    """
    return stream(store, _ordered(inner, "1"), {**params, "tier": tier, "cut": cut})


def never_stream(store: Store, tier: str | None, params: dict) -> Iterator[dict]:
    """Customers of one tier with no care cycle ended yet, highest revenue first."""
    inner = f"""
        SELECT c.id FROM customers c INDEXED BY idx_customers_never
        WHERE {_tier_term(tier)} AND c.cycle_ended_at IS NULL
        ORDER BY c.revenue DESC, c.id
    """
    return stream(store, _ordered(inner, "1"), {**params, "tier": tier})


def tier_values(store: Store) -> list[str | None]:
    """Every distinct tier value in use (None for customers without a tier), via the index."""
    conn = store.db.conn
    out: list[str | None] = []
    if conn.execute("SELECT 1 FROM customers INDEXED BY idx_customers_overdue "
                    "WHERE tier IS NULL LIMIT 1").fetchone():
        out.append(None)
    row = conn.execute("SELECT min(tier) FROM customers INDEXED BY idx_customers_overdue "
                       "WHERE tier IS NOT NULL").fetchone()
    while row and row[0] is not None:
        out.append(row[0])
        row = conn.execute("SELECT min(tier) FROM customers INDEXED BY idx_customers_overdue "
                           "WHERE tier > ?", (row[0],)).fetchone()
    return out


def zone_keys(store: Store) -> list[str]:
    """Every distinct zone key (``country|time_zones|area code|region``) in use: one index seek per key."""
    keys: list[str] = []
    conn = store.db.conn
    last = None
    sql_first = f"SELECT min({_ZONE_KEY_INDEXED}) FROM customers"
    sql_next = (f"SELECT min({_ZONE_KEY_INDEXED}) FROM customers "
                f"WHERE {_ZONE_KEY_INDEXED} > ?")
    while True:
        row = (conn.execute(sql_first) if last is None else conn.execute(sql_next, (last,))
               ).fetchone()
        if row is None or row[0] is None:
            return keys
        keys.append(row[0])
        last = row[0]


def customer_rows(store: Store, ids: list[int]) -> dict[int, dict]:
    """customers rows keyed by id."""
    out: dict[int, dict] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.db.query(f"SELECT * FROM customers WHERE id IN ({marks})", chunk):
            out[row["id"]] = row
    return out


def all_customer_rows(store: Store) -> Iterator[dict]:
    """Every customer row (the slow reference queue and tools)."""
    return store.db.query("SELECT * FROM customers ORDER BY id")


def open_call_followups(store: Store, ids: list[int] | None = None) -> list[dict]:
    """Open callback and recovery_call follow-ups (for these customers, or all)."""
    sql = ("SELECT id, kind, customer_id, owner, due_at, details, call_id FROM followups "
           "WHERE status = 'open' AND kind IN ('callback', 'recovery_call')")
    if ids is None:
        return store.all(sql + " ORDER BY id")
    # A page's customers looked up one by one (with few follow-ups on file SQLite's
    # statistics chose to read them all).
    sql = sql.replace("FROM followups", "FROM followups INDEXED BY idx_followups_customer")
    out: list[dict] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.extend(store.all(sql + f" AND customer_id IN ({marks}) ORDER BY id", chunk))
    return out


def dnc_rows_for(store: Store, phones: list[str]) -> dict[str, dict]:
    """DNC list rows for these numbers, keyed by number."""
    out: dict[str, dict] = {}
    phones = [p for p in phones if p]
    for start in range(0, len(phones), 500):
        chunk = phones[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.db.query(f"SELECT * FROM dnc WHERE phone IN ({marks})", chunk):
            out[row["phone"]] = row
    return out


def all_dnc_phones(store: Store) -> set[str]:
    """Every number on the DNC list."""
    return {r["phone"] for r in store.db.query("SELECT phone FROM dnc")}


# -- claims and skips ------------------------------------------------------------------


def claims_rows(store: Store, ids: list[int] | None = None) -> list[dict]:
    """Claims (for these customers, or all)."""
    if ids is None:
        return store.all("SELECT * FROM claims")
    out: list[dict] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.extend(store.all(f"SELECT * FROM claims WHERE customer_id IN ({marks})", chunk))
    return out


def skip_rows(store: Store, caller: str, ids: list[int] | None = None) -> list[dict]:
    """This caller's skips (for these customers, or all)."""
    if ids is None:
        return store.all("SELECT * FROM skips WHERE caller = ?", (caller,))
    out: list[dict] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.extend(store.all(
            f"SELECT * FROM skips WHERE caller = ? AND customer_id IN ({marks})",
            [caller, *chunk]))
    return out


def live_claims_of(store: Store, caller: str, now: str) -> list[dict]:
    """The caller's claims that have not run out, oldest first."""
    return store.all(
        "SELECT * FROM claims WHERE caller = ? AND expires_at > ? ORDER BY claimed_at",
        (caller, now),
    )


def claim_row(store: Store, customer_id: int) -> dict | None:
    """The claim on one customer, if any (live or run out)."""
    return store.one("SELECT * FROM claims WHERE customer_id = ?", (customer_id,))


def put_claim(store: Store, customer_id: int, caller: str, now: str, expires: str) -> None:
    """Claim a customer for a caller (replacing a run-out claim). Call inside store.write()."""
    store.db.execute(
        """
        INSERT INTO claims(customer_id, caller, claimed_at, expires_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(customer_id) DO UPDATE SET
            caller = excluded.caller,
            claimed_at = CASE WHEN claims.caller = excluded.caller
                              AND claims.expires_at > excluded.claimed_at
                              THEN claims.claimed_at ELSE excluded.claimed_at END,
            expires_at = excluded.expires_at
        """,
        (customer_id, caller, now, expires),
    )


def delete_claims(store: Store, caller: str, customer_id: int | None = None) -> list[int]:
    """Drop a caller's claims (one customer or all); returns the customer ids released."""
    if customer_id is None:
        rows = store.all("SELECT customer_id FROM claims WHERE caller = ?", (caller,))
        store.db.execute("DELETE FROM claims WHERE caller = ?", (caller,))
    else:
        rows = store.all("SELECT customer_id FROM claims WHERE caller = ? AND customer_id = ?",
                         (caller, customer_id))
        store.db.execute("DELETE FROM claims WHERE caller = ? AND customer_id = ?",
                         (caller, customer_id))
    return [r["customer_id"] for r in rows]


def delete_expired_claims(store: Store, now: str) -> None:
    """Forget claims whose lease ran out, and skips that are over."""
    store.db.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
    store.db.execute("DELETE FROM skips WHERE until <= ?", (now,))


def put_skip(store: Store, caller: str, customer_id: int, until: str) -> None:
    """Keep a customer away from this caller until ``until``."""
    store.db.execute(
        "INSERT INTO skips(caller, customer_id, until) VALUES (?, ?, ?) "
        "ON CONFLICT(caller, customer_id) DO UPDATE SET until = excluded.until",
        (caller, customer_id, until),
    )




def upcoming_moments(store: Store, now: str, caller: str, grace_minutes: int,
                     limit: int = 10) -> list[str]:
    """Moments after ``now`` when a waiting customer may become callable: the next retry
    times, callbacks falling due, and personal callbacks of others becoming anyone's."""
    out = [r["t"] for r in store.all(
        "SELECT DISTINCT retry_after AS t FROM customers WHERE retry_after > ? "
        "ORDER BY retry_after LIMIT ?", (now, limit))]
    out += [r["t"] for r in store.all(
        "SELECT DISTINCT due_at AS t FROM followups WHERE status = 'open' "
        "AND kind IN ('callback', 'recovery_call') AND due_at > ? ORDER BY due_at LIMIT ?",
        (now, limit))]
    out += [r["t"] for r in store.all(
        "SELECT DISTINCT strftime('%Y-%m-%dT%H:%M:%SZ', due_at, ?) AS t FROM followups "
        "WHERE status = 'open' AND kind = 'callback' AND owner IS NOT NULL AND owner != ? "
        "AND strftime('%Y-%m-%dT%H:%M:%SZ', due_at, ?) > ? ORDER BY t LIMIT ?",
        (f"+{grace_minutes} minutes", caller, f"+{grace_minutes} minutes", now, limit))]
    return [t for t in out if t]


# -- queue --held: who is held back, counted by slot (calls.queue.held_report) ---------------

# A customer's "code": the columns besides the zone that decide what holds them when they
# have no callback or recovery call and no recent calls: a retry delay running, their
# consent to calls and their customer type (as the basis for a care call reads them).
HELD_CONSENTS = (None, "given", "withdrawn")     # index 0: any other value, or none
HELD_TYPES = ("consumer", "business", None)      # index 2: none given (the policy's default)
# Any other customer type ("Business ") is checked one customer at a time.
HELD_CODES = tuple(retry * 16 + consent * 4 + kind for retry in (0, 1)
                   for consent in range(len(HELD_CONSENTS)) for kind in range(len(HELD_TYPES)))
_HELD_CODE = """ifnull(c.retry_after > :now, 0) * 16
    + CASE c.consent_calls WHEN 'given' THEN 4 WHEN 'withdrawn' THEN 8 ELSE 0 END
    + CASE WHEN c.customer_type IS NULL OR c.customer_type = '' THEN 2
           WHEN c.customer_type = 'consumer' THEN 0 WHEN c.customer_type = 'business' THEN 1
           ELSE 3 END"""
HELD_SLOTS_PER_CLASS = 32


def held_code_parts(code: int) -> tuple[bool, int, int]:
    """A code as (a retry delay running, an index into HELD_CONSENTS, one into HELD_TYPES)."""
    return bool(code // 16), code % 16 // 4, code % 4


@record(frozen=True)
class HeldClass:
    """Zones alike at one moment for ``queue --held``: the same local date, the same rules
    for each code, the same reach back of a call's caps."""

    today: str                                    # their local date (YYYY-MM-DD)
    thank_you_from: str                           # bought since: a thank-you is due
    birthdays: tuple[tuple[str, str], ...]        # (month-day, no call since) for a reason
    anniversaries: tuple[tuple[str, str, str], ...]   # (month-day, no call since, year)
    recent_from: str                              # a call since then may hold them (caps)
    held_codes: tuple[int, ...]                   # the codes something holds in these zones


@record(frozen=True)
class HeldQuery:
    """What ``held_slots`` counts: who is due (a care call), the zone classes, and when a
    customer goes to the one-by-one check (see calls.queue.held_report)."""

    now: str
    due_cuts: tuple[tuple[str, str], ...]   # (tier, a cycle ended at or before this: due)
    other_due_cut: str                      # any other tier
    classes: tuple[HeldClass, ...]
    # Every zone key in use as its four parts (``ZONE_KEY``) with its class (-1: its
    # customers are checked one by one).
    zones: tuple[tuple[tuple[str, str, str, str], int], ...]
    at_risk_factor: float
    cap_calls: int                          # fewer calls than this since recent_from: no cap
    refusals: tuple[str, ...]               # outcomes that start a quiet period


_HELD_ELIGIBLE = """(c.do_not_call IS NULL OR c.do_not_call IN (0, ''))
    AND (c.number_status IS NULL OR c.number_status IN ('', 'ok'))
    AND c.phone IS NOT NULL AND c.phone != ''"""
_HELD_CALL_FOLLOWUP = """c.id IN (SELECT customer_id FROM followups WHERE status = 'open'
                                   AND kind IN ('callback', 'recovery_call'))"""


def _held_by_zone(hq: HeldQuery, values: dict, branch: list[str]) -> str:
    """``branch[j]`` for a customer whose zone key is of class j (-c.id: none), chosen by
    the time zones first (most time zones have one class whatever the country, area code
    and region): a search tree over the sorted zone sets, ~log2(n) comparisons a row
    (building the key a row cost ~1 s a million rows; a class number then a CASE on it,
    ~10 steps a row more)."""
    by_zones: dict[str, list[tuple[tuple[str, str, str], int]]] = {}
    for (country, zones, npa, region), j in hq.zones:
        by_zones.setdefault(zones, []).append(((country, npa, region), j))

    def of(j: int) -> str:
        return "-c.id" if j < 0 else branch[j]

    def one(i: int, zones: str) -> str:
        rest = by_zones[zones]
        if len({j for _key, j in rest}) == 1:
            return of(rest[0][1])
        # Area codes by country, region and class: one IN a group, not a test a key.
        groups: dict[tuple[str, str, int], list[str]] = {}
        for (country, npa, region), j in rest:
            groups.setdefault((country, region, j), []).append(npa)
        inner = []
        for g, ((country, region, j), npas) in enumerate(groups.items()):
            values.update({f"tz{i}c{g}": country, f"tz{i}r{g}": region})
            values.update({f"tz{i}n{g}_{n}": npa for n, npa in enumerate(npas)})
            marks = ", ".join(f":tz{i}n{g}_{n}" for n in range(len(npas)))
            inner.append(f"WHEN ifnull(c.phone_region, '') = :tz{i}c{g} "
                         f"AND ifnull(c.region, '') = :tz{i}r{g} AND {_HELD_NPA} IN ({marks}) "
                         f"THEN {of(j)}")
        return f"CASE {' '.join(inner)} ELSE -c.id END"

    names = sorted(by_zones)
    for i, zones in enumerate(names):
        values[f"tz{i}"] = zones

    def tree(lo: int, hi: int) -> str:
        if hi - lo <= 3:
            whens = " ".join(f"WHEN :tz{i} THEN {one(i, names[i])}" for i in range(lo, hi))
            return f"CASE c.time_zones {whens} ELSE -c.id END"
        mid = (lo + hi) // 2
        return f"CASE WHEN c.time_zones < :tz{mid} THEN {tree(lo, mid)} ELSE {tree(mid, hi)} END"

    if not names:
        return "-c.id"
    empty = one(names.index(""), "") if "" in by_zones else "-c.id"
    return f"CASE WHEN c.time_zones IS NULL THEN {empty} ELSE {tree(0, len(names))} END"


_HELD_NPA = "CASE WHEN substr(c.phone, 1, 2) = '+1' THEN substr(c.phone, 3, 3) ELSE '' END"


# The parts of a code as column tests that are never NULL (a NOT of them in a WHEN).
_HELD_CONSENT_TESTS = ("(c.consent_calls IS NOT 'given' AND c.consent_calls IS NOT 'withdrawn')",
                       "c.consent_calls IS 'given'", "c.consent_calls IS 'withdrawn'")
_HELD_TYPE_TESTS = ("c.customer_type IS 'consumer'", "c.customer_type IS 'business'",
                    "(c.customer_type IS NULL OR c.customer_type = '')")


def _held_basis_codes(codes: list[int]) -> str:
    """A column test true for the customers whose code (without a retry delay) is one of
    ``codes``: cheaper than working out the code (~20 steps a row)."""
    terms = []
    for consent, test in enumerate(_HELD_CONSENT_TESTS):
        kinds = [kind for kind in range(len(HELD_TYPES)) if consent * 4 + kind in codes]
        if len(kinds) == len(HELD_TYPES):
            terms.append(test)
        elif kinds:
            terms.append(f"({test} AND ({' OR '.join(_HELD_TYPE_TESTS[k] for k in kinds)}))")
    return " OR ".join(terms) or "0"


def _held_sql(hq: HeldQuery, values: dict, only: str = "") -> str:
    """SELECT id, phone, k: every customer who may be held, with k their slot (class x 32
    + code; -id: check them one by one; NULL: not held), in one pass over the customers
    (``only`` "ids": those with ids in :lo-:hi; "apart": those on the do-not-call list or
    with a callback or recovery call, through their indexes)."""
    values["now"] = hq.now
    whens = []
    for i, (tier, cut) in enumerate(hq.due_cuts):
        values[f"tier{i}"], values[f"cut{i}"] = tier, cut
        whens.append(f"WHEN :tier{i} THEN :cut{i}")
    values["other_cut"] = hq.other_due_cut
    due = (f"(ifnull(c.cycle_ended_at, '') = '' OR c.cycle_ended_at <= "
           f"CASE c.tier {' '.join(whens)} ELSE :other_cut END)")
    risk = at_risk_expr(hq.at_risk_factor, "c")
    branches = []
    for j, cls in enumerate(hq.classes):
        values[f"d{j}"], values[f"ty{j}"] = cls.today, cls.thank_you_from
        values[f"rc{j}"] = cls.recent_from
        thank_you = (f"(substr(c.last_purchase, 1, 10) BETWEEN :ty{j} AND :d{j} "
                     f"AND ifnull(c.cycle_ended_at, '') < substr(c.last_purchase, 1, 10))")
        reasons = [due, thank_you]
        # An occasion: no call since the days before it began (NULL: not in days ahead).
        # (the month-days' range first: one comparison for most customers)
        if cls.birthdays:
            cases = []
            for b, (md, since) in enumerate(cls.birthdays):
                values[f"b{j}_{b}"], values[f"bt{j}_{b}"] = md, since
                cases.append(f"WHEN :b{j}_{b} THEN :bt{j}_{b}")
            values[f"blo{j}"] = min(md for md, _since in cls.birthdays)
            values[f"bhi{j}"] = max(md for md, _since in cls.birthdays)
            reasons.append(f"(substr(c.birthday, 6, 5) BETWEEN :blo{j} AND :bhi{j} "
                           f"AND ifnull(c.cycle_ended_at, '') < CASE substr(c.birthday, 6, 5) "
                           f"{' '.join(cases)} END)")
        if cls.anniversaries:
            cases = []
            for a, (md, since, year) in enumerate(cls.anniversaries):
                values[f"a{j}_{a}"], values[f"at{j}_{a}"] = md, since
                values[f"ay{j}_{a}"] = year
                cases.append(f"WHEN :a{j}_{a} THEN CASE WHEN c.customer_since < :ay{j}_{a} "
                             f"THEN :at{j}_{a} END")
            values[f"alo{j}"] = min(md for md, _since, _year in cls.anniversaries)
            values[f"ahi{j}"] = max(md for md, _since, _year in cls.anniversaries)
            reasons.append(f"(substr(c.customer_since, 6, 5) BETWEEN :alo{j} AND :ahi{j} "
                           f"AND ifnull(c.cycle_ended_at, '') < "
                           f"CASE substr(c.customer_since, 6, 5) {' '.join(cases)} END)")
        # Buying slowed: julianday() first, cheaper than building the date (0.3 against
        # 0.5 s a million rows); the date only for the "no call since" test.
        reasons.append(f"(c.order_count >= 2 AND c.avg_order_interval_days IS NOT NULL "
                       f"AND julianday(substr(c.last_purchase, 1, 10)) + CAST("
                       f"{float(hq.at_risk_factor)!r} * c.avg_order_interval_days AS INTEGER) "
                       f"+ 1 <= julianday(:d{j}) AND ifnull(c.cycle_ended_at, '') < {risk})")
        recent = f"ifnull(c.last_call_at >= :rc{j}, 0)"
        slot = f"{j * HELD_SLOTS_PER_CLASS} + {_HELD_CODE}"
        if len(cls.held_codes) == len(HELD_CODES):      # a closed window holds them all
            skip, held = "", f"ELSE {slot}"
        else:
            codes = ", ".join(str(code) for code in cls.held_codes)
            # Most customers of an open window are not held: tell them first, without
            # their reasons, by the columns (a retry delay always holds: its code is not
            # needed for those without one).
            calm = [code for code in cls.held_codes if code < 16]
            skip = (f"WHEN (c.retry_after IS NULL OR c.retry_after <= :now) "
                    f"AND (c.last_call_at IS NULL OR c.last_call_at < :rc{j})"
                    + (f" AND NOT ({_held_basis_codes(calm)})" if calm else "") + " THEN NULL")
            if not set(range(16, 32)) & set(HELD_CODES) <= set(cls.held_codes):
                skip = f"WHEN NOT (({_HELD_CODE}) IN ({codes}) OR {recent}) THEN NULL"
            held = f"WHEN ({_HELD_CODE}) IN ({codes}) THEN {slot}"
        # The reasons as a WHEN's condition: SQLite stops at the first that holds (as a
        # value, an OR works out every term: 2.5 s instead of 0.7 s a million rows).
        branches.append(f"""CASE {skip}
            WHEN {' OR '.join(reasons)} THEN CASE
                WHEN {recent} AND (SELECT count(*) >= :cap_calls OR ifnull(max(outcome IN
                                   ({', '.join(f':refusal{r}' for r in range(len(hq.refusals)))})),
                                   0)
                                   FROM calls WHERE customer_id = c.id AND started_at >= :rc{j})
                    THEN -c.id
                {held} END
            END""")
    values["cap_calls"] = hq.cap_calls
    values.update({f"refusal{r}": outcome for r, outcome in enumerate(hq.refusals)})
    where = {"": "", "ids": " AND c.id BETWEEN :lo AND :hi",
             "apart": f" AND ({_HELD_CALL_FOLLOWUP} OR {_HELD_ON_DNC})"}[only]
    # A zone no class has, or a customer type the code does not know: one by one (-id).
    return f"""
        SELECT c.id, c.phone, CASE
            WHEN c.customer_type IS NOT NULL
                 AND c.customer_type NOT IN ('', 'consumer', 'business') THEN -c.id
            ELSE {_held_by_zone(hq, values, branches)} END AS k
        FROM customers c WHERE {_HELD_ELIGIBLE}{where}
        LIMIT -1"""


_HELD_ON_DNC = "c.phone IN (SELECT phone FROM dnc)"


# A slot with at most this many customers gives their ids in the counting pass itself:
# the ids of every held row are concatenated (~0.2 us a held row: ~0.1 s CPU for 496,000),
# so that a few held customers far apart in id order need no second pass to be listed.
_HELD_FEW = 1_000


@record(frozen=True)
class HeldSlots:
    """What ``held_slots`` found."""

    counts: dict[int, int]      # slot -> its customers (not on the do-not-call list, no
                                # callback or recovery call)
    singles: list[int]          # the ids to check one by one
    first: list[int]            # the lowest ids counted in a slot (as many as asked)


def held_slots(store: Store, hq: HeldQuery, first: int) -> HeldSlots:
    """Customers per slot that holds someone, the ids of those to check one by one (a
    callback or recovery call, a possible cap, a zone or customer type no slot has), and
    the ``first`` lowest ids counted in a slot (the ones listed).

    One pass over the customers counts them all by slot; then those on the do-not-call
    list (never held) and those with a callback or recovery call (one by one) are read
    through their indexes and taken out of their slots: cheaper than asking both of every
    customer (two index lookups a row: ~0.35 s a million rows)."""
    values: dict = {}
    counts: dict[int, int] = {}
    lowest: dict[int, int] = {}
    few: dict[int, str] = {}
    singles: set[int] = set()
    sql = (f"SELECT k, count(*), min(id), "
           f"CASE WHEN count(*) <= {_HELD_FEW} THEN group_concat(id) END "
           f"FROM ({_held_sql(hq, values)}) WHERE k IS NOT NULL GROUP BY k")
    for k, n, low, ids in store.db.conn.execute(sql, values):
        if k < 0:
            singles.add(-k)
            continue
        counts[k], lowest[k] = n, low
        if ids is not None:
            few[k] = ids
    values = {}
    apart: set[int] = set()
    sql = f"SELECT id, k, {_HELD_ON_DNC} AS listed FROM ({_held_sql(hq, values, 'apart')}) c"
    for cid, k, listed in store.db.conn.execute(sql, values):
        apart.add(cid)
        if k is not None and k >= 0:
            counts[k] -= 1
        elif k is not None:
            singles.discard(cid)
        if not listed:
            singles.add(cid)
    counts = {k: n for k, n in counts.items() if n}
    if first <= 0:
        return HeldSlots(counts, sorted(singles), [])
    # The slots with few customers: their ids came with the count.
    small = sorted(cid for k in counts if k in few
                   for cid in map(int, few[k].split(",")) if cid not in apart)[:first]
    # The others: read in id ranges from the lowest of them, up to the last id that can
    # still be among the first (a second pass over the whole list once read all of it
    # when a few customers were held, far apart or late in id order: ~0.9 s a million).
    big = [k for k in counts if k not in few]
    wanted = min(first, sum(counts[k] for k in big))
    found = _held_slot_ids(store, hq, big, min(lowest[k] for k in big),
                           small[-1] if len(small) == first else None, wanted) if wanted else []
    return HeldSlots(counts, sorted(singles), sorted(small + found)[:first])


def _held_slot_ids(store: Store, hq: HeldQuery, slots: list[int], lo: int, hi: int | None,
                   limit: int) -> list[int]:
    """The first ``limit`` customer ids (in order) from ``lo`` to ``hi`` (None: the end)
    in ``slots`` (neither on the do-not-call list nor with a callback or recovery call):
    read in growing id ranges, so that a list whose first customers are held stops early."""
    values: dict = {"slots": json.dumps(slots)}
    sql = (f"SELECT id FROM ({_held_sql(hq, values, 'ids')}) c "
           f"WHERE k IN (SELECT value FROM json_each(:slots)) AND NOT {_HELD_ON_DNC} "
           f"AND NOT {_HELD_CALL_FOLLOWUP} ORDER BY id LIMIT :limit")
    top = store.scalar("SELECT max(id) FROM customers") or 0
    if hi is not None:
        top = min(top, hi)
    out: list[int] = []
    span = 20_000
    while lo <= top and len(out) < limit:
        values.update(lo=lo, hi=min(lo + span - 1, top), limit=limit - len(out))
        out += [r[0] for r in store.db.conn.execute(sql, values)]
        lo, span = lo + span, span * 4
    return out


def zone_key_rows(store: Store, keys: list[str]) -> dict[str, dict]:
    """One customers row per zone key (an index seek each)."""
    out: dict[str, dict] = {}
    for key in keys:
        for row in store.db.query(f"SELECT * FROM customers c WHERE {ZONE_KEY} = ? LIMIT 1",
                                  (key,)):
            out[key] = row
    return out


def claim_ends(store: Store, now: str, caller: str, limit: int = 10) -> list[str]:
    """When other callers' claims and this caller's skips run out, earliest first."""
    out = [r["t"] for r in store.all(
        "SELECT DISTINCT expires_at AS t FROM claims WHERE caller != ? AND expires_at > ? "
        "ORDER BY expires_at LIMIT ?", (caller, now, limit))]
    out += [r["t"] for r in store.all(
        "SELECT DISTINCT until AS t FROM skips WHERE caller = ? AND until > ? "
        "ORDER BY until LIMIT ?", (caller, now, limit))]
    return out


def first_care_due(store: Store, tier: str | None, after: str) -> str | None:
    """The earliest ``cycle_ended_at`` after ``after`` among customers of ``tier`` (the next
    care call of that tier to fall due is one interval later)."""
    if tier is None:
        return store.scalar("SELECT min(cycle_ended_at) FROM customers WHERE tier IS NULL "
                            "AND cycle_ended_at > ?", (after,))
    return store.scalar("SELECT min(cycle_ended_at) FROM customers WHERE tier = ? "
                        "AND cycle_ended_at > ?", (tier, after))


def calls_started_between(store: Store, after: str, until: str, limit: int = 200) -> list[str]:
    """The distinct start times of calls after ``after`` up to ``until``, earliest first
    (when each leaves a cap's period, the customer it counted for may be free)."""
    return [r["t"] for r in store.all(
        "SELECT DISTINCT started_at AS t FROM calls WHERE started_at > ? AND started_at <= ? "
        "ORDER BY started_at LIMIT ?", (after, until, limit))]


def recent_calls(store: Store, ids: list[int], since: str) -> dict[int, list[dict]]:
    """Calls started at or after ``since`` per customer (``started_at``, ``outcome``)."""
    out: dict[int, list[dict]] = {}
    conn = store.db.conn
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        # Plain cursor: this runs for queue candidates called recently (the hot path).
        for cid, started, outcome in conn.execute(
                f"SELECT customer_id, started_at, outcome FROM calls "
                f"WHERE customer_id IN ({marks}) AND started_at >= ? ORDER BY started_at",
                [*chunk, since]):
            out.setdefault(cid, []).append({"started_at": started, "outcome": outcome})
    return out
