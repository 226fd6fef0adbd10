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
