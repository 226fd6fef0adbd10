"""Queries for order lines: staging an import, merging it, attaching pending lines,
deriving each customer's purchase figures.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass

from calls.store import Store

# Columns of a staged order line, in order (calls.orders builds these tuples).
STAGE_COLUMNS = (
    "line", "customer_ref", "order_no", "ordered_at", "order_date", "item", "description",
    "quantity", "unit_price", "amount", "currency", "cancellation", "line_hash",
)
_LINE_COLUMNS = STAGE_COLUMNS[1:]
# Lines moved into order_lines per write transaction: callers' writes get their turn
# between batches during a long import.
_MERGE_BATCH = 200_000


@dataclass
class OrderMergeCounts:
    """What an orders merge did (or, in a dry run, would do)."""

    added: int = 0         # new lines for known customers
    pending: int = 0       # new lines kept aside for customers not in the database
    existing: int = 0      # lines already stored by an earlier import
    duplicates: int = 0    # exact repeats inside this file
    import_id: int | None = None


class OrderStaging:
    """Temporary tables holding one orders import's prepared lines and rejects."""

    def __init__(self, store: Store):
        self.store = store
        conn = store.db.conn
        self._commit()
        for name in ("order_stage", "order_rejects", "order_new"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        types = {"line": "INTEGER", "quantity": "REAL", "unit_price": "REAL",
                 "amount": "REAL", "cancellation": "INTEGER"}
        cols = ", ".join(f"{c} {types.get(c, 'TEXT')}" for c in STAGE_COLUMNS)
        conn.execute(f"CREATE TEMP TABLE order_stage ({cols})")
        conn.execute("CREATE TEMP TABLE order_rejects (line INTEGER, raw TEXT, reason TEXT)")
        self._commit()
        marks = ", ".join("?" for _ in STAGE_COLUMNS)
        self._insert = f"INSERT INTO temp.order_stage VALUES ({marks})"

    def _commit(self) -> None:
        conn = self.store.db.conn
        if conn.in_transaction:
            conn.commit()

    def add(self, lines: list[tuple], rejects: list[tuple]) -> None:
        """Stage prepared lines (STAGE_COLUMNS tuples) and rejects ``(line, raw, reason)``."""
        conn = self.store.db.conn
        if lines:
            conn.executemany(self._insert, lines)
        if rejects:
            conn.executemany("INSERT INTO temp.order_rejects VALUES (?, ?, ?)", rejects)
        self._commit()

    def merge(self, *, import_row: dict, dry_run: bool) -> OrderMergeCounts:
        """Store the lines not seen before (first occurrence of each exact line), attached
        to their customer by ref or kept pending; record the import and its rejects.
        """
        conn = self.store.db.conn
        total = conn.execute("SELECT count(*) FROM temp.order_stage").fetchone()[0]
        # One row per distinct line (its first occurrence) that the database lacks.
        conn.execute(
            f"""
            CREATE TEMP TABLE order_new AS
            SELECT {", ".join(_LINE_COLUMNS)}, min(line) AS line
            FROM temp.order_stage GROUP BY line_hash
            """
        )
        distinct = conn.execute("SELECT count(*) FROM temp.order_new").fetchone()[0]
        conn.execute(
            "DELETE FROM temp.order_new WHERE line_hash IN (SELECT line_hash FROM order_lines)"
        )
        conn.execute("ALTER TABLE temp.order_new ADD COLUMN customer_id INTEGER")
        conn.execute(
            "UPDATE temp.order_new SET customer_id = "
            "(SELECT id FROM customers AS c WHERE c.ref = order_new.customer_ref)"
        )
        added, pending = conn.execute(
            "SELECT coalesce(sum(customer_id IS NOT NULL), 0), coalesce(sum(customer_id IS NULL), 0) "
            "FROM temp.order_new"
        ).fetchone()
        self._commit()
        counts = OrderMergeCounts(
            added=added,
            pending=pending,
            existing=distinct - added - pending,
            duplicates=total - distinct,
        )
        if dry_run:
            return counts
        with self.store.write():
            row = dict(import_row)
            row.update(
                inserted=added + pending,
                unchanged=counts.existing,
                duplicates=counts.duplicates,
            )
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cur = conn.execute(f"INSERT INTO imports ({names}) VALUES ({marks})", list(row.values()))
            counts.import_id = cur.lastrowid
        last = conn.execute("SELECT max(rowid) FROM temp.order_new").fetchone()[0] or 0
        cols = ", ".join(_LINE_COLUMNS)
        for start in range(0, last, _MERGE_BATCH):
            with self.store.write():
                # OR IGNORE: another import of the same lines may have landed meanwhile.
                conn.execute(
                    f"""
                    INSERT OR IGNORE INTO order_lines ({cols}, customer_id, import_id)
                    SELECT {cols}, customer_id, ? FROM temp.order_new
                    WHERE rowid > ? AND rowid <= ? ORDER BY line
                    """,
                    (counts.import_id, start, start + _MERGE_BATCH),
                )
        with self.store.write():
            conn.execute(
                "INSERT INTO rejects (import_id, line, raw, reason) "
                "SELECT ?, line, raw, reason FROM temp.order_rejects ORDER BY line",
                (counts.import_id,),
            )
        return counts

    def close(self) -> None:
        """Drop the temporary tables."""
        conn = self.store.db.conn
        # The connection may already be closed after an error: nothing left to drop then.
        with contextlib.suppress(sqlite3.ProgrammingError, sqlite3.OperationalError):
            if conn.in_transaction:
                conn.commit()
            for name in ("order_stage", "order_rejects", "order_new"):
                conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            conn.commit()


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


def pending_count(store: Store) -> int:
    """How many order lines wait for their customer."""
    return store.scalar("SELECT count(*) FROM order_lines WHERE customer_id IS NULL") or 0


def has_order_lines(store: Store) -> bool:
    """True when any order line is stored."""
    return store.scalar("SELECT 1 FROM order_lines LIMIT 1") is not None


def derive_figures(store: Store, window_start: str) -> int:
    """Recompute every customer's purchase figures from their order lines.

    ``revenue_12m`` sums lines dated after ``window_start`` (YYYY-MM-DD, exclusive);
    cancellations count (negative) in revenue, not in orders, first or last purchase.
    The average interval is over distinct order days. Returns how many customers have lines.
    """
    conn = store.db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("DROP TABLE IF EXISTS temp.order_figures")
    conn.execute(
        """
        CREATE TEMP TABLE order_figures AS
        SELECT customer_id,
               round(sum(amount), 2) AS lifetime,
               round(sum(CASE WHEN order_date > ? THEN amount ELSE 0 END), 2) AS r12,
               count(DISTINCT CASE WHEN cancellation = 0 THEN order_no END) AS orders,
               min(CASE WHEN cancellation = 0 THEN order_date END) AS first_day,
               max(CASE WHEN cancellation = 0 THEN order_date END) AS last_day,
               count(DISTINCT CASE WHEN cancellation = 0 THEN order_date END) AS days
        FROM order_lines WHERE customer_id IS NOT NULL GROUP BY customer_id
        """,
        (window_start,),
    )
    conn.commit()
    try:
        with store.write():
            conn.execute(
                """
                UPDATE customers AS c SET
                    revenue_12m = f.r12,
                    revenue_lifetime = f.lifetime,
                    order_count = f.orders,
                    first_purchase = f.first_day,
                    last_purchase = CASE
                        WHEN f.last_day IS NULL THEN c.last_purchase
                        WHEN c.last_purchase IS NULL OR c.last_purchase < f.last_day
                            THEN f.last_day
                        ELSE c.last_purchase END,
                    avg_order_interval_days = CASE WHEN f.days >= 2 THEN
                        round((julianday(f.last_day) - julianday(f.first_day)) / (f.days - 1), 1)
                        END
                FROM temp.order_figures AS f
                WHERE c.id = f.customer_id
                """
            )
        return store.scalar("SELECT count(*) FROM temp.order_figures") or 0
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.order_figures")
        if conn.in_transaction:
            conn.commit()


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
