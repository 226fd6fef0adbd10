"""Export queries: one streaming cursor per table, read in batches (constant memory).

Each query returns the table's own columns first, then the columns the export adds
(the customer's ref, and ``_tz``: the customer's time-zone list as JSON, which the export
turns into local times and drops).
"""

from __future__ import annotations

import re
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from calls.localtime import LocalTimes, zone_name
from calls.store import MMAP_BYTES, Store
from calls.store.calls import MOMENTS

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


# `export calls` reads what each call row recorded when it was written (calls.store.calls,
# "what a call row records"): the customer's ref and zone and the moments' local times.
# What a row did not record (NULL: written by an older carecall or plain SQL, a moment
# changed since, a call moved to another customer) is computed here as it was before calls
# recorded it: the customer's ref and zone now and the local time through calls.localtime
# (``py_zone``, ``py_local``: :func:`recorded_functions`). The customer is joined once
# per row that recorded no zone (``_JOINED``, ``cu``), on a NULL key for the others (no
# lookup: 0.1 us a row; a sub-select per use, as before 2026-12-04 09:50, looked the
# customer up for each of the cells that name it, about ten times a row on the SQL path:
# 25k rows/s on 3M calls none of which had recorded, against 128k before the columns).
# The columns are the fresh path's (SPECS["calls"] with its local times), in its order.
_JOINED = (" FROM calls t LEFT JOIN customers cu "
           "ON cu.id = iif(t.time_zone IS NULL, t.customer_id, NULL)")
# (name, what a row did not record is computed by): the recorded columns. A local time
# in the zone the call recorded, else in its customer's now (one Python call: the zone's
# name is looked up inside it); no moment, no call ('').
_FALLBACK = {
    "customer_ref": "cu.ref",
    "time_zone": "py_zone(cu.time_zones)",
    **{f"{m}_local": f"iif(t.{m} IS NULL, '', py_local(t.time_zone, cu.time_zones, t.{m}))"
       for m in MOMENTS},
}
_CALL_COLUMNS = ("id", "customer_id", "customer_ref", "caller", "script_id", "reason",
                 "started_at", "started_at_local", "connected_at", "connected_at_local",
                 "ended_at", "ended_at_local", "outcome", "callback_at", "callback_at_local",
                 "callback_personal", "notes", "purpose", "recording_ok", "time_zone")


# The recorded columns (text, or NULL where nothing was recorded).
RECORDED_TEXT = frozenset(_FALLBACK)

# The SQL path's lines for a range of calls that may have recorded nothing (ids from
# before calls_0003 that `carecall upgrade` has not reached): computed by SQLite as the
# export did before calls recorded anything (b4e2a60), from temporary tables of every
# customer's ref (a finished CSV cell) and zone and of the hours whose local time is a
# prefix and a suffix (:func:`unrecorded_prepare`): no Python call for most cells, so
# several connections build such chunks at once. (Python shaping them, CallShaper on the
# connection's thread, held the GIL: 0.8-0.9x the speed of before on such files.) The
# customer is joined for a call that recorded no zone only (``k``); the hour of its start
# once (``h1``: a call's connect and end are mostly in the same hour), another hour looked
# up; an hour without a row (an offset change in it, a zone whose offset is not whole
# hours, a day outside the table's) and text that is not a store moment go to Python's
# conversion (``py_local``), as does a local time a raw write cleared beside a recorded
# zone (in that zone, as _FALLBACK).
_UNRECORDED_FROM = (" FROM calls t LEFT JOIN x_cust k "
                    "ON k.id = iif(t.time_zone IS NULL, t.customer_id, NULL) "
                    "LEFT JOIN x_hour h1 ON h1.zone = k.zone "
                    "AND h1.hour = substr(t.started_at, 1, 13)")
# What follows the hour in a store moment, ":MM:SSZ" (calls.localtime.STORE_TAILS as a GLOB).
_TAIL_GLOB = ":[0-5][0-9]:[0-5][0-9]Z"
_HOURS_OF_A_DAY = ", ".join(f"('{h:02d}')" for h in range(24))


def _unrecorded_local(m: str) -> str:
    x = f"t.{m}"
    look = (f"(SELECT h.pre || substr({x}, 14, 6) || h.suf FROM x_hour h "
            f"WHERE h.zone = k.zone AND h.hour = substr({x}, 1, 13) AND {x} GLOB h.pat)")
    return (f"CASE WHEN {x} IS NULL THEN '' "
            f"WHEN t.time_zone IS NOT NULL THEN py_local(t.time_zone, NULL, {x}) "
            f"WHEN {x} GLOB h1.pat THEN h1.pre || substr({x}, 14, 6) || h1.suf "
            f"WHEN {x} = '' OR k.zone IS NULL THEN '' "
            f"ELSE coalesce({look}, py_local(k.zname, NULL, {x})) END")


_UNRECORDED = {"time_zone": "k.zname", **{f"{m}_local": _unrecorded_local(m) for m in MOMENTS}}


def recorded_functions() -> dict[str, tuple[int, Callable]]:
    """The SQL functions :func:`sql_csv`'s lines call for what a row did not record:
    ``py_zone(time zones JSON)`` and ``py_local(recorded zone, time zones JSON, moment)``
    (the moment in the recorded zone, else in the first zone of the JSON) (name: (arity,
    function)). One set per connection: its conversion cache is not to be shared between
    threads."""
    convert = LocalTimes().convert

    def local(zone: str | None, zones: str | None, moment: str | None) -> str:
        return convert(zone_name(zones) if zone is None else zone, moment)

    return {"py_zone": (1, zone_name), "py_local": (3, local)}


# The calls export's plain path reads the recorded columns as they are (NULL where not
# recorded) and computes what a row did not record in Python (calls.export.CallShaper),
# as the export did before calls recorded anything: the customer's ref and zone from an
# in-memory list by customer id (customer_lookup) or joined, local times through
# LocalTimes' hour tables. SQLite calling Python for each such cell (_FALLBACK) ran
# an export of calls from before calls_0003 at half the speed of before (docs/reports.md
# "Recorded at the call"); the SQL path builds the chunks that may hold them from
# temporary tables (_UNRECORDED).


def shaped_select(lookup: bool) -> str:
    """The calls export's columns (:func:`sql_csv`'s, in its order) with the
    recorded ones as stored, for calls.export.CallShaper. ``lookup``: it has the
    customers in memory; else the customer of a call that recorded no zone is joined
    (``_ref``, ``_tz``: its ref and zones)."""
    columns = ", ".join(f"t.{name}" for name in _CALL_COLUMNS)
    if lookup:
        return f"SELECT {columns} FROM calls t"
    return f"SELECT {columns}, cu.ref AS _ref, cu.time_zones AS _tz{_JOINED}"


def _with_functions(conn: sqlite3.Connection, functions: dict[str, tuple[int, Callable]]
                    ) -> None:
    for name, (arity, function) in functions.items():
        conn.create_function(name, arity, function, deterministic=True)


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
    return _count_rows(store.db.conn, table, start, end)


def _count_rows(conn: sqlite3.Connection, table: str, start: str | None, end: str | None
                ) -> int:
    spec = SPECS[table]
    frm = spec.select[spec.select.index(" FROM "):]
    where, params = _where(spec, start, end)
    if not where:
        frm = f" FROM {table} t"  # joins add no rows: count the table alone
    return conn.execute(f"SELECT count(*){frm}{where}", params).fetchone()[0] or 0


class _ZoneNumbers(dict):
    """Time-zone JSON text -> its number in ``texts`` (a new text gets the next one)."""

    def __init__(self, texts: list[str | None]):
        super().__init__({None: 0})
        self.texts = texts

    def __missing__(self, text: str) -> int:
        number = self[text] = len(self.texts)
        self.texts.append(text)
        return number


def customer_lookup(store: Store | sqlite3.Connection
                    ) -> tuple[list[str | None], array, list[str | None]]:
    """Every customer's ref and time-zone list, compactly, indexed by customer id:
    ``refs[id]``, and ``zone_texts[zone_index[id]]`` (the JSON text as stored). Read on
    ``store``'s connection, or on a connection given instead."""
    conn = store if isinstance(store, sqlite3.Connection) else store.db.conn
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
    ``_cid`` then holds ``customer_id`` as a number, for the lookup.

    The calls export reads what each call recorded: :func:`shaped_rows`."""
    spec = SPECS[table]
    where, params = _where(spec, start, end)
    select = spec.light if light and spec.light else spec.select
    conn = store.db.conn
    names, batches = _iter_rows(conn, table, select, where, params, blanks,
                                _order(table, where))
    if select is spec.light:
        names.insert(names.index("customer_id") + 1, "customer_ref")
        names.append("_tz")
    return names, batches


def shaped_rows(conn: sqlite3.Connection, start: str | None, end: str | None, *,
                lookup: bool, blanks: bool = False) -> tuple[list[str], Iterator[list[tuple]]]:
    """:func:`iter_rows` of calls for calls.export.CallShaper (:func:`shaped_select`;
    under ``blanks`` the recorded columns keep NULL: not recorded)."""
    where, params = _where(SPECS["calls"], start, end)
    return _iter_rows(conn, "calls", shaped_select(lookup), where, params, blanks,
                      _order("calls", where), RECORDED_TEXT)


def _order(table: str, where: str) -> str:
    """The ORDER BY of an export of ``table`` filtered by ``where`` (its --since/--until)."""
    if where and table == "calls":
        # The time index serves the filter; ordering by it too avoids sorting the period.
        return "t.started_at, t.id"
    return SPECS[table].order


def _iter_rows(conn: sqlite3.Connection, table: str, select: str, where: str, params: list,
               blanks: bool, order: str, raw: frozenset[str] = frozenset()
               ) -> tuple[list[str], Iterator[list[tuple]]]:
    query = f"{select}{where} ORDER BY {order}"
    if blanks:
        inner = [d[0] for d in conn.execute(f"{select} LIMIT 0").description]
        texts = _text_columns(conn, table, select)
        # integers as their text too (a CSV line is joined from text); reals stay numbers.
        # A column of the table with text affinity holds only text (SQLite stores a number
        # put there as its text), so NULL is all it can need turned: coalesce is a third
        # of the CASE's cost (a calls export at 100k/300k: 1.18 -> 0.97 s CPU to read).
        # ``raw`` columns stay as they are.
        columns = ", ".join(
            f'q."{name}"' if name in raw else
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



# -- CSV lines built by SQLite, on several connections at once ------------------------------
#
# For a large CSV export of the tables below each line is built whole by SQLite (quoting,
# the formula guard) from what each call row recorded when it was written (_FALLBACK),
# and a chunk of lines comes back as one text: no Python per row. SQLite steps without
# holding Python's GIL, so several connections build chunks at once
# (calls.export.sql_csv_chunks). The lines equal the plain path's (iter_rows +
# calls.export.RowShaper) byte for byte (tests/core/test_export_sql_csv.py); what the SQL
# cannot say the same way it hands to the plain path's own Python (``py_cell``,
# ``py_text``), cell by cell: a cell to quote or neutralise, a real or a blob where text
# belongs; and what a row did not record to ``py_zone`` and ``py_local``.

SQL_CSV_TABLES = ("calls",)
_QUOTE_CHARS = ('"', ",", "\n", "\r")
# How long the export waits for the write lock it holds while its readers start (see
# snapshot_connections); a writer busy for longer than this: the plain path instead.
_SNAPSHOT_LOCK_SECONDS = 2.0


def _sql_text(text: str) -> str:
    """``text`` (one character or more) as an SQL literal; control characters by char()."""
    if len(text) == 1 and ord(text) < 32:
        return f"char({ord(text)})"
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class SqlCsv:
    """How one table's CSV chunks are built: ``sql`` takes ``params`` then a range
    [from, to) of ``key`` and returns (the range's lines joined by CRLF, or NULL; their
    count); ``sql_open`` the same for the last range, which has no end."""

    sql: str
    sql_open: str
    params: list
    table: str
    key: str                  # the column the ranges are of (the order's first)
    where: str                # the export's own filter (--since/--until)
    columns: list[str]        # the CSV header
    # The same lines for a range that may hold calls that recorded nothing, computed from
    # the temporary tables of :func:`unrecorded_prepare` (its connection's own)
    unrecorded: str = ""
    unrecorded_open: str = ""


def _text_cell_sql(x: str, formula_starts: Iterable[str]) -> str:
    """SQL for calls.export.csv_cell of ``x`` (a value of a column of text affinity: text,
    NULL or a blob) as a printf() argument: plain text as it is (NULL prints as ''), text
    that needs quoting or neutralising and a blob through ``py_cell``."""
    starts = set(formula_starts)
    assert not starts & set("[]^*?"), "a GLOB class cannot hold these as they are"
    first = "[" + "".join(sorted(starts - {"-"})) + ("-" if "-" in starts else "") + "]*"
    inside = "*[" + "".join(_QUOTE_CHARS) + "]*"
    # NULL first: many text columns are mostly NULL, and the test is all it then costs
    return (f"CASE WHEN {x} IS NULL THEN NULL WHEN {x} GLOB {_sql_text(first)} "
            f"OR {x} GLOB {_sql_text(inside)} OR {x} >= x'' THEN py_cell({x}) "
            f"ELSE {x} END")


def sql_csv(conn: sqlite3.Connection, table: str, start: str | None, end: str | None, *,
            formula_starts: Iterable[str], our_values: Iterable[str]) -> SqlCsv:
    """The chunk queries for ``table`` in ``[start, end)``, with the plain path's columns
    in its order (:data:`_CALL_COLUMNS`). Cells of ``our_values`` (carecall's own
    codes, numbers, moments, local times and zones) are written unchecked, other text
    through the formula guard and quoting (as calls.export.RowShaper does). Runs on a
    connection :func:`sql_csv_prepare` readied."""
    spec = SPECS[table]
    names = list(_CALL_COLUMNS)
    texts = _text_columns(conn, table, spec.light)
    rowid = {name for _cid, name, decl, _nn, _default, pk
             in conn.execute(f"PRAGMA table_info({table})")
             if pk and (decl or "").upper() == "INTEGER"}
    ours = frozenset(our_values)

    def own(name: str, x: str) -> str:
        # printf's %s writes text and integers as the plain path does, NULL as ''; a real
        # or a blob (in a column of carecall's own values only by a mistake) through Python
        if name in rowid:
            return x
        if name in texts:    # text affinity: text, NULL, or a blob (which sorts after
            return f"iif({x} >= x'', py_text({x}), {x})"   # any text: no typeof() call)
        return f"iif(typeof({x}) IN ('real', 'blob'), py_text({x}), {x})"

    def cells(fallback: dict[str, str], ref: str) -> str:
        """The line's printf() arguments; ``fallback``: what a row did not record is
        computed by, ``ref``: the customer's ref cell of a call that recorded no zone."""
        out = []
        for name in names:
            x = f"t.{name}"
            if name == "customer_ref":
                # the guard's SQL names its cell several times: each branch its own column
                out.append(f"CASE WHEN t.time_zone IS NULL THEN {ref} "
                           f"ELSE {_text_cell_sql(x, formula_starts)} END")
            elif name in fallback:    # carecall's own text as recorded; NULL: computed
                out.append(f"iif({x} >= x'', py_text({x}), coalesce({x}, {fallback[name]}))")
            elif name in ours:
                out.append(own(name, x))
            elif name in texts:
                out.append(_text_cell_sql(x, formula_starts))
            else:
                out.append(f"iif(typeof({x}) IN ('integer', 'null'), {x}, py_cell({x}))")
        # printf() writes a line for half the cost of || between coalesce()d cells
        return f"printf('{','.join(['%s'] * len(out))}', {', '.join(out)})"

    where, params = _where(spec, start, end)
    key = spec.time_filter if where else f"t.{names[0]}"
    order = f"{spec.time_filter}, t.{names[0]}" if where else f"t.{names[0]}"
    glue = " AND " if where else " WHERE "

    def chunk(line: str, frm: str, bounds: str) -> str:
        return ("SELECT group_concat(line, char(13) || char(10)), count(*) FROM ("
                f"SELECT {line} AS line{frm}{where}{glue}{bounds} ORDER BY {order})")

    recorded = cells(_FALLBACK, _text_cell_sql(_FALLBACK["customer_ref"], formula_starts))
    unrecorded = cells(_UNRECORDED, "k.ref")
    closed, open_ = f"{key} >= ? AND {key} < ?", f"{key} >= ?"
    return SqlCsv(chunk(recorded, _JOINED, closed), chunk(recorded, _JOINED, open_), params,
                  table, key, where, names, chunk(unrecorded, _UNRECORDED_FROM, closed),
                  chunk(unrecorded, _UNRECORDED_FROM, open_))


def sql_csv_ranges(conn: sqlite3.Connection, plan: SqlCsv, rows: int
                   ) -> Iterator[tuple[object, object | None]]:
    """[from, to) ranges of ``plan.key`` of about ``rows`` rows each that together hold
    every row of the export, in order; the last one's ``to`` is None (no end)."""
    frm = f" FROM {plan.table} t{plan.where}"
    glue = " AND " if plan.where else " WHERE "
    # one query each: SQLite reads a min() or a max() alone off the index
    low, top, count = (conn.execute(f"SELECT {f}({plan.key}){frm}", plan.params).fetchone()[0]
                       for f in ("min", "max", "count"))
    if low is None:
        return
    if isinstance(low, int) and isinstance(top, int) and top - low < 2 * count:
        # integer keys without many gaps (ids): ranges of equal width
        for at in range(low, top + 1, rows):
            yield at, (at + rows if at + rows <= top else None)
        return
    step = (f"SELECT {plan.key}{frm}{glue}{plan.key} >= ? ORDER BY {plan.key} "
            "LIMIT 1 OFFSET ?")
    after = f"SELECT min({plan.key}){frm}{glue}{plan.key} > ?"
    at = low
    while True:
        found = conn.execute(step, [*plan.params, at, rows]).fetchone()
        if found is None:
            yield at, None
            return
        to = found[0]
        if to == at:   # more than a range's rows share one value: the range is that value
            to = conn.execute(after, [*plan.params, at]).fetchone()[0]
            if to is None:
                yield at, None
                return
        yield at, to
        at = to


def unrecorded_in(conn: sqlite3.Connection, plan: SqlCsv, low, high, ids: tuple[int, int]
                  ) -> bool:
    """Whether the range [``low``, ``high``) of ``plan`` (:func:`sql_csv_ranges`) may hold
    calls that recorded nothing: calls with ids in ``ids`` [from, below)
    (:func:`calls.store.calls.unrecorded_ids`). Ranges of ids are told by their bounds;
    ranges of time by one look at the time index."""
    first, below = ids
    if plan.key == "t.id":
        return low < below and (high is None or high > first)
    bounds = f" AND {plan.key} >= ?" + ("" if high is None else f" AND {plan.key} < ?")
    return conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM {plan.table} t{plan.where}{bounds} "
        "AND t.id >= ? AND t.id < ?)",
        [*plan.params, low, *([] if high is None else [high]), first, below]).fetchone()[0] == 1


def sql_csv_chunk(conn: sqlite3.Connection, plan: SqlCsv, low, high) -> tuple[str | None, int]:
    """The CSV lines (CRLF between them, None if no row) and row count of one range."""
    if high is None:
        return conn.execute(plan.sql_open, [*plan.params, low]).fetchone()
    return conn.execute(plan.sql, [*plan.params, low, high]).fetchone()


def sql_csv_prepare(conn: sqlite3.Connection, functions: dict[str, tuple[int, Callable]]
                    ) -> None:
    """Ready ``conn`` for :func:`sql_csv`'s queries: the functions they call (``py_cell``,
    ``py_text`` and :func:`recorded_functions`)."""
    _with_functions(conn, functions)


def zone_texts(conn: sqlite3.Connection) -> list[str | None]:
    """Every distinct time-zone list (JSON text) customers hold."""
    return [r[0] for r in conn.execute("SELECT DISTINCT time_zones FROM customers")]


def unrecorded_days(conn: sqlite3.Connection, ids: tuple[int, int]
                    ) -> tuple[str | None, str | None]:
    """The first and last start of the calls with ids in ``ids`` [from, below) that
    starts like a store moment of a four-digit year (text that does not is left out), or
    None."""
    # read off the time index from each end (``+id``: not a walk of the ids): the calls
    # not yet recorded are the oldest, mostly, so either walk stops soon
    return tuple((conn.execute(
        "SELECT started_at FROM calls WHERE started_at >= '1000-01-01' AND started_at < "
        f"'9999-12-31' AND +id >= ? AND +id < ? ORDER BY started_at{order} LIMIT 1",
        ids).fetchone() or (None,))[0] for order in ("", " DESC"))


def unrecorded_prepare(conn: sqlite3.Connection, zones: list[tuple[str, int | None, str]],
                       days: list[tuple[int, str, int, str]],
                       hours: list[tuple[int, str, str, str]],
                       formula_starts: Iterable[str]) -> None:
    """Ready ``conn`` (in its read transaction) for :class:`SqlCsv`'s ``unrecorded``
    queries: temporary tables of every customer's ref (a finished CSV cell) and zone
    (``zones``: time-zone JSON text, its number or None, its name) and of the hours whose
    local time is a prefix and a suffix: ``days`` (zone number, day, offset seconds,
    offset suffix) of one whole-hour offset, written out hour by hour here, and single
    ``hours`` (zone number, UTC hour text, local hour text, offset suffix)."""
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("CREATE TEMP TABLE x_zone (tz TEXT PRIMARY KEY, zone INTEGER, name TEXT)")
    conn.executemany("INSERT INTO x_zone VALUES (?, ?, ?)", [z for z in zones if z[0]])
    conn.execute("CREATE TEMP TABLE x_cust (id INTEGER PRIMARY KEY, ref TEXT, zone INTEGER, "
                 "zname TEXT)")
    conn.execute(f"INSERT INTO x_cust SELECT c.id, {_text_cell_sql('c.ref', formula_starts)}, "
                 "z.zone, z.name FROM main.customers c LEFT JOIN x_zone z ON z.tz = c.time_zones")
    conn.execute("CREATE TEMP TABLE x_hour (zone INTEGER, hour TEXT, pre TEXT, suf TEXT, "
                 "pat TEXT, PRIMARY KEY (zone, hour)) WITHOUT ROWID")
    conn.executemany("INSERT INTO x_hour VALUES (?, ?, ?, ?, ? || ?)",
                     [(*h, h[1], _TAIL_GLOB) for h in hours])
    conn.execute("CREATE TEMP TABLE x_day (zone INTEGER, day TEXT, shift INTEGER, suf TEXT)")
    conn.executemany("INSERT INTO x_day VALUES (?, ?, ?, ?)", days)
    conn.execute(
        "INSERT INTO x_hour SELECT d.zone, d.day || 'T' || h.hh, "
        "strftime('%Y-%m-%dT%H', d.day || 'T' || h.hh || ':00:00', d.shift || ' seconds'), "
        f"d.suf, d.day || 'T' || h.hh || {_sql_text(_TAIL_GLOB)} FROM x_day d, "
        f"(SELECT column1 AS hh FROM (VALUES {_HOURS_OF_A_DAY})) h")


def unrecorded_chunk(conn: sqlite3.Connection, plan: SqlCsv, low, high
                     ) -> tuple[str | None, int]:
    """:func:`sql_csv_chunk` for a range that may hold calls that recorded nothing, on a
    connection :func:`unrecorded_prepare` readied."""
    if high is None:
        return conn.execute(plan.unrecorded_open, [*plan.params, low]).fetchone()
    return conn.execute(plan.unrecorded, [*plan.params, low, high]).fetchone()


def snapshot_connections(store: Store, count: int) -> list[sqlite3.Connection] | None:
    """``count`` new read connections to ``store``'s file that all see the database as it
    is now (one snapshot), each inside its read transaction; None when that cannot be
    had: an in-memory or read-only database, a transaction open on the store's own
    connection, or a writer holding the lock for longer than a moment.

    SQLite gives a read transaction the snapshot of its first read; no commit lands
    between the readers' first reads because a connection holds the write lock meanwhile
    (writers wait a few milliseconds; nothing is written)."""
    if store.path is None or store.read_only is not None or store.db.conn.in_transaction:
        return None
    conns: list[sqlite3.Connection] = []
    try:
        lock = sqlite3.connect(str(store.path), timeout=_SNAPSHOT_LOCK_SECONDS,
                               isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        lock.execute("BEGIN IMMEDIATE")
        for _ in range(count):
            conn = sqlite3.connect(str(store.path), isolation_level=None,
                                   check_same_thread=False)
            conns.append(conn)
            conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}").fetchall()
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        for conn in conns:
            conn.close()
        return None
    finally:
        lock.close()     # rolls the empty write transaction back
    return conns
