"""The company's do-not-call list: numbers that are never queued, whichever customer has them.

Numbers are stored in E.164 (``calls.ingest.phones.normalise_phone``), so "+1 (212) 555-0100",
"212-555-0100" and "+12125550100" are one entry. A ``do_not_call`` call outcome adds the
customer's number here too (``calls.calling.record_outcome``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from calls import audit
from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.store import Store
from calls.store import dnc as q

# Headers that name the column holding the numbers (lower case, compared loosely).
_PHONE_HEADERS = ("phone", "number", "phone_number", "telephone", "tel", "mobile", "e164",
                  "msisdn", "dnc", "cell")


@dataclass(frozen=True)
class DncEntry:
    """One number on the list."""

    phone: str
    raw: str | None
    source: str | None
    reason: str | None
    added_at: datetime
    added_by: str | None
    customers: int = 0      # customers with this number
    calls_cancelled: int = 0   # open callbacks / recovery calls cancelled by adding it

    @classmethod
    def from_row(cls, row: dict) -> DncEntry:
        """Build from a ``dnc`` row."""
        return cls(row["phone"], row.get("raw"), row.get("source"), row.get("reason"),
                   from_iso(row["added_at"]), row.get("added_by"), row.get("customers") or 0)

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"phone": self.phone, "raw": self.raw, "source": self.source,
                "reason": self.reason, "added_at": to_iso(self.added_at),
                "added_by": self.added_by, "customers": self.customers}


@dataclass
class DncImportResult:
    """What ``dnc import`` did."""

    file: str
    rows_read: int = 0
    added: int = 0
    already: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, reason
    column: str | None = None
    import_id: int | None = None
    calls_cancelled: int = 0   # open callbacks / recovery calls of now-listed customers


def check_region(region: str) -> str:
    """``region`` upper-cased if phone numbers know it as a country, else UserError."""
    import phonenumbers

    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise UserError(f"region {region!r} is not a country code phone numbers know "
                        "(use a two-letter code such as US, GB or DE)")
    return code


def parse_number(raw: str, region: str = "US") -> str:
    """A number as E.164, or UserError saying why it is not one."""
    from calls.ingest.phones import PhoneError, normalise_phone

    region = check_region(region)
    try:
        return normalise_phone(raw, default_region=region).e164
    except PhoneError as exc:
        raise UserError(f"{raw!r} is not a valid phone number: {exc}") from None


def add_number(store: Store, raw: str, now: datetime, *, reason: str | None = None,
               source: str = "manual", added_by: str | None = None,
               region: str = "US") -> tuple[DncEntry, bool]:
    """Put one number on the list; returns the entry and whether it was new."""
    phone = parse_number(raw, region)
    with store.write():
        added = q.insert_numbers(store, [(phone, raw.strip(), source, reason, to_iso(now),
                                          added_by)]) > 0
        row = q.dnc_row(store, phone)
        cancelled = _cancel_calls(store, now, added_by, f"{phone} put on the do-not-call list")
        if added:
            audit.record(store, added_by or audit.os_login(), "dnc.add", phone,
                         {"reason": reason, "source": source, "calls_cancelled": cancelled},
                         now=now)
    assert row is not None
    return replace(DncEntry.from_row(row), calls_cancelled=cancelled), added


def _cancel_calls(store: Store, now: datetime, by: str | None, why: str) -> int:
    """No callback or recovery call stays open for a customer who must not be called."""
    from calls.store.followups import cancel_calls_of_dnc_customers

    return cancel_calls_of_dnc_customers(store, to_iso(now), by or "dnc", why)


def remove_number(store: Store, raw: str, now: datetime, *, reason: str, by: str,
                  region: str = "US") -> tuple[str, bool, int]:
    """Take a number off the list and clear the do-not-call flag of customers with it.

    The reason is required (a number is listed because someone asked): it goes into the
    audit trail with who removed it. Returns (E.164, whether it was listed, customers
    whose flag was cleared).
    """
    phone = parse_number(raw, region)
    reason = (reason or "").strip()
    if not reason:
        raise UserError("say why the number may be called again (--reason TEXT)")
    with store.write():
        entry = q.dnc_row(store, phone)
        removed = q.delete_number(store, phone)
        cleared = q.clear_customer_flags(store, phone, to_iso(now)) if removed else 0
        if removed:
            audit.record(store, by, "dnc.remove", phone,
                         {"reason": reason, "listed_at": entry["added_at"],
                          "listed_reason": entry["reason"], "customers_cleared": cleared},
                         now=now)
    return phone, removed, cleared


def list_numbers(store: Store, limit: int | None = None) -> list[DncEntry]:
    """The list, most recently added first."""
    return [DncEntry.from_row(r) for r in q.list_rows(store, limit)]


def count_numbers(store: Store) -> int:
    """How many numbers are on the list."""
    return q.count(store)


def is_listed(store: Store, phone: str) -> DncEntry | None:
    """The list entry for an E.164 number, or None."""
    row = q.dnc_row(store, phone)
    return DncEntry.from_row(row) if row else None


def _pick_column(headers: list[str], column: str | None,
                 valid_in: Callable[[str], int] | None = None) -> str:
    if column is not None:
        if column not in headers:
            raise UserError(f"no column {column!r}; the file has: {', '.join(headers)}")
        return column
    norm = {h: h.strip().lower().replace(" ", "_").replace("-", "_") for h in headers}
    for wanted in _PHONE_HEADERS:
        for h, n in norm.items():
            if n == wanted:
                return h
    loose = [h for h, n in norm.items()
             if any(w in n for w in ("phone", "number", "tel", "mobile", "e164"))]
    if len(loose) > 1 and valid_in is not None:
        # "number_type" and "national_number" both say number: take the column whose
        # first rows are phone numbers (ties keep the file's order).
        return max(loose, key=lambda h: (valid_in(h), -loose.index(h)))
    if loose:
        return loose[0]
    if len(headers) == 1:
        return headers[0]
    raise UserError(f"cannot tell which column holds the numbers ({', '.join(headers)}); "
                    "name it with --column")


def import_numbers(store: Store, path: str | os.PathLike, now: datetime, *,
                   column: str | None = None, reason: str | None = None,
                   region: str = "US", sheet: str | None = None,
                   added_by: str | None = None) -> DncImportResult:
    """Add every number in a file (CSV, TSV, XLSX, JSON, NDJSON) to the list.

    The numbers column is ``column``, else the one whose header says phone / number /
    tel / mobile, else the only column. A one-column file without a header works too (its
    first line is a number). Lines that are not valid numbers are rejected with the reason.
    """
    import csv

    from calls.ingest.phones import PhoneError, normalise_phone
    from calls.ingest.readers import read_table

    region = check_region(region)
    p = Path(path).expanduser()
    try:
        table = read_table(p, sheet=sheet)
    except csv.Error as exc:  # e.g. a binary file named .csv
        raise UserError(f"{p}: cannot read it as a table ({exc})") from None
    headers = list(table.headers)

    def valid_in(header: str) -> int:
        """How many of the first 50 rows hold a valid number in ``header``."""
        count = 0
        for _line, values in itertools.islice(table.rows(), 50):
            try:
                normalise_phone((values.get(header) or "").strip(), default_region=region)
            except PhoneError:
                continue
            count += 1
        return count

    try:
        col = _pick_column(headers, column, valid_in)
    except csv.Error as exc:
        raise UserError(f"{p}: cannot read it as a table ({exc})") from None
    result = DncImportResult(file=str(p), column=col)
    records: list[tuple] = []
    seen: set[str] = set()
    source = f"import:{p.name}"
    stamp = to_iso(now)

    def take(line: int, raw: str) -> None:
        result.rows_read += 1
        text = (raw or "").strip()
        if not text:
            result.rejected.append((line, raw or "", "no number"))
            return
        try:
            phone = normalise_phone(text, default_region=region).e164
        except PhoneError as exc:
            result.rejected.append((line, text, str(exc)))
            return
        if phone in seen:
            result.already += 1
            return
        seen.add(phone)
        records.append((phone, text, source, reason, stamp, added_by))

    # A list without a header: its "header" is already a number.
    if column is None and len(headers) == 1:
        try:
            normalise_phone(headers[0], default_region=region)
            take(1, headers[0])
            result.column = None
        except PhoneError:
            pass
    try:
        for line, values in table.rows():
            take(line, values.get(col, ""))
    except csv.Error as exc:
        raise UserError(f"{p}: cannot read it as a table ({exc})") from None
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    with store.write():
        added = q.insert_numbers(store, records)
        result.already += len(records) - added
        result.added = added
        result.calls_cancelled = _cancel_calls(
            store, now, added_by, f"number put on the do-not-call list ({p.name})")
        result.import_id = q.record_import(store, {
            "file": str(p), "file_hash": digest, "format": table.format,
            "encoding": table.encoding, "sheet": table.sheet,
            "options": json.dumps({"column": col, "region": region, "reason": reason}),
            "by_user": added_by or audit.os_login(), "started_at": stamp, "finished_at": stamp,
            "rows_read": result.rows_read, "inserted": added, "unchanged": result.already,
            "rejected": len(result.rejected),
        }, [(line, {col: raw}, why) for line, raw, why in result.rejected])
    return result
