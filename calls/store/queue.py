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

# Exclusions that hold whatever the reason. Parameters: now, caller, open_keys (JSON list
# of zone keys whose calling window is open), grace_cut (now minus the personal-callback
# grace period), need_consent (JSON list of "country|customer type" whose calls need
# recorded consent, e.g. "DE|consumer") and default_type (the policy's customer type).
EXCLUSIONS = f"""
    c.do_not_call = 0
    AND c.number_status = 'ok'
    AND c.phone IS NOT NULL AND c.phone != ''
    AND (c.retry_after IS NULL OR c.retry_after <= :now)
    AND ({ZONE_KEY}) IN (SELECT value FROM json_each(:open_keys))
    AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
    AND ifnull(c.consent_calls, '') != 'withdrawn'
    AND (c.consent_calls = 'given'
         OR (ifnull(c.phone_region, '') || '|' || ifnull(c.customer_type, :default_type))
            NOT IN (SELECT value FROM json_each(:need_consent)))
    AND c.id NOT IN (SELECT customer_id FROM claims
                     WHERE caller != :caller AND expires_at > :now)
    AND c.id NOT IN (SELECT customer_id FROM skips WHERE caller = :caller AND until > :now)
    AND c.id NOT IN (
        SELECT customer_id FROM followups
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
            SELECT customer_id, min(ifnull(due_at, '')) AS due FROM followups
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
            SELECT customer_id, min(ifnull(due_at, '')) AS due FROM followups
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


def thank_you_stream(store: Store, tier: str | None, lp_min: str, lp_max: str,
                     params: dict) -> Iterator[dict]:
    """Customers of one tier who bought between the dates and were not called since."""
    inner = f"""
        SELECT c.id FROM customers c INDEXED BY idx_customers_tier_purchase
        WHERE {_tier_term(tier)} AND c.last_purchase >= :lp_min AND c.last_purchase <= :lp_max
        ORDER BY c.last_purchase, c.id
    """
    sql = _ordered(inner, "(c.cycle_ended_at IS NULL OR c.cycle_ended_at < c.last_purchase)")
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


# -- queue --held: who is held back, counted in groups (calls.queue.held_report) ---------------

# Whom a hold can concern at all: the columns first, then the do-not-call list (an index
# lookup a row: in the pass over every customer it goes after "may have a reason", which
# drops about half of them first: 0.3-0.45 s less of ~2.5 s at 1M).
_HELD_CALLABLE_COLUMNS = """
    ifnull(c.do_not_call, 0) = 0 AND ifnull(c.number_status, 'ok') = 'ok'
    AND c.phone IS NOT NULL AND c.phone != ''"""
_HELD_NOT_ON_DNC = "NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)"
_HELD_ELIGIBLE = f"{_HELD_CALLABLE_COLUMNS}\n    AND {_HELD_NOT_ON_DNC}\n"
_HELD_CALL_FOLLOWUP = """c.id IN (SELECT customer_id FROM followups WHERE status = 'open'
                                   AND kind IN ('callback', 'recovery_call'))"""
# The customers' columns the group key reads.
_HELD_KEY_COLUMNS = ("phone_region", "time_zones", "phone", "region", "retry_after",
                     "consent_calls", "customer_type")
_HELD_KEY = (f"({ZONE_KEY}) || '#' || (ifnull(c.retry_after, '') > :now) || '#' || "
             "ifnull(c.consent_calls, '') || '#' || ifnull(c.customer_type, '')")


def _held_terms(p: dict, checked: bool = False) -> tuple[str, str, dict]:
    """(due, simple, named values): SQL terms for "due for a care call" and for the
    customers whose holds a group decides: who surely have a reason (due, a thank-you or
    buying slowed well inside the dates), no callback or recovery call, and no call recent
    enough for a cap (see calls.queue.held_report)."""
    values = {k: p[k] for k in ("now", "recent", "recent_long", "default_cut", "lp_in_lo",
                                "lp_in_hi", "risk_in")}
    whens = []
    for i, (tier, cut) in enumerate(p["tier_cuts"]):
        values[f"cut{i}"] = cut
        if tier is None:
            whens.append(f"WHEN c.tier IS NULL THEN :cut{i}")
        else:
            values[f"tier{i}"] = tier
            whens.append(f"WHEN c.tier = :tier{i} THEN :cut{i}")
    cut = f"CASE {' '.join(whens)} ELSE :default_cut END" if whens else ":default_cut"
    due = f"(ifnull(c.cycle_ended_at, '') = '' OR c.cycle_ended_at <= {cut})"
    risk = at_risk_expr(p["risk_factor"], "c")
    sure = (f"({due} OR (c.last_purchase BETWEEN :lp_in_lo AND :lp_in_hi "
            f"AND {_ENDED_BEFORE.format('c.last_purchase')}) "
            f"OR (c.order_count >= 2 AND {risk} <= :risk_in AND {_ENDED_BEFORE.format(risk)}))")
    long = ", ".join(f"'{country}'" for country in p["long_countries"])
    recent = ("(ifnull(c.last_call_at, '') >= :recent"
              + (f" OR (c.phone_region IN ({long}) AND ifnull(c.last_call_at, '') >= "
                 ":recent_long)" if long else "") + ")")
    # ifnull: a NULL column makes a term NULL, and "NOT simple" must still be true then.
    # ``checked``: the query filters by _HELD_ELIGIBLE already (not twice a row: 0.2 s a
    # pass at 1M, a do-not-call list lookup each).
    eligible = "" if checked else f"{_HELD_ELIGIBLE} AND "
    simple = (f"ifnull(({eligible}{sure} AND NOT {_HELD_CALL_FOLLOWUP} "
              f"AND NOT {recent}), 0)")
    return due, simple, values


_ENDED_BEFORE = "(ifnull(c.cycle_ended_at, '') = '' OR c.cycle_ended_at < {})"


def held_groups(store: Store, p: dict) -> list[dict]:
    """One pass over the customers: those due for a care call whose holds follow from a
    few columns, in groups of equal columns (``gkey``, ``n``, one of them ``rep``,
    ``simple`` 1), and every other customer who may have a reason to be called (a
    callback or recovery call, a recent call, a purchase, an occasion, buying slowed: a
    superset, to check one by one) as a group of its own (``simple`` 0)."""
    _due, simple, values = _held_terms(p, checked=True)
    maybe = _held_maybe(p, values)
    # A simple customer surely has a reason, so "may have one" holds for them too: rows
    # are first filtered by "may have a reason" (about half of them pass), and only those
    # work out "simple", and only the simple ones their group key (terms of a dozen SQL
    # functions each: a million rows 3.6 -> 2.9 s CPU in the shell). LIMIT -1 keeps the
    # inner query a co-routine: "simple" is worked out once a row.
    columns = ", ".join(f"c.{name}" for name in _HELD_KEY_COLUMNS)
    sql = f"""
        SELECT gkey, count(*) AS n, min(id) AS rep, max(s) AS simple FROM (
            SELECT c.id, c.s, CASE WHEN c.s THEN {_HELD_KEY} ELSE '#' || c.id END AS gkey
            FROM (SELECT c.id, {simple} AS s, {columns} FROM customers c
                  WHERE {_HELD_CALLABLE_COLUMNS} AND {maybe} AND {_HELD_NOT_ON_DNC}
                  LIMIT -1) c)
        GROUP BY gkey
    """
    return store.all(sql, values)


def _held_maybe(p: dict, values: dict) -> str:
    """The SQL term "may have a reason to be called" (a superset); adds its values."""
    due, _simple, _values = _held_terms(p)
    risk = at_risk_expr(p["risk_factor"], "c")
    occasion = " OR ".join(
        f"substr(c.{col}, 6, 5) BETWEEN :md_lo{i} AND :md_hi{i}"
        for i, _r in enumerate(p["md_ranges"]) for col in ("birthday", "customer_since"))
    for i, (lo, hi) in enumerate(p["md_ranges"]):
        values[f"md_lo{i}"], values[f"md_hi{i}"] = lo, hi
    values.update(lp_min=p["lp_min"], risk_day=p["risk_day"])
    maybe = [_HELD_CALL_FOLLOWUP, due,
             f"(c.last_purchase >= :lp_min AND {_ENDED_BEFORE.format('c.last_purchase')})",
             f"(c.order_count >= 2 AND {risk} <= :risk_day AND {_ENDED_BEFORE.format(risk)})"]
    if occasion:
        maybe.append(f"({occasion})")
    return f"ifnull(({' OR '.join(maybe)}), 0)"


def held_group_rows(store: Store, p: dict, keys: list[str], limit: int) -> list[dict]:
    """The first ``limit`` customers (by id) of the groups ``keys``."""
    if not keys or limit <= 0:
        return []
    _due, simple, values = _held_terms(p)
    return store.all(f"SELECT c.* FROM customers c WHERE {simple} AND {_HELD_KEY} IN "
                     f"(SELECT value FROM json_each(:keys)) ORDER BY c.id LIMIT :limit",
                     {**values, "keys": json.dumps(keys), "limit": limit})


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
