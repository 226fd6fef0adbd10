"""Queries for imports: staging rows in temporary tables, merging them, recording imports.

Staging goes to TEMP tables of this connection (they never touch the database file and
take no lock on it), so a long file holds the write lock only for the short merge at the
end, and ``--dry-run`` can count exactly what an import would do without writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from calls.errors import UserError
from calls.store import Pacer, Store
from calls.store.customers import (
    TIER_CASE_SQL,
    TIER_RANKING_SQL,
    TierCuts,
    apply_tiers,
    tier_cuts,
)

_LAST_LINE = 2**62


class StagedCustomer(NamedTuple):
    """One prepared customer row of an import, as the stage and the first load take it.

    ``line``: where the row is in the file; ``key``: what it is matched on (its ref, or its
    E.164 number when the list has no refs); ``row_hash``: a digest of the stored values
    (``ref`` .. ``extra``), so that the merge can tell an unchanged customer without
    comparing every column. Build it by name with :func:`staged_customer`.
    """

    line: int
    key: str
    ref: str
    name: str | None
    company: str | None
    phone: str
    phone_raw: str
    phone_ext: str | None
    phone_region: str | None
    phone_type: str | None
    time_zones: str
    phone2: str | None
    phone2_raw: str | None
    email: str | None
    country: str | None
    revenue: float | None
    customer_since: str | None
    last_purchase: str | None
    birthday: str | None
    owner: str | None
    first_name: str | None
    last_name: str | None
    salutation: str | None            # "mr" | "ms" | None
    language: str | None              # ISO 639-1 from the list; None: from the country
    extra: str | None
    row_hash: str = ""
    # A digest of the file's row as it was read (its cells and how they were read): a
    # later import meeting the same row again need not read it again.
    source_hash: int | None = None


# The stage's columns: a StagedCustomer binds as it is.
STAGE_COLUMNS = StagedCustomer._fields
_HASHED = itemgetter(*STAGE_COLUMNS[2:STAGE_COLUMNS.index("row_hash")])   # ref .. extra


def staged_customer(fields: dict) -> StagedCustomer:
    """A :class:`StagedCustomer` from its fields by name (all but ``row_hash``, which is
    computed here from the stored values).

    A dict and one C call per row, where keyword arguments would bind 22 parameters in
    Python: this runs once per row of every import.
    """
    values = _HASHED(fields)
    digest = hashlib.blake2b(
        "\x1f".join([v if v.__class__ is str else "" if v is None else str(v)
                     for v in values]).encode(),
        digest_size=12,
    ).hexdigest()
    return tuple.__new__(StagedCustomer, (fields["line"], fields["key"], *values, digest,
                                          fields["source_hash"]))
_VALUE_COLUMNS = STAGE_COLUMNS[2:STAGE_COLUMNS.index("extra")]   # ref .. owner


# A second number the list gives that is not valid (kept as text only) never replaces a
# valid one on file: a list that went through a spreadsheet ('-8286' for '+1-270-871-7146').
_KEEP_PHONE2 = ("(w.phone2 IS NULL AND w.phone2_raw IS NOT NULL "
                "AND ifnull(c.phone2, '') != '')")


@dataclass
class MergeCounts:
    """What a merge did (or, in a dry run, would do)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    import_id: int | None = None
    revenue_changed: int = 0      # updated customers whose revenue changed (chunked merge)
    phone2_kept: int = 0          # updated customers who kept their valid second number

    def plus(self, unchanged: int, duplicates: int) -> MergeCounts:
        """These counts with rows that were never staged added."""
        self.unchanged += unchanged
        self.duplicates += duplicates
        return self


# Page cache for bulk imports (KiB, negative = size): random inserts into large B-trees
# (the unique ref index, the order-line hashes) thrash SQLite's default 2 MB cache.
BULK_CACHE_KIB = 32768


def use_bulk_cache(
    store: Store, main_kib: int = BULK_CACHE_KIB, temp_kib: int = BULK_CACHE_KIB
) -> tuple[int, int, int]:
    """Give the connection a larger page cache (main and temp) and no memory map for the
    length of a bulk import; returns the old settings for :func:`restore_cache`.

    A bulk import reads and writes most of the file once: mapping it would only make the
    whole file count as the process's memory (and a large map is no faster for that).
    """
    conn = store.db.conn
    old = (conn.execute("PRAGMA main.cache_size").fetchone()[0],
           conn.execute("PRAGMA temp.cache_size").fetchone()[0],
           conn.execute("PRAGMA mmap_size").fetchone()[0])
    conn.execute(f"PRAGMA main.cache_size=-{int(main_kib)}")
    conn.execute(f"PRAGMA temp.cache_size=-{int(temp_kib)}")
    conn.execute("PRAGMA mmap_size=0").fetchall()
    return old


def restore_cache(store: Store, old: tuple[int, int, int]) -> None:
    """Undo :func:`use_bulk_cache` (the connection may live on, e.g. in the TUI)."""
    conn = store.db.conn
    with contextlib.suppress(sqlite3.ProgrammingError, sqlite3.OperationalError):
        conn.execute(f"PRAGMA main.cache_size={int(old[0])}")
        conn.execute(f"PRAGMA temp.cache_size={int(old[1])}")
        conn.execute(f"PRAGMA mmap_size={int(old[2])}").fetchall()


class Staging:
    """Temporary tables holding one import's prepared rows and rejects."""

    def __init__(self, store: Store):
        self.store = store
        conn = store.db.conn
        self._commit()
        self._old_cache = use_bulk_cache(store)
        # The stage needs no rollback journal: it is thrown away on any error. Without
        # one, filling and dropping it skips writing every page twice.
        self._old_journal = conn.execute("PRAGMA temp.journal_mode").fetchone()[0]
        conn.execute("PRAGMA temp.journal_mode=OFF").fetchall()
        conn.execute("DROP TABLE IF EXISTS temp.import_stage")
        conn.execute("DROP TABLE IF EXISTS temp.import_rejects")
        # Keyed by line (a file line holds one record; rows arrive in line order, so
        # staging is an append): new customers are later inserted in line order by walking
        # this table instead of sorting every wide row. ``cid``: the matched customer.
        cols = ", ".join(
            "line INTEGER PRIMARY KEY" if c == "line" else f"{c} REAL" if c == "revenue"
            else f"{c} TEXT"
            for c in STAGE_COLUMNS
        )
        conn.execute(f"CREATE TEMP TABLE import_stage ({cols}, cid INTEGER)")
        conn.execute("CREATE TEMP TABLE import_rejects (line INTEGER, raw TEXT, reason TEXT)")
        self._commit()
        marks = ", ".join("?" for _ in STAGE_COLUMNS)
        self._insert = (
            f"INSERT INTO temp.import_stage ({', '.join(STAGE_COLUMNS)}) VALUES ({marks})"
        )

    def _commit(self) -> None:
        conn = self.store.db.conn
        if conn.in_transaction:
            conn.commit()

    def add(self, records: list[StagedCustomer], rejects: list[tuple]) -> None:
        """Stage prepared records (:class:`StagedCustomer`) and rejects ``(line, raw, reason)``."""
        conn = self.store.db.conn
        if records:
            conn.executemany(self._insert, records)
        if rejects:
            conn.executemany("INSERT INTO temp.import_rejects VALUES (?, ?, ?)", rejects)
        # No commit per chunk: the transaction holds temp tables only (no lock on the
        # database file), and one commit at the merge writes the temp pages once.

    def merge(
        self,
        *,
        match_on: str,
        provided: list[str],
        import_row: dict,
        now: str,
        dry_run: bool,
        tier_shares: tuple[float, float] | None = None,
        skipped: dict[str, int] | None = None,
        skipped_duplicates: int = 0,
        retier: Callable[[MergeCounts], None] | None = None,
        chunked: bool | None = None,
    ) -> MergeCounts:
        """Merge the staged rows into ``customers``: last row per key wins, unchanged rows
        are left alone, only ``provided`` columns are updated. Records the import and its
        rejects. With ``dry_run`` only counts, writing nothing to the database file.

        Into a table that has customers, while callers work the floor (``chunked`` None:
        :func:`floor_is_live`), the merge commits in chunks of a few tens of milliseconds
        each (:meth:`_merge_in_chunks`), so that callers are not held up; ``retier`` is
        called with the counts once every row is in and before the import is marked
        finished (re-tiering in its own short transactions then). Otherwise the same steps
        run in one transaction: all or nothing.

        ``skipped``: key -> last line of the rows the import did not read because they are
        exactly what the customer's last import read (unchanged, never staged), and
        ``skipped_duplicates`` the repeats among them: they take part in "last row wins"
        and in the counts.
        """
        conn = self.store.db.conn
        extra_unchanged, extra_duplicates = self._resolve_skipped(skipped or {})
        extra_duplicates += skipped_duplicates
        total = conn.execute("SELECT count(*) FROM temp.import_stage").fetchone()[0]
        conn.execute("CREATE INDEX temp.import_stage_key ON import_stage(key, line)")
        # Only the last row of a key stays (the winners): deleting the few duplicates in
        # place is much cheaper than copying every winner into another table.
        conn.execute(
            """
            DELETE FROM temp.import_stage
            WHERE line < (SELECT max(line) FROM temp.import_stage AS t
                          WHERE t.key = import_stage.key)
            """
        )
        self._commit()
        if dry_run:
            counts = self._match_and_count(match_on, total).plus(extra_unchanged,
                                                                 extra_duplicates)
            if "phone2" in provided:
                counts.phone2_kept = self._phone2_kept("1", {})
            return counts
        if conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]:
            if chunked is None:
                chunked = floor_is_live(self.store, now)
            return self._merge_in_chunks(
                match_on=match_on, provided=provided, import_row=import_row, now=now,
                tier_shares=tier_shares, total=total, unchanged=extra_unchanged,
                duplicates=extra_duplicates, retier=retier, chunked=chunked)
        # A list into an empty table: nobody can be calling yet; one transaction that
        # builds the indexes once (see _apply).
        with self.store.write():
            counts = self._match_and_count(match_on, total).plus(extra_unchanged,
                                                                 extra_duplicates)
            row = dict(import_row)
            row.update(
                inserted=counts.inserted,
                updated=counts.updated,
                unchanged=counts.unchanged,
                duplicates=counts.duplicates,
                finished_at=now,
            )
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cur = conn.execute(f"INSERT INTO imports ({names}) VALUES ({marks})", list(row.values()))
            import_id = cur.lastrowid
            counts.import_id = import_id
            self._apply(provided, import_id, now, tier_shares)
            conn.execute(
                "INSERT INTO rejects (import_id, line, raw, reason) "
                "SELECT ?, line, raw, reason FROM temp.import_rejects ORDER BY line",
                (import_id,),
            )
            audit_import(self.store, import_id)
        return counts

    def _merge_in_chunks(
        self, *, match_on: str, provided: list[str], import_row: dict, now: str,
        tier_shares: tuple[float, float] | None, total: int, unchanged: int,
        duplicates: int, retier: Callable[[MergeCounts], None] | None, chunked: bool,
    ) -> MergeCounts:
        """Merge the stage in line order, a chunk per write transaction (``chunked``), or
        all of it in one.

        Each chunk matches its rows again inside its transaction (another import may have
        added a customer since), writes them and adds its counts to the ``imports`` row,
        which the first chunk creates with ``finished_at`` empty and ``merged`` /
        ``to_merge`` as progress. Chunks are sized by a :class:`calls.store.Pacer` to
        hold the lock a few tens of milliseconds, with a pause between them so that
        waiting writers get in. The last transaction stores the rejects, the final counts, the
        audit row and ``finished_at``. A merge stopped half way (an error, Ctrl-C, a
        killed process) leaves the chunks it committed and an unfinished ``imports`` row
        (:func:`unfinished_imports`); importing the same file again finishes it.
        """
        conn = self.store.db.conn
        won = conn.execute("SELECT count(*) FROM temp.import_stage").fetchone()[0]
        counts = MergeCounts(unchanged=unchanged, duplicates=total - won + duplicates)
        self._commit()
        if not chunked:
            # New customers go in as C; ``retier``, in the same transaction, places them.
            cuts = TierCuts(None, None) if tier_shares is not None else None
            with self.store.write():
                counts.import_id = self._start_record(import_row, won)
                self._merge_chunk(match_on, provided, counts, now, cuts, -1, _LAST_LINE)
                if retier is not None:
                    retier(counts)
                self._finish_record(counts, import_row, now)
            return counts
        # New customers go in with the tier their revenue gives against the ranking as it
        # stands (read before any lock), so that re-tiering rewrites few of them.
        cuts = tier_cuts(self.store, *tier_shares) if tier_shares is not None else None
        pacer, done, last, committed = Pacer(self.store), 0, -1, None
        try:
            while done < won or counts.import_id is None:
                end = conn.execute(
                    "SELECT line FROM temp.import_stage WHERE line > ? ORDER BY line "
                    "LIMIT 1 OFFSET ?", (last, pacer.size - 1)).fetchone()
                hi = end[0] if end else _LAST_LINE
                with self.store.write():
                    began = time.perf_counter()       # the hold, not the wait for it
                    if counts.import_id is None:
                        import_id = self._start_record(import_row, won)
                        counts.import_id = import_id
                    rows = self._merge_chunk(match_on, provided, counts, now, cuts, last, hi)
                done += rows
                committed = counts.import_id
                held = time.perf_counter() - began
                self._commit()
                last = hi
                if done >= won:
                    break
                pacer.done(held)
            if retier is not None:
                retier(counts)
            with self.store.write():
                self._finish_record(counts, import_row, now)
        except BaseException as exc:
            if committed is None:
                raise       # the first chunk rolled back: nothing of the import is saved
            raise UserError(
                f"{import_row['file']}: the import stopped after {done:,} of the {won:,} new "
                f"or changed rows were merged ({_stop_reason(exc, self.store)}); those are "
                "saved and import "
                f"#{counts.import_id} is marked unfinished: import the same file again to "
                "finish it") from exc
        return counts

    def _start_record(self, import_row: dict, to_merge: int) -> int:
        """The ``imports`` row of a chunked merge, unfinished (inside store.write())."""
        row = {**import_row, "to_merge": to_merge, "merged": 0, "pid": os.getpid()}
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return self.store.db.conn.execute(
            f"INSERT INTO imports ({names}) VALUES ({marks})", list(row.values())).lastrowid

    def _merge_chunk(self, match_on: str, provided: list[str], counts: MergeCounts,
                     now: str, cuts: TierCuts | None, lo: int, hi: int) -> int:
        """Match and write the staged rows with ``lo < line <= hi`` (inside store.write());
        adds to ``counts`` and the imports row; returns how many rows it merged."""
        conn = self.store.db.conn
        span = {"lo": lo, "hi": hi}
        where = "line > :lo AND line <= :hi"
        self._match(match_on, where, span)
        rows, inserted, same, revenue = conn.execute(
            f"""
            SELECT count(*), sum(w.cid IS NULL),
                   sum(c.row_hash IS NOT NULL AND c.row_hash = w.row_hash),
                   sum(c.id IS NOT NULL AND c.row_hash IS NOT w.row_hash
                       AND c.revenue IS NOT w.revenue)
            FROM temp.import_stage AS w LEFT JOIN customers AS c ON c.id = w.cid
            WHERE w.{where}
            """, span).fetchone()
        inserted, same, revenue = inserted or 0, same or 0, revenue or 0
        updated = rows - inserted - same
        import_id = counts.import_id
        counts.phone2_kept += self._update_changed(provided, import_id, now, f"w.{where}",
                                                   span)
        cols = ", ".join(_VALUE_COLUMNS)
        select = ", ".join(
            "coalesce(w.name, '')" if c == "name" else f"w.{c}" for c in _VALUE_COLUMNS)
        tier = "NULL"
        params: dict = {**span, "import_id": import_id, "now": now}
        if cuts is not None:
            r = "max(coalesce(w.revenue, 0), 0)"
            tier = (f"CASE WHEN {r} <= 0 THEN 'C' WHEN :ra IS NOT NULL AND {r} >= :ra THEN 'A' "
                    f"WHEN :rb IS NOT NULL AND {r} >= :rb THEN 'B' ELSE 'C' END")
            params["ra"] = cuts.a[0] if cuts.a else None
            params["rb"] = cuts.b[0] if cuts.b else None
        conn.execute(
            f"""
            INSERT INTO customers ({cols}, extra, row_hash, source_hash, import_id,
                                   created_at, updated_at, tier)
            SELECT {select}, w.extra, w.row_hash, w.source_hash, :import_id, :now, :now,
                   {tier}
            FROM temp.import_stage AS w
            WHERE w.cid IS NULL AND w.{where} ORDER BY w.line
            """, params)
        counts.inserted += inserted
        counts.updated += updated
        counts.unchanged += same
        counts.revenue_changed += revenue
        conn.execute(
            "UPDATE imports SET merged = merged + ?, inserted = ?, updated = ?, "
            "unchanged = ?, duplicates = ? WHERE id = ?",
            (rows, counts.inserted, counts.updated, counts.unchanged, counts.duplicates,
             import_id))
        return rows

    def _finish_record(self, counts: MergeCounts, import_row: dict, now: str) -> None:
        """The last transaction of a chunked merge: rejects, counts, audit, finished."""
        conn = self.store.db.conn
        conn.execute(
            "INSERT INTO rejects (import_id, line, raw, reason) "
            "SELECT ?, line, raw, reason FROM temp.import_rejects ORDER BY line",
            (counts.import_id,))
        conn.execute(
            "UPDATE imports SET inserted = ?, updated = ?, unchanged = ?, duplicates = ?, "
            "rows_read = ?, rejected = ?, finished_at = ? WHERE id = ?",
            (counts.inserted, counts.updated, counts.unchanged, counts.duplicates,
             import_row.get("rows_read", 0), import_row.get("rejected", 0), now,
             counts.import_id))
        audit_import(self.store, counts.import_id)

    def _resolve_skipped(self, skipped: dict[str, int]) -> tuple[int, int]:
        """Rows skipped as unchanged against the staged rows of the same key: the later
        line wins, the other is a duplicate (a staged loser is dropped from the stage).
        Returns (unchanged winners among the skipped, duplicates found)."""
        if not skipped:
            return 0, 0
        conn = self.store.db.conn
        lost: list[tuple[int]] = []
        duplicates = 0
        for key, line in conn.execute("SELECT key, line FROM temp.import_stage").fetchall():
            last = skipped.get(key)
            if last is None:
                continue
            duplicates += 1
            if last > line:
                lost.append((line,))
            else:
                del skipped[key]
        if lost:
            conn.executemany("DELETE FROM temp.import_stage WHERE line = ?", lost)
        return len(skipped), duplicates

    def _match_and_count(self, match_on: str, total: int) -> MergeCounts:
        conn = self.store.db.conn
        if conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]:
            self._match(match_on, "1", {})
        # (a first import: nothing to match, cid stays NULL, no need to look)
        inserted, unchanged, won = conn.execute(
            """
            SELECT sum(w.cid IS NULL), sum(c.row_hash IS NOT NULL AND c.row_hash = w.row_hash),
                   count(*)
            FROM temp.import_stage AS w LEFT JOIN customers AS c ON c.id = w.cid
            """
        ).fetchone()
        inserted, unchanged = inserted or 0, unchanged or 0
        return MergeCounts(
            inserted=inserted,
            unchanged=unchanged,
            updated=won - inserted - unchanged,
            duplicates=total - won,
        )

    def _match(self, match_on: str, where: str, params: dict) -> None:
        """Set ``cid`` (the matching customer) on the staged rows ``where`` selects."""
        conn = self.store.db.conn
        if match_on == "ref":
            conn.execute(
                "UPDATE temp.import_stage SET cid = "
                f"(SELECT id FROM customers AS c WHERE c.ref = import_stage.ref) WHERE {where}",
                params)
            return
        # No id column: match on the number; a customer whose ref is this number
        # (created by an earlier phone-keyed import) is the same customer too.
        conn.execute(
            f"""
            UPDATE temp.import_stage SET cid = coalesce(
                (SELECT min(id) FROM customers AS c WHERE c.phone = import_stage.phone),
                (SELECT id FROM customers AS c WHERE c.ref = import_stage.ref))
            WHERE {where}
            """, params)
        conn.execute(
            "UPDATE temp.import_stage SET ref = "
            "(SELECT ref FROM customers AS c WHERE c.id = import_stage.cid) "
            f"WHERE cid IS NOT NULL AND {where}", params)

    def _update_changed(self, provided: list[str], import_id: int, now: str,
                        where: str = "1", params: dict | None = None) -> int:
        """Write the staged values of matched customers whose row changed, and teach
        unchanged ones how the file spells them (their source hash). Returns how many of
        those written kept the valid second number on file (the list's is not valid)."""
        conn = self.store.db.conn
        kept = self._phone2_kept(where, params or {}) if "phone2" in provided else 0
        sets = ", ".join(
            f"{c} = CASE WHEN {_KEEP_PHONE2} THEN c.{c} ELSE w.{c} END"
            if c in ("phone2", "phone2_raw") else f"{c} = w.{c}"
            for c in provided if c != "name")
        if "name" in provided:
            sets += ", name = coalesce(w.name, '')"
        conn.execute(
            f"""
            UPDATE customers AS c SET {sets},
                number_status = CASE WHEN c.phone IS w.phone THEN c.number_status ELSE 'ok' END,
                extra = CASE WHEN w.extra IS NULL THEN c.extra
                             WHEN c.extra IS NULL THEN w.extra
                             ELSE json_patch(c.extra, w.extra) END,
                row_hash = w.row_hash, source_hash = w.source_hash, import_id = :import_id,
                updated_at = :now
            FROM temp.import_stage AS w
            WHERE c.id = w.cid AND c.row_hash IS NOT w.row_hash AND {where}
            """,
            {**(params or {}), "import_id": import_id, "now": now},
        )
        # Unchanged customers learn how the file spells them (an import before rows were
        # hashed, or the same values written differently), so the next import skips them.
        conn.execute(
            f"""
            UPDATE customers AS c SET source_hash = w.source_hash
            FROM temp.import_stage AS w
            WHERE c.id = w.cid AND c.row_hash IS w.row_hash
              AND c.source_hash IS NOT w.source_hash AND {where}
            """, params or {})
        return kept

    def _phone2_kept(self, where: str, params: dict) -> int:
        """How many matched, changed customers ``where`` selects keep the valid second
        number on file (the list's is not valid)."""
        return self.store.db.conn.execute(
            f"""SELECT count(*) FROM temp.import_stage AS w JOIN customers AS c
                ON c.id = w.cid WHERE c.row_hash IS NOT w.row_hash AND {_KEEP_PHONE2}
                AND {where}""", params).fetchone()[0]

    def _apply(
        self, provided: list[str], import_id: int, now: str,
        shares: tuple[float, float] | None,
    ) -> None:
        conn = self.store.db.conn
        self._update_changed(provided, import_id, now)
        cols = ", ".join(_VALUE_COLUMNS)
        select = ", ".join(
            "coalesce(w.name, '')" if c == "name" else f"w.{c}" for c in _VALUE_COLUMNS
        )
        # A first import fills an empty table: building each secondary index once from the
        # finished table (a sort) is several times faster than maintaining all of them row
        # by row. Same transaction, so no reader ever sees the table without its indexes,
        # and an error rolls the drop back with everything else.
        rebuild = _drop_indexes_if_empty(conn, "customers")
        self._insert_new(cols, select, import_id, now, shares)
        _build_indexes(conn, rebuild)

    def _insert_new(
        self, cols: str, select: str, import_id: int, now: str,
        shares: tuple[float, float] | None,
    ) -> None:
        conn = self.store.db.conn
        if shares is not None and not conn.execute(
                "SELECT EXISTS (SELECT 1 FROM temp.import_stage WHERE cid IS NULL)"
        ).fetchone()[0]:
            # No new customer: the one-pass re-tiering of everyone is all there is to do.
            apply_tiers(self.store, *shares)
            return
        if shares is None:
            conn.execute(
                f"""
                INSERT INTO customers ({cols}, extra, row_hash, source_hash, import_id,
                                       created_at, updated_at)
                SELECT {select}, w.extra, w.row_hash, w.source_hash, ?, ?, ?
                FROM temp.import_stage AS w
                WHERE w.cid IS NULL ORDER BY w.line
                """,
                (import_id, now, now),
            )
            return
        # New customers are inserted with their tier already computed (over everyone,
        # themselves included): re-tiering them after the insert would rewrite every new
        # row and its tier indexes once more. New ids follow max(id) in line order, which
        # is the tie-break the tier rule uses. The import's final recompute_tiers then finds
        # nothing (or only what attached order lines changed) to do.
        conn.execute("DROP TABLE IF EXISTS temp.import_tiers")
        conn.execute(
            f"""
            CREATE TEMP TABLE import_tiers AS
            WITH base AS (
                SELECT id AS k, NULL AS line, max(coalesce(revenue_12m, revenue, 0), 0) AS r
                FROM customers
                UNION ALL
                SELECT (SELECT coalesce(max(id), 0) FROM customers)
                           + row_number() OVER (ORDER BY line),
                       line, max(coalesce(revenue, 0), 0)
                FROM temp.import_stage WHERE cid IS NULL
            ), {TIER_RANKING_SQL}
            SELECT k, line, {TIER_CASE_SQL} AS tier FROM ranked, total
            """,
            {"a": shares[0], "b": shares[1]},
        )
        conn.execute("CREATE INDEX temp.import_tiers_line ON import_tiers(line)")
        conn.execute(
            """
            UPDATE customers SET tier = t.tier FROM temp.import_tiers AS t
            WHERE t.line IS NULL AND t.k = customers.id AND customers.tier IS NOT t.tier
            """
        )
        conn.execute(
            f"""
            INSERT INTO customers ({cols}, extra, row_hash, source_hash, import_id, created_at,
                                   updated_at, tier)
            SELECT {select}, w.extra, w.row_hash, w.source_hash, ?, ?, ?, t.tier
            FROM temp.import_stage AS w JOIN temp.import_tiers AS t ON t.line = w.line
            WHERE w.cid IS NULL ORDER BY w.line
            """,
            (import_id, now, now),
        )
        conn.execute("DROP TABLE temp.import_tiers")

    def close(self) -> None:
        """Drop the temporary tables."""
        conn = self.store.db.conn
        # The connection may already be closed after an error: nothing left to drop then.
        with contextlib.suppress(sqlite3.ProgrammingError, sqlite3.OperationalError):
            if conn.in_transaction:
                conn.commit()
            for name in ("import_stage", "import_rejects"):
                conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            conn.commit()
            conn.execute(f"PRAGMA temp.journal_mode={self._old_journal}").fetchall()
        restore_cache(self.store, self._old_cache)


class FirstLoad:
    """Loads a list into an empty ``customers`` table as it is read: rows go straight into
    the table inside one write transaction, with the secondary indexes built once at the
    end (:meth:`finish`).

    Staging would copy every row twice (into a temporary table, then into customers) and
    sort the stage to find duplicates; on an empty table neither is needed: a key seen
    again updates the row it made (the last row wins, as with staging). The write lock is
    held for the whole import (readers go on reading; a second import waits, then finds
    the table filled and stages). Only for lists matched on ``ref`` (the unique key) and
    never for a dry run. :meth:`start` returns None when the table is not empty.
    """

    def __init__(self, store: Store, now: str, tier_shares: tuple[float, float] | None):
        self.store = store
        self.rows = 0
        self._shares = tier_shares
        self._tx: contextlib.AbstractContextManager | None = None
        self._old_cache: tuple[int, int, int] | None = None
        self._rebuild: list[str] = []
        self._now = now

    @classmethod
    def start(cls, store: Store, import_row: dict, now: str,
              tier_shares: tuple[float, float] | None = None,
              tier_guess: tuple[float, float] | None = None) -> FirstLoad | None:
        """Take the write lock; a loader if ``customers`` is empty, else None (unlocked).

        ``tier_guess``: the lowest revenues of tiers A and B in a sample of the list. Rows
        go in with the tier their revenue suggests, so that tiering everyone exactly at
        the end rewrites only the few rows the guess got wrong (a row rewritten costs
        about as much as the insert did).
        """
        conn = store.db.conn
        if conn.in_transaction:
            conn.commit()
        load = cls(store, now, tier_shares)
        load._old_cache = use_bulk_cache(store)
        tx = store.write()
        tx.__enter__()
        try:
            if conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]:
                tx.__exit__(None, None, None)
                restore_cache(store, load._old_cache)
                return None
            load._tx = tx
            names = ", ".join(import_row)
            marks = ", ".join("?" for _ in import_row)
            load.import_id = conn.execute(
                f"INSERT INTO imports ({names}) VALUES ({marks})", list(import_row.values())
            ).lastrowid
            load._rebuild = _drop_indexes_if_empty(conn, "customers")
        except BaseException:
            load.close()
            raise
        # Parameters by number: a staged record (STAGE_COLUMNS) binds as it is, its line
        # and key (?1, ?2) unused. The import id and the time are constants of the load.
        values = ", ".join(
            f"coalesce(?{i}, '')" if c == "name" else f"?{i}"
            for i, c in enumerate(STAGE_COLUMNS, start=1) if c not in ("line", "key")
        )
        stored = [c for c in STAGE_COLUMNS if c not in ("line", "key")]
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*stored, "tier"] if c != "ref")
        tier = "NULL"
        if tier_shares is not None:
            tier = "'C'"
            if tier_guess is not None:
                # Thresholds are floats we computed (repr is exact), never text from a file.
                r = f"?{STAGE_COLUMNS.index('revenue') + 1}"
                a, b = (repr(float(v)) for v in tier_guess)
                tier = (f"CASE WHEN {r} > 0 AND {r} >= {a} THEN 'A' "
                        f"WHEN {r} > 0 AND {r} >= {b} THEN 'B' ELSE 'C' END")
        load._insert = (
            f"INSERT INTO customers ({', '.join(stored)}, import_id, created_at, updated_at, "
            f"tier) VALUES ({values}, {int(load.import_id)}, '{now}', '{now}', {tier}) "
            f"ON CONFLICT (ref) DO UPDATE SET {updates}"
        )
        return load

    def add(self, records: list[StagedCustomer], rejects: list[tuple]) -> None:
        """Store prepared records (:class:`StagedCustomer`) and rejects ``(line, raw, reason)``."""
        conn = self.store.db.conn
        if records:
            conn.executemany(self._insert, records)
            self.rows += len(records)
        if rejects:
            conn.executemany(
                "INSERT INTO rejects (import_id, line, raw, reason) VALUES (?, ?, ?, ?)",
                [(self.import_id, *r) for r in rejects],
            )

    def finish(self, counts_row: dict) -> MergeCounts:
        """Tier everyone, build the indexes, complete the imports row, commit."""
        conn = self.store.db.conn
        stored = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
        counts = MergeCounts(inserted=stored, duplicates=self.rows - stored,
                             import_id=self.import_id)
        with _small_sorts(conn):
            if self._shares is not None:
                apply_tiers(self.store, *self._shares)
            for sql in self._rebuild:
                conn.execute(sql)
        row = dict(counts_row, inserted=counts.inserted, updated=0, unchanged=0,
                   duplicates=counts.duplicates, finished_at=self._now)
        sets = ", ".join(f"{k} = ?" for k in row)
        conn.execute(f"UPDATE imports SET {sets} WHERE id = ?", [*row.values(), self.import_id])
        audit_import(self.store, self.import_id)
        tx, self._tx = self._tx, None
        tx.__exit__(None, None, None)
        return counts

    def close(self) -> None:
        """Roll back an unfinished load (nothing of it stays), give the cache back."""
        tx, self._tx = self._tx, None
        if tx is not None:
            exc = RuntimeError("import interrupted")
            with contextlib.suppress(sqlite3.Error, RuntimeError):
                tx.__exit__(type(exc), exc, None)
        if self._old_cache is not None:
            restore_cache(self.store, self._old_cache)
            self._old_cache = None


# The page cache while building indexes: SQLite's sorter keeps runs of this size in
# memory and merges them; small runs that stay in the CPU's caches sort faster than one
# large run (building the customer indexes of 200,000 rows: ~1.0 s at 2 MB, 1.2-2.0 s at
# 32 MB on the development machine).
_SORT_CACHE_KIB = 2048


@contextlib.contextmanager
def _small_sorts(conn: sqlite3.Connection) -> Iterator[None]:
    """Big sorts (index builds, the tier ranking) with the sorter's memory kept small."""
    old = conn.execute("PRAGMA main.cache_size").fetchone()[0]
    conn.execute(f"PRAGMA main.cache_size=-{_SORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA main.cache_size={int(old)}")


def _build_indexes(conn: sqlite3.Connection, statements: list[str]) -> None:
    """Run ``CREATE INDEX`` statements with the sorter's memory kept small."""
    if statements:
        with _small_sorts(conn):
            for sql in statements:
                conn.execute(sql)


def _drop_indexes_if_empty(conn: sqlite3.Connection, table: str) -> list[str]:
    """Drop the secondary indexes of ``table`` when it holds no rows (inside the caller's
    write transaction); the ``CREATE INDEX`` statements that put them back, exactly as the
    migrations defined them (their SQL as stored in ``sqlite_master``).

    Indexes SQLite made for UNIQUE / PRIMARY KEY constraints (no SQL) stay: they cannot be
    dropped, and they are part of the table's definition.
    """
    if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
        return []
    indexes = conn.execute(
        "SELECT name, sql FROM main.sqlite_master "
        "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX main."{name}"')
    return [sql for _name, sql in indexes]


def floor_is_live(store: Store, now: str) -> bool:
    """Whether callers work the floor now: a live claim, or a seat whose state interval
    opened in the last 12 hours is still open (an older one is a seat that died)."""
    return bool(store.scalar(
        "SELECT EXISTS (SELECT 1 FROM claims WHERE expires_at > :now) "
        "OR EXISTS (SELECT 1 FROM seat_states WHERE ended_at IS NULL "
        "           AND started_at > strftime('%Y-%m-%dT%H:%M:%SZ', :now, '-12 hours'))",
        {"now": now}))


def _stop_reason(exc: BaseException, store: Store) -> str:
    """Why a chunked merge stopped, in a few words (the storage error under a UserError)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    for cause in (exc, exc.__context__, exc.__cause__):
        if isinstance(cause, sqlite3.Error):
            text = str(cause).lower()
            if "full" in text:
                return f"the disk is full: {store.path}"
            if "readonly" in text or "read-only" in text:
                return "the database became read-only"
            if "i/o" in text:
                return "the disk reported an error"
            return str(cause)
    return str(exc) or type(exc).__name__


def unfinished_imports(store: Store, kind: str) -> list[dict]:
    """Imports of ``kind`` whose chunked merge never finished and that no later finished
    import of the same file completed, oldest first (``merged`` of ``to_merge`` rows in;
    ``pid``: the process that ran it, which may still be running)."""
    return store.all(
        """
        SELECT * FROM imports AS i
        WHERE kind = ? AND finished_at IS NULL AND dry_run = 0 AND to_merge IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM imports AS later
                          WHERE later.kind = i.kind AND later.file_hash = i.file_hash
                            AND later.id > i.id AND later.finished_at IS NOT NULL)
        ORDER BY id
        """, (kind,))


def audit_import(store: Store, import_id: int) -> None:
    """The audit row of a finished import (who, what file, the counts), written in the
    import's own transaction. Call inside store.write() once the imports row is complete.
    Who ran it is the row's ``by_user``, which the caller fills (the account, or the OS
    login where there are no accounts): the store does not guess."""
    from calls.store.audit import insert_entry

    row = store.one("SELECT * FROM imports WHERE id = ?", (import_id,))
    if not row["by_user"]:
        raise ValueError(f"import {import_id} has no by_user: who ran it must be recorded")
    store.run_import_audit_also()   # e.g. the policy it was tiered by (Store.with_import_audit)
    details = {k: row[k] for k in ("kind", "rows_read", "inserted", "updated", "unchanged",
                                   "rejected", "duplicates", "file_hash") if row[k]}
    details["import_id"] = import_id
    insert_entry(store, row["finished_at"] or row["started_at"], row["by_user"],
                 "import", row["file"], json.dumps(details, sort_keys=True))


def record_import(store: Store, row: dict) -> int:
    """Insert an ``imports`` row (for imports that do not stage, e.g. DNC lists); its id."""
    with store.write():
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = store.db.conn.execute(
            f"INSERT INTO imports ({names}) VALUES ({marks})", list(row.values())
        )
        audit_import(store, cur.lastrowid)
        return cur.lastrowid


def last_imports(store: Store, kind: str | None = None, limit: int = 10) -> list[dict]:
    """The most recent imports, newest first."""
    if kind:
        return store.all(
            "SELECT * FROM imports WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit)
        )
    return store.all("SELECT * FROM imports ORDER BY id DESC LIMIT ?", (limit,))


def rejects_for(store: Store, import_id: int) -> list[dict]:
    """The rejected rows of one import, by line."""
    return store.all(
        "SELECT line, raw, reason FROM rejects WHERE import_id = ? ORDER BY line", (import_id,)
    )


def known_source_hashes(store: Store) -> dict[int, str]:
    """Source hash -> ref of every customer that has one (how the row of their last import
    read): a row met again with the same hash is that customer, unchanged."""
    return dict(store.db.conn.execute(
        "SELECT source_hash, ref FROM customers WHERE source_hash IS NOT NULL"))


def last_finished_import(store: Store, kind: str) -> dict | None:
    """The last finished (not dry-run) import of ``kind``, or None."""
    return store.one(
        "SELECT * FROM imports WHERE kind = ? AND finished_at IS NOT NULL AND dry_run = 0 "
        "ORDER BY id DESC LIMIT 1", (kind,))


def same_file_as_last(store: Store, kind: str, file_hash: str, options: dict) -> dict | None:
    """The last finished import of ``kind`` when it read the same file (by content hash)
    with the same options, else None: importing it again can change nothing.

    ``options`` are compared with what that import recorded under the same keys.
    """
    row = last_finished_import(store, kind)
    if row is None or row["file_hash"] != file_hash:
        return None
    try:
        recorded = json.loads(row["options"] or "{}")
    except ValueError:
        return None
    if any(recorded.get(key) != value for key, value in options.items()):
        return None
    return row


def record_repeat(store: Store, row: dict, earlier_id: int) -> int:
    """Record an import that found its file unchanged since import ``earlier_id``: its row,
    with the earlier import's rejects copied (each import keeps its own). Its id."""
    with store.write():
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn = store.db.conn
        import_id = conn.execute(
            f"INSERT INTO imports ({names}) VALUES ({marks})", list(row.values())).lastrowid
        conn.execute(
            "INSERT INTO rejects (import_id, line, raw, reason) "
            "SELECT ?, line, raw, reason FROM rejects WHERE import_id = ? ORDER BY line",
            (import_id, earlier_id))
        audit_import(store, import_id)
        return import_id
