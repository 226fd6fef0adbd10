"""Queries on ``accounts`` (people who work a seat)."""

from __future__ import annotations

from calls.store import Store


def account_row(store: Store, name: str) -> dict | None:
    """One account by name (any case), or None."""
    return store.one("SELECT * FROM accounts WHERE name = ?", (name,))


def account_by_login(store: Store, os_login: str) -> dict | None:
    """The account an OS login maps to, or None."""
    return store.one("SELECT * FROM accounts WHERE os_login = ?", (os_login,))


def account_rows(store: Store) -> list[dict]:
    """Every account, by name."""
    return store.all("SELECT * FROM accounts ORDER BY name")


def count_active_admins(store: Store) -> int:
    """Active admins: one or more means every seat needs an account."""
    return store.scalar("SELECT count(*) FROM accounts WHERE role = 'admin' AND active = 1")


def insert_account(store: Store, *, name: str, display: str | None, role: str,
                   os_login: str | None, password_hash: str | None, now: str) -> int:
    """Add an account; returns its id. Call inside store.write()."""
    cur = store.db.execute(
        "INSERT INTO accounts(name, display, role, os_login, password_hash, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (name, display, role, os_login, password_hash, now, now),
    )
    return cur.lastrowid


def update_account(store: Store, account_id: int, now: str, **fields) -> None:
    """Set the given columns of one account (names are ours, never a user's)."""
    allowed = {"display", "role", "os_login", "password_hash", "active", "failed_logins",
               "locked_until", "last_login_at"}
    assert set(fields) <= allowed, fields
    sets = ", ".join(f"{k} = ?" for k in fields)
    store.db.execute(f"UPDATE accounts SET {sets}, updated_at = ? WHERE id = ?",
                     (*fields.values(), now, account_id))
