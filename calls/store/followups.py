"""Queries on follow-ups, the detractor loop and the planner's memory (all follow-up SQL)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from calls.store import Store

# Columns of a follow-up row plus the customer fields every view shows beside it.
_SELECT = """
    SELECT f.*, c.ref AS customer_ref, c.name AS customer_name, c.company AS customer_company
    FROM followups f JOIN customers c ON c.id = f.customer_id
"""


def get_followup_row(store: Store, followup_id: int) -> dict | None:
    """One follow-up with its customer's ref/name/company, or None."""
    return store.one(_SELECT + " WHERE f.id = ?", (followup_id,))


def find_open_row(store: Store, customer_id: int, kind: str) -> dict | None:
    """The oldest open follow-up of one kind for a customer (the one new details join)."""
    return store.one(
        _SELECT + " WHERE f.customer_id = ? AND f.kind = ? AND f.status = 'open' ORDER BY f.id",
        (customer_id, kind),
    )


def insert_followup_row(store: Store, values: dict) -> int:
    """Insert a follow-up; returns its id."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = store.db.execute(
        f"INSERT INTO followups ({columns}) VALUES ({marks})", list(values.values())
    )
    return int(cursor.lastrowid)


_UPDATABLE = {
    "owner",
    "due_at",
    "status",
    "details",
    "call_id",
    "closed_at",
    "closed_by",
    "close_note",
    "score_before",
    "score_after",
    "closed_call_id",
    "occasion",
}


def update_followup_row(store: Store, followup_id: int, **values) -> None:
    """Set some columns of one follow-up."""
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ?" for name in values)
    store.db.execute(f"UPDATE followups SET {sets} WHERE id = ?", [*values.values(), followup_id])


def query_followup_rows(
    store: Store,
    *,
    owner: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    due_before: str | None = None,
    customer_id: int | None = None,
    parent_id: int | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Follow-ups matching every filter given, due first (no due time last), then oldest."""
    where: list[str] = []
    params: list = []
    if owner is not None:
        # owners are names people type ("Kim", "kim"): the same owner either way
        where.append("f.owner = ? COLLATE NOCASE")
        params.append(owner)
    if kind is not None:
        where.append("f.kind = ?")
        params.append(kind)
    if status is not None:
        where.append("f.status = ?")
        params.append(status)
    if due_before is not None:
        where.append("f.due_at IS NOT NULL AND f.due_at <= ?")
        params.append(due_before)
    if customer_id is not None:
        where.append("f.customer_id = ?")
        params.append(customer_id)
    if parent_id is not None:
        where.append("f.parent_id = ?")
        params.append(parent_id)
    sql = _SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY f.due_at IS NULL, f.due_at, f.id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return store.all(sql, params)


def count_open_rows(store: Store, now: str, owner: str | None = None) -> tuple[int, int, int]:
    """(open, due by ``now``, overdue before ``now``) follow-ups, of one owner or all."""
    sql = (
        "SELECT count(*), coalesce(sum(due_at <= :now), 0), coalesce(sum(due_at < :now), 0) "
        "FROM followups WHERE status = 'open'"
    )
    params: dict = {"now": now}
    if owner is not None:
        sql += " AND owner = :owner COLLATE NOCASE"
        params["owner"] = owner
    row = store.db.conn.execute(sql, params).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def customer_row(store: Store, customer_id: int) -> dict | None:
    """The customers row for an id."""
    return store.one("SELECT * FROM customers WHERE id = ?", (customer_id,))


def customer_brief(store: Store, customer_id: int) -> dict | None:
    """id, ref, name, company and owner of a customer (what a new follow-up needs)."""
    return store.one(
        "SELECT id, ref, name, company, owner FROM customers WHERE id = ?", (customer_id,)
    )


def open_kinds(store: Store, customer_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(customer id, kind) of every open follow-up of these customers."""
    ids = sorted(set(customer_ids))
    out: set[tuple[int, str]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for customer_id, kind in store.db.conn.execute(
            f"SELECT customer_id, kind FROM followups "
            f"WHERE status = 'open' AND customer_id IN ({marks})",
            chunk,
        ):
            out.add((customer_id, kind))
    return out


def customer_row_by_ref(store: Store, ref: str) -> dict | None:
    """The customers row for a ref."""
    return store.one("SELECT * FROM customers WHERE ref = ?", (ref,))


def customer_is_dnc(store: Store, customer_id: int) -> bool:
    """True when the customer asked not to be called or a number of theirs is on the DNC list."""
    row = store.one(
        """
        SELECT c.do_not_call
            OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
            OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone2) AS dnc
        FROM customers c WHERE c.id = ?
        """,
        (customer_id,),
    )
    return bool(row and row["dnc"])


def cancel_calls_of_dnc_customers(store: Store, stamp: str, by: str | None,
                                  note: str) -> int:
    """Cancel the open callbacks and recovery calls of customers who must not be called
    (flagged, or a number of theirs on the DNC list); how many. Call inside store.write().
    """
    cur = store.db.conn.execute(
        """
        UPDATE followups SET status = 'cancelled', closed_at = ?, closed_by = ?,
                             close_note = ?
        WHERE status = 'open' AND kind IN ('callback', 'recovery_call')
          AND EXISTS (
              SELECT 1 FROM customers AS c WHERE c.id = followups.customer_id AND (
                  c.do_not_call != 0
                  OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
                  OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone2)))
        """,
        (stamp, by, note),
    )
    return cur.rowcount


def cancel_open_of_customer(store: Store, customer_id: int, kinds: Iterable[str],
                            stamp: str, by: str | None, note: str) -> list[dict]:
    """Cancel a customer's open follow-ups of these kinds; returns the rows cancelled
    (id, kind, owner). Call inside store.write()."""
    wanted = sorted(set(kinds))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = store.all(
        f"SELECT id, kind, owner FROM followups WHERE customer_id = ? AND status = 'open' "
        f"AND kind IN ({marks}) ORDER BY id", (customer_id, *wanted))
    for row in rows:
        store.db.execute(
            "UPDATE followups SET status = 'cancelled', closed_at = ?, closed_by = ?, "
            "close_note = ? WHERE id = ?", (stamp, by, note, row["id"]))
    return rows


def consent_calls_withdrawn(store: Store, customer_id: int) -> bool:
    """True when the customer's consent to calls in force is withdrawn."""
    return store.scalar("SELECT consent_calls FROM customers WHERE id = ?",
                        (customer_id,)) == "withdrawn"


def call_row(store: Store, call_id: int) -> dict | None:
    """One calls row."""
    return store.one("SELECT * FROM calls WHERE id = ?", (call_id,))


def nps_answer(store: Store, call_id: int) -> int | None:
    """The call's NPS answer (0-10), or None. With several NPS questions the one keyed
    ``nps`` wins, else the first answered."""
    rows = store.all(
        "SELECT key, value FROM answers WHERE call_id = ? AND qtype = 'nps' "
        "ORDER BY key = 'nps' DESC, answered_at, key",
        (call_id,),
    )
    for row in rows:
        try:
            value = json.loads(row["value"]) if row["value"] is not None else None
        except (TypeError, ValueError):
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and 0 <= value <= 10:
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


# -- the planner's memory -----------------------------------------------------------


def planned_keys(store: Store, customer_id: int) -> set[str]:
    """Occasion keys already planned for a customer."""
    return {
        r["key"]
        for r in store.all("SELECT key FROM followup_plan WHERE customer_id = ?", (customer_id,))
    }


def is_planned(store: Store, customer_id: int, key: str) -> bool:
    """True when the planner already planned this occasion for this customer."""
    return (
        store.scalar(
            "SELECT 1 FROM followup_plan WHERE customer_id = ? AND key = ?", (customer_id, key)
        )
        is not None
    )


def record_planned(
    store: Store, customer_id: int, key: str, followup_id: int | None, planned_at: str
) -> None:
    """Remember that an occasion was planned (once; a second call is a no-op)."""
    store.db.execute(
        "INSERT OR IGNORE INTO followup_plan (customer_id, key, followup_id, planned_at) "
        "VALUES (?, ?, ?, ?)",
        (customer_id, key, followup_id, planned_at),
    )


def customers_with_dates_on(
    store: Store, column: str, month_days: Iterable[str], skip_keys: Iterable[str] = ()
) -> list[dict]:
    """Customers whose ``birthday`` / ``customer_since`` falls on one of the MM-DD given,
    leaving out those with one of ``skip_keys`` already in the planner's memory."""
    if column not in {"birthday", "customer_since"}:
        raise ValueError(column)
    days = sorted(set(month_days))
    if not days:
        return []
    keys = sorted(set(skip_keys))
    marks = ", ".join("?" for _ in days)
    skip = ""
    if keys:
        skip = (
            "AND NOT EXISTS (SELECT 1 FROM followup_plan p WHERE p.customer_id = c.id "
            f"AND p.key IN ({', '.join('?' for _ in keys)}))"
        )
    return store.all(
        f"""
        SELECT c.id, c.ref, c.name, c.company, c.tier, c.owner, c.{column} AS day, c.created_at,
            c.do_not_call
                OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
                OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone2) AS is_dnc
        FROM customers c
        WHERE {column} IS NOT NULL AND substr({column}, 6, 5) IN ({marks}) {skip}
        ORDER BY c.id
        """,
        [*days, *keys],
    )


def count_planned(store: Store, keys: Iterable[str]) -> int:
    """How many (customer, key) the planner remembers for these keys."""
    wanted = sorted(set(keys))
    if not wanted:
        return 0
    marks = ", ".join("?" for _ in wanted)
    return store.scalar(f"SELECT count(*) FROM followup_plan WHERE key IN ({marks})", wanted) or 0


def table_columns(store: Store, table: str) -> set[str]:
    """Column names of a table (to read columns other areas add in their migrations)."""
    return {row[1] for row in store.db.conn.execute(f"PRAGMA table_info({table})")}


# -- the detractor loop, for reports ---------------------------------------------------


def recovery_rows(store: Store) -> list[dict]:
    """Every recovery_call follow-up with its parent fix_problem's times."""
    return store.all(
        """
        SELECT r.id, r.customer_id, r.status, r.parent_id, r.score_before, r.score_after,
               r.created_at, r.closed_at, r.closed_call_id,
               p.created_at AS fix_created_at, p.closed_at AS fix_closed_at
        FROM followups r LEFT JOIN followups p ON p.id = r.parent_id
        WHERE r.kind = 'recovery_call'
        ORDER BY r.id
        """
    )


# A customer whose cycle ended unreached, and whether its letter is already planned.
_UNREACHED_PLANNED = """
            EXISTS (
                SELECT 1 FROM followup_plan p
                WHERE p.customer_id = c.id
                  AND p.key = 'unreached:' || coalesce(c.cycle_ended_at, ''))"""
_UNREACHED_SELECT = f"""
        SELECT c.id, c.ref, c.name, c.company, c.owner, c.cycle_ended_at AS ended,
            coalesce(c.cycle_ended_at, '') AS cycle_key,
            c.do_not_call
                OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone)
                OR EXISTS (SELECT 1 FROM dnc WHERE dnc.phone = c.phone2) AS is_dnc,
            {_UNREACHED_PLANNED} AS planned
        FROM customers c
"""


def _has_cycle_columns(store: Store) -> bool:
    """The queue keeps the cycle state on ``customers`` (its migration)."""
    columns = table_columns(store, "customers")
    return "cycle_status" in columns and "cycle_ended_at" in columns


def unreached_cycles(store: Store, *, unplanned: bool = False) -> list[dict]:
    """Customers whose last care cycle ended unreached, each with ``cycle_key`` (when the
    cycle ended) and ``planned`` (a letter for that cycle is already planned);
    ``unplanned``: only those without (the planner's work: a seat's planner run at shift
    start read every unreached customer, ~8,000 rows at 100,000 customers, to skip them).

    Without the queue's cycle columns there is nothing to read and this returns no rows.
    """
    if not _has_cycle_columns(store):
        return []
    where = " WHERE c.cycle_status = 'unreached'"
    if unplanned:
        where += f" AND NOT {_UNREACHED_PLANNED}"
    rows = store.all(_UNREACHED_SELECT + where)
    # Sorted here: an ORDER BY would make SQLite scan every customer instead of the
    # partial index of unreached ones.
    return sorted(rows, key=lambda row: row["id"])


def count_unreached_planned(store: Store) -> int:
    """How many customers' unreached cycles already have their letter planned."""
    if not _has_cycle_columns(store):
        return 0
    return store.scalar("SELECT count(*) FROM customers c WHERE c.cycle_status = 'unreached'"
                        f" AND {_UNREACHED_PLANNED}") or 0


def unreached_cycle(store: Store, customer_id: int) -> dict | None:
    """One customer's row as :func:`unreached_cycles` gives it, or None when their last
    care cycle did not end unreached. For a wrap-up (inside its write lock), which has
    just read and written the cycle columns: no look at the table's columns first."""
    return store.one(_UNREACHED_SELECT + " WHERE c.id = ? AND c.cycle_status = 'unreached'",
                     (customer_id,))


def customer_rows_by_ids(store: Store, ids: Iterable[int]) -> dict[int, dict]:
    """customers rows keyed by id (for the mail merge)."""
    wanted = sorted(set(ids))
    out: dict[int, dict] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.db.query(f"SELECT * FROM customers WHERE id IN ({marks})", chunk):
            out[row["id"]] = row
    return out


def open_callbacks_due_between(store: Store, caller: str, start: str, end: str) -> list[dict]:
    """Open callbacks for this caller or for anyone, due in [start, end]."""
    return store.all(
        _SELECT
        + """ WHERE f.kind = 'callback' AND f.status = 'open'
              AND (f.owner = ? OR f.owner IS NULL)
              AND f.due_at IS NOT NULL AND f.due_at >= ? AND f.due_at <= ?
            ORDER BY f.due_at, f.id""",
        (caller, start, end),
    )
