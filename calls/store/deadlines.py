"""Queries for follow-up deadlines: escalations, the status history, figures per owner."""

from __future__ import annotations

from collections.abc import Iterable

from calls.store import Store

_ESCALATION_SELECT = """
    SELECT e.*, f.kind, f.status, f.customer_id, c.ref AS customer_ref,
           c.name AS customer_name
    FROM followup_escalations e
    JOIN followups f ON f.id = e.followup_id
    JOIN customers c ON c.id = f.customer_id
"""


def open_followup_rows(store: Store, kinds: Iterable[str], owner: str | None = None,
                       kind: str | None = None) -> list[dict]:
    """Open follow-ups of these kinds (with their customer), the deadline fields and the
    deadlines already escalated (``escalated``: comma-separated names, or None)."""
    wanted = sorted(set(kinds))
    if kind is not None:
        wanted = [k for k in wanted if k == kind]
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    sql = f"""
        SELECT f.*, c.ref AS customer_ref, c.name AS customer_name,
               c.company AS customer_company,
               (SELECT group_concat(e.deadline) FROM followup_escalations e
                 WHERE e.followup_id = f.id) AS escalated
        FROM followups f JOIN customers c ON c.id = f.customer_id
        WHERE f.status = 'open' AND f.kind IN ({marks})
    """
    params: list = list(wanted)
    if owner is not None:
        sql += " AND f.owner = ? COLLATE NOCASE"
        params.append(owner)
    sql += " ORDER BY f.due_at IS NULL, f.due_at, f.id"
    return store.all(sql, params)


def insert_escalation(store: Store, values: dict) -> int | None:
    """Record an escalation; None when that deadline of that follow-up was already
    escalated (once only: the table's unique key). Call inside ``store.write()``."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = store.db.execute(
        f"INSERT OR IGNORE INTO followup_escalations ({columns}) VALUES ({marks})",
        list(values.values()),
    )
    return int(cursor.lastrowid) if cursor.rowcount else None


def escalation_rows(store: Store, *, followup_ids: Iterable[int] | None = None,
                    since: str | None = None, open_only: bool = False,
                    limit: int | None = None) -> list[dict]:
    """Escalations (newest first) with their follow-up's kind/status and customer."""
    where: list[str] = []
    params: list = []
    if followup_ids is not None:
        ids = sorted(set(followup_ids))
        if not ids:
            return []
        where.append(f"e.followup_id IN ({', '.join('?' for _ in ids)})")
        params += ids
    if since is not None:
        where.append("e.escalated_at >= ?")
        params.append(since)
    if open_only:
        where.append("f.status = 'open'")
    sql = _ESCALATION_SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY e.escalated_at DESC, e.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return store.all(sql, params)


def history_rows(store: Store, followup_id: int) -> list[dict]:
    """A follow-up's status history, oldest first."""
    return store.all(
        "SELECT status, at, by FROM followup_history WHERE followup_id = ? ORDER BY at, id",
        (followup_id,),
    )


def figure_rows(store: Store, start: str, end: str) -> list[dict]:
    """Follow-ups opened, first contacted or closed in ``[start, end)``, with what the
    deadline figures need, and how many of their deadlines were escalated."""
    return store.all(
        """
        SELECT f.id, f.kind, f.owner, f.status, f.created_at, f.due_at, f.occasion,
               f.first_contact_at, f.closed_at,
               (SELECT count(*) FROM followup_escalations e
                 WHERE e.followup_id = f.id) AS escalations
        FROM followups f
        WHERE (f.created_at >= :start AND f.created_at < :end)
           OR (f.first_contact_at >= :start AND f.first_contact_at < :end)
           OR (f.closed_at >= :start AND f.closed_at < :end)
        """,
        {"start": start, "end": end},
    )


def set_first_contact(store: Store, followup_id: int, at: str, by: str | None) -> None:
    """Record the first contact (kept when one is already recorded)."""
    store.db.execute(
        "UPDATE followups SET first_contact_at = ?, first_contact_by = ? "
        "WHERE id = ? AND first_contact_at IS NULL",
        (at, by, followup_id),
    )


def first_contact_on_call(store: Store, customer_id: int, started: str, at: str,
                          by: str | None, skip_call_id: int) -> int:
    """A call that reached the customer is the first contact about every follow-up of
    theirs opened before the call began (not those the call itself opened); how many."""
    cursor = store.db.execute(
        """
        UPDATE followups SET first_contact_at = ?, first_contact_by = ?
        WHERE customer_id = ? AND status = 'open' AND first_contact_at IS NULL
          AND created_at <= ? AND (call_id IS NULL OR call_id != ?)
        """,
        (at, by, customer_id, started, skip_call_id),
    )
    return cursor.rowcount
