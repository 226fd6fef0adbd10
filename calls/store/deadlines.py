"""Queries for follow-up deadlines: escalations, the status history, figures per owner."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from calls.records import record
from calls.store import Store

_ESCALATION_SELECT = """
    SELECT e.*, f.kind, f.status, f.customer_id, c.ref AS customer_ref,
           c.name AS customer_name
    FROM followup_escalations e
    CROSS JOIN followups f ON f.id = e.followup_id
    CROSS JOIN customers c ON c.id = f.customer_id
"""
# CROSS JOIN: SQLite keeps this order. Escalations are few; read from the open follow-ups
# (thousands) the list took 20 ms at 100,000 customers, from the escalations 1 ms.


def open_followup_rows(store: Store, kinds: Iterable[str], owner: str | None = None,
                       kind: str | None = None) -> list[dict]:
    """Open follow-ups of these kinds (with their customer), the deadline fields and the
    deadlines already escalated (``escalated``: comma-separated names, or None).

    Every open follow-up: the plain reading that :func:`missed_candidate_rows` narrows
    (tests/core/test_deadlines_candidates.py holds the two to the same answers)."""
    wanted = sorted(set(kinds))
    if kind is not None:
        wanted = [k for k in wanted if k == kind]
    if not wanted:
        return []
    params = {f"kind{i}": k for i, k in enumerate(wanted)}
    return _open_rows(store, f"f.kind IN ({', '.join(':' + p for p in params)})", params,
                      owner)


def _open_rows(store: Store, where: str, params: dict, owner: str | None, *,
               ids: str | None = None) -> list[dict]:
    """Open follow-ups ``WHERE {where}`` (of ``owner``'s when given), due first, with
    their customer and the deadlines already escalated. ``ids``: a SELECT of the
    follow-up ids to read (each looked up by its id, in place of reading every open one)."""
    source = "followups f"
    if ids is not None:
        # CROSS JOIN: SQLite keeps this order (the few ids first).
        source = f"({ids}) AS wanted CROSS JOIN followups f ON f.id = wanted.id"
    sql = f"""
        SELECT f.*, c.ref AS customer_ref, c.name AS customer_name,
               c.company AS customer_company,
               (SELECT group_concat(e.deadline) FROM followup_escalations e
                 WHERE e.followup_id = f.id) AS escalated
        FROM {source} JOIN customers c ON c.id = f.customer_id
        WHERE f.status = 'open' AND ({where})
    """
    if owner is not None:
        sql += " AND f.owner = :owner COLLATE NOCASE"
        params = {**params, "owner": owner}
    sql += " ORDER BY f.due_at IS NULL, f.due_at, f.id"
    return store.all(sql, params)


@record(frozen=True)
class MissedCuts:
    """For one follow-up kind, the store-text moments that a follow-up's times must be at
    or before for it to have missed a deadline (at or before: a superset, the caller
    checks each row): ``first_contact`` and ``close`` for its opening (a first-contact
    deadline; ``close_hours``), ``due`` for its due time (``at_due``). Before an occasion
    (``before_occasion``): ``occasions_passed``, the occasion texts whose day has come,
    and ``occasion_due`` for the due time of one without an occasion or whose occasion
    names no day (``occasions_undated``)."""

    kind: str
    first_contact: str | None = None
    close: str | None = None
    due: str | None = None
    occasion_due: str | None = None
    occasions_passed: tuple[str, ...] = ()
    occasions_undated: tuple[str, ...] = ()


def open_occasions(store: Store, kinds: Iterable[str], *,
                   ids: Iterable[int] | None = None) -> list[str]:
    """The different occasion texts of open follow-ups of these kinds (``ids``: of these
    follow-ups only)."""
    wanted = sorted(set(kinds))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    only, params = ("", []) if ids is None else (
        " AND id IN (SELECT value FROM json_each(?))", [json.dumps(sorted(set(ids)))])
    return [r[0] for r in store.db.conn.execute(
        f"SELECT DISTINCT occasion FROM followups WHERE status = 'open' AND kind IN ({marks})"
        f" AND occasion IS NOT NULL{only}", [*wanted, *params])]


def missed_candidate_rows(store: Store, cuts: Iterable[MissedCuts], *,
                          owner: str | None = None, unescalated: bool = False,
                          ids: Iterable[int] | None = None) -> list[dict]:
    """Open follow-ups (the rows of :func:`open_followup_rows`) that may have missed a
    deadline by the ``cuts``: every one that has is among them (and maybe a few that have
    not: check each). With ``unescalated``, only those with such a deadline not yet
    escalated. Moments compare as text, which is their time order (one store form).

    Each (kind, deadline) is its own range of an index on the open follow-ups (kind and
    created, due or occasion: migration ``coverage_0002``), so a check reads the few
    candidates, not every open follow-up (a write on the floor makes every seat and the
    dashboard check again: 9 ms -> under 1 at 11,000 open follow-ups). ``ids``: only
    these follow-ups (those written since the last check).
    """
    branches: list[str] = []
    params: dict[str, str | None] = {}
    only = ""
    if ids is not None:
        params["ids"] = json.dumps(sorted(set(ids)))
        only = " AND f.id IN (SELECT value FROM json_each(:ids))"

    def escalated(name: str) -> str:
        if not unescalated:
            return ""
        return (" AND NOT EXISTS (SELECT 1 FROM followup_escalations x WHERE "
                f"x.followup_id = f.id AND x.deadline = '{name}')")

    def branch(p: str, where: str, deadline: str) -> None:
        branches.append(f"SELECT f.id FROM followups f WHERE f.status = 'open' "
                        f"AND f.kind = :{p}kind AND {where}{escalated(deadline)}{only}")

    for i, cut in enumerate(cuts):
        p = f"k{i}_"
        params[p + "kind"] = cut.kind
        if cut.close is not None:
            branch(p, f"f.created_at <= :{p}close", "close")
            params[p + "close"] = cut.close
        if cut.due is not None:
            branch(p, f"f.due_at <= :{p}due", "close")
            params[p + "due"] = cut.due
        if cut.occasion_due is not None:
            branch(p, f"f.due_at <= :{p}occasion_due AND (f.occasion IS NULL OR f.occasion "
                      f"IN (SELECT value FROM json_each(:{p}undated)))", "close")
            branch(p, f"f.occasion IN (SELECT value FROM json_each(:{p}passed))", "close")
            params[p + "occasion_due"] = cut.occasion_due
            params[p + "undated"] = json.dumps(cut.occasions_undated)
            params[p + "passed"] = json.dumps(cut.occasions_passed)
        if cut.first_contact is not None:
            branch(p, f"f.created_at <= :{p}first_contact AND f.first_contact_at IS NULL",
                   "first_contact")
            params[p + "first_contact"] = cut.first_contact
    if not branches:
        return []
    return _open_rows(store, "1", params, owner, ids=" UNION ".join(branches))


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
                    limit: int | None = None, after_id: int | None = None,
                    ids: Iterable[int] | None = None) -> list[dict]:
    """Escalations (newest first) with their follow-up's kind/status and customer;
    ``after_id``: only those with a greater id (made since); ``ids``: only these."""
    if followup_ids is not None and not set(followup_ids):
        return []
    if ids is not None and not set(ids):
        return []
    return store.all(*_escalation_sql(followup_ids, since, open_only, limit, after_id, ids))


def open_escalation_heads(store: Store) -> Iterator[tuple]:
    """``(id, owner, escalated_to, escalated_at)`` of every escalation of an open
    follow-up, read as they come: who is to hear of it, without its follow-up's customer,
    a sort or a list of them all (a seat's first look; tens of thousands on a file with a
    large backlog)."""
    cursor = store.db.conn.execute(
        "SELECT e.id, e.owner, e.escalated_to, e.escalated_at FROM followup_escalations e"
        " CROSS JOIN followups f ON f.id = e.followup_id WHERE f.status = 'open'")
    try:
        yield from cursor
    finally:
        cursor.close()


def last_escalation_id(store: Store) -> int:
    """The greatest escalation id on file (0: none yet); ids only grow."""
    return store.scalar("SELECT max(id) FROM followup_escalations") or 0


def escalation_tuples(store: Store, *, open_only: bool = False
                      ) -> tuple[list[str], list[tuple]]:
    """:func:`escalation_rows` as (column names, one tuple per row): for a reader that
    keeps what it made of each row (``calls.deadlines.KeptEscalations``)."""
    cursor = store.db.conn.execute(*_escalation_sql(None, None, open_only, None))
    rows = cursor.fetchall()
    return [d[0] for d in cursor.description], rows


def _escalation_sql(followup_ids: Iterable[int] | None, since: str | None, open_only: bool,
                    limit: int | None, after_id: int | None = None,
                    ids: Iterable[int] | None = None) -> tuple[str, list]:
    where: list[str] = []
    params: list = []
    if after_id is not None:
        where.append("e.id > ?")
        params.append(after_id)
    if ids is not None:
        wanted = sorted(set(ids))
        where.append(f"e.id IN ({', '.join('?' for _ in wanted)})")
        params += wanted
    if followup_ids is not None:
        ids = sorted(set(followup_ids))
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
    return sql, params


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
