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
