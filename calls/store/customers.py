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
