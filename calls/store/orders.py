"""Queries for order lines: staging an import, merging it, attaching pending lines,
deriving each customer's purchase figures.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from calls.store import Store
from calls.store.imports import audit_import, restore_cache, use_bulk_cache

# Columns of a prepared order line, in order (calls.orders builds these tuples); ``key``
# is the line's 64-bit content hash (order_lines.line_key, unique with the order date);
# ``customer_id`` is None for a customer not in the database (yet).
LINE_COLUMNS = (
    "key", "customer_ref", "order_no", "ordered_at", "order_date", "item", "description",
    "quantity", "unit_price", "amount", "currency", "cancellation", "customer_id",
)
_STORED = ("line_key", *LINE_COLUMNS[1:])
# Lines stored per write transaction: each commit writes the index pages it dirtied (the
# random content-hash and customer indexes: nearly all of them on a large table), so
# fewer, larger transactions write far less; one still holds the write lock only about
# two seconds (at ~100,000 lines/s), well inside callers' busy timeout.
_WRITE_BATCH = 200_000
# The page cache while storing lines: the key and customer indexes of a few million
# lines fit, so random index inserts stay in memory.
_ORDERS_CACHE_KIB = 98304


@dataclass
class OrderMergeCounts:
    """What an orders import did (or, in a dry run, would do)."""

    added: int = 0         # new lines for known customers
    pending: int = 0       # new lines kept aside for customers not in the database
    existing: int = 0      # lines an earlier import already stored
    duplicates: int = 0    # exact repeats inside this file
    import_id: int | None = None


class OrderWriter:
    """Stores an import's lines chunk by chunk, each chunk in its own short write
    transaction (callers' writes get their turn in between).

    A line whose key is already stored is "existing" when an earlier import stored it and
    a "duplicate" when this import did (an exact repeat inside the file).
    """

    def __init__(self, store: Store, import_row: dict):
        self.store = store
        self.counts = OrderMergeCounts()
        self._old_cache = use_bulk_cache(store, main_kib=_ORDERS_CACHE_KIB, temp_kib=4096)
        self._tx: contextlib.AbstractContextManager | None = None   # the open batch
        self._in_batch = 0
        conn = store.db.conn
        with store.write():
            names = ", ".join(import_row)
            marks = ", ".join("?" for _ in import_row)
            cur = conn.execute(
                f"INSERT INTO imports ({names}) VALUES ({marks})", list(import_row.values())
            )
            self.counts.import_id = cur.lastrowid
        # Lines an earlier import stored, as this import meets them: meeting one again
        # later in the file makes it a duplicate, as a line this import stored would be.
        conn.execute("DROP TABLE IF EXISTS temp.order_seen")
        conn.execute("CREATE TEMP TABLE order_seen (day TEXT, key INTEGER, "
                     "PRIMARY KEY (day, key)) WITHOUT ROWID")
        cols = ", ".join(_STORED)
        marks = ", ".join("?" for _ in _STORED)
        # The import id is a constant of every row (an int from lastrowid): written into
        # the statement, the prepared tuples go to SQLite as they are, without a copy each.
        self._insert = (
            f"INSERT OR IGNORE INTO order_lines ({cols}, import_id) VALUES "
            f"({marks}, {int(self.counts.import_id)})"
        )

    def add(self, lines: list[tuple], rejects: list[tuple]) -> None:
        """Store prepared lines (LINE_COLUMNS tuples) and rejects ``(line, raw, reason)``.

        They go into the open write transaction at once (the writing process works while
        the workers prepare the next chunks, instead of both waiting in turn); the
        transaction is committed every ``_WRITE_BATCH`` lines.
        """
        if not lines and not rejects:
            return
        if self._tx is None:
            tx = self.store.write()
            tx.__enter__()
            self._tx = tx
        self._store(lines, rejects)
        self._in_batch += len(lines)
        if self._in_batch >= _WRITE_BATCH:
            self._commit()

    def _commit(self) -> None:
        tx, self._tx = self._tx, None
        self._in_batch = 0
        if tx is not None:
            tx.__exit__(None, None, None)

    def _store(self, lines: list[tuple], rejects: list[tuple]) -> None:
        conn = self.store.db.conn
        import_id = self.counts.import_id
        if lines:
            # One row per distinct key, in file order (exact repeats in the chunk are
            # duplicates).
            distinct = {(line[4], line[0]): line for line in lines}   # (day, key)
            self.counts.duplicates += len(lines) - len(distinct)
            last_id = conn.execute("SELECT coalesce(max(id), 0) FROM order_lines")
            last_id = last_id.fetchone()[0]
            before = conn.total_changes
            conn.executemany(self._insert, distinct.values())
            inserted = conn.total_changes - before
            self.counts.added += inserted
            if inserted < len(distinct):
                # Some keys were stored already (rows up to last_id): by an earlier
                # import (existing) or an earlier chunk of this one (duplicates). Only
                # then are the keys looked up: new lines cost no lookups.
                keys = json.dumps(list(distinct))
                # A join from the keys (index lookups), not "... IN (...)", which SQLite
                # may answer by scanning the whole table.
                mine, other = conn.execute(
                    "SELECT coalesce(sum(o.import_id IS ?1), 0), "
                    "       coalesce(sum(o.import_id IS NOT ?1), 0) "
                    "FROM json_each(?2) AS k JOIN order_lines AS o "
                    "ON o.order_date = json_extract(k.value, '$[0]') "
                    "AND o.line_key = json_extract(k.value, '$[1]') WHERE o.id <= ?3",
                    (import_id, keys, last_id),
                ).fetchone()
                first_seen = 0
                if other:
                    before = conn.total_changes
                    conn.execute(
                        "INSERT OR IGNORE INTO temp.order_seen "
                        "SELECT o.order_date, o.line_key FROM json_each(?2) AS k "
                        "JOIN order_lines AS o ON o.order_date = json_extract(k.value, '$[0]') "
                        "AND o.line_key = json_extract(k.value, '$[1]') "
                        "WHERE o.id <= ?3 AND o.import_id IS NOT ?1",
                        (import_id, keys, last_id),
                    )
                    first_seen = conn.total_changes - before
                self.counts.duplicates += mine + other - first_seen
                self.counts.existing += first_seen
        if rejects:
            conn.executemany(
                "INSERT INTO rejects (import_id, line, raw, reason) VALUES (?, ?, ?, ?)",
                [(import_id, *r) for r in rejects],
            )

    def finish(self, row: dict) -> OrderMergeCounts:
        """Split new lines into added / pending and complete the imports row."""
        self._commit()
        conn = self.store.db.conn
        counts = self.counts
        with self.store.write():
            counts.pending = conn.execute(
                "SELECT count(*) FROM order_lines WHERE customer_id IS NULL AND import_id = ?",
                (counts.import_id,),
            ).fetchone()[0]
            counts.added -= counts.pending
            values = dict(row)
            values.update(
                inserted=counts.added + counts.pending,
                unchanged=counts.existing,
                duplicates=counts.duplicates,
            )
            sets = ", ".join(f"{k} = ?" for k in values)
            conn.execute(
                f"UPDATE imports SET {sets} WHERE id = ?", [*values.values(), counts.import_id]
            )
            audit_import(self.store, counts.import_id)
        return counts

    def close(self) -> None:
        """Commit what an interrupted import stored (every stored line is complete, and
        running the import again adds the rest), give the connection its cache back.
        """
        tx, self._tx = self._tx, None
        conn = self.store.db.conn
        if tx is not None:
            try:
                tx.__exit__(None, None, None)
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        with contextlib.suppress(sqlite3.ProgrammingError, sqlite3.OperationalError):
            conn.execute("DROP TABLE IF EXISTS temp.order_seen")
            if conn.in_transaction:
                conn.commit()
        restore_cache(self.store, self._old_cache)


class OrderDryRun:
    """Counts what an import would do, writing only to TEMP tables of this connection."""

    def __init__(self, store: Store):
        self.store = store
        conn = store.db.conn
        if conn.in_transaction:
            conn.commit()
        self._old_cache = use_bulk_cache(store)
        conn.execute("DROP TABLE IF EXISTS temp.order_dry")
        conn.execute(
            "CREATE TEMP TABLE order_dry (day TEXT, key INTEGER, customer_ref TEXT, "
            "PRIMARY KEY (day, key))"
        )
        self.counts = OrderMergeCounts()
        self._read = 0

    def add(self, lines: list[tuple], rejects: list[tuple]) -> None:
        """Remember each distinct line once (the first occurrence)."""
        conn = self.store.db.conn
        if lines:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO temp.order_dry VALUES (?, ?, ?)",
                [(line[4], line[0], line[1]) for line in lines],
            )
            self.counts.duplicates += len(lines) - (conn.total_changes - before)
        if conn.in_transaction:
            conn.commit()

    def finish(self, row: dict) -> OrderMergeCounts:
        """The counts: distinct lines already stored, and new ones by customer known or not."""
        conn = self.store.db.conn
        counts = self.counts
        counts.existing, counts.added, counts.pending = conn.execute(
            """
            SELECT coalesce(sum(o.line_key IS NOT NULL), 0),
                   coalesce(sum(o.line_key IS NULL AND c.id IS NOT NULL), 0),
                   coalesce(sum(o.line_key IS NULL AND c.id IS NULL), 0)
            FROM temp.order_dry AS d
            LEFT JOIN order_lines AS o ON o.order_date = d.day AND o.line_key = d.key
            LEFT JOIN customers AS c ON c.ref = d.customer_ref
            """
        ).fetchone()
        return counts

    def close(self) -> None:
        """Drop the temporary table."""
        conn = self.store.db.conn
        with contextlib.suppress(sqlite3.ProgrammingError, sqlite3.OperationalError):
            if conn.in_transaction:
                conn.commit()
            conn.execute("DROP TABLE IF EXISTS temp.order_dry")
            conn.commit()
        restore_cache(self.store, self._old_cache)


def attach_pending(store: Store) -> int:
    """Give pending lines (customer not known at import) to customers that now exist."""
    with store.write():
        cur = store.db.conn.execute(
            """
            UPDATE order_lines SET customer_id =
                (SELECT id FROM customers AS c WHERE c.ref = order_lines.customer_ref)
            WHERE customer_id IS NULL
              AND customer_ref IN (SELECT ref FROM customers)
            """
        )
        return cur.rowcount


def customer_ids(store: Store) -> dict[str, int]:
    """Every customer's id by ref (order lines are matched to customers on the ref)."""
    return dict(store.db.conn.execute("SELECT ref, id FROM customers"))


def pending_count(store: Store) -> int:
    """How many order lines wait for their customer."""
    return store.scalar("SELECT count(*) FROM order_lines WHERE customer_id IS NULL") or 0


def customers_with_orders(store: Store) -> int:
    """How many customers have order lines (purchase figures derived from them)."""
    return store.scalar("SELECT count(*) FROM customers WHERE order_count > 0") or 0


def has_order_lines(store: Store) -> bool:
    """True when any order line is stored."""
    return store.scalar("SELECT 1 FROM order_lines LIMIT 1") is not None


def _figure_row(row: tuple) -> tuple:
    """An UPDATE's parameters from one customer's aggregate row (adds the interval)."""
    cid, r12, lifetime, orders, first, last, days = row
    interval = None
    if days >= 2:
        span = (date.fromisoformat(last) - date.fromisoformat(first)).days
        interval = round(span / (days - 1), 1)
    return (r12, lifetime, orders, first, last, interval, cid)


def derive_figures(store: Store, window_start: str) -> int:
    """Recompute every customer's purchase figures from their order lines.

    ``revenue_12m`` sums lines dated after ``window_start`` (YYYY-MM-DD, exclusive);
    cancellations count (negative) in revenue, not in orders, first or last purchase.
    The average interval is over distinct order days. Returns how many customers have lines.

    One GROUP BY over the customer index: SQLite sums the lines of one customer at a time
    (its DISTINCT sets are per group, so memory stays flat however many lines there are),
    and the figures are written in batches.
    """
    conn = store.db.conn
    if conn.in_transaction:
        conn.commit()
    old = use_bulk_cache(store, main_kib=8192, temp_kib=2048)
    try:
        return _derive(store, window_start)
    finally:
        restore_cache(store, old)


def _derive(store: Store, window_start: str) -> int:
    conn = store.db.conn
    rows = conn.execute(
        """
        SELECT customer_id,
               round(total(CASE WHEN order_date > ?1 THEN amount END), 2),
               round(total(amount), 2),
               count(DISTINCT CASE WHEN NOT cancellation THEN order_no END),
               min(CASE WHEN NOT cancellation THEN order_date END),
               max(CASE WHEN NOT cancellation THEN order_date END),
               count(DISTINCT CASE WHEN NOT cancellation THEN order_date END)
        FROM order_lines WHERE customer_id IS NOT NULL
        GROUP BY customer_id
        """,
        (window_start,),
    )
    update = """
        UPDATE customers SET revenue_12m = ?, revenue_lifetime = ?, order_count = ?,
            first_purchase = ?,
            last_purchase = CASE
                WHEN ?5 IS NULL THEN last_purchase
                WHEN last_purchase IS NULL OR last_purchase < ?5 THEN ?5
                ELSE last_purchase END,
            avg_order_interval_days = ?
        WHERE id = ?
    """
    # Read everything first into compact tuples per customer, then write: a read cursor
    # open across write transactions on the same connection would see its own writes.
    figures = [_figure_row(row) for row in rows]
    for start in range(0, len(figures), 20_000):
        with store.write():
            conn.executemany(update, figures[start:start + 20_000])
    return len(figures)


def customer_orders(store: Store, customer_id: int, limit: int = 10) -> list[dict]:
    """A customer's most recent orders (one row per order number), newest first."""
    return store.all(
        """
        SELECT order_no, min(order_date) AS order_date, count(*) AS lines,
               round(sum(amount), 2) AS amount, max(cancellation) AS cancellation,
               max(currency) AS currency
        FROM order_lines WHERE customer_id = ?
        GROUP BY order_no ORDER BY order_date DESC, order_no DESC LIMIT ?
        """,
        (customer_id, limit),
    )


def customer_row(store: Store, ref: str) -> dict | None:
    """The customers row for ``ref`` (all columns, including the purchase figures)."""
    return store.one("SELECT * FROM customers WHERE ref = ?", (ref,))
