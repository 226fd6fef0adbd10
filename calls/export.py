"""``carecall export``: stream a table to CSV, JSON, NDJSON or XLSX in constant memory.

Every UTC moment column keeps the store's ISO 8601 text and gets a ``<column>_local``
column beside it: the same moment in the customer's own time zone (the first zone of
their number), with its offset, e.g. ``2026-03-10T10:00:00-05:00``; a ``time_zone``
column names the zone. Files are written through :mod:`calls.outfile` (0600, complete
or not at all); CSV and XLSX cells are safe to open in a spreadsheet (:mod:`calls.sheets`).

Calls are exported with what each call row recorded when it was written
(:mod:`calls.store.calls`): the customer's ref and zone at that moment and the moments'
local times in that zone (the zone the customer's number had then). A customer whose
number later moves to another zone, or whose row is gone, leaves the calls already made
as they were; what a call did not record (written by an older carecall or plain SQL, a
moment changed without it, a call moved to another customer) is computed from the
customer as now, as it was before calls recorded it.

Adding an export format: a writer below that takes the header and an iterator of rows
(lists), and its name in ``FORMATS``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from queue import SimpleQueue
from threading import Lock
from typing import IO
from zoneinfo import ZoneInfo

from calls.errors import UserError
from calls.localtime import STORE_TAILS, LocalTimes, zone_name
from calls.outfile import open_output
from calls.sheets import BOM, FORMULA_STARTS, XlsxSheet, safe_text
from calls.store import Store
from calls.store import export as q

TABLES = tuple(q.SPECS)
FORMATS = ("csv", "json", "ndjson", "xlsx")
# Columns holding JSON text that a JSON export should nest rather than quote.
_JSON_COLUMNS = {"time_zones", "extra", "raw", "value"}
# Columns whose values are numbers, store times or carecall's own codes: they can never
# start like a spreadsheet formula, so their cells are not checked one by one.
_OUR_VALUES = frozenset({
    "id", "customer_id", "call_id", "script_id", "import_id", "parent_id", "closed_call_id",
    "line", "callback_personal", "score_before", "score_after", "do_not_call",
    "revenue", "revenue_12m", "revenue_lifetime", "order_count", "avg_order_interval_days",
    "started_at", "connected_at", "ended_at", "callback_at", "answered_at", "due_at",
    "created_at", "updated_at", "closed_at", "dnc_at", "added_at", "imported_at",
    "customer_since", "last_purchase", "birthday", "first_purchase",
    "outcome", "qtype", "status", "kind", "tier", "number_status", "phone_type",
    # what a call records for the export (local times and zone names: carecall's text)
    "started_at_local", "connected_at_local", "ended_at_local", "callback_at_local",
    "time_zone",
})
# Store dates (YYYY-MM-DD): native date cells in XLSX, like the moment columns.
_DATE_COLUMNS = ("customer_since", "last_purchase", "birthday", "first_purchase")

Progress = Callable[[int], None]


# -- row shaping -----------------------------------------------------------------------------


class RowShaper:
    """Turns batches of store rows into output rows: the customer's ref and the local
    times filled in, answer values as plain text where asked.

    ``names`` are the columns :func:`calls.store.export.iter_rows` reports; with a
    ``lookup`` (refs and zones by customer id) the rows lack ``customer_ref`` and ``_tz``
    and they come from the lookup instead of a join.

    ``csv``: each row becomes a finished CSV line (RFC 4180, as the csv module writes it)
    and :meth:`shape` returns a batch's lines as one text. Every text cell a spreadsheet
    would run as a formula is neutralised (:func:`calls.sheets.safe_text`) and quoted where
    it must be; the rows must come with NULL as '' (``iter_rows(blanks=True)``). Values
    a column repeats (callers, reasons) are shaped once and remembered.
    """

    def __init__(self, names: list[str], moments: Iterable[str], *, local: bool,
                 lookup: tuple | None = None, plain: frozenset[str] = frozenset(),
                 csv: bool = False):
        self.local = LocalTimes()
        positions = (q.light_positions(names) if lookup is not None
                     else list(range(len(names))))
        width = sum(p is not None for p in positions)
        pad = width                # the position of the None added after a row's values
        moments = set(moments)
        self.columns: list[str] = []
        picks: list[int] = []
        self._moments: list[tuple[int, int]] = []     # (row position, output position)
        self._plain: list[int] = []
        self._text: list[tuple[int, _CsvCells]] = []
        self._ref_at: int | None = None
        for name, at in zip(names, positions):
            if name in ("_tz", "_cid", "_ref"):
                continue
            out = len(self.columns)
            self.columns.append(name)
            picks.append(pad if at is None else at)
            if at is None:
                self._ref_at = out            # customer_ref, from the lookup
            elif name in plain:
                self._plain.append(out)
            if csv and name not in _OUR_VALUES and at is not None:
                self._text.append((out, _CsvCells()))
            if local and name in moments:
                self.columns.append(f"{name}_local")
                picks.append(pad)
                self._moments.append((at, out + 1))
        self._zone_at = None
        if local:
            self._zone_at = len(self.columns)
            self.columns.append("time_zone")
            picks.append(pad)
        self._pick = itemgetter(*picks)
        self._csv = csv
        if lookup is not None:
            refs, zone_index, zone_texts = lookup
            self._cid_at = positions[names.index("_cid" if "_cid" in names else "customer_id")]
            self._refs = csv_refs(refs) if csv else refs
            self._zone_index = zone_index
            self._zones = [(z, self.local.hours(z)) for z in map(zone_name, zone_texts)]
        else:
            self._tz_at = names.index("_tz") if local else None
            self._refs = None

    def shape(self, rows: list[tuple]) -> list[list] | str:
        """One batch of store rows as output rows (``csv``: as one text of lines)."""
        # Everything the loop reads is a local name: this runs millions of times, and an
        # attribute lookup per row cost a quarter of it (measured on 300,000 calls).
        pick, pad = self._pick, (None,)
        moments, zone_at, ref_at = self._moments, self._zone_at, self._ref_at
        plain, text = self._plain, self._text
        refs = self._refs
        if refs is not None:
            cid_at, zones, zone_index = self._cid_at, self._zones, self._zone_index
        tail_of, csv = STORE_TAILS.get, self._csv
        out = []
        for row in rows:
            cells = list(pick(row + pad))
            if refs is not None:
                try:
                    cid = row[cid_at]
                    zone, hours = zones[zone_index[cid]]
                    ref = refs[cid]
                except (IndexError, TypeError):   # no such customer (not in one snapshot)
                    # no ref: an empty cell as the joined path writes it (was "None")
                    zone, hours, ref = zones[0][0], zones[0][1], "" if csv else None
                if ref_at is not None:
                    cells[ref_at] = ref
            elif zone_at is not None:
                zone = zone_name(row[self._tz_at])
                hours = self.local.hours(zone)
            if zone_at is not None:
                for at, to in moments:
                    moment = row[at]
                    if not moment or not zone:
                        cells[to] = ""
                        continue
                    # local_time() written out
                    tail = tail_of(moment[13:])
                    hit = hours[moment[:13]] if tail else None
                    cells[to] = (hit[0] + tail + hit[1] if hit is not None
                                 else hours.other(moment))
                cells[zone_at] = zone
            for at in plain:
                cells[at] = _plain(cells[at])
            for at, memo in text:
                cells[at] = memo[cells[at]]
            if not csv:
                out.append(cells)
                continue
            try:   # cells are finished CSV fields: text, or a REAL column's number
                out.append(",".join(cells))
            except TypeError:    # (the store gives integers as text, not reals)
                out.append(",".join(map(str, cells)))
        if csv:
            out.append("")
            return "\r\n".join(out)
        return out

    def rows(self, batches: Iterable[list[tuple]], progress: Progress | None = None
             ) -> Iterator:
        """Every output row of ``batches`` (``csv``: each batch's text); ``progress``
        gets each batch's size."""
        for batch in batches:
            if self._csv:
                yield self.shape(batch)
            else:
                yield from self.shape(batch)
            if progress:
                progress(len(batch))


class CallShaper(RowShaper):
    """:class:`RowShaper` for the calls export's rows (:func:`calls.store.export.shaped_rows`):
    what a call recorded as it is, and what it did not (NULL) computed as the SQL path
    computes it (calls.store.export ``_FALLBACK``): a call that recorded no zone (written
    before calls_0003, or moved by raw SQL) takes its customer's ref and zone as now, from ``lookup`` (the customers in memory,
    :func:`calls.store.export.customer_lookup`; for CSV with :func:`csv_refs`' refs) or,
    without one, from the row (``_ref``, ``_tz``: the customer joined), and its local
    times through the zone's hour table, as the export did before calls recorded anything
    (one customer's ref and zone read once for a run of its calls); a local time a raw
    write cleared, in the zone the call recorded."""

    def __init__(self, names: list[str], *, lookup: tuple | None = None, csv: bool = False):
        super().__init__(names, (), local=False, csv=csv)
        self._cid_at = names.index("_cid" if "_cid" in names else "customer_id")
        self._joined = None if lookup is not None else (names.index("_ref"),
                                                        names.index("_tz"))
        self._lookup = lookup
        self._zone_out = self.columns.index("time_zone")
        self._ref_out = self.columns.index("customer_ref")
        self._locals = [(self.columns.index(m), self.columns.index(f"{m}_local"))
                        for m in q.SPECS["calls"].moments]
        if lookup is not None:
            self._zones = [(z, self.local.hours(z) if z else None)
                           for z in map(zone_name, lookup[2])]
        # the customer's ref is a cell of its own in CSV (csv_refs), not guarded again
        self._guarded = [(at, memo) for at, memo in self._text if at != self._ref_out]
        self._ref_memo = next((memo for at, memo in self._text if at == self._ref_out), None)

    def shape(self, rows: list[tuple]) -> list[list] | str:
        """One batch of store rows as output rows (``csv``: as one text of lines)."""
        # local names only: this runs millions of times (see RowShaper.shape)
        pick, text, guarded, ref_memo = self._pick, self._text, self._guarded, self._ref_memo
        pairs, zone_out, ref_out, cid_at = self._locals, self._zone_out, self._ref_out, self._cid_at
        tail_of, hours_of, convert = STORE_TAILS.get, self.local.hours, self.local.convert
        lookup, joined, csv = self._lookup, self._joined, self._csv
        if lookup is not None:
            refs, zone_index, zones = lookup[0], lookup[1], self._zones
        last, zone, hours, ref = None, "", None, None
        out = []
        for row in rows:
            cells = list(pick(row))
            if csv and None not in cells:     # (in CSV only what was not recorded is None)
                for at, memo in text:         # all recorded: as it is, guarded
                    cells[at] = memo[cells[at]]
            elif cells[zone_out] is None:     # no zone recorded: its customer's as now
                cid = row[cid_at]
                if lookup is None:
                    ref = row[joined[0]]
                    if ref_memo is not None:
                        ref = ref_memo[ref]
                    if cid != last:
                        last = cid
                        zone = zone_name(row[joined[1]] or None)
                        hours = hours_of(zone) if zone else None
                elif cid != last:
                    last = cid
                    try:
                        zone, hours = zones[zone_index[cid]]
                        ref = refs[cid]       # (a CSV cell already: csv_refs)
                    except (IndexError, TypeError):   # no such customer
                        zone, hours, ref = "", None, "" if csv else None
                cells[zone_out], cells[ref_out] = zone, ref
                for at, to in pairs:
                    if cells[to] is not None:   # kept (a raw write's; it never is)
                        continue
                    moment = cells[at]
                    if not moment or hours is None:
                        cells[to] = ""
                        continue
                    # local_time() written out
                    tail = tail_of(moment[13:])
                    hit = hours[moment[:13]] if tail else None
                    cells[to] = (hit[0] + tail + hit[1] if hit is not None
                                 else hours.other(moment))
                for at, memo in guarded:
                    cells[at] = memo[cells[at]]
            else:
                for at, to in pairs:
                    if cells[to] is None:     # cleared by a raw write: in the zone recorded
                        cells[to] = convert(cells[zone_out], cells[at])
                for at, memo in text:
                    cells[at] = memo[cells[at]]
            if not csv:
                out.append(cells)
                continue
            try:   # cells are finished CSV fields: text, or a REAL column's number
                out.append(",".join(cells))
            except TypeError:    # (the store gives integers as text, not reals)
                out.append(",".join(map(str, cells)))
        if csv:
            out.append("")
            return "\r\n".join(out)
        return out


_NEEDS_QUOTES = re.compile(r'[",\r\n]').search


def csv_cell(value) -> str:
    """One CSV field as the csv module writes it (minimal quoting), made safe for a
    spreadsheet first; None is empty."""
    if value is None:
        return ""
    if type(value) is not str:
        return str(value)
    value = safe_text(value)
    if _NEEDS_QUOTES(value):
        return '"' + value.replace('"', '""') + '"'
    return value


class _CsvCells(dict):
    """``cells[value]`` is :func:`csv_cell` of ``value``, remembered for text: one
    dictionary lookup per cell for the values a column repeats. Bounded, so that a column
    of unique notes does not grow it without end."""

    LIMIT = 4096

    def __init__(self) -> None:
        super().__init__({"": "", None: ""})

    def __missing__(self, value) -> str:
        text = csv_cell(value)
        # text only: a number would also match its equal of another type (1, 1.0, True)
        if type(value) is str and len(self) < self.LIMIT:
            self[value] = text
        return text


_STARTS_LIKE_FORMULA = re.compile("(?:^|\n)[" + re.escape("".join(FORMULA_STARTS)) + "]")


def csv_refs(refs: list[str | None]) -> list[str]:
    """The lookup's refs as CSV cells all at once: one search over the whole list finds
    whether any needs quoting or starts like a formula (refs almost never do), instead of
    a check per row."""
    cells = ["" if r is None else r for r in refs]
    if _NEEDS_QUOTES("\x00".join(cells)) or _STARTS_LIKE_FORMULA.search("\n".join(cells)):
        return [csv_cell(r) for r in refs]
    return cells


def _plain(value):
    """A JSON answer value as one cell (lists joined with '; ')."""
    if value is None:
        return ""
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return value
    if isinstance(decoded, list):
        return "; ".join(str(v) for v in decoded)
    if isinstance(decoded, bool):
        return "yes" if decoded else "no"
    if isinstance(decoded, dict):
        return json.dumps(decoded, ensure_ascii=False)
    return decoded


def _nested(value):
    """JSON text from the store as the value it encodes (for JSON output)."""
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# -- writers ---------------------------------------------------------------------------------


def _write_json(fh: IO, cols: list[str], rows: Iterable[list], lines: bool) -> None:
    nested = [i for i, c in enumerate(cols) if c in _JSON_COLUMNS]
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    n = 0
    if not lines:
        fh.write("[")
    for row in rows:
        for i in nested:
            row[i] = _nested(row[i])
        text = dumps(dict(zip(cols, row)))
        if lines:
            fh.write(text + "\n")
        else:
            fh.write(("\n" if n == 0 else ",\n") + text)
        n += 1
    if not lines:
        fh.write("\n]\n" if n else "]\n")


def _write_xlsx(fh: IO, cols: list[str], rows: Iterable[list], title: str,
                moments: Iterable[str]) -> None:
    dates = [*moments, *_DATE_COLUMNS]
    with XlsxSheet(fh, title, cols, dates=[c for c in cols if c in dates]) as sheet:
        for row in rows:
            sheet.add(row)


def _write(fh: IO, cols: list[str], rows: Iterable[list], fmt: str, title: str,
           moments: Iterable[str], excel: bool) -> None:
    if fmt == "csv":
        # rows are finished CSV text (see RowShaper); the header is our own names
        fh.write((BOM if excel else "") + ",".join(map(csv_cell, cols)) + "\r\n")
        fh.writelines(rows)
    elif fmt == "json":
        _write_json(fh, cols, rows, lines=False)
    elif fmt == "ndjson":
        _write_json(fh, cols, rows, lines=True)
    else:
        _write_xlsx(fh, cols, rows, title, moments)


# -- the public entry point --------------------------------------------------------------------


def export_table(
    store: Store,
    table: str,
    out=None,
    *,
    fmt: str = "csv",
    since: date | None = None,
    until: date | None = None,
    wide: bool = False,
    excel: bool = False,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
    fresh: bool = False,
) -> int:
    """Write ``table`` (rows in ``since``..``until``, inclusive days in UTC) and return
    how many rows were written. ``out`` is a path, ``-`` or None for stdout, or an open
    stream (text; binary for xlsx). ``total`` is called once with the row count (for a
    progress bar), ``progress`` with each batch's size. ``wide`` (answers only) gives one
    row per call; ``excel`` starts a CSV with a UTF-8 byte order mark. ``fresh`` (calls,
    for tests): each call's customer ref, zone and local times computed from its customer
    now instead of read from what the call recorded (see :func:`_prepare`)."""
    from calls.reports import day_start

    if table not in q.SPECS:
        raise UserError(f"cannot export {table!r}: choose one of {', '.join(TABLES)}")
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if wide and table != "answers":
        raise UserError("--wide is for `export answers` only")
    if excel and fmt != "csv":
        raise UserError("--excel is for CSV (an xlsx file is read by Excel as it is)")
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    if (out is None or out == "-") and fmt == "xlsx":
        raise UserError("xlsx needs a file: add -o FILE.xlsx")
    start = day_start(since) if since else None
    end = day_start(until + timedelta(days=1)) if until else None

    # One read snapshot for the count and the rows: they agree even while callers write.
    with ExitStack() as stack:
        built = (sql_csv_chunks(store, table, start, end, progress)
                 if fmt == "csv" and not wide and not fresh else None)
        if built is None:
            stack.enter_context(store.reading())
            count, cols, rows, moments = _prepare(store, table, fmt, start, end, wide,
                                                  progress, fresh)
        else:
            count, cols, rows = built
            stack.callback(rows.close)
            moments = q.SPECS[table].moments
        if total:
            total(count)
        if out is not None and not isinstance(out, str) and hasattr(out, "write"):
            _write(out, cols, rows, fmt, table, moments, excel)   # a stream the caller owns
        else:
            with open_output(out, binary=fmt == "xlsx") as fh:
                _write(fh, cols, rows, fmt, table, moments, excel)
        return count


def _prepare(store: Store, table: str, fmt: str, start: str | None, end: str | None,
             wide: bool, progress: Progress | None, fresh: bool = False
             ) -> tuple[int, list[str], Iterator[list], tuple[str, ...]]:
    """The row count, the output columns, the rows and the UTC moment columns.
    ``fresh`` (calls): each call's ref, zone and local times from its customer now, as
    the export did before calls recorded them (the equivalence tests' reference)."""
    spec = q.SPECS[table]
    csv = fmt == "csv"
    if wide:
        cols, rows = _wide(store, start, end, fmt, progress)
        if csv:
            rows = (",".join(map(csv_cell, row)) + "\r\n" for row in rows)
        return q.count_wide(store, start, end), cols, rows, ("started_at",)
    count = q.count_rows(store, table, start, end)
    if table == "calls" and not fresh:
        # what each call recorded when it was written: its local times and zone are
        # columns of the rows already; what a call did not record is computed in Python
        # (CallShaper)
        conn = store.db.conn
        lookup = _unrecorded_lookup(conn, count, csv)
        names, batches = q.shaped_rows(conn, start, end, lookup=lookup is not None,
                                       blanks=csv)
        shaper = CallShaper(names, lookup=lookup, csv=csv)
        return count, shaper.columns, shaper.rows(batches, progress), spec.moments
    lookup = None
    if spec.light and count > 2 * (store.scalar("SELECT count(*) FROM customers") or 0):
        # many rows per customer: refs and zones from memory instead of a join per row
        lookup = q.customer_lookup(store)
    names, batches = q.iter_rows(store, table, start, end, light=lookup is not None,
                                 blanks=csv)
    plain = frozenset({"value"}) if table == "answers" and fmt in ("csv", "xlsx") else (
        frozenset())
    shaper = RowShaper(names, spec.moments, local=table not in ("rejects", "dnc"),
                       lookup=lookup, plain=plain, csv=csv)
    return count, shaper.columns, shaper.rows(batches, progress), spec.moments


def _unrecorded_lookup(conn, count: int, csv: bool) -> tuple | None:
    """The customers in memory for :class:`CallShaper` (refs as CSV cells for ``csv``)
    when an export of ``count`` calls may hold more than twice as many calls that
    recorded nothing as there are customers (the other tables' rule: below it a join
    per such call costs less than reading every customer); else None."""
    from calls.store.calls import unrecorded_ids

    first, below = unrecorded_ids(conn)
    if min(count, below - first) <= 2 * (
            conn.execute("SELECT count(*) FROM customers").fetchone()[0] or 0):
        return None
    refs, zone_index, zone_texts = q.customer_lookup(conn)
    return (csv_refs(refs) if csv else refs), zone_index, zone_texts


# -- CSV lines built by SQLite ----------------------------------------------------------------

# Below this many rows the plain path (its setup is a few milliseconds, this one's more).
SQL_CSV_MIN_ROWS = 50_000
# Rows per chunk: a chunk is one text in memory (about 200 bytes a row for calls).
SQL_CSV_CHUNK_ROWS = 10_000


def sql_workers() -> int:
    """How many connections build CSV chunks at once: the cores this process may use
    that the machine's load average leaves free, 1 to 4. One connection costs about the
    plain path's CPU but its chunks are built while the main thread writes the ones
    before; more pay only on free cores (two on a busy machine were slower than one:
    docs/reports.md "The calls CSV built by SQLite")."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:        # not Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:               # no load average to be had
        load = 0.0
    return max(1, min(4, int(cores - load + 0.5)))


def sql_csv_chunks(store: Store, table: str, start: str | None, end: str | None,
                   progress: Progress | None = None, *, workers: int | None = None,
                   min_rows: int | None = None
                   ) -> tuple[int, list[str], Iterator[str]] | None:
    """A CSV export of ``table`` built by SQLite (see calls.store.export's "CSV lines
    built by SQLite"): (row count, header, the chunks of finished lines in order), or None
    where the plain path must do it (another table, fewer than ``min_rows`` rows, no
    snapshot to be had: see :func:`calls.store.export.snapshot_connections`).

    ``workers`` connections, each on its own thread, build chunks of the same snapshot at
    once; the chunks come back in order, at most two per connection waiting."""
    if table not in q.SQL_CSV_TABLES:
        return None
    workers = workers or sql_workers()
    conns = q.snapshot_connections(store, workers)
    if conns is None:
        return None
    try:
        first = conns[0]
        count = q._count_rows(first, table, start, end)
        if count < (SQL_CSV_MIN_ROWS if min_rows is None else min_rows):
            raise _Plain
        for conn in conns:
            q.sql_csv_prepare(conn, {"py_cell": (1, csv_cell), "py_text": (1, str),
                                     **q.recorded_functions()})
        plan = q.sql_csv(first, table, start, end, formula_starts=FORMULA_STARTS,
                         our_values=_OUR_VALUES)
        ranges = list(q.sql_csv_ranges(first, plan, SQL_CSV_CHUNK_ROWS))
        unrecorded = _Unrecorded.of(first)
    except BaseException as exc:
        for conn in conns:
            conn.close()
        if isinstance(exc, _Plain):
            return None
        raise
    return count, plan.columns, _chunks(conns, plan, ranges, progress, unrecorded)


class _Unrecorded:
    """The chunks of a SQL-path export that may hold calls that recorded nothing (ids
    from before calls_0003 that `carecall upgrade` has not looked at yet): SQLite builds
    them as before calls recorded anything, from temporary tables of the customers and
    the hours (calls.store.export ``_UNRECORDED``), made on a connection the first time
    it builds such a chunk. The same lines as the plain path's CallShaper
    (tests/core/test_recorded_backfill.py holds both paths to the computation afresh).
    Python shaping these chunks (CallShaper) held the GIL: 0.8-0.9x the old speed, one
    core (docs/reports.md "Calls not yet recorded, at the speed of before")."""

    def __init__(self, ids: tuple[int, int]):
        self.ids = ids
        self._tables: tuple | None = None     # (zones, days, hours), made once
        self._made = Lock()
        self._ready: set[int] = set()         # connections with their temporary tables

    @classmethod
    def of(cls, conn) -> _Unrecorded | None:
        """For an export on ``conn``'s snapshot; None if no call can be one that recorded
        nothing."""
        from calls.store.calls import unrecorded_ids

        ids = unrecorded_ids(conn)
        return cls(ids) if ids[0] < ids[1] else None

    def chunk(self, conn, plan, low, high) -> tuple[str | None, int] | None:
        """The range's lines and count as :func:`calls.store.export.sql_csv_chunk` gives
        them, or None if it holds no such call (the recorded lines then)."""
        if not q.unrecorded_in(conn, plan, low, high, self.ids):
            return None
        if id(conn) not in self._ready:
            q.unrecorded_prepare(conn, *self._of(conn), FORMULA_STARTS)
            self._ready.add(id(conn))
        return q.unrecorded_chunk(conn, plan, low, high)

    def _of(self, conn) -> tuple:
        """(zones, days, hours) for :func:`calls.store.export.unrecorded_prepare`, read on
        ``conn``'s snapshot the first time (every connection's is the same)."""
        with self._made:
            if self._tables is None:
                names = [""]      # zone number -> name; 0 is no zone
                zones = []
                for text in q.zone_texts(conn):
                    name = zone_name(text)
                    if name and name not in names:
                        names.append(name)
                    zones.append((text, names.index(name) or None, name))
                self._tables = (zones, *_hour_days(names, q.unrecorded_days(conn, self.ids)))
            return self._tables


# The days of hours the unrecorded chunks' tables hold (_hour_days): from the first such
# call's start to _HOURS_AFTER_DAYS after the last's (a callback is mostly within weeks), at most
# _HOURS_MAX_DAYS days and _HOUR_ROWS hours (each connection holds them all); other hours
# through Python's conversion (py_local), the same text.
_HOURS_AFTER_DAYS = 62
_HOURS_MAX_DAYS = 1200
_HOUR_ROWS = 100_000


def _hour_days(names: list[str], days: tuple[str | None, str | None]
               ) -> tuple[list[tuple[int, str, int, str]], list[tuple[int, str, str, str]]]:
    """The hours whose local time is a prefix and a suffix (an hour of
    :meth:`LocalTimes.hours` that is not None) of the zones ``names`` (by number; 0 is
    none), for the days from the first of ``days`` to _HOURS_AFTER_DAYS after the last:
    whole days of one whole-hour offset as (zone number, day, offset seconds, offset
    suffix), for SQLite to write out hour by hour (nearly every day), and the hours of the
    other days as (zone number, UTC hour, local hour prefix, offset suffix), from
    LocalTimes' own cache."""
    try:
        first = date.fromisoformat((days[0] or "")[:10])
        last = date.fromisoformat((days[1] or "")[:10]) + timedelta(days=_HOURS_AFTER_DAYS)
    except (ValueError, OverflowError):
        return [], []
    # years of four digits both ways (Python's %Y does not pad a year below 1000)
    # at most _HOUR_ROWS hours (each connection holds them all): the last days first
    zones = sum(1 for name in names if name)
    span = min(_HOURS_MAX_DAYS, _HOUR_ROWS // (24 * zones) if zones else 0)
    first = max(first - timedelta(days=1), last - timedelta(days=span), date(1001, 1, 1))
    last = min(last, date(9998, 12, 31))
    whole, hours = [], []
    local = LocalTimes()
    for number, name in enumerate(names):
        if not name:
            continue
        tz = ZoneInfo(name)
        cache = local.hours(name)
        day = first
        while day <= last:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            offset = start.astimezone(tz).utcoffset()
            if offset == (start + timedelta(seconds=86399)).astimezone(tz).utcoffset():
                if not offset.total_seconds() % 3600:     # else no hour is prefix-and-suffix
                    whole.append((number, day.isoformat(), int(offset.total_seconds()),
                                  start.astimezone(tz).isoformat()[19:]))
            else:
                for h in range(24):
                    key = f"{day.isoformat()}T{h:02d}"
                    if (hit := cache[key]) is not None:
                        hours.append((number, key, hit[0], hit[1]))
            day += timedelta(days=1)
    return whole, hours


class _Plain(Exception):
    """The plain path is the better one here (sql_csv_chunks)."""


def _chunks(conns: list, plan, ranges: list[tuple], progress: Progress | None,
            unrecorded: _Unrecorded | None = None) -> Iterator[str]:
    """Each range's lines (with their CRLF), in order, built on ``conns`` at once (by
    ``unrecorded`` where it may hold calls that recorded nothing); the connections are
    closed when the iterator ends or is closed."""
    free: SimpleQueue = SimpleQueue()
    for conn in conns:
        free.put(conn)

    def build(low, high) -> tuple[str | None, int]:
        conn = free.get()
        try:
            got = (unrecorded.chunk(conn, plan, low, high) if unrecorded is not None
                   else None)
            return got if got is not None else q.sql_csv_chunk(conn, plan, low, high)
        finally:
            free.put(conn)

    ahead = 2 * len(conns)
    pool = ThreadPoolExecutor(len(conns), thread_name_prefix="export")
    waiting: list[Future] = []
    try:
        todo = iter(ranges)
        for low, high in todo:
            waiting.append(pool.submit(build, low, high))
            if len(waiting) < ahead:
                continue
            yield from _done(waiting.pop(0), progress)
        while waiting:
            yield from _done(waiting.pop(0), progress)
    finally:
        for future in waiting:
            future.cancel()
        pool.shutdown(wait=True)
        for conn in conns:
            conn.close()


def _done(future: Future, progress: Progress | None) -> Iterator[str]:
    text, rows = future.result()
    if text is not None:
        yield text + "\r\n"
    if progress and rows:
        progress(rows)


def _wide(store: Store, start: str | None, end: str | None, fmt: str,
          progress: Progress | None) -> tuple[list[str], Iterator[list]]:
    """One row per call with one column per (script version, question key)."""
    columns = q.wide_columns(store, start, end)
    index: dict[tuple, int] = {}
    labels = []
    for script_id, name, version, key, _first in columns:
        index[(script_id, key)] = len(labels)
        labels.append(f"{key} [{name} v{version}]" if name else key)
    base = ["call_id", "customer_ref", "caller", "started_at", "started_at_local",
            "time_zone", "outcome", "script", "script_version"]
    plain = fmt in ("csv", "xlsx")
    local = LocalTimes()

    def rows() -> Iterator[list]:
        current = None
        row: list = []
        for batch in q.iter_wide(store, start, end):
            for (call_id, ref, caller, started, outcome, script_id, name, version, key,
                 value, tz) in batch:
                if call_id != current:
                    if current is not None:
                        yield row
                        if progress:
                            progress(1)
                    current = call_id
                    zone = zone_name(tz)
                    row = [call_id, ref, caller, started, local.convert(zone, started), zone,
                           outcome, name, version] + [None] * len(labels)
                col = index.get((script_id, key))
                if col is not None:
                    row[len(base) + col] = _plain(value) if plain else _nested(value)
        if current is not None:
            yield row
            if progress:
                progress(1)

    return base + labels, rows()
