"""``carecall export``: stream a table to CSV, JSON, NDJSON or XLSX in constant memory.

Every UTC moment column keeps the store's ISO 8601 text and gets a ``<column>_local``
column beside it: the same moment in the customer's own time zone (the first zone of
their number), with its offset, e.g. ``2026-03-10T10:00:00-05:00``; a ``time_zone``
column names the zone. Files are created readable by their owner only (0600): they hold
personal data. A file is written under a temporary name and renamed when complete, so an
interrupted export never leaves half a file behind under the real name.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calls.clock import from_iso
from calls.errors import UserError
from calls.outfile import open_output
from calls.store import Store
from calls.store import export as q

TABLES = tuple(q.SPECS)
FORMATS = ("csv", "json", "ndjson", "xlsx")
# Columns holding JSON text that a JSON export should nest rather than quote.
_JSON_COLUMNS = {"time_zones", "extra", "raw", "value"}

Progress = Callable[[int], None]
# From this many rows a CSV export is shaped and written by a worker process (below it,
# starting one costs more than it saves).
_OFFLOAD_MIN_ROWS = 200_000


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


# -- local times ---------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _zone_name(time_zones_json: str | None) -> str:
    """The first IANA zone of a customer's number, or '' (none, or an unknown name)."""
    if not time_zones_json:
        return ""
    try:
        zones = json.loads(time_zones_json)
    except ValueError:
        return ""
    if isinstance(zones, str):
        zones = [zones]
    for name in zones or ():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            continue
        return name
    return ""


class LocalTimes:
    """Converts store UTC text to local ISO text, fast enough for millions of values.

    Offsets only change at zone transitions, which fall on whole or half hours; so for
    each (zone, UTC hour) whose offset is the same at both ends of the hour and is a
    whole number of hours, the local date-and-hour prefix is cached and a conversion is
    one dictionary lookup and a string join. Anything else takes the exact path.
    """

    def __init__(self) -> None:
        self._hours: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.by_zone: dict[str, _HourCache] = {}

    def zone_cache(self, zone: str) -> _HourCache:
        """{UTC hour text: (local prefix, offset suffix) or None} for ``zone``, filled on
        first use; generated export code reads it inline (a subscript, no call per value)."""
        cache = self.by_zone.get(zone)
        if cache is None:
            cache = self.by_zone[zone] = _HourCache(self, zone)
        return cache

    def slow(self, zone: str, moment: str | None) -> str:
        """:meth:`convert`; the day it fills also goes to the zone's inline hour cache."""
        return self.convert(zone, moment)

    def convert(self, zone: str, moment: str | None) -> str:
        """``moment`` (store UTC text) in ``zone`` as ISO text with offset; '' if none."""
        if not moment or not zone:
            return ""
        if len(moment) != 20 or moment[-1] != "Z":
            return self._exact(zone, moment)
        key = (zone, moment[:13])
        hit = self._hours.get(key, False)
        if hit is False:
            self._fill_day(zone, moment[:10])
            hit = self._hours.get(key)
        if hit is None:
            return self._exact(zone, moment)
        prefix, suffix = hit
        return prefix + moment[13:19] + suffix

    def _fill_day(self, zone: str, day: str) -> None:
        """Cache the 24 UTC hours of ``day`` in ``zone``: one zone lookup for the whole day
        when its offset does not change that day (nearly every day), else hour by hour."""
        try:
            start = datetime.fromisoformat(day + "T00:00:00+00:00")
        except ValueError:
            return
        tz = ZoneInfo(zone)
        first = start.astimezone(tz)
        offset = first.utcoffset()
        same = offset == (start + timedelta(seconds=86399)).astimezone(tz).utcoffset()
        inline = self.zone_cache(zone)
        for h in range(24):
            key = f"{day}T{h:02d}"
            if same and offset is not None and not offset.total_seconds() % 3600:
                hit = ((start + timedelta(hours=h) + offset).strftime("%Y-%m-%dT%H"),
                       first.isoformat()[19:])
            else:
                hit = self._hour(zone, key)
            self._hours[(zone, key)] = hit
            inline[key] = hit

    @staticmethod
    def _hour(zone: str, hour: str) -> tuple[str, str] | None:
        try:
            start = datetime.fromisoformat(hour + ":00:00+00:00")
        except ValueError:
            return None
        tz = ZoneInfo(zone)
        a = start.astimezone(tz)
        b = (start + timedelta(seconds=3599)).astimezone(tz)
        offset = a.utcoffset()
        if offset != b.utcoffset() or offset is None or offset.total_seconds() % 3600:
            return None
        text = a.isoformat()          # 2026-03-10T10:00:00-05:00
        return text[:13], text[19:]

    @staticmethod
    def _exact(zone: str, moment: str) -> str:
        try:
            return from_iso(moment).astimezone(ZoneInfo(zone)).isoformat()
        except ValueError:
            return ""


class _HourCache(dict):
    """One zone's hours for :class:`LocalTimes`: a missing hour fills its whole day.

    None for an hour the exact path must convert (an offset change inside it, a
    non-whole-hour offset, text that is not a store moment, or no zone at all)."""

    def __init__(self, local: LocalTimes, zone: str):
        super().__init__()
        self._local = local
        self._zone = zone

    def __missing__(self, hour: str) -> tuple[str, str] | None:
        if self._zone and len(hour) == 13 and hour[10] == "T":
            self._local._fill_day(self._zone, hour[:10])
        # a day that could not be read leaves its hours out: remember them as exact-only
        return self.setdefault(hour, None)


# -- row shaping -----------------------------------------------------------------------------


def _header(names: list[str], moments: Iterable[str], local: bool) -> tuple[list[str], list]:
    """Output columns and, for each, how to fill it: ("col", i) or ("local", i)."""
    cols, plan = [], []
    moments = set(moments)
    for i, name in enumerate(names):
        if name == "_tz":
            continue
        cols.append(name)
        plan.append(i)
        if local and name in moments:
            cols.append(f"{name}_local")
            plan.append(-1 - i)      # negative: the local time of column i
    if local:
        cols.append("time_zone")
        plan.append(None)
    return cols, plan


def _shape_rows(
    batches: Iterator[list[tuple]], names: list[str], plan: list, progress: Progress | None,
    lookup: tuple | None = None, *, csv_lines: bool = False, plain: frozenset[str] = frozenset(),
    offload: bool = False,
) -> Iterator:
    """Rows as output lists, local times filled in from the customer's zone.

    The per-row work is compiled once into a small function (one list display per row
    instead of a loop over the columns): at millions of rows the loop itself would be
    the cost.

    ``csv_lines``: yield each batch as finished CSV lines instead (RFC 4180, as the csv
    module writes it): columns that can never hold a comma, quote or line break (ids,
    times, codes) are written as they are, the others through the quoting function, so
    the per-field work of a CSV writer is spent only where it is needed. ``plain``:
    columns of JSON answer values shown as plain text.
    """
    local = LocalTimes()
    tz_index = names.index("_tz")
    # where each named column is in a row (a light row lacks those the lookup fills)
    pos = q.light_positions(names) if lookup is not None else list(range(len(names)))
    memos: list[_FieldMemo] = []
    cells = []
    for p in plan:
        if p is None:
            cells.append("zone")
        elif p >= 0:
            name = names[p]
            if lookup is not None and name == "customer_ref":
                expr = "ref"
            else:
                expr = f"c{pos[p]}"
            if name in plain:
                expr = f"plain({expr})"
            if csv_lines and expr == "ref":
                pass          # the lookup's refs are ready CSV fields (see below)
            elif csv_lines:
                if name in _CSV_SAFE and name not in plain:
                    expr = f"('' if {expr} is None else {expr})"
                else:
                    # text: quoted only when it holds a comma, quote or line break; the
                    # fields of values seen before come from a memo (callers, reasons,
                    # refs and codes repeat row after row)
                    memos.append(_FieldMemo())
                    expr = f"f{len(memos) - 1}[{expr}]"
            cells.append(expr)
        else:
            # fast path inline: the hour is cached for this zone; else the slow call
            i = -1 - p
            cells.append(
                f"((h[0] + m[13:19] + h[1]) if (m := c{pos[i]}) and (h := zc[m[:13]]) "
                f"else (slow(zone, m) if m else ''))"
            )
    if lookup is not None:
        # zone, its hour cache and the ref straight from the compact lookup by customer id
        # (a customer id outside the lookup cannot happen in one snapshot, but costs
        # nothing to allow for: a try block is free until it catches)
        zone_line = (
            "try:\n"
            f"                zone, zc = zone_caches[zone_index[c{pos[names.index('customer_id')]}]]\n"
            f"                ref = refs[c{pos[names.index('customer_id')]}]\n"
            "            except (IndexError, TypeError):\n"
            "                zone, zc = zone_caches[0]\n"
            "                ref = no_ref"
        )
    else:
        zone_line = (f"zone = zone_name(c{tz_index})\n"
                     "            zc = by_zone[zone] if zone in by_zone else zone_cache(zone)")
    # each row unpacked into locals c0, c1, ... at once: reading a local is cheaper
    # than indexing the row for every use
    width = sum(p is not None for p in pos)
    row = "(" + "".join(f"c{i}, " for i in range(width)) + ")"
    if csv_lines:
        # a batch's lines are joined and handed over as one text: one write per batch
        # instead of one per row
        body = 'add(f"' + ",".join("{" + c + "}" for c in cells) + '\\r\\n")'
        source = (
            "def shape_batch(rows):\n"
            "        out = []\n"
            "        add = out.append\n"
            f"        for {row} in rows:\n"
            f"            {zone_line}\n"
            f"            {body}\n"
            '        return "".join(out)\n'
        )
    else:
        source = (
            "def shape(batches):\n"
            "    for rows in batches:\n"
            f"        for {row} in rows:\n"
            f"            {zone_line}\n"
            f"            yield [{', '.join(cells)}]\n"
            "        if progress:\n"
            "            progress(len(rows))\n"
        )
    env: dict = {"slow": local.slow, "zone_cache": local.zone_cache, "by_zone": local.by_zone,
                 "zone_name": _zone_name, "progress": progress, "q": _csv_field,
                 "nq": _NEEDS_QUOTES,
                 "plain": _plain}
    for k, memo in enumerate(memos):
        env[f"f{k}"] = memo
    if lookup is not None:
        refs, zone_index, zone_texts = lookup
        if csv_lines:
            refs = _csv_fields(refs)
        zones = [_zone_name(t) for t in zone_texts]
        env.update(refs=refs, zone_index=zone_index, no_ref="" if csv_lines else None,
                   zone_caches=[(z, local.zone_cache(z)) for z in zones])
    # The source holds only column positions we computed, never text from the database.
    exec(compile(source, "<export-shape>", "exec"), env)  # noqa: S102
    if csv_lines:
        return _CsvBatches(batches, env["shape_batch"], progress, offload)
    return env["shape"](batches)


class _CsvBatches:
    """Batches of rows and the compiled function that turns one into CSV text."""

    def __init__(self, batches: Iterator[list[tuple]], shape: Callable[[list], str],
                 progress: Progress | None, offload: bool):
        self.batches, self.shape, self.progress, self.offload = batches, shape, progress, offload

    def __iter__(self) -> Iterator[str]:
        for rows in self.batches:
            yield self.shape(rows)
            if self.progress:
                self.progress(len(rows))

    def write_to(self, fh: IO) -> None:
        """Write every batch's text to ``fh``: here, or (``offload``, and ``fh`` is a real
        file or pipe a forked process can write to) by a worker."""
        if self.offload and _has_fd(fh):
            _write_in_worker(fh, self)
        else:
            fh.writelines(self)   # finished lines, one text per batch


def _has_fd(fh: IO) -> bool:
    """True for a stream over an OS file descriptor (an in-memory one is not: a worker
    would write into its own copy of it)."""
    try:
        fh.fileno()
    except (AttributeError, OSError, ValueError):   # io.UnsupportedOperation is both
        return False
    return True


def _write_in_worker(fh: IO, csv_batches: _CsvBatches) -> None:
    """This process reads the rows and hands them over; one forked worker (which inherits
    the compiled shaping, the customer lookup and the caches) turns them into text and
    writes it, in order. Reading and shaping then run on two cores.

    The rows go one way only, through a pipe that holds a few batches: this process
    waits when the worker is behind, and the worker never writes back until the end
    (its "done" or the error it met), so neither can wait on the other.
    """
    import multiprocessing

    fh.flush()    # the worker must not inherit (and write again) what is buffered here
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    ctx = multiprocessing.get_context("fork")
    rows_in, rows_out = ctx.Pipe(duplex=False)
    status_in, status_out = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_shape_and_write, daemon=True, name="carecall-export",
                         args=(fh, csv_batches.shape, rows_in, status_out))
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (a progress bar's): the
        # worker only runs the shaping and writes the file, it takes no lock they hold.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        worker.start()
    rows_in.close()
    status_out.close()
    status: tuple[str, BaseException | None] = (
        "error", OSError("the export's worker process stopped"))
    try:
        try:
            for rows in csv_batches.batches:
                rows_out.send(rows)
                if csv_batches.progress:
                    csv_batches.progress(len(rows))
            rows_out.send(None)
        except (BrokenPipeError, ConnectionResetError):
            pass          # the worker stopped: its status says why
        with contextlib.suppress(EOFError, OSError):
            status = status_in.recv()
    finally:
        rows_out.close()
        status_in.close()
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()
            worker.join()
    if status[0] != "ok":
        raise status[1]   # what the worker met (a full disk, a closed pipe), as if met here


def _shape_and_write(fh: IO, shape: Callable[[list], str], rows_in, status_out) -> None:
    """The worker of :func:`_write_in_worker`: shape and write until the end marker."""
    try:
        while (rows := rows_in.recv()) is not None:
            fh.write(shape(rows))
        fh.flush()
        status_out.send(("ok", None))
    except BaseException as exc:  # noqa: BLE001 - reported to the reading process
        try:
            status_out.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            with contextlib.suppress(OSError):
                status_out.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


# Columns whose values are numbers, store times or our own codes: never a comma, a quote
# or a line break, so a CSV line can carry them unquoted.
_CSV_SAFE = frozenset({
    "id", "customer_id", "call_id", "script_id", "import_id", "parent_id", "closed_call_id",
    "line", "callback_personal", "score_before", "score_after", "do_not_call",
    "revenue", "revenue_12m", "revenue_lifetime", "order_count", "avg_order_interval_days",
    "started_at", "connected_at", "ended_at", "callback_at", "answered_at", "due_at",
    "created_at", "updated_at", "closed_at", "dnc_at", "added_at", "imported_at",
    "customer_since", "last_purchase", "birthday", "first_purchase",
    "outcome", "qtype", "status", "kind", "tier", "number_status", "phone_type",
})
_NEEDS_QUOTES = re.compile(r'[",\r\n]').search


class _FieldMemo(dict):
    """CSV fields of one column's values by value: ``memo[value]``. Values not seen yet
    are quoted on first use and remembered, up to a bound (a column of unique notes must
    not grow it without end)."""

    LIMIT = 4096

    def __init__(self) -> None:
        super().__init__({None: ""})

    def __missing__(self, value) -> str:
        text = _csv_field(value)
        # text only: a number would also match its equal of another type (1, 1.0, True)
        if type(value) is str and len(self) < self.LIMIT:
            self[value] = text
        return text


def _csv_field(value) -> str:
    """One CSV field as the csv module writes it (minimal quoting)."""
    if value is None:
        return ""
    if type(value) is not str:
        return str(value)
    if _NEEDS_QUOTES(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_fields(values: list[str | None]) -> list[str]:
    """``values`` as CSV fields, all at once: one search over the whole list finds
    whether any needs quoting (refs almost never do), instead of one call per value."""
    fields = ["" if v is None else v for v in values]
    if _NEEDS_QUOTES("\x00".join(fields)):
        fields = [_csv_field(v) for v in fields]
    return fields


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


def _write_csv(fh: IO, cols: list[str], rows: Iterable[list]) -> None:
    writer = csv.writer(fh)
    writer.writerow(cols)
    writer.writerows(rows)   # the loop runs in C


def _json_ready(cols: list[str], nest: bool) -> list[int]:
    return [i for i, c in enumerate(cols) if nest and c in _JSON_COLUMNS]


def _write_json(fh: IO, cols: list[str], rows: Iterable[list], lines: bool) -> int:
    nested = _json_ready(cols, True)
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
    return n


def _write_xlsx(fh: IO, cols: list[str], rows: Iterable[list], title: str) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)  # streams rows to a temporary file: constant memory
    ws = wb.create_sheet(title=title[:31])
    ws.append(cols)
    n = 0
    for row in rows:
        ws.append([_xlsx_cell(v) for v in row])
        n += 1
    wb.save(fh)
    return n


_ILLEGAL_XLSX = {i for i in range(32)} - {9, 10, 13}


def _xlsx_cell(value):
    if isinstance(value, str) and any(ord(ch) in _ILLEGAL_XLSX for ch in value):
        # Excel refuses control characters; a pasted note may contain one.
        return "".join(ch for ch in value if ord(ch) not in _ILLEGAL_XLSX)
    return value


# -- the public entry point --------------------------------------------------------------------


def export_table(
    store: Store,
    table: str,
    out: Path | str | IO | None = None,
    *,
    fmt: str = "csv",
    since: date | None = None,
    until: date | None = None,
    wide: bool = False,
    progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """Write ``table`` (rows in ``since``..``until``, inclusive days in UTC) and return
    how many rows were written. ``out`` is a path, an open text stream, or None for
    stdout. ``total`` is called once with the row count (for a progress bar), ``progress``
    with each batch's size. ``wide`` (answers only) gives one row per call."""
    from calls.reports import day_start

    if table not in q.SPECS:
        raise UserError(f"cannot export {table!r}: choose one of {', '.join(TABLES)}")
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if wide and table != "answers":
        raise UserError("--wide is for `export answers` only")
    if since and until and since > until:
        raise UserError(f"--since {since} is after --until {until}")
    start = day_start(since) if since else None
    end = day_start(until + timedelta(days=1)) if until else None

    if (out is None or out == "-") and fmt == "xlsx":
        raise UserError("xlsx needs a file: add -o FILE.xlsx")
    conn = store.db.conn
    # One read snapshot for the count and the rows: they agree even while callers write.
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        return _export(store, table, out, fmt, start, end, wide, progress, total)
    finally:
        if own and conn.in_transaction:
            conn.execute("COMMIT")


def _export(store: Store, table: str, out, fmt: str, start: str | None, end: str | None,
            wide: bool, progress: Progress | None, total: Callable[[int], None] | None) -> int:
    if wide:
        cols, rows = _wide(store, start, end, fmt, progress)
        count = q.count_wide(store, start, end)
    else:
        count = q.count_rows(store, table, start, end)
        lookup = None
        if q.SPECS[table].light and count > 2 * (store.scalar("SELECT count(*) FROM customers")
                                                 or 0):
            lookup = q.customer_lookup(store)
        names, batches = q.iter_rows(store, table, start, end, light=lookup is not None)
        names_out = [n for n in names if n != "_cid"]
        has_tz = table not in ("rejects", "dnc")
        cols, plan = _header(names_out, q.SPECS[table].moments, has_tz)
        plain = frozenset({"value"}) if table == "answers" and fmt in ("csv", "xlsx") else (
            frozenset())
        # A large CSV export is shaped and written by a second process (see
        # _write_in_worker) where processes can be forked and there is a second core.
        offload = (fmt == "csv" and count >= _OFFLOAD_MIN_ROWS and (os.cpu_count() or 1) > 1
                   and "fork" in _start_methods())
        rows = _shape_rows(batches, names, plan, progress, lookup, csv_lines=fmt == "csv",
                           plain=plain, offload=offload)
        if fmt == "csv":
            fmt = "csv-lines"
    if total:
        total(count)
    if out is not None and not isinstance(out, (str, os.PathLike)):
        _write(out, cols, rows, fmt, table)       # an open stream the caller owns
        return count
    with open_output(out, binary=fmt == "xlsx") as fh:
        _write(fh, cols, rows, fmt, table)
    return count


def _write(fh: IO, cols: list[str], rows: Iterable[list], fmt: str, title: str) -> int | None:
    if fmt == "csv":
        return _write_csv(fh, cols, rows)
    if fmt == "csv-lines":
        _write_csv(fh, cols, ())
        rows.write_to(fh)     # type: ignore[attr-defined]  # a _CsvBatches
        return None
    if fmt == "json":
        return _write_json(fh, cols, rows, lines=False)
    if fmt == "ndjson":
        return _write_json(fh, cols, rows, lines=True)
    return _write_xlsx(fh, cols, rows, title)


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
                    zone = _zone_name(tz)
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
