"""Export queries: one streaming cursor per table, read in batches (constant memory).

Each query returns the table's own columns first, then the columns the export adds
(the customer's ref, and ``_tz``: the customer's time-zone list as JSON, which the export
turns into local times and drops).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter

from calls.store import Store

BATCH = 5_000


@dataclass(frozen=True)
class TableSpec:
    """How one table is exported."""

    name: str
    select: str               # SELECT ... FROM ... (aliases below), no WHERE
    time_filter: str | None   # the column --since/--until filter on
    order: str
    moments: tuple[str, ...]  # UTC moment columns that get a local time beside them
    # The same SELECT without the customers join, for large exports: the customer's ref
    # and zone then come from an in-memory lookup by ``customer_id`` (see customer_lookup),
    # since one random customers lookup per row would cost more than everything else
    # together. It leaves out the columns the lookup fills (customer_ref, _tz): every
    # column fetched costs, at millions of rows (see iter_rows for the names it reports).
    light: str | None = None


SPECS: dict[str, TableSpec] = {
    "customers": TableSpec(
        "customers",
        "SELECT t.id, t.ref, t.name, t.company, t.phone, t.phone_raw, t.phone_ext, "
        "t.phone_region, t.phone_type, t.time_zones, t.phone2, t.phone2_raw, t.email, "
        "t.country, t.revenue, t.tier, t.customer_since, t.last_purchase, t.birthday, "
        "t.owner, t.do_not_call, t.dnc_reason, t.dnc_at, t.number_status, t.extra, "
        "t.revenue_12m, t.revenue_lifetime, t.order_count, t.first_purchase, "
        "t.avg_order_interval_days, t.created_at, t.updated_at, t.region, t.customer_type, "
        "t.contract, t.consent_calls, t.consent_marketing, t.consent_recording, "
        "t.time_zones AS _tz "
        "FROM customers t",
        "t.created_at", "t.id", ("dnc_at", "created_at", "updated_at"),
    ),
    "calls": TableSpec(
        "calls",
        "SELECT t.id, t.customer_id, cu.ref AS customer_ref, t.caller, t.script_id, "
        "t.reason, t.started_at, t.connected_at, t.ended_at, t.outcome, t.callback_at, "
        "t.callback_personal, t.notes, t.purpose, t.recording_ok, cu.time_zones AS _tz "
        "FROM calls t LEFT JOIN customers cu ON cu.id = t.customer_id",
        "t.started_at", "t.id", ("started_at", "connected_at", "ended_at", "callback_at"),
        "SELECT t.id, t.customer_id, t.caller, t.script_id, "
        "t.reason, t.started_at, t.connected_at, t.ended_at, t.outcome, t.callback_at, "
        "t.callback_personal, t.notes, t.purpose, t.recording_ok FROM calls t",
    ),
    "answers": TableSpec(
        "answers",
        "SELECT t.call_id, c.customer_id, cu.ref AS customer_ref, c.caller, "
        "s.name AS script, s.version AS script_version, t.key, t.qtype, t.value, "
        "t.answered_at, cu.time_zones AS _tz "
        "FROM answers t JOIN calls c ON c.id = t.call_id "
        "LEFT JOIN customers cu ON cu.id = c.customer_id "
        "LEFT JOIN scripts s ON s.id = c.script_id",
        "t.answered_at", "t.call_id, t.key", ("answered_at",),
        "SELECT t.call_id, c.customer_id, c.caller, "
        "s.name AS script, s.version AS script_version, t.key, t.qtype, t.value, "
        "t.answered_at "
        "FROM answers t JOIN calls c ON c.id = t.call_id "
        "LEFT JOIN scripts s ON s.id = c.script_id",
    ),
    "followups": TableSpec(
        "followups",
        "SELECT t.*, cu.ref AS customer_ref, cu.time_zones AS _tz "
        "FROM followups t LEFT JOIN customers cu ON cu.id = t.customer_id",
        "t.created_at", "t.id", ("due_at", "created_at", "closed_at"),
    ),
    "rejects": TableSpec(
        "rejects",
        "SELECT t.id, t.import_id, i.file, i.started_at AS imported_at, t.line, t.raw, "
        "t.reason, NULL AS _tz FROM rejects t JOIN imports i ON i.id = t.import_id",
        "i.started_at", "t.id", ("imported_at",),
    ),
    "dnc": TableSpec(
        "dnc",
        "SELECT t.phone, t.raw, t.source, t.reason, t.added_at, t.added_by, NULL AS _tz "
        "FROM dnc t",
        "t.added_at", "t.phone", ("added_at",),
    ),
}


def _where(spec: TableSpec, start: str | None, end: str | None) -> tuple[str, list]:
    clauses, params = [], []
    if start and spec.time_filter:
        clauses.append(f"{spec.time_filter} >= ?")
        params.append(start)
    if end and spec.time_filter:
        clauses.append(f"{spec.time_filter} < ?")
        params.append(end)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_rows(store: Store, table: str, start: str | None, end: str | None) -> int:
    """How many rows an export of ``table`` in ``[start, end)`` will write."""
    spec = SPECS[table]
    frm = spec.select[spec.select.index(" FROM "):]
    where, params = _where(spec, start, end)
    if not where:
        frm = f" FROM {table} t"  # joins add no rows: count the table alone
    return store.scalar(f"SELECT count(*){frm}{where}", params) or 0


class _ZoneNumbers(dict):
    """Time-zone JSON text -> its number in ``texts`` (a new text gets the next one)."""

    def __init__(self, texts: list[str | None]):
        super().__init__({None: 0})
        self.texts = texts

    def __missing__(self, text: str) -> int:
        number = self[text] = len(self.texts)
        self.texts.append(text)
        return number


def customer_lookup(store: Store) -> tuple[list[str | None], array, list[str | None]]:
    """Every customer's ref and time-zone list, compactly, indexed by customer id:
    ``refs[id]``, and ``zone_texts[zone_index[id]]`` (the JSON text as stored)."""
    conn = store.db.conn
    top, count = conn.execute("SELECT coalesce(max(id), 0), count(*) FROM customers").fetchone()
    zone_texts: list[str | None] = [None]
    numbers = _ZoneNumbers(zone_texts)
    if top == count:
        # Ids 1..n without gaps (the usual case): the columns are appended batch by batch
        # in id order, the per-customer work done by C loops (map) instead of Python.
        refs: list[str | None] = [None]
        zone_index = array("I", [0])
        ref_of, zones_of = itemgetter(0), itemgetter(1)
        cursor = conn.execute("SELECT ref, time_zones FROM customers ORDER BY id")
        while rows := cursor.fetchmany(BATCH):
            refs.extend(map(ref_of, rows))
            zone_index.extend(map(numbers.__getitem__, map(zones_of, rows)))
        return refs, zone_index, zone_texts
    refs = [None] * (top + 1)
    zone_index = array("I", bytes(4 * (top + 1)))
    for cid, ref, zones in conn.execute("SELECT id, ref, time_zones FROM customers"):
        refs[cid] = ref
        zone_index[cid] = numbers[zones]
    return refs, zone_index, zone_texts


def iter_rows(
    store: Store, table: str, start: str | None, end: str | None, *, light: bool = False,
    blanks: bool = False,
) -> tuple[list[str], Iterator[list[tuple]]]:
    """The column names and an iterator of row batches for ``table`` in ``[start, end)``.

    ``light``: the SELECT without the customers join (the caller fills in ``customer_ref``
    and ``_tz`` from :func:`customer_lookup` by the ``customer_id`` column). The names
    are the full SELECT's either way; a light row has no ``customer_ref`` or ``_tz``
    value: :func:`light_positions` maps names to the row's positions.

    ``blanks``: NULL comes as '' and an integer as its text (what a CSV cell holds for
    them), turned in SQLite rather than checked value by value in Python; a last column
    ``_cid`` then holds ``customer_id`` as a number, for the lookup."""
    spec = SPECS[table]
    where, params = _where(spec, start, end)
    select = spec.light if light and spec.light else spec.select
    order = spec.order
    if where and table == "calls":
        # The time index serves the filter; ordering by it too avoids sorting the period.
        order = "t.started_at, t.id"
    conn = store.db.conn
    query = f"{select}{where} ORDER BY {order}"
    if blanks:
        inner = [d[0] for d in conn.execute(f"{select} LIMIT 0").description]
        texts = _text_columns(conn, table, select)
        # integers as their text too (a CSV line is joined from text); reals stay numbers.
        # A column of the table with text affinity holds only text (SQLite stores a number
        # put there as its text), so NULL is all it can need turned: coalesce is a third
        # of the CASE's cost (a calls export at 100k/300k: 1.18 -> 0.97 s CPU to read).
        columns = ", ".join(
            f"coalesce(q.\"{name}\", '') AS \"{name}\"" if name in texts else
            f"CASE typeof(q.\"{name}\") WHEN 'integer' THEN CAST(q.\"{name}\" AS TEXT) "
            f"WHEN 'null' THEN '' ELSE q.\"{name}\" END AS \"{name}\"" for name in inner)
        # the same query, flattened by SQLite: ordered by the same columns, by their names
        outer_order = ", ".join(f'q."{part.strip().removeprefix("t.")}"'
                                for part in order.split(","))
        if "customer_id" in inner:
            columns += ", q.customer_id AS _cid"   # as a number too: it is looked up by
        query = f"SELECT {columns} FROM ({select}{where}) q ORDER BY {outer_order}"
    cursor = conn.execute(query, params)
    names = [d[0] for d in cursor.description]
    if select is spec.light:
        names.insert(names.index("customer_id") + 1, "customer_ref")
        names.append("_tz")

    def batches() -> Iterator[list[tuple]]:
        while True:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                return
            yield rows

    return names, batches()


def _text_columns(conn, table: str, select: str) -> set[str]:
    """The columns ``select`` takes straight from ``table`` (as ``t.name`` or ``t.*``)
    whose declared type gives them text affinity (SQLite's rule: CHAR, CLOB or TEXT in
    it, and not INT)."""
    out = set()
    for _cid, name, decl, *_rest in conn.execute(f"PRAGMA table_info({table})"):
        decl = (decl or "").upper()
        text = "INT" not in decl and any(k in decl for k in ("CHAR", "CLOB", "TEXT"))
        taken = "t.*" in select or re.search(rf"\bt\.{re.escape(name)}\s*(,|\sFROM\b)", select)
        if text and taken:
            out.add(name)
    return out


def light_positions(names: list[str]) -> list[int | None]:
    """For the names :func:`iter_rows` reports for a light SELECT: each name's position
    in a row, None for the columns the lookup fills."""
    positions: list[int | None] = []
    at = 0
    for name in names:
        if name in ("customer_ref", "_tz"):
            positions.append(None)
        else:
            positions.append(at)
            at += 1
    return positions


def wide_columns(store: Store, start: str | None, end: str | None) -> list[tuple]:
    """The (script id, script name, version, key) answer columns in ``[start, end)``, in
    script order and, within a script, in the order the questions were first answered."""
    where, params = _where(SPECS["calls"], start, end)
    where = where.replace("t.started_at", "c.started_at")
    return [
        tuple(r)
        for r in store.db.conn.execute(
            "SELECT c.script_id, s.name, s.version, a.key, min(a.rowid) AS first "
            "FROM answers a JOIN calls c ON c.id = a.call_id "
            f"LEFT JOIN scripts s ON s.id = c.script_id{where} "
            "GROUP BY c.script_id, a.key ORDER BY s.name, s.version, c.script_id, first",
            params,
        )
    ]


def iter_wide(
    store: Store, start: str | None, end: str | None
) -> Iterator[list[tuple]]:
    """Batches of (call id, customer ref, caller, started_at, outcome, script id, script,
    version, key, value, time zones JSON) ordered by call: one call's answers together."""
    where, params = _where(SPECS["calls"], start, end)
    where = where.replace("t.started_at", "c.started_at")
    cursor = store.db.conn.execute(
        "SELECT a.call_id, cu.ref, c.caller, c.started_at, c.outcome, c.script_id, "
        "s.name, s.version, a.key, a.value, cu.time_zones "
        "FROM answers a JOIN calls c ON c.id = a.call_id "
        "LEFT JOIN customers cu ON cu.id = c.customer_id "
        f"LEFT JOIN scripts s ON s.id = c.script_id{where} ORDER BY a.call_id",
        params,
    )
    while True:
        rows = cursor.fetchmany(BATCH)
        if not rows:
            return
        yield rows


def count_wide(store: Store, start: str | None, end: str | None) -> int:
    """How many calls have answers in ``[start, end)`` (rows of a wide export)."""
    where, params = _where(SPECS["calls"], start, end)
    where = where.replace("t.started_at", "c.started_at")
    return store.scalar(
        "SELECT count(DISTINCT a.call_id) FROM answers a JOIN calls c ON c.id = a.call_id"
        + where, params
    ) or 0
