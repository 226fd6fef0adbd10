"""Read tabular files (customer lists, order exports, DNC lists) as a stream of text rows.

Formats: CSV (delimiter sniffed: comma, semicolon, tab, pipe), TSV, XLSX (first sheet or a
named one), a JSON array of objects and NDJSON. Encodings are decided per file (UTF-8 with
or without BOM, UTF-16 as Excel's "Unicode text" writes it, else what charset-normalizer
finds) and per line where a UTF-8 file holds stray lines in another encoding; the table
reports them in :attr:`Table.encoding` and :attr:`Table.encoding_note`.

Every cell comes out as text (``""`` for empty), so the importers see one shape whatever
the file was; numbers that a spreadsheet stored as floats come out without a spurious
``.0`` (``12923.0`` -> ``"12923"``), dates as ``YYYY-MM-DD`` (with `` HH:MM:SS`` when they
carry a time).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from calls.errors import UserError

__all__ = ["FORMATS", "CsvChunkParser", "Table", "check_quotes", "raw_csv_chunks",
           "read_table"]

FORMATS = ("csv", "tsv", "xlsx", "json", "ndjson")
_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
# csv's default field limit (128 KiB) is too small for some exported notes columns.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Table:
    """An opened table: its headers and a way to stream its rows.

    ``rows()`` yields ``(line_number, {header: text})``; the line number is where the row
    starts in the file (the header is line 1 in CSV; the sheet's row number in XLSX; the
    line in NDJSON; the item's position, from 1, in a JSON array).
    ``progress_total`` / ``progress_done`` (bytes or rows) let a caller draw a progress bar.
    """

    path: Path
    format: str
    encoding: str | None
    headers: list[str]
    sheet: str | None = None
    # How undecodable bytes are read: "strict", or the handler that reads the lines of a
    # mixed file that are not UTF-8 in their own encoding (see ``encoding_note``).
    errors: str = "strict"
    # What a supervisor should know about the encoding (a mixed file), or None.
    encoding_note: str | None = None
    delimiter: str | None = None
    # Which library reads an XLSX: "calamine" or "openpyxl" (the plain path).
    reader: str | None = None
    progress_total: int = 0
    progress_done: int = 0
    _opener: object = field(default=None, repr=False)
    # How records() reads the rows when the format has a way of its own (XLSX).
    _records_opener: object = field(default=None, repr=False)

    _head: list[tuple[int, dict[str, str]]] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Stream the data rows (blank rows are skipped)."""
        return self._opener(self)  # type: ignore[misc]

    def head(self, n: int) -> list[tuple[int, dict[str, str]]]:
        """The first ``n`` data rows as :meth:`rows` gives them, read once and kept (the
        samples that decide date order and tiers all read the same rows)."""
        if self._head is None or len(self._head) < n:
            rows = self.rows()
            try:
                self._head = list(itertools.islice(rows, n))
            finally:
                close = getattr(rows, "close", None)
                if close:
                    close()
        return self._head[:n]

    def records(self) -> Iterator[tuple[int, list[str], dict[str, str] | None]]:
        """Like :meth:`rows`, as ``(line, values aligned with headers, overflow)``.

        Cheaper than dicts for bulk work (and to send to worker processes); ``overflow``
        holds cells under no header (``{"column 7": ...}``) and is usually None.
        """
        if self.format in ("csv", "tsv"):
            return _csv_records(self)
        if self._records_opener is not None:
            return self._records_opener(self)  # type: ignore[misc]
        return self._records_from_rows()

    def _records_from_rows(self) -> Iterator[tuple[int, list[str], dict[str, str] | None]]:
        headers = self.headers
        known = set(headers)
        for line, row in self.rows():
            values = [row.get(h, "") for h in headers]
            overflow = {k: v for k, v in row.items() if k not in known} if len(row) > len(
                headers) else None
            yield line, values, overflow or None


def read_table(
    path: str | os.PathLike, *, sheet: str | None = None, format: str | None = None
) -> Table:
    """Open ``path`` and read its headers; raise :class:`UserError` if it cannot be read.

    The format comes from the extension (``.csv .txt .tsv .xlsx .xlsm .json .ndjson
    .jsonl``) unless ``format`` names one; ``sheet`` picks an XLSX sheet by name.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if p.is_dir():
        raise UserError(f"{p} is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise UserError(f"{p}: permission denied")
    fmt = (format or _format_from_name(p)).lower()
    if fmt not in FORMATS:
        raise UserError(f"{p}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if sheet is not None and fmt != "xlsx":
        raise UserError(f"--sheet applies to Excel workbooks only, and {p.name} is {fmt}")
    if fmt == "xlsx":
        return _open_xlsx(p, sheet)
    if fmt == "json":
        return _open_json(p)
    if fmt == "ndjson":
        return _open_ndjson(p)
    return _open_csv(p, "\t" if fmt == "tsv" else None)


def _format_from_name(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise UserError(
            f"{p.name}: old Excel .xls files are not supported; save it as .xlsx or CSV"
        )
    if suffix == ".tsv" or suffix == ".tab":
        return "tsv"
    if suffix == ".json":
        return "json"
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"


# -- encodings -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    """How a text file is decoded: the codec, the error handler, a note for the summary."""

    name: str
    errors: str = "strict"
    note: str | None = None


# Encodings of the Latin-script family that a detector cannot tell apart on a short list
# of names; Windows-1252 (what Excel writes as "CSV" in Western locales) is read for them
# whenever it decodes the file.
_LATIN_FAMILY = {
    "cp1252", "cp1250", "cp1257", "cp1254", "latin_1", "iso8859_1", "iso8859_2",
    "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
    "iso8859_15", "iso8859_16", "cp437", "cp850", "cp852", "cp857", "cp858", "cp775",
    "mac_roman", "mac_latin2", "mac_iceland", "mac_turkish", "hp_roman8",
}
# Single-byte encodings: the only ones a mixed file's stray lines are read in (a byte at
# a time, where UTF-8 fails).
_SINGLE_BYTE = _LATIN_FAMILY | {
    "cp1251", "cp1253", "cp1255", "cp1256", "koi8_r", "koi8_u", "iso8859_5", "iso8859_7",
    "cp866", "mac_cyrillic", "mac_greek",
}
# Bytes that never occur in a text table (C0 controls but TAB, LF, VT, FF, CR, and ESC/SUB
# that old exports sometimes carry).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 26, 27))


def _decodes(p: Path, encoding: str) -> bool:
    """True when the whole file decodes in ``encoding`` (checked in chunks: a bad byte
    can sit anywhere, and the file need not fit in memory)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(p, "rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _utf16(head: bytes) -> str | None:
    """``utf-16`` / ``utf-32`` for a file that starts with their byte order mark, or
    ``utf-16-le`` / ``-be`` for one without a mark whose every other byte is NUL (Excel's
    "Unicode text" is UTF-16 with a mark)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[: 4096 - 4096 % 2]
    if len(sample) >= 4:
        half = len(sample) // 2
        if sample[1::2].count(0) > 0.6 * half and sample[0::2].count(0) < 0.1 * half:
            return "utf-16-le"
        if sample[0::2].count(0) > 0.6 * half and sample[1::2].count(0) < 0.1 * half:
            return "utf-16-be"
    return None


def _detector_guess(data: bytes) -> str | None:
    """The encoding of ``data`` (a Python codec name) by charset-normalizer, or None when
    no text encoding fits (binary data).

    On a short list the detector often cannot tell the Latin-script code pages apart, and
    may rank one above a Cyrillic or Greek page that fits as well: when the non-ASCII
    letters read in Windows-1252 make whole words (``Èâàí`` rather than ``Müller``) the
    text is in another script, and the best-ranked page outside the Latin family wins.
    """
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    names = [codecs.lookup(m.encoding).name.replace("-", "_") for m in matches]
    if names[0] in _LATIN_FAMILY and _other_script(data):
        for name in names:
            if name not in _LATIN_FAMILY:
                return name
    return names[0]


_WORD = re.compile(r"[^\W\d_]+")


def _other_script(data: bytes) -> bool:
    """True when the words with non-ASCII letters, read as Windows-1252, are mostly made
    of them: Cyrillic or Greek text, not a Western name with an accent."""
    text = data.decode("cp1252", "replace")
    shares = [sum(ord(c) > 127 for c in w) / len(w) for w in _WORD.findall(text)
              if not w.isascii()]
    return bool(shares) and sum(shares) / len(shares) > 0.5


def _fallback_errors(encoding: str) -> str:
    """The name of a codec error handler that reads bytes UTF-8 rejects in ``encoding``
    (registered once per encoding; single-byte encodings only, so a byte is a character)."""
    name = f"carecall-{encoding}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        def handler(exc: UnicodeDecodeError) -> tuple[str, int]:
            return exc.object[exc.start:exc.end].decode(encoding, "replace"), exc.end

        codecs.register_error(name, handler)
    return name


def _line_list(lines: list[int], total: int) -> str:
    shown = ", ".join(str(n) for n in lines[:5])
    return f"line {shown}" if total == 1 else f"lines {shown}" + (" ..." if total > 5 else "")


def _detect_encoding(p: Path) -> _Encoding:
    """How to decode ``p``: per file, and per line where a UTF-8 file holds lines in
    another encoding. Raises :class:`UserError` for binary data.

    UTF-8 (with or without BOM) when the whole file decodes as UTF-8 (the fast path);
    UTF-16/32 by their byte order mark (or NUL bytes); otherwise each line is tried: a
    file whose other lines are UTF-8 is read as UTF-8 with the stray lines in the
    encoding charset-normalizer finds for them, and a file with no UTF-8 at all in the
    encoding it finds for the file (Windows-1252 for the Latin family whenever it fits).
    """
    with open(p, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    wide = _utf16(head)
    if wide is not None:
        if not _decodes(p, wide):
            raise UserError(f"{p}: this is not a text table (it starts like {wide} text, "
                            "but holds bytes that are not)")
        return _Encoding(wide)
    if _decodes(p, "utf-8"):
        # Valid UTF-8 is text (a control character in a cell is that row's problem).
        return _Encoding("utf-8-sig")
    if sum(head.count(bytes([b])) for b in _BINARY_BYTES) > max(16, len(head) // 100):
        raise UserError(f"{p}: this is not a text table (it holds binary data)")
    utf8_lines = 0
    stray: list[int] = []
    stray_bytes = bytearray()
    total_stray = 0
    with open(p, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                total_stray += 1
                if len(stray) < 1000:
                    stray.append(number)
                if len(stray_bytes) < _SNIFF_BYTES:
                    stray_bytes += line
                continue
            utf8_lines += 1
    if utf8_lines and total_stray:
        guess = _detector_guess(bytes(stray_bytes))
        other = "cp1252" if guess is None or guess in _LATIN_FAMILY or (
            guess not in _SINGLE_BYTE) else guess
        note = (f"{_line_list(stray, total_stray)} not UTF-8 like the rest; read as "
                f"{other}")
        return _Encoding("utf-8-sig", _fallback_errors(other), note)
    with open(p, "rb") as fh:
        sample = fh.read(1 << 20)
    guess = _detector_guess(sample)
    if (guess is None or guess in _LATIN_FAMILY) and _decodes(p, "cp1252"):
        return _Encoding("cp1252")
    # A multi-byte encoding needs some evidence: one stray byte (A\x81B) reads as a
    # Shift-JIS character as well as anything else.
    evidence = guess in _SINGLE_BYTE or sum(b > 127 for b in sample) >= 8
    if guess is not None and guess not in ("ascii", "utf_8") and evidence and _decodes(
            p, guess):
        return _Encoding(guess)
    # Latin-1 decodes every byte: a file no detector recognises, read as what it most
    # likely is (cp1252 leaves five bytes undefined).
    return _Encoding("latin-1")


def _clean_headers(raw: list[str]) -> list[str]:
    """Trimmed headers; blank ones named ``column N``, repeated ones suffixed `` (2)``."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(raw, start=1):
        name = " ".join(str(h if h is not None else "").replace("\ufeff", "").split())
        if not name:
            name = f"column {i}"
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        headers.append(name)
    return headers


def _text(value: object) -> str:
    """A cell value as text, the way a person would have typed it."""
    convert = _TEXT_BY_TYPE.get(type(value))
    if convert is not None:
        return convert(value)
    return _text_plain(value)


def _text_plain(value: object) -> str:
    """:func:`_text` by kind of value (the plain path its table of types must agree with)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _datetime_text(value: dt.datetime) -> str:
    if not (value.hour or value.minute or value.second or value.microsecond):
        return value.date().isoformat()
    return value.replace(microsecond=0).isoformat(sep=" ")


# The common cell types by their exact type, looked up once a cell (a sheet's cells are
# never subclasses); ``_text_plain`` for the rest.
_TEXT_BY_TYPE: dict[type, object] = {
    str: str.strip,
    type(None): lambda _value: "",
    float: _float_text,
    int: lambda value: str(value).strip(),
    bool: lambda value: "true" if value else "false",
    dt.datetime: _datetime_text,
    dt.date: dt.date.isoformat,
}


# -- CSV / TSV -------------------------------------------------------------------------


def _open_csv(p: Path, delimiter: str | None) -> Table:
    decided = _detect_encoding(p)
    encoding = decided.name
    with open(p, encoding=encoding, errors=decided.errors, newline="") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if not sample.strip():
        raise UserError(f"{p}: the file is empty")
    if delimiter is None:
        delimiter = _sniff_delimiter(sample)
    # A NUL in a cell can happen in a real export; a NUL in the header line means the
    # file is not a text table at all (a binary file, a zip renamed .csv ...).
    if "\x00" in sample.split("\n", 1)[0]:
        raise UserError(f"{p}: this is not a text table (it holds binary data)")
    try:
        header_row = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise UserError(f"{p}: cannot read the first line as CSV ({exc})") from None
    headers = _clean_headers(header_row)
    if not any(h for h in header_row if h and h.strip()):
        raise UserError(f"{p}: the first line has no column names")
    table = Table(
        path=p,
        format="tsv" if delimiter == "\t" else "csv",
        encoding=encoding,
        headers=headers,
        errors=decided.errors,
        encoding_note=decided.note,
        delimiter=delimiter,
        progress_total=p.stat().st_size,
        _opener=_csv_rows,
    )
    return table


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; TAB | that splits the first lines most consistently."""
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line in half
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    # Fallback: the delimiter with the most fields on the header line that is also
    # consistent on the next lines.
    best, best_score = ",", 0
    for d in _DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=d))) for ln in lines[:20]]
        if counts and counts[0] > 1:
            score = counts[0] * sum(1 for c in counts if c == counts[0])
            if score > best_score:
                best, best_score = d, score
    return best


def _record(record: list[str], width: int) -> tuple[list[str], dict | None] | None:
    """A CSV record as ``(values, overflow)``: cells trimmed, padded to the header's
    ``width``, cells past it kept as ``{"column N": text}``; None for a blank record."""
    values = [v.strip() for v in record]
    if not any(values):
        return None
    overflow = None
    if len(values) < width:
        values.extend([""] * (width - len(values)))
    elif len(values) > width:
        overflow = {f"column {i + 1}": v for i, v in enumerate(values) if
                    i >= width and v} or None
        del values[width:]
    return values, overflow


def check_quotes(record: list[str], line: int, next_line: int, delimiter: str,
                 width: int) -> None:
    """Refuse a record that an unbalanced quote made swallow the rows after it.

    Called for records spanning several lines (``line`` to ``next_line - 1``): a cell
    may hold line breaks (a note), but when a line inside a cell holds as many
    delimiters as a row has, the quote that opened the cell was never closed and the
    rows after it were read as its text. Raises :class:`UserError` naming the lines.
    """
    if width < 2:
        return
    for cell in record:
        if "\n" not in cell and "\r" not in cell:
            continue
        inner = cell.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
        if any(part.count(delimiter) >= width - 1 for part in inner):
            raise UserError(
                f"line {line}: a quote opened in this row is not closed, so lines "
                f"{line + 1}-{next_line - 1} were read as the text of one cell; close the "
                "quote (or double a quote inside a cell: \"\"), then import again")


def _csv_records(table: Table) -> Iterator[tuple[int, list[str], dict[str, str] | None]]:
    width = len(table.headers)
    with open(table.path, "rb") as raw:
        fh = io.TextIOWrapper(raw, encoding=table.encoding, errors=table.errors,
                              newline="")
        delimiter = table.delimiter or ","
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            next(reader)  # header
            start = reader.line_num + 1
            for n, record in enumerate(reader):
                line = start
                start = reader.line_num + 1
                if n % 512 == 0:
                    table.progress_done = raw.tell()
                if start - line > 1:
                    check_quotes(record, line, start, delimiter, width)
                if record and any(record) and (shaped := _record(record, width)):
                    yield line, *shaped
        except csv.Error as exc:
            raise UserError(f"{table.path}: line {reader.line_num}: {exc}") from None
        except UserError as exc:
            raise UserError(f"{table.path}: {exc}") from None
        table.progress_done = table.progress_total


@dataclass(frozen=True)
class CsvChunkParser:
    """Parses a chunk of raw CSV text (whole records) into records, e.g. in a worker process.

    Sending raw text to worker processes costs a fraction of sending parsed rows.
    """

    delimiter: str
    width: int

    def __call__(self, first_line: int, text: str) -> list[tuple[int, list[str], dict | None]]:
        """``(line, values, overflow)`` for each non-blank record of ``text``."""
        out: list = []
        width = self.width
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        start = first_line
        try:
            for record in reader:
                line = start
                start = first_line + reader.line_num
                if start - line > 1:
                    check_quotes(record, line, start, self.delimiter, width)
                if record and (shaped := _record(record, width)):
                    out.append((line, *shaped))
        except csv.Error as exc:
            raise UserError(f"line {start}: {exc}") from None
        return out


def _line_breaks(text: str) -> int:
    """Line breaks as the csv module counts them (\n, \r\n and a lone \r)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def raw_csv_chunks(table: Table, chunk_chars: int = 1 << 19) -> Iterator[tuple[int, str]]:
    """``(first line number, text)`` chunks of whole CSV records after the header.

    The file is read in blocks and cut at the last line break outside quotes: with RFC 4180
    quoting (a quote inside a field is doubled) that is a break with an even number of
    quote characters before it. Counting is done by ``str.count``, so the reading process
    spends almost nothing per row; the workers parse the records.
    """
    with open(table.path, "rb") as raw:
        fh = io.TextIOWrapper(raw, encoding=table.encoding, errors=table.errors,
                              newline="")
        line_no = 0
        # The header record (it may span lines too).
        quotes = 0
        while True:
            text_line = fh.readline()
            if not text_line:
                break
            line_no += _line_breaks(text_line) or 1
            quotes += text_line.count('"')
            if quotes % 2 == 0:
                break
        carry = ""
        while True:
            block = fh.read(max(1, chunk_chars))
            if not block:
                break
            text = carry + block
            cut = _last_break_outside_quotes(text)
            if cut < 0:
                carry = text
                continue
            chunk, carry = text[:cut], text[cut:]
            table.progress_done = raw.tell()
            yield line_no + 1, chunk
            line_no += _line_breaks(chunk)
        if carry:
            yield line_no + 1, carry
        table.progress_done = table.progress_total


def _last_break_outside_quotes(text: str) -> int:
    """The index just after the last line break outside quotes, or -1."""
    end = len(text)
    while True:
        pos = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end))
        if pos < 0:
            return -1
        if pos + 1 == len(text) and text[pos] == "\r":
            end = pos          # a \r at the very end may be half of \r\n: cut earlier
            continue
        if text.count('"', 0, pos) % 2 == 0:
            return pos + 1
        end = pos


def _csv_rows(table: Table) -> Iterator[tuple[int, dict[str, str]]]:
    headers = table.headers
    for line, values, overflow in _csv_records(table):
        row = dict(zip(headers, values))
        if overflow:
            row.update(overflow)
        yield line, row


# -- XLSX ------------------------------------------------------------------------------
#
# Two readers give a sheet's cells the same way (Python values, openpyxl's shapes, then
# ``_text``): python-calamine (the Rust calamine library; about ten times openpyxl's speed
# and the default) and openpyxl in read-only mode (the plain path). One scan of the sheet's
# XML finds what calamine cannot give as openpyxl does: a cell holding an error (calamine
# gives ``#N/A`` as an empty cell: the scan keeps the errors' text, put back in their
# cells) and an integer of 16 digits or more written as such (calamine reads a float and
# loses the last digits: the plain path reads that file), with the formulas that have no
# saved value.

# "calamine" or "openpyxl": which reader opens a workbook (tests and
# scripts/bench_xlsx.py set it to compare the two).
XLSX_READER = "calamine"

# Each a separate search that starts with a literal (an alternation is ten times slower).
# A false match only costs time: the formulas are then parsed, the file read plainly.
_FORMULA = (re.compile(rb"<f[\s>/]"), re.compile(rb":f[\s>/]"))     # <f>, <x:f ...>
_ERROR_CELL = re.compile(rb"""t=["']e["']""")
_LONG_INTEGER = re.compile(rb"v>\s*-?\d{16}")
_SCAN_OVERLAP = 64


def _xlsx_reader() -> str:
    """The reader to use: ``XLSX_READER``, or openpyxl where python-calamine is missing
    (a platform without its wheel)."""
    if XLSX_READER == "calamine":
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            return "openpyxl"
    return XLSX_READER


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # old .xls files, encrypted workbooks


def _open_xlsx(p: Path, sheet: str | None) -> Table:
    with open(p, "rb") as fh:
        if fh.read(len(_OLE2)) == _OLE2:
            raise UserError(
                f"{p.name}: this is an old Excel .xls file or a workbook with a password, "
                "not an .xlsx; save it as .xlsx (without a password) or CSV")
    reader = _xlsx_reader()
    book = _CalamineBook(p) if reader == "calamine" else _OpenpyxlBook(p)
    try:
        title = book.pick(sheet)
        scan = _scan_sheet(p, _sheet_member(p, title))
        unsaved = scan.unsaved
        if scan.plain_only and reader == "calamine":
            book.close()
            reader = "openpyxl"
            book = _OpenpyxlBook(p)
            book.pick(title)
        elif reader == "calamine":
            book.errors = scan.errors
        header_row: list = []
        header_line = 0
        for header_line, values in book.rows():
            if any(v is not None and str(v).strip() for v in values):
                header_row = list(values)
                break
        if not header_row:
            raise UserError(f"{p.name}: sheet {title!r} is empty")
        total = book.last_row()
    finally:
        book.close()
    # calamine's sheet is parsed whole: kept for the table's reads (the workbook is closed).
    kept = book if reader == "calamine" else None
    if unsaved:
        shown = ", ".join(unsaved[:5]) + (f" and {len(unsaved) - 5} more" if len(unsaved) > 5
                                          else "")
        raise UserError(
            f"{p.name}: sheet {title!r}: "
            f"{f'cells {shown} hold' if len(unsaved) > 1 else f'cell {shown} holds'} "
            "a formula with no saved value (the program that wrote the file did not "
            "calculate it); open the file in Excel or LibreOffice and save it, or paste the "
            "values, then import again")
    # Trailing blank header cells are only formatting; drop them.
    while header_row and (header_row[-1] is None or not str(header_row[-1]).strip()):
        header_row.pop()
    headers = _clean_headers(header_row)
    return Table(
        path=p,
        format="xlsx",
        encoding=None,
        headers=headers,
        sheet=title,
        reader=reader,
        progress_total=total,
        _opener=lambda t: _xlsx_rows(t, header_line, reader, kept),
        _records_opener=lambda t: _xlsx_records(t, header_line, reader, kept),
    )


class _OpenpyxlBook:
    """A workbook read by openpyxl (read-only, saved values): the plain path."""

    def __init__(self, p: Path) -> None:
        import zipfile

        from openpyxl import load_workbook

        self.path = p
        try:
            self.wb = load_workbook(p, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise UserError(f"{p}: not a readable Excel workbook ({exc})") from None
        self.ws = None

    def pick(self, sheet: str | None) -> str:
        """Choose the named sheet (else the first worksheet); its name."""
        wb = self.wb
        if sheet is None:
            if not wb.worksheets:
                raise UserError(f"{self.path.name}: the workbook has no worksheet")
            self.ws = wb.worksheets[0]
        elif sheet not in wb.sheetnames:
            raise UserError(
                f"{self.path.name}: no sheet named {sheet!r} "
                f"(sheets: {', '.join(wb.sheetnames)})")
        else:
            self.ws = wb[sheet]
            if not hasattr(self.ws, "iter_rows"):
                raise UserError(f"{self.path.name}: sheet {sheet!r} is a chart, not a table")
        return self.ws.title

    def rows(self, first: int = 1) -> Iterator[tuple[int, tuple]]:
        """(row number, values) from row ``first``; blank rows included."""
        return enumerate(self.ws.iter_rows(min_row=first, values_only=True), start=first)

    def last_row(self) -> int:
        return self.ws.max_row or 0

    def close(self) -> None:
        self.wb.close()


class _CalamineBook:
    """A workbook read by python-calamine; cells as openpyxl gives them (empty is None,
    dates at midnight are ``date``: ``_text`` writes both alike)."""

    def __init__(self, p: Path) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        self.path = p
        try:
            self.wb = CalamineWorkbook.from_path(str(p))
        except (CalamineError, OSError, ValueError) as exc:
            raise UserError(f"{p}: not a readable Excel workbook ({_first_line(exc)})"
                            ) from None
        self.sheet = None
        # Error cells' text by row number: [(column index, "#N/A")] (see _scan_sheet).
        self.errors: dict[int, list[tuple[int, str]]] = {}

    def pick(self, sheet: str | None) -> str:
        from python_calamine import CalamineError, SheetTypeEnum

        sheets = self.wb.sheets_metadata
        if sheet is None:
            name = next((m.name for m in sheets if m.typ == SheetTypeEnum.WorkSheet), None)
            if name is None:
                raise UserError(f"{self.path.name}: the workbook has no worksheet")
        else:
            kinds = {m.name: m.typ for m in sheets}
            if sheet not in kinds:
                raise UserError(
                    f"{self.path.name}: no sheet named {sheet!r} "
                    f"(sheets: {', '.join(m.name for m in sheets)})")
            if kinds[sheet] != SheetTypeEnum.WorkSheet:
                raise UserError(f"{self.path.name}: sheet {sheet!r} is a chart, not a table")
            name = sheet
        try:
            self.sheet = self.wb.get_sheet_by_name(name)
        except (CalamineError, OSError, ValueError) as exc:
            raise UserError(f"{self.path}: not a readable Excel workbook "
                            f"({_first_line(exc)})") from None
        return name

    def rows(self, first: int = 1) -> Iterator[tuple[int, list]]:
        """(row number, values) from row ``first``; blank rows included."""
        sheet = self.sheet
        start = sheet.start
        if start is None:
            return
        # iter_rows yields every row from the sheet's first (blank ones before the data
        # as empty lists), but the columns only from the first one holding data.
        pad = [None] * start[1]
        errors = self.errors
        for number, values in enumerate(sheet.iter_rows(), start=1):
            if number < first:
                continue
            if pad:
                values = pad + values
            if errors and number in errors:
                for column, text in errors[number]:
                    if column >= len(values):
                        values += [None] * (column + 1 - len(values))
                    values[column] = text
            yield number, values

    def last_row(self) -> int:
        end = self.sheet.end if self.sheet is not None else None
        return end[0] + 1 if end else 0

    def close(self) -> None:
        if self.wb is not None:
            self.wb.close()
            self.wb = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sheet_member(p: Path, title: str) -> str | None:
    """The zip member holding sheet ``title`` (``xl/worksheets/sheet1.xml``), from the
    workbook's own list and relationships; None when they do not say."""
    import posixpath
    import zipfile
    from xml.etree.ElementTree import fromstring

    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    try:
        with zipfile.ZipFile(p) as archive:
            names = set(archive.namelist())
            book = "xl/workbook.xml"
            if "_rels/.rels" in names:
                for rel in fromstring(archive.read("_rels/.rels")):
                    if rel.get("Type", "").endswith("/officeDocument"):
                        book = rel.get("Target", book).lstrip("/")
            rid = None
            for item in fromstring(archive.read(book)).iter():
                if item.tag.endswith("}sheet") and item.get("name") == title:
                    rid = item.get(f"{{{rel_ns}}}id")
            folder, leaf = posixpath.split(book)
            rels = posixpath.join(folder, "_rels", leaf + ".rels")
            for rel in fromstring(archive.read(rels)):
                if rel.get("Id") == rid:
                    target = rel.get("Target", "")
                    if target.startswith("/"):
                        return target.lstrip("/")
                    return posixpath.normpath(posixpath.join(folder, target))
    except (KeyError, zipfile.BadZipFile, OSError, SyntaxError):
        return None
    return None


@dataclass
class _SheetScan:
    """What :func:`_scan_sheet` finds in a sheet's XML."""

    unsaved: list[str] = field(default_factory=list)   # formulas without a saved value
    plain_only: bool = False     # a cell calamine would give otherwise (read it plainly)
    errors: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


def _scan_sheet(p: Path, member: str | None) -> _SheetScan:
    """One look at a sheet's XML: the cells (``C7``) holding a formula but no saved result
    (read with saved values only, they would come out empty without a word), the error
    cells' text by row, and whether calamine would give a cell otherwise than openpyxl
    (an integer of 16 digits or more, an error cell without its position).

    The XML is searched as bytes first (most lists have no formula and no error: one fast
    scan); only when one shows is it parsed.
    """
    import zipfile
    from xml.etree.ElementTree import iterparse

    scan = _SheetScan()
    if member is None:
        return scan
    try:
        with zipfile.ZipFile(p) as archive:
            formulas = errors = False
            with archive.open(member) as fh:
                tail = b""
                while chunk := fh.read(1 << 20):
                    text = tail + chunk
                    formulas = formulas or any(r.search(text) for r in _FORMULA)
                    errors = errors or _ERROR_CELL.search(text) is not None
                    scan.plain_only = scan.plain_only or (
                        _LONG_INTEGER.search(text) is not None)
                    if formulas and errors and scan.plain_only:
                        break
                    tail = chunk[-_SCAN_OVERLAP:]
            if not (formulas or errors):
                return scan
            with archive.open(member) as fh:
                for _event, cell in iterparse(fh):
                    if not cell.tag.endswith("}c"):
                        continue
                    formula = value = None
                    for child in cell:
                        if child.tag.endswith("}f"):
                            formula = child
                        elif child.tag.endswith("}v") or child.tag.endswith("}is"):
                            value = child
                    if formula is not None and (value is None or not (
                            value.text or len(value))):
                        scan.unsaved.append(cell.get("r", "?"))
                    if cell.get("t") == "e" and value is not None and value.text:
                        where = _cell_position(cell.get("r"))
                        if where is None:
                            scan.plain_only = True
                        else:
                            scan.errors.setdefault(where[0], []).append(
                                (where[1], value.text))
                    cell.clear()
            return scan
    except (KeyError, zipfile.BadZipFile, OSError, SyntaxError):
        scan.plain_only = True   # the reader opened the sheet: openpyxl gives what there is
        return scan


_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)")


def _cell_position(ref: str | None) -> tuple[int, int] | None:
    """``"AB12"`` -> (12, 27): the row number and the column's index from 0."""
    match = _CELL_REF.fullmatch(ref or "")
    if match is None:
        return None
    column = 0
    for letter in match[1].upper():
        column = column * 26 + ord(letter) - 64
    return int(match[2]), column - 1


def _xlsx_records(table: Table, header_line: int, reader: str, kept: object = None
                  ) -> Iterator[tuple[int, list[str], dict[str, str] | None]]:
    """The data rows as :meth:`Table.records` gives them (blank rows skipped)."""
    if kept is not None:
        book: _CalamineBook | _OpenpyxlBook = kept   # type: ignore[assignment]
    elif reader == "calamine":
        book = _CalamineBook(table.path)
    else:
        book = _OpenpyxlBook(table.path)
    try:
        if kept is None:
            book.pick(table.sheet)
        width = len(table.headers)
        text = _text
        for line, values in book.rows(header_line + 1):
            table.progress_done = line
            texts = list(map(text, values))
            if not any(texts):
                continue
            overflow = None
            n = len(texts)
            if n < width:
                texts += [""] * (width - n)
            elif n > width:
                overflow = {f"column {i + 1}": texts[i] for i in range(width, n)
                            if texts[i]} or None
                del texts[width:]
            yield line, texts, overflow
    finally:
        if kept is None:
            book.close()
    table.progress_done = table.progress_total


def _xlsx_rows(table: Table, header_line: int, reader: str, kept: object = None
               ) -> Iterator[tuple[int, dict[str, str]]]:
    headers = table.headers
    for line, values, overflow in _xlsx_records(table, header_line, reader, kept):
        row = dict(zip(headers, values))
        if overflow:
            row.update(overflow)
        yield line, row


# -- JSON / NDJSON ---------------------------------------------------------------------


def _open_json(p: Path) -> Table:
    decided = _detect_encoding(p)
    encoding = decided.name
    try:
        with open(p, encoding=encoding, errors=decided.errors) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise UserError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict):
        # {"customers": [...]} — one list inside an object is a common export shape.
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
    if not isinstance(data, list):
        raise UserError(f"{p}: expected a JSON array of objects")
    objects = [item for item in data if isinstance(item, dict)]
    if len(objects) != len(data):
        raise UserError(f"{p}: every item of the JSON array must be an object")
    headers = _collect_headers(objects)
    if not headers:
        raise UserError(f"{p}: the JSON array has no objects with fields")

    def rows(t: Table) -> Iterator[tuple[int, dict[str, str]]]:
        for i, item in enumerate(objects, start=1):
            t.progress_done = i
            yield i, _object_row(item, t.headers)

    return Table(
        path=p, format="json", encoding=encoding, headers=headers, errors=decided.errors,
        encoding_note=decided.note, progress_total=len(objects), _opener=rows,
    )


def _collect_headers(objects: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for item in objects[:1000]:
        for key in item:
            seen.setdefault(str(key).strip(), None)
    return list(seen)


def _object_row(item: dict, headers: list[str]) -> dict[str, str]:
    row = {h: "" for h in headers}
    for key, value in item.items():
        row[str(key).strip()] = _text(value)
    return row


def _open_ndjson(p: Path) -> Table:
    decided = _detect_encoding(p)
    encoding = decided.name
    first: list[dict] = []
    with open(p, encoding=encoding, errors=decided.errors) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            first.append(_ndjson_object(p, line_no, line))
            if len(first) >= 1000:
                break
    headers = _collect_headers(first)
    if not headers:
        raise UserError(f"{p}: no JSON objects with fields")

    def rows(t: Table) -> Iterator[tuple[int, dict[str, str]]]:
        with open(p, "rb") as raw:
            fh = io.TextIOWrapper(raw, encoding=encoding, errors=decided.errors)
            for line_no, line in enumerate(fh, start=1):
                if line_no % 512 == 0:
                    t.progress_done = raw.tell()
                if not line.strip():
                    continue
                yield line_no, _object_row(_ndjson_object(p, line_no, line), t.headers)
        t.progress_done = t.progress_total

    return Table(
        path=p, format="ndjson", encoding=encoding, headers=headers, errors=decided.errors,
        encoding_note=decided.note, progress_total=p.stat().st_size, _opener=rows,
    )


def _ndjson_object(p: Path, line_no: int, line: str) -> dict:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{p}: line {line_no}: not valid JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise UserError(f"{p}: line {line_no}: expected a JSON object")
    return item
