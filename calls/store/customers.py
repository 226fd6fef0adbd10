"""Queries on customers."""

from __future__ import annotations

import json

from calls.models import Customer
from calls.records import record
from calls.store import Store


def get_customer(store: Store, key: str | int) -> Customer | None:
    """A customer by id (int) or by ref (str), or None."""
    if isinstance(key, int):
        row = store.one("SELECT * FROM customers WHERE id = ?", (key,))
    else:
        row = store.one("SELECT * FROM customers WHERE ref = ?", (key,))
    return Customer.from_row(row) if row else None


def time_zones_of(store: Store, ids) -> dict[int, tuple[str, ...]]:
    """Each customer's time zones (as ``Customer.time_zones``), by id, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {cid: tuple(json.loads(zones)) if zones else () for cid, zones in
            store.db.conn.execute(
                "SELECT id, time_zones FROM customers WHERE id IN "
                "(SELECT value FROM json_each(?))", (json.dumps(wanted),))}


def count_customers(store: Store) -> int:
    """How many customers the database holds."""
    return store.scalar("SELECT count(*) FROM customers") or 0


def tier_inputs(store: Store) -> list[tuple[int, float | None, str | None]]:
    """``(id, revenue used for tiering, current tier)`` for every customer.

    The 12-month revenue from order lines counts when the customer has any, else the
    yearly revenue from the imported list.
    """
    return [
        tuple(row)
        for row in store.db.conn.execute(
            "SELECT id, coalesce(revenue_12m, revenue), tier FROM customers"
        )
    ]


# The 80/20 rule in SQL over a CTE ``base(k, r)`` (k: the id, or the id a new customer will
# get; r: revenue >= 0); shared by apply_tiers and the customer import's merge.
TIER_RANKING_SQL = """
    ranked AS (
        SELECT *, sum(r) OVER (ORDER BY r DESC, k ROWS UNBOUNDED PRECEDING) - r AS before
        FROM base
    ), total AS (SELECT coalesce(sum(r), 0) AS t FROM base)"""
TIER_CASE_SQL = """CASE
    WHEN r <= 0 OR t <= 0 THEN 'C'
    WHEN before < :a * t - t * 1e-12 THEN 'A'
    WHEN before < :b * t - t * 1e-12 THEN 'B'
    ELSE 'C' END"""


# The revenue a customer is tiered by (the 12-month revenue of their order lines, else the
# list's yearly revenue; never below 0), spelled exactly as in the index that ranks it
# (``customers_0003_tier_rank_index``) so that SQLite walks that index instead of sorting.
TIER_REVENUE_SQL = "max(coalesce(revenue_12m, revenue, 0), 0)"


@record(frozen=True)
class TierCuts:
    """The last customer of tier A and of tier B in the ranking (revenue, highest first;
    ties by id): ``(revenue, id)`` each, None when the tier is empty. Everyone ranked at
    or above the last A is in A, else at or above the last B in B, else in C."""

    a: tuple[float, int] | None
    b: tuple[float, int] | None


def tier_cuts(store: Store, a_share: float, b_share: float) -> TierCuts:
    """Where tiers A and B end by the 80/20 rule, reading the ranking index in order.

    The same rule as :func:`calls.ingest.tiers.assign_tiers` (a test keeps them equal):
    the revenues are summed in ranking order, as the rule sums them, and the walk stops at
    the end of tier B (a fraction of the customers). A read: run it before taking the
    write lock.
    """
    conn = store.db.conn
    # Summed in ranking order, as the rule sums (the ORDER BY walks the ranking index;
    # without it, e.g. while a first load has dropped the indexes, SQLite sorts).
    order = f"ORDER BY {TIER_REVENUE_SQL} DESC, id"
    total = conn.execute(
        f"SELECT sum(r) FROM (SELECT {TIER_REVENUE_SQL} AS r FROM customers {order})"
    ).fetchone()[0] or 0.0
    cut_a = cut_b = None
    if total > 0:
        # A tiny tolerance: float sums of many amounts must not push an exact 80 % boundary
        # customer into the next tier (as in assign_tiers and TIER_CASE_SQL).
        limit_a = a_share * total - total * 1e-12
        limit_b = b_share * total - total * 1e-12
        before = 0.0
        for r, k in conn.execute(f"SELECT {TIER_REVENUE_SQL}, id FROM customers {order}"):
            if r <= 0:
                break
            if before < limit_a:
                cut_a = (r, k)
            elif before < limit_b:
                cut_b = (r, k)
            else:
                break
            before += r
    return TierCuts(cut_a, cut_b)


def _place_sql() -> str:
    """The tier a customer's place in the ranking gives, for :func:`_cut_params`."""
    r = TIER_REVENUE_SQL
    return (
        f"CASE WHEN {r} <= 0 THEN 'C' "
        f"WHEN :ra IS NOT NULL AND ({r} > :ra OR ({r} = :ra AND id <= :ka)) THEN 'A' "
        f"WHEN :rb IS NOT NULL AND ({r} > :rb OR ({r} = :rb AND id <= :kb)) THEN 'B' "
        "ELSE 'C' END"
    )


def _cut_params(cuts: TierCuts) -> dict:
    (ra, ka), (rb, kb) = cuts.a or (None, None), cuts.b or (None, None)
    return {"ra": ra, "ka": ka, "rb": rb, "kb": kb}


def tier_mismatches(store: Store, cuts: TierCuts) -> list[int]:
    """Ids of the customers whose tier is not the one ``cuts`` give them (a read)."""
    place = _place_sql()
    return [row[0] for row in store.db.conn.execute(
        f"SELECT id FROM customers WHERE tier IS NOT {place}", _cut_params(cuts))]


def set_tiers_by_cuts(store: Store, cuts: TierCuts, ids: list[int]) -> int:
    """Give these customers the tier ``cuts`` give them (inside store.write()); how many
    changed. A customer already in the right tier is not rewritten."""
    place = _place_sql()
    conn = store.db.conn
    changed = 0       # the statements' own rows (total_changes also counts triggers' rows)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        params = {**_cut_params(cuts), **{f"i{n}": i for n, i in enumerate(chunk)}}
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        changed += conn.execute(f"UPDATE customers SET tier = {place} "
                                f"WHERE id IN ({marks}) AND tier IS NOT {place}",
                                params).rowcount
    return changed


def apply_tiers(store: Store, a_share: float, b_share: float) -> int:
    """Set every customer's tier by the 80/20 rule; how many changed.

    Run inside the caller's write transaction (a first load, a merge that is one
    transaction); :func:`calls.ingest.tiers.recompute_tiers` re-tiers a database in use
    in short transactions. One walk of the ranking index finds the last customer of A and
    of B, then one scan rewrites only the customers whose tier is not the one their place
    gives (most keep theirs; a row rewritten costs).
    """
    cuts = tier_cuts(store, a_share, b_share)
    place = _place_sql()
    # The statement's own rows (total_changes would count the coverage journal's too).
    return store.db.conn.execute(
        f"UPDATE customers SET tier = {place} WHERE tier IS NOT {place}",
        _cut_params(cuts)).rowcount


def set_tiers(store: Store, changes: list[tuple[str, int]]) -> None:
    """Write ``(tier, id)`` pairs (inside the caller's write transaction)."""
    if changes:
        store.db.conn.executemany("UPDATE customers SET tier = ? WHERE id = ?", changes)


def tier_counts(store: Store) -> dict[str, int]:
    """How many customers are in each tier (``None`` for untiered)."""
    return {
        row["tier"]: row["n"]
        for row in store.all("SELECT tier, count(*) AS n FROM customers GROUP BY tier")
    }


# -- search, add, edit, numbers (calls.customers) ----------------------------------------

def _fold_text(text: str | None) -> str:
    """Lower case without accents ("François Müller" -> "francois muller")."""
    import unicodedata

    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _with_fold(store: Store) -> None:
    # SQLite's LIKE folds ASCII only: "ö" would not find "Ö", "francois" not "François".
    store.db.conn.create_function("carecall_fold", 1, _fold_text, deterministic=True)


def phone_regions(store: Store) -> list[str]:
    """The regions of the customers' main numbers, most customers first (to read a number
    typed in national form)."""
    return [r["phone_region"] for r in store.all(
        "SELECT phone_region FROM customers WHERE phone_region IS NOT NULL "
        "GROUP BY phone_region ORDER BY COUNT(*) DESC, phone_region")]


def number_places(store: Store) -> tuple[list[str], list[str]]:
    """What else says where customers are: the countries the list gives (as written) and
    the first digits (``+44``…, four characters) of their second and added numbers."""
    countries = [r["country"] for r in store.all(
        "SELECT DISTINCT country FROM customers WHERE country IS NOT NULL AND country != ''")]
    prefixes = [r["p"] for r in store.all(
        "SELECT DISTINCT substr(phone2, 1, 4) AS p FROM customers WHERE phone2 LIKE '+%' "
        "UNION SELECT DISTINCT substr(e164, 1, 4) FROM customer_numbers WHERE e164 LIKE '+%'")]
    return countries, prefixes


def find_by_phones(store: Store, numbers: list[str]) -> list[Customer]:
    """Customers any of whose numbers (primary, second, added) is one of ``numbers``."""
    if not numbers:
        return []
    marks = ", ".join("?" for _ in numbers)
    rows = store.all(
        f"""SELECT * FROM customers WHERE id IN (
                SELECT id FROM customers WHERE phone IN ({marks})
                UNION SELECT id FROM customers WHERE phone2 IN ({marks})
                UNION SELECT customer_id FROM customer_numbers WHERE e164 IN ({marks}))
            ORDER BY name, id""",
        [*numbers, *numbers, *numbers],
    )
    return [Customer.from_row(r) for r in rows]


def find_by_words(store: Store, words: list[str], limit: int) -> list[Customer]:
    """Customers whose name, company, e-mail or ref hold every word (accents and case
    ignored), names that start with the first word first."""
    if not words:
        return []
    _with_fold(store)
    hay = ("carecall_fold(ifnull(name, '') || ' ' || ifnull(first_name, '') || ' ' || "
           "ifnull(last_name, '') || ' ' || ifnull(company, '') || ' ' || ifnull(email, '') "
           "|| ' ' || ref)")
    folded = [_fold_text(w) for w in words]
    where = " AND ".join(f"instr({hay}, ?) > 0" for _ in folded)
    rows = store.all(
        f"""SELECT * FROM customers WHERE {where}
            ORDER BY (carecall_fold(name) LIKE ? || '%') DESC, name, id LIMIT ?""",
        [*folded, folded[0], limit],
    )
    return [Customer.from_row(r) for r in rows]


def insert_customer(store: Store, values: dict, now_iso: str) -> int:
    """Add one customer row (inside the caller's write); returns its id."""
    row = {**values, "created_at": now_iso, "updated_at": now_iso}
    cols = ", ".join(row)
    marks = ", ".join(f":{k}" for k in row)
    cur = store.db.execute(f"INSERT INTO customers ({cols}) VALUES ({marks})", row)
    return cur.lastrowid


def set_customer_fields(store: Store, customer_id: int, values: dict, now_iso: str) -> None:
    """Set customer columns (names come from calls.customers' field table, never users)."""
    if not values:
        return
    row = {**values, "updated_at": now_iso}
    sets = ", ".join(f"{k} = :{k}" for k in row)
    store.db.execute(f"UPDATE customers SET {sets} WHERE id = :_id", {**row, "_id": customer_id})


def customer_row(store: Store, customer_id: int) -> dict | None:
    """The raw customer row (every column)."""
    return store.one("SELECT * FROM customers WHERE id = ?", (customer_id,))


def extra_numbers(store: Store, customer_id: int) -> list[dict]:
    """The customer's numbers beyond the primary, in the order they were added."""
    return store.all(
        "SELECT * FROM customer_numbers WHERE customer_id = ? ORDER BY added_at, rowid",
        (customer_id,),
    )


def put_number(store: Store, customer_id: int, e164: str, *, raw: str | None, ext: str | None,
               label: str | None, status: str, source: str, now_iso: str,
               by: str | None) -> None:
    """Add a number to the customer's list, or update its label and status."""
    store.db.execute(
        """INSERT INTO customer_numbers
               (customer_id, e164, raw, ext, label, status, source, added_at, added_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (customer_id, e164) DO UPDATE SET
               label = coalesce(excluded.label, label), status = excluded.status""",
        (customer_id, e164, raw, ext, label, status, source, now_iso, by),
    )


def drop_number(store: Store, customer_id: int, e164: str) -> None:
    """Remove a number from the customer's extra numbers."""
    store.db.execute(
        "DELETE FROM customer_numbers WHERE customer_id = ? AND e164 = ?", (customer_id, e164))


def database_is_new(store: Store) -> bool:
    """True for a database nothing was ever put in: no customer, import, call or account
    (only such a database may receive the demo customers)."""
    return not store.scalar(
        "SELECT EXISTS (SELECT 1 FROM customers) OR EXISTS (SELECT 1 FROM imports) "
        "OR EXISTS (SELECT 1 FROM calls) OR EXISTS (SELECT 1 FROM accounts)")
