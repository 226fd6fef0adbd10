"""What customer and order imports share: columns, chunks, worker processes, rejects.

A file is read by :func:`calls.ingest.readers.read_table`; its headers are matched to the
import's fields (:func:`match_columns`, ``--map`` first); its rows go in chunks
(:func:`table_chunks`) through a preparing function, in worker processes for big files
(:func:`prepare_in_chunks`, measured in ``scripts/bench_import.py``: the plain path is the
same function called in this process, and a test holds both equal); rejected rows are
kept (:class:`Reject`, :class:`RejectsFile` for ``--rejects FILE``); the import itself is
recorded with :func:`import_record`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import unicodedata
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from calls.clock import to_iso
from calls.errors import UserError
from calls.ingest.readers import CsvChunkParser, Table, raw_csv_chunks
from calls.ingest.values import detect_day_first
from calls.outfile import open_output
from calls.sheets import safe_text

__all__ = [
    "Reject",
    "RejectsFile",
    "about_file",
    "chunk_records",
    "default_day_first",
    "header_list",
    "import_record",
    "match_columns",
    "named",
    "parse_mapping",
    "prepare_in_chunks",
    "sample_dates",
    "table_chunks",
    "worker_count",
]

# How many rows are read ahead to decide whether a date column is day- or month-first.
SAMPLE_ROWS = 2000
# Files smaller than this are prepared in-process: a pool costs more than it saves.
_PARALLEL_MIN_BYTES = 2_000_000


def _norm_header(text: str) -> str:
    # "Téléphone 2" reads as "telephone2": accents dropped, like spaces and punctuation.
    folded = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[\s_\-./#()]+", "", "".join(c for c in folded if not unicodedata.combining(c)))



@dataclass
class Reject:
    """One rejected row: where it was, what it held, why."""

    line: int
    reason: str
    raw: dict[str, str]



def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``["phone=Tel", "ref=Kundennr"]`` -> ``{"phone": "Tel", "ref": "Kundennr"}``."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, header = item.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise UserError(f"--map {item!r}: expected FIELD=Header, e.g. --map phone=Tel")
        mapping[name.strip().lower()] = header.strip()
    return mapping


def header_list(headers: list[str]) -> str:
    """The headers for a message: each cut short, and not more than 30 of them."""
    shown = [h if len(h) <= 40 else h[:37] + "..." for h in headers[:30]]
    return ", ".join(shown) + (f" and {len(headers) - 30} more" if len(headers) > 30 else "")


@contextlib.contextmanager
def about_file(path: str | os.PathLike) -> Iterator[None]:
    """Prefix a :class:`UserError` raised inside with the file it is about."""
    try:
        yield
    except UserError as exc:
        text = str(exc)
        if str(path) in text:
            raise
        raise UserError(f"{path}: {text}") from None


def named(path: str | os.PathLike, items: Iterable) -> Iterator:
    """``items``, with a :class:`UserError` raised while producing them (a bad line found
    in a worker process, say) prefixed with the file it is about."""
    with about_file(path):
        yield from items


def match_columns(headers: list[str], fields: dict[str, tuple[str, ...] | list[str]],
                  mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Field -> header: ``mapping`` (``--map``) first, then each field's recognised names.

    Shared by customer and order imports. Raises :class:`UserError` for a mapping that
    names an unknown field or a header the file does not have.
    """
    mapping = mapping or {}
    by_lower = {h.lower(): h for h in headers}
    chosen: dict[str, str] = {}
    for name, header in mapping.items():
        if name not in fields:
            raise UserError(
                f"--map {name}={header}: unknown field {name!r} "
                f"(fields: {', '.join(fields)})"
            )
        actual = by_lower.get(header.lower())
        if actual is None:
            raise UserError(
                f"--map {name}={header}: no column {header!r} in the file "
                f"(columns: {header_list(headers)})"
            )
        chosen[name] = actual
    used = set(chosen.values())
    normalised = {h: _norm_header(h) for h in headers}
    for name, synonyms in fields.items():
        if name in chosen:
            continue
        for synonym in map(_norm_header, synonyms):   # "währung" as "wahrung" too
            match = next(
                (h for h in headers if h not in used and normalised[h] == synonym), None
            )
            if match:
                chosen[name] = match
                used.add(match)
                break
    return chosen



def table_chunks(table: Table, rows: int) -> Iterator[object]:
    """The table in chunks for :func:`prepare_in_chunks`: raw text for CSV (cheap to send
    to a worker, which parses it), lists of records otherwise.
    """
    if table.format in ("csv", "tsv"):
        parser = CsvChunkParser(table.delimiter or ",", len(table.headers))
        # Blocks of about ``rows`` rows of a typical list (~150 characters a row).
        for first, text in raw_csv_chunks(table, rows * 150):
            yield (parser, first, text)
    else:
        yield from _chunks(table.records(), rows)


def chunk_records(chunk: object) -> list[tuple]:
    """The records of a chunk from :func:`table_chunks` (parsing raw CSV text here)."""
    if isinstance(chunk, tuple):
        parser, first, text = chunk
        return parser(first, text)
    return chunk  # type: ignore[return-value]



_WORKER: tuple[Callable, object] | None = None


def _worker_init(fn: Callable, config: object) -> None:
    global _WORKER
    _WORKER = (fn, config)


def _worker_chunk(chunk: list) -> list:
    assert _WORKER is not None
    fn, config = _WORKER
    return fn(config, chunk)


def _chunks(rows: Iterator[tuple], size: int) -> Iterator[list]:
    chunk: list = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepare_in_chunks(
    chunks: Iterable,
    fn: Callable[[object, object], list],
    config: object,
    workers: int,
    stay_serial: Callable[[object], bool] | None = None,
) -> Iterator[list]:
    """``fn(config, chunk)`` over ``chunks``, results in order.

    With ``workers > 1`` the chunks go to a process pool (``fn`` and ``config`` must be
    picklable: a module-level function and a dataclass). At most a few chunks are in
    flight, so a file of any size is held a few thousand rows at a time
    (``Pool.imap`` would read the whole file ahead into its task queue).

    ``stay_serial``: the first chunk is prepared in this process, and when this says so of
    its result the rest is too (a list read again, whose rows are mostly known, costs less
    here than starting the workers).
    """
    chunks = iter(chunks)
    if workers > 1 and stay_serial is not None:
        first = next(chunks, None)
        if first is None:
            return
        result = fn(config, first)
        yield result
        if stay_serial(result):
            workers = 1
    if workers <= 1:
        for chunk in chunks:
            yield fn(config, chunk)
        return
    import multiprocessing

    # fork where there is one: workers start at once, and (unlike spawn / forkserver) the
    # caller's main module is not re-imported, so a script without a __main__ guard still
    # works. The workers only compute: they never touch the parent's SQLite connection or
    # its threads, and leave with os._exit.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (a progress bar's): the
        # workers only compute, they take no lock those threads hold.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        pool = ctx.Pool(workers, initializer=_worker_init, initargs=(fn, config))
    with pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_worker_chunk, (chunk,)))
            if len(pending) >= workers * 3:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def worker_count(table: Table, requested: int | None) -> int:
    """How many processes should prepare the rows of ``table``."""
    if requested is not None:
        return max(1, requested)
    if table.format in ("csv", "tsv", "ndjson") and table.progress_total < _PARALLEL_MIN_BYTES:
        return 1
    if table.format in ("xlsx", "json") and table.progress_total < 20_000:
        return 1
    return max(1, os.cpu_count() or 1)


def default_day_first(region: str) -> bool:
    """Undecided ``a/b/yyyy`` dates: month first in the US, day first elsewhere."""
    return region.upper() not in ("US", "PH", "FM", "MH", "PW")


def sample_dates(
    table: Table, columns: dict[str, str], fields: Iterable[str], region: str
) -> dict[str, bool]:
    """Day-first or month-first for each date column, from the first rows of the file."""
    wanted = {f: columns[f] for f in fields if f in columns}
    if not wanted:
        return {}
    samples: dict[str, list[str]] = {f: [] for f in wanted}
    for _line, row in table.head(SAMPLE_ROWS):
        for name, header in wanted.items():
            samples[name].append(row.get(header, ""))
    out = {}
    for name, values in samples.items():
        decided = detect_day_first(values)
        out[name] = default_day_first(region) if decided is None else decided
    return out



def import_record(kind: str, path: str | os.PathLike, table: Table, by_user: str | None,
                  now: datetime) -> dict:
    """The ``imports`` row of an import starting now (its counts come at the end);
    ``by_user`` None: the OS login (a library call without an account)."""
    from calls.audit import os_login

    return {
        "kind": kind,
        "file": str(Path(path).resolve()),
        "file_hash": _file_hash(Path(path)),
        "format": table.format,
        "encoding": table.encoding,
        "sheet": table.sheet,
        "by_user": by_user or os_login(),
        "started_at": to_iso(now),
    }


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class RejectsFile:
    """``--rejects FILE``: line, reason, then the row's own columns, every cell safe to
    open in a spreadsheet (a rejected row is exactly where a formula hides).

    Written through :func:`calls.outfile.open_output` (a regular file through a 0600
    temporary renamed into place; a pipe or ``-`` straight). :meth:`finish` completes it,
    :meth:`abort` removes what was started (an import that fails leaves no rejects file),
    :meth:`discard` removes a finished regular file again (the import failed after it).
    """

    class _Aborted(Exception):
        pass

    def __init__(self, path: Path | None, headers: list[str]):
        self._stack = contextlib.ExitStack()
        self._writer = None
        self._headers = headers
        self._path = Path(path).expanduser() if path is not None else None
        self._regular = False
        self._finished = False       # renamed into place by finish()
        if self._path is None:
            return
        self._regular = not self._path.exists() or self._path.is_file()
        fh = self._stack.enter_context(open_output(self._path, label="--rejects"))
        self._writer = csv.writer(fh)
        self._write([["line", "reason", *map(safe_text, headers)]])

    def _write(self, rows: list[list]) -> None:
        try:
            self._writer.writerows(rows)
        except OSError as exc:
            # The output removes its temporary file and raises its one-line UserError
            # (which also says whether an old file of that name is unchanged).
            self._writer = None
            stack, self._stack = self._stack, contextlib.ExitStack()
            stack.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def write(self, line: int, reason: str, raw: dict[str, str]) -> None:
        if self._writer is not None:
            self._write([[line, safe_text(reason),
                          *(safe_text(raw.get(h, "")) for h in self._headers)]])

    def finish(self) -> None:
        """Complete the file (renamed into place); raises UserError when that fails."""
        if self._writer is not None:
            self._writer = None
            self._stack.close()
            self._finished = True

    def abort(self) -> None:
        """Remove an unfinished file (a no-op once finished)."""
        if self._writer is not None:
            self._writer = None
            with contextlib.suppress(self._Aborted, UserError):
                self._stack.__exit__(self._Aborted, self._Aborted(), None)

    @contextlib.contextmanager
    def discarding(self) -> Iterator[None]:
        """Remove the file again when the block fails (the import did not happen)."""
        try:
            yield
        except BaseException:
            self.discard()
            raise

    def replay(self, rejects: Iterable[dict], shown: list[Reject]) -> list[str]:
        """Write an earlier import's rejected rows (``line``, ``raw`` JSON, ``reason``)
        again, keep the first 20 in ``shown``; their reasons."""
        reasons = []
        for row in rejects:
            raw = json.loads(row["raw"])
            self.write(row["line"], row["reason"], raw)
            if len(shown) < 20:
                shown.append(Reject(row["line"], row["reason"], raw))
            reasons.append(row["reason"])
        return reasons

    def discard(self) -> None:
        """Remove the finished file again (the import it belongs to did not happen)."""
        self.abort()
        if self._finished and self._regular:
            self._finished = False
            with contextlib.suppress(OSError):
                self._path.unlink()
