"""Queries on the audit trail (``audit``): append and read, nothing else.

The table's triggers refuse UPDATE and DELETE, so no code path can rewrite history.
"""

from __future__ import annotations

from calls.store import Store


def insert_entry(store: Store, at: str, actor: str, action: str, subject: str | None,
                 details: str | None) -> int:
    """Append one row; returns its id. Call inside the change's ``store.write()``."""
    cur = store.db.execute(
        "INSERT INTO audit(at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
        (at, actor, action, subject, details),
    )
    return cur.lastrowid


def last_entry(store: Store, action: str, actor: str) -> dict | None:
    """The most recent row of one kind by one actor, or None."""
    return store.one("SELECT * FROM audit WHERE action = ? AND actor = ? ORDER BY id DESC "
                     "LIMIT 1", (action, actor))


def select_entries(store: Store, *, since: str | None = None, until: str | None = None,
                   actor: str | None = None, action: str | None = None,
                   subject: str | None = None, limit: int | None = None) -> list[dict]:
    """Rows, oldest first. ``action`` matches a kind exactly or a family ('dnc' = 'dnc.*')."""
    where, params = [], []
    if since:
        where.append("at >= ?")
        params.append(since)
    if until:
        where.append("at < ?")
        params.append(until)
    if actor:
        where.append("actor = ?")
        params.append(actor)
    if action:
        where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
        family = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [action, family + ".%"]
    if subject:
        where.append("subject = ?")
        params.append(subject)
    sql = "SELECT * FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if limit:
        # The most recent ``limit`` rows, still shown oldest first.
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(limit)}) ORDER BY id"
    else:
        sql += " ORDER BY id"
    return store.all(sql, params)
