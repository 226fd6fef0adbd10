"""Queries on customers."""

from __future__ import annotations

from calls.models import Customer
from calls.store import Store


def get_customer(store: Store, key: str | int) -> Customer | None:
    """A customer by id (int) or by ref (str), or None."""
    if isinstance(key, int):
        row = store.one("SELECT * FROM customers WHERE id = ?", (key,))
    else:
        row = store.one("SELECT * FROM customers WHERE ref = ?", (key,))
    return Customer.from_row(row) if row else None


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


def apply_tiers(store: Store, a_share: float, b_share: float) -> int:
    """Set every customer's tier by the 80/20 rule; how many changed.

    The same rule as :func:`calls.ingest.tiers.assign_tiers` (a test keeps them equal), in SQL so
    that a list of hundreds of thousands of customers is re-tiered in well under a second.
    Tiers follow the ranking (revenue, highest first; ties by id): one ranking pass finds
    the last customer of A and of B, then one scan rewrites only the customers whose tier
    is not the one their place gives (most keep theirs; a row rewritten costs).
    """
    conn = store.db.conn
    revenue = "max(coalesce(revenue_12m, revenue, 0), 0)"
    cuts = {"A": (None, None), "B": (None, None)}
    for tier, r, k in conn.execute(
        f"""
        WITH base AS (SELECT id AS k, {revenue} AS r FROM customers),
        ranked AS (
            SELECT k, r, sum(r) OVER w - r AS before, row_number() OVER w AS pos
            FROM base WINDOW w AS (ORDER BY r DESC, k ROWS UNBOUNDED PRECEDING)
        ), total AS (SELECT coalesce(sum(r), 0) AS t FROM base),
        tiered AS (SELECT k, r, pos, {TIER_CASE_SQL} AS tier FROM ranked, total)
        SELECT 'A', r, k FROM (SELECT max(pos), r, k FROM tiered WHERE tier = 'A')
        UNION ALL
        SELECT 'B', r, k FROM (SELECT max(pos), r, k FROM tiered WHERE tier = 'B')
        """,
        {"a": a_share, "b": b_share},
    ):
        cuts[tier] = (r, k)
    # A customer is in A when they rank at or above the last A (the bare columns of
    # max(pos) are that row's), else in B when at or above the last B, else in C.
    (ra, ka), (rb, kb) = cuts["A"], cuts["B"]
    place = (
        f"CASE WHEN {revenue} <= 0 THEN 'C' "
        f"WHEN :ra IS NOT NULL AND ({revenue} > :ra OR ({revenue} = :ra AND id <= :ka)) "
        "THEN 'A' "
        f"WHEN :rb IS NOT NULL AND ({revenue} > :rb OR ({revenue} = :rb AND id <= :kb)) "
        "THEN 'B' ELSE 'C' END"
    )
    before = conn.total_changes
    conn.execute(
        f"UPDATE customers SET tier = {place} WHERE tier IS NOT {place}",
        {"ra": ra, "ka": ka, "rb": rb, "kb": kb},
    )
    return conn.total_changes - before


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
