"""Queries on the company's do-not-call list (``dnc``, one row per E.164 number)."""

from __future__ import annotations

import json

from calls.store import Store
from calls.store.imports import audit_import


def dnc_row(store: Store, phone: str) -> dict | None:
    """The list entry for one number, or None."""
    return store.one("SELECT * FROM dnc WHERE phone = ?", (phone,))


def insert_numbers(store: Store, rows: list[tuple]) -> int:
    """Add (phone, raw, source, reason, added_at, added_by) rows; numbers already listed
    keep their entry. Returns how many were new. Call inside store.write()."""
    before = store.db.conn.total_changes
    store.db.conn.executemany(
        "INSERT INTO dnc(phone, raw, source, reason, added_at, added_by) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(phone) DO NOTHING",
        rows,
    )
    return store.db.conn.total_changes - before


def delete_number(store: Store, phone: str) -> bool:
    """Take a number off the list; False if it was not on it."""
    cur = store.db.execute("DELETE FROM dnc WHERE phone = ?", (phone,))
    return cur.rowcount > 0


def clear_customer_flags(store: Store, phone: str, now: str) -> int:
    """Clear the do-not-call flag of customers with this number; how many."""
    cur = store.db.execute(
        "UPDATE customers SET do_not_call = 0, dnc_reason = NULL, dnc_at = NULL, updated_at = ? "
        "WHERE phone = ? AND do_not_call != 0",
        (now, phone),
    )
    return cur.rowcount


def customers_with_phone(store: Store, phone: str) -> list[dict]:
    """Customers whose primary or second number is ``phone``."""
    return store.all(
        "SELECT id, ref, name FROM customers WHERE phone = ? OR phone2 = ? ORDER BY id",
        (phone, phone),
    )


def list_rows(store: Store, limit: int | None = None) -> list[dict]:
    """The list, most recent first, with how many customers have each number."""
    sql = (
        "SELECT d.*, (SELECT count(*) FROM customers c WHERE c.phone = d.phone) AS customers "
        "FROM dnc d ORDER BY d.added_at DESC, d.phone"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.all(sql)


def count(store: Store) -> int:
    """How many numbers are on the list."""
    return store.scalar("SELECT count(*) FROM dnc") or 0


def record_import(store: Store, values: dict, rejects: list[tuple[int, dict, str]]) -> int:
    """An ``imports`` row of kind dnc plus its rejected lines; returns the import id.
    Call inside store.write()."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = store.db.conn.execute(
        f"INSERT INTO imports (kind, {names}) VALUES ('dnc', {marks})", list(values.values())
    )
    import_id = cur.lastrowid
    store.db.conn.executemany(
        "INSERT INTO rejects(import_id, line, raw, reason) VALUES (?, ?, ?, ?)",
        [(import_id, line, json.dumps(raw, ensure_ascii=False), reason)
         for line, raw, reason in rejects],
    )
    audit_import(store, import_id)
    return import_id
