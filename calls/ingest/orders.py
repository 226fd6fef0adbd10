"""Import order lines: ``carecall import-orders FILE``.

Reads order / invoice lines (order number, customer ref, date, quantity, unit price or
line amount, optional currency), stores each distinct line once, and keeps lines for
customers that are not in the database aside until a customer import brings them. After
every import the purchase figures on ``customers`` are re-derived
(:func:`calls.orders.derive_customer_figures`) and the tiers follow the 12-month revenue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from calls.clock import to_iso
from calls.errors import UserError
from calls.ingest.pipeline import (
    Reject,
    RejectsFile,
    about_file,
    chunk_records,
    header_list,
    import_record,
    match_columns,
    named,
    prepare_in_chunks,
    sample_dates,
    table_chunks,
    worker_count,
)
from calls.ingest.readers import check_quotes, read_table
from calls.ingest.tiers import recompute_tiers
from calls.ingest.values import clean_ref, latest_date, parse_datetime_text, parse_number
from calls.orders import derive_customer_figures, window_start
from calls.store import Store
from calls.store import imports as store_imports
from calls.store import orders as store_orders
from calls.store.imports import restore_cache, use_bulk_cache

__all__ = [
    "ORDER_FIELDS",
    "OrderImportOptions",
    "OrderImportResult",
    "detect_order_columns",
    "import_orders",
    "line_key",
]

ORDER_FIELDS: dict[str, tuple[str, ...]] = {
    "order_no": (
        "invoiceno", "invoice", "invoicenumber", "invoiceid", "orderid", "orderno",
        "ordernumber", "order", "documentno", "documentnumber", "receiptno",
        "transactionid", "belegnummer", "rechnungsnummer", "bestellnummer", "numerofacture",
    ),
    "customer_ref": (
        "customerid", "customer", "customerref", "customerno", "customernumber",
        "customercode", "accountid", "accountnumber", "clientid", "clientnumber", "custid",
        "kundennummer", "kundennr", "numeroclient",
    ),
    "date": (
        "invoicedate", "orderdate", "date", "purchasedate", "transactiondate", "datetime",
        "orderdatetime", "createdat", "timestamp", "datum", "bestelldatum", "rechnungsdatum",
    ),
    "quantity": ("quantity", "qty", "units", "count", "menge", "anzahl", "quantite"),
    "unit_price": (
        "unitprice", "price", "priceeach", "unitcost", "itemprice", "preis", "einzelpreis",
        "prixunitaire",
    ),
    "amount": (
        "amount", "lineamount", "linetotal", "totalprice", "total", "subtotal", "netamount",
        "sales", "revenue", "value", "betrag", "montant",
    ),
    "currency": ("currency", "curr", "currencycode", "waehrung", "währung", "devise"),
    "item": (
        "stockcode", "sku", "item", "itemcode", "itemno", "productid", "productcode",
        "article", "articlenumber", "artikelnummer",
    ),
    "description": ("description", "productname", "itemname", "product", "title"),
}

# An invoice number marked as a cancellation / credit note (UCI: "C536379").
_CANCEL_NO = re.compile(r"^[Cc]\d+$")


@dataclass
class OrderImportOptions:
    """What the user asked for on the command line."""

    mapping: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None
    dry_run: bool = False
    by_user: str | None = None
    region: str = "US"                     # decides undecided d/m vs m/d dates
    rejects_path: Path | None = None
    workers: int | None = None
    revenue_window_days: int = 365
    a_share: float = 0.80
    b_share: float = 0.95
    progress: Callable[[int, int], None] | None = None
    phase: Callable[[str], None] | None = None


@dataclass
class OrderImportResult:
    """What an orders import did (also what ``--json`` prints).

    ``rows_read == added + pending + existing + duplicates + no_customer + rejected``.
    """

    file: str
    format: str
    encoding: str | None
    sheet: str | None
    columns: dict[str, str]
    encoding_note: str | None = None   # stray lines of a mixed file
    rows_read: int = 0
    added: int = 0            # new lines for customers in the database
    pending: int = 0          # new lines kept aside for customers not (yet) imported
    existing: int = 0         # lines an earlier import already stored
    duplicates: int = 0       # exact repeats inside this file (counted once)
    no_customer: int = 0      # lines without a customer ref (not stored)
    rejected: int = 0         # lines that could not be read (bad date, amount, price)
    cancellations: int = 0    # credit-note / cancellation lines among those read
    zero_price: int = 0       # lines with a zero price (stored, amount 0; reported)
    negative_price: int = 0   # lines with a negative price (rejected; reported)
    customers_with_orders: int = 0
    pending_total: int = 0    # lines waiting for their customer after this import
    unchanged_since: int | None = None   # the import whose file this one found again
    dry_run: bool = False
    import_id: int | None = None
    rejects: list[Reject] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        out = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        out["rejects"] = [r.__dict__ for r in self.rejects]
        return out


def detect_order_columns(
    headers: list[str], mapping: dict[str, str] | None = None
) -> dict[str, str]:
    """Order field -> header; ``mapping`` (``--map``) overrides. Raises UserError when the
    file lacks a customer ref, a date, or both price and amount.
    """
    chosen = match_columns(headers, ORDER_FIELDS, mapping)
    missing = [n for n in ("customer_ref", "date") if n not in chosen]
    if "unit_price" not in chosen and "amount" not in chosen:
        missing.append("unit_price or amount")
    if missing:
        raise UserError(
            f"no {' / '.join(missing)} column found (columns: {header_list(headers)}); "
            f"name it with --map FIELD=HEADER"
        )
    return chosen


@dataclass(frozen=True)
class _OrderConfig:
    columns: dict[str, str]
    day_first: bool
    headers: tuple[str, ...] = ()
    # Order dates after this one (YYYY-MM-DD) are in the future: refused.
    latest_date: str = "9999-12-31"
    # Customer ref -> id when the import started; the workers resolve each line's customer
    # (a line whose customer arrives later is stored pending and attached at the end).
    customer_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class _Prepared:
    """One chunk's lines, prepared: stored rows plus what the import reports."""

    rows: list[tuple] = field(default_factory=list)   # LINE_COLUMNS + customer_id
    rejects: list[tuple] = field(default_factory=list)  # (line, reason, raw, negative)
    no_customer: int = 0
    cancellations: int = 0
    zero_price: int = 0


@lru_cache(maxsize=65536)
def _when(text: str, day_first: bool) -> tuple[str, str]:
    """``(ordered_at, order_date)`` text for a date cell (cached: lines share invoices)."""
    moment = parse_datetime_text(text, day_first)
    if moment is None:
        raise ValueError("no date")
    return moment.isoformat(sep=" "), moment.date().isoformat()


def line_key(text: str) -> int:
    """The 64-bit key of an order line's content (order_lines.line_key).

    The first 8 bytes of a 12-byte BLAKE2b digest, as a signed integer: the same key the
    migration gave lines stored under the earlier 12-byte hex hash.
    """
    digest = hashlib.blake2b(text.encode(), digest_size=12).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _chunk_rows(chunk: object) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` for each non-empty record of a chunk, cells not yet
    trimmed (only the cells an order line uses are: a CSV chunk is parsed here with
    ``csv.reader`` directly, without a record per row that trims every cell).
    """
    if isinstance(chunk, tuple):
        parser, first, text = chunk
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=parser.delimiter)
        start = first
        try:
            for record in reader:
                line = start
                start = first + reader.line_num
                if start - line > 1:
                    check_quotes(record, line, start, parser.delimiter, parser.width)
                if record:
                    yield line, record
        except csv.Error as exc:
            raise UserError(f"line {start}: {exc}") from None
    else:
        for line, values, _overflow in chunk_records(chunk):
            yield line, values


def _prepare_orders(config: _OrderConfig, chunk: object) -> _Prepared:
    """The lines of a chunk as rows to store, rejects and counts (see :class:`_Prepared`).

    Runs in the worker processes: whatever is done here per line is off the writing
    process, so lines come back as ready-to-insert tuples and the counts pre-summed.
    """
    cols = config.columns
    headers = config.headers

    def at(name: str) -> int:
        return headers.index(cols[name]) if name in cols else -1

    i_ref, i_date, i_no, i_qty, i_price, i_amount, i_cur, i_item, i_desc = (
        at(n) for n in ("customer_ref", "date", "order_no", "quantity", "unit_price", "amount",
                        "currency", "item", "description")
    )
    c_date, c_qty = cols["date"], cols.get("quantity")
    c_price, c_amount = cols.get("unit_price"), cols.get("amount")
    day_first = config.day_first
    ids_get = config.customer_ids.get
    latest = config.latest_date
    out = _Prepared()
    rows_append = out.rows.append
    cancellations = zero_price = no_customer = 0
    width = len(headers)
    refs: dict[str, str] = {}
    for line, values in _chunk_rows(chunk):
        if len(values) < width:
            values = values + [""] * (width - len(values))
        try:
            raw_ref = values[i_ref]
            ref = refs.get(raw_ref)
            if ref is None:
                # An invoice's lines repeat its customer: cleaned once per chunk.
                ref = refs[raw_ref] = clean_ref(raw_ref)
            if not ref:
                if any(v.strip() for v in values):
                    no_customer += 1
                continue   # a blank line is not a line
            date_text = values[i_date].strip()
            if not date_text:
                raise ValueError(f"{c_date}: no date")
            try:
                ordered_at, order_date = _when(date_text, day_first)
            except ValueError as exc:
                raise ValueError(f"{c_date}: {exc}") from None
            if order_date > latest:
                raise ValueError(f"{c_date}: {date_text} is in the future")
            qty_text = values[i_qty].strip() if i_qty >= 0 else ""
            try:
                quantity = parse_number(qty_text) if qty_text else None
            except ValueError as exc:
                raise ValueError(f"{c_qty}: {exc}") from None
            price_text = values[i_price].strip() if i_price >= 0 else ""
            try:
                price = parse_number(price_text) if price_text else None
            except ValueError as exc:
                raise ValueError(f"{c_price}: {exc}") from None
            amount_text = values[i_amount].strip() if i_amount >= 0 else ""
            try:
                amount = parse_number(amount_text) if amount_text else None
            except ValueError as exc:
                raise ValueError(f"{c_amount}: {exc}") from None
            if price is not None and price < 0:
                raise ValueError(
                    f"{c_price}: negative price {price_text} (an adjustment, not a sale)"
                )
            if amount is None:
                if price is None:
                    raise ValueError(f"no {c_price or c_amount}")
                amount = (1.0 if quantity is None else quantity) * price
            order_no = values[i_no].strip() if i_no >= 0 else ""
            cancellation = bool(
                (quantity is not None and quantity < 0) or amount < 0
                or (order_no[:1] in "Cc" and _CANCEL_NO.match(order_no))
            ) if order_no else bool((quantity is not None and quantity < 0) or amount < 0)
            if cancellation:
                amount = -abs(amount)
            if not order_no:
                # No order numbers: one order per customer and day.
                order_no = f"{ref}@{order_date}"
            amount = round(amount, 4)
            item = (values[i_item].strip() if i_item >= 0 else "") or None
            desc = (values[i_desc].strip() if i_desc >= 0 else "") or None
            currency = (values[i_cur].strip().upper() if i_cur >= 0 else "") or None
            key = "\x1f".join(
                (ref, order_no, ordered_at, item or "", desc or "", repr(quantity),
                 repr(price), repr(amount), currency or "")
            )
            rows_append(
                (line_key(key), ref, order_no, ordered_at, order_date, item, desc, quantity,
                 price, amount, currency, int(cancellation), ids_get(ref))
            )
            if cancellation:
                cancellations += 1
            if price == 0 or (price is None and amount == 0):
                zero_price += 1
        except ValueError as exc:
            row = dict(zip(headers, (v.strip() for v in values)))
            out.rejects.append((line, str(exc), row, "negative price" in str(exc)))
    out.no_customer, out.cancellations, out.zero_price = no_customer, cancellations, zero_price
    return out


def import_orders(
    store: Store, path: str | os.PathLike, options: OrderImportOptions | None, now: datetime
) -> OrderImportResult:
    """Import the order lines in ``path``, attach what can be attached, derive, re-tier."""
    with store.storage_errors():   # a full disk or a read-only file: one line
        return _import_orders(store, path, options, now)


def _import_orders(
    store: Store, path: str | os.PathLike, options: OrderImportOptions | None, now: datetime
) -> OrderImportResult:
    options = options or OrderImportOptions()
    table = read_table(path, sheet=options.sheet)
    with about_file(table.path):
        columns = detect_order_columns(table.headers, options.mapping)
    result = OrderImportResult(
        file=str(Path(path)), format=table.format, encoding=table.encoding,
        encoding_note=table.encoding_note, sheet=table.sheet, columns=columns,
        dry_run=options.dry_run,
    )
    if not options.dry_run:
        store.require_writable()
    import_row = import_record("orders", path, table, options.by_user, now)
    # The revenue window moves with the day: the figures of an import made on another
    # day are not the figures of today's.
    recorded = {"map": options.mapping, "region": options.region.upper(),
                "window_start": window_start(now, options.revenue_window_days).isoformat(),
                "tiers": [options.a_share, options.b_share]}
    rejects_writer = RejectsFile(options.rejects_path, table.headers)
    earlier = store_imports.same_file_as_last(store, "orders", import_row["file_hash"],
                                              recorded)
    if earlier is not None:
        # The file and the options of the last orders import: every line is stored.
        with rejects_writer.discarding():
            return _repeat(store, result, earlier, import_row, rejects_writer, options, now)
    day_first = sample_dates(table, {"date": columns["date"]}, ["date"], options.region)
    config = _OrderConfig(
        columns=columns, day_first=day_first.get("date", False), headers=tuple(table.headers),
        customer_ids=store_orders.customer_ids(store), latest_date=latest_date(now),
    )
    sink: store_orders.OrderWriter | store_orders.OrderDryRun
    if options.dry_run:
        sink = store_orders.OrderDryRun(store)
    else:
        sink = store_orders.OrderWriter(store, import_row)
    try:
        workers = worker_count(table, options.workers)
        for prepared in named(table.path, prepare_in_chunks(
            table_chunks(table, 5000), _prepare_orders, config, workers
        )):
            rejected: list[tuple] = []
            for line, reason, raw, negative in prepared.rejects:
                rejected.append((line, json.dumps(raw, ensure_ascii=False), reason))
                rejects_writer.write(line, reason, raw)
                result.negative_price += negative
                if len(result.rejects) < 20:
                    result.rejects.append(Reject(line, reason, raw))
            sink.add(prepared.rows, rejected)
            result.no_customer += prepared.no_customer
            result.cancellations += prepared.cancellations
            result.zero_price += prepared.zero_price
            result.rows_read += len(prepared.rows) + len(rejected) + prepared.no_customer
            result.rejected += len(rejected)
            if options.progress:
                options.progress(table.progress_done, table.progress_total)
        rejects_writer.finish()
        if options.phase:
            options.phase("Saving order lines")
        counts = sink.finish({
            "options": json.dumps({
                **recorded,
                "no_customer": result.no_customer,
                "cancellations": result.cancellations,
                "zero_price": result.zero_price,
            }),
            "finished_at": to_iso(now),
            "rows_read": result.rows_read,
            "rejected": result.rejected,
        })
    except BaseException:
        rejects_writer.discard()
        raise
    finally:
        sink.close()
    result.added = counts.added
    result.pending = counts.pending
    result.existing = counts.existing
    result.duplicates = counts.duplicates
    result.import_id = counts.import_id
    if not options.dry_run:
        if options.phase:
            options.phase("Deriving customer figures")
        old = use_bulk_cache(store, main_kib=8192, temp_kib=2048)
        try:
            store_orders.attach_pending(store)
            result.customers_with_orders = derive_customer_figures(
                store, now, options.revenue_window_days
            )
            recompute_tiers(store, a_share=options.a_share, b_share=options.b_share)
        finally:
            restore_cache(store, old)
    result.pending_total = store_orders.pending_count(store) + (
        counts.pending if options.dry_run else 0
    )
    return result


def _repeat(store: Store, result: OrderImportResult, earlier: dict, import_row: dict,
            rejects_writer: RejectsFile, options: OrderImportOptions,
            now: datetime) -> OrderImportResult:
    """The result of importing again the file ``earlier`` imported (unchanged): every line
    it stored is stored, its rejects are this import's rejects."""
    reasons = rejects_writer.replay(store_imports.rejects_for(store, earlier["id"]),
                                    result.rejects)
    result.negative_price = sum("negative price" in reason for reason in reasons)
    rejects_writer.finish()
    recorded = json.loads(earlier["options"])
    result.rows_read, result.rejected, result.duplicates = (
        earlier["rows_read"], earlier["rejected"], earlier["duplicates"])
    result.existing = earlier["inserted"] + earlier["unchanged"]
    result.no_customer = recorded.get("no_customer", 0)
    result.cancellations = recorded.get("cancellations", 0)
    result.zero_price = recorded.get("zero_price", 0)
    result.unchanged_since = earlier["id"]
    result.customers_with_orders = store_orders.customers_with_orders(store)
    result.pending_total = store_orders.pending_count(store)
    if not options.dry_run:
        result.import_id = store_imports.record_repeat(store, {
            **import_row, "options": json.dumps({**recorded, "unchanged_since": earlier["id"]}),
            "rows_read": result.rows_read, "unchanged": result.existing,
            "rejected": result.rejected, "duplicates": result.duplicates,
            "finished_at": to_iso(now),
        }, earlier["id"])
    return result
