"""The journals that triggers keep of writes a reader keeps figures over (migrations
``coverage_0003`` / ``dashboard_0001``: ``calls_written``; ``dashboard_0002``:
``coverage_changes``; ``dashboard_0004`` / ``dashboard_0005``: ``followups_changes``). Each numbers its rows
upwards (``seq``) and keeps the last :data:`JOURNAL_ROWS`; a reader keeps its figures as
of the newest row it read and brings them up to date from the rows after it, which it
may do only while the journal still holds every one of them (:func:`reach`)."""

from __future__ import annotations

import sqlite3

# Each journal's triggers keep this many of its latest rows.
JOURNAL_ROWS = 1000
JOURNALS = frozenset({"calls_written", "coverage_changes", "followups_changes"})


def reach(conn: sqlite3.Connection, journal: str, seq: int | None) -> tuple[int, bool]:
    """(``journal``'s newest row (0: none yet), whether it still reaches back to the row
    ``seq``: holds every row written after it). ``seq`` None (nothing read before) or
    newer than the journal's newest (not a row of this journal) never reaches. Read it in
    the same snapshot as what it guards, or before it (a write landing between the two is
    then seen again next time)."""
    if journal not in JOURNALS:
        raise ValueError(f"not a journal: {journal}")
    low, high = conn.execute(f"SELECT min(seq), max(seq) FROM {journal}").fetchone()
    high = high or 0
    return high, seq is not None and seq <= high and (
        seq == high or (low is not None and low <= seq + 1))
