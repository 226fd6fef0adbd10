"""Cells that a spreadsheet opens safely: CSV and XLSX writing for every export.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
a leading tab or carriage return hides such a start); a customer named
``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` must arrive as text. OWASP's rule for CSV
injection: such a cell gets a leading apostrophe. Two kinds of text keep their first
character, because a spreadsheet reads them as one plain value and no formula can hide in
them: a plain number (``-12.5``, ``+3``) and a valid E.164 phone number (``+12025550100``),
which must stay usable by a dialer reading the file.

CSV: :func:`safe_text` on every text cell; ``excel=True`` starts the file with a UTF-8
byte order mark, which Excel needs to read UTF-8. XLSX (XlsxWriter): text is always
written as a string cell (never parsed into a formula, a number or a link), cells that
start like a formula carry Excel's hidden quote prefix (the text stays exact, and editing
the cell does not turn it into a formula), dates and times are native date cells, the
header row is frozen and has filters.
"""

from __future__ import annotations

import csv
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Self

# What makes a spreadsheet read a cell as a formula (OWASP: CSV injection).
FORMULA_STARTS = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
BOM = "\ufeff"


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula (see the module doc)."""
    return bool(text) and text[0] in FORMULA_STARTS and not (
        _PLAIN_NUMBER.fullmatch(text) or _E164.fullmatch(text))


def safe_text(value):
    """``value`` for a CSV cell: text that a spreadsheet would run gets a leading
    apostrophe; anything else (numbers, None, plain text) is returned as it is."""
    if type(value) is str and value and value[0] in FORMULA_STARTS and looks_like_formula(value):
        return "'" + value
    return value


class SafeTexts(dict):
    """``memo[text]`` is :func:`safe_text` of ``text``, remembered: one dictionary lookup
    per cell for the values a column repeats (callers, reasons, codes). Bounded, so that a
    column of unique notes does not grow it without end."""

    LIMIT = 4096

    def __missing__(self, value):
        safe = safe_text(value)
        if type(value) is str and len(self) < self.LIMIT:
            self[value] = safe
        return safe


def write_csv(fh: IO, header: Sequence[str], rows: Iterable[Sequence], *,
              excel: bool = False) -> None:
    """Header and rows as CSV (RFC 4180, ``\\r\\n``). Rows must already be safe (see
    :func:`safe_text`); the header is our own column names."""
    if excel:
        fh.write(BOM)
    writer = csv.writer(fh)
    writer.writerow(header)
    writer.writerows(rows)


def safe_rows(rows: Iterable[Sequence]) -> Iterable[list]:
    """Rows with :func:`safe_text` applied to every cell (small tables: the mail merge)."""
    for row in rows:
        yield [safe_text(v) for v in row]


# Control characters an XLSX file cannot hold (tab, line feed and carriage return can).
_NOT_IN_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class XlsxSheet:
    """One worksheet written row by row in constant memory (XlsxWriter); use as a
    context manager around the rows, or call :meth:`close`.

    ``dates``: the columns (by name) that hold store dates or UTC moments as text and
    become native date cells; ``local``: columns of local ISO times with an offset, which
    become the local wall time (the offset is in the text only; the zone has a column).
    """

    def __init__(self, fh: IO, title: str, header: Sequence[str], *,
                 dates: Iterable[str] = (), local: Iterable[str] = ()):
        import xlsxwriter

        self._workbook = xlsxwriter.Workbook(fh, {
            "constant_memory": True,   # rows go to a temporary file: any size, little memory
            # Text stays text: never turned into a formula, a number or a link.
            "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "nan_inf_to_errors": True,
        })
        self._sheet = self._workbook.add_worksheet(_sheet_title(title))
        bold = self._workbook.add_format({"bold": True})
        self._quoted = self._workbook.add_format({"quote_prefix": True})
        self._day = self._workbook.add_format({"num_format": "yyyy-mm-dd"})
        self._moment = self._workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._columns = len(header)
        self._kinds = [("date" if name in set(dates) else "local" if name in set(local)
                        else "") for name in header]
        for col, name in enumerate(header):
            self._sheet.write_string(0, col, name, bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 0

    def add(self, values: Sequence) -> None:
        """Append one row."""
        self._row += 1
        row, sheet = self._row, self._sheet
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            kind = self._kinds[col] if col < self._columns else ""
            if isinstance(value, bool):
                sheet.write_boolean(row, col, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(row, col, value)
            elif kind and isinstance(value, str) and self._write_time(row, col, value, kind):
                continue
            else:
                text = str(value)
                if _NOT_IN_XLSX.search(text):
                    text = _NOT_IN_XLSX.sub("", text)   # a pasted note may hold one
                if looks_like_formula(text):
                    sheet.write_string(row, col, text, self._quoted)
                else:
                    sheet.write_string(row, col, text)

    def _write_time(self, row: int, col: int, text: str, kind: str) -> bool:
        try:
            if kind == "local":
                moment = datetime.fromisoformat(text).replace(tzinfo=None)
            elif len(text) == 10:
                moment = date.fromisoformat(text)
            else:
                moment = datetime.fromisoformat(text).replace(tzinfo=None)
        except ValueError:
            return False      # not a date after all: written as the text it is
        if isinstance(moment, datetime):
            self._sheet.write_datetime(row, col, moment, self._moment)
        else:
            self._sheet.write_datetime(row, col, moment, self._day)
        return True

    def close(self) -> None:
        """Finish the sheet (filters over every row) and write the workbook."""
        from xlsxwriter.exceptions import FileCreateError

        self._sheet.autofilter(0, 0, self._row, max(self._columns - 1, 0))
        try:
            self._workbook.close()
            return
        except FileCreateError as exc:
            # XlsxWriter wraps the OSError of writing the file; the caller reports that
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
            error = (OSError(inner.errno, inner.strerror, inner.filename) if inner
                     else OSError(str(exc)))
            _let_the_zip_go(exc, inner)
        raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, *_exc) -> None:
        if kind is None:
            self.close()


def _let_the_zip_go(*failures: BaseException | None) -> None:
    """Finish now, quietly, the zip writer a failed write left open.

    Only the failure's frames hold it. Left to be collected at exit, after the file was
    closed, its own finishing failed again and printed a traceback under the one-line
    error; here the file is still open and its second failure (the same full disk) is the
    one already reported."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        for failure in failures:
            if failure is not None:
                traceback.clear_frames(failure.__traceback__)
    finally:
        sys.unraisablehook = hook


def _sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet1"
