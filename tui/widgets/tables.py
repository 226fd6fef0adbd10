"""Filling a ``DataTable`` again without rebuilding what did not change.

A screen that reloads a table every few seconds (the dashboard) mostly gets the same rows
back. Clearing the table and adding every row again costs a row object, a layout and a
repaint per row (300 escalations: ~80 ms of the UI thread); :func:`fill` compares the new
rows with those on screen and changes only the cells that differ, rebuilding only when the
rows themselves (their keys, in order) changed; the cursor then stays on the row the user
put it on. The picture is the same either way (tests/tui/test_tables.py holds the two to
the same screen).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.coordinate import Coordinate
from textual.widgets import DataTable

Row = tuple[str | None, Sequence[str]]   # (row key, one text per column)


def fill(table: DataTable, rows: Sequence[Row]) -> None:
    """Make ``table`` show ``rows`` (key, cells), changing as little as it can."""
    keys = [key for key, _ in rows]
    shown = [row_key.value for row_key in table.rows]
    if keys != shown or None in keys:
        refill(table, rows)
        return
    for r, (_, cells) in enumerate(rows):
        old = table.get_row_at(r)
        for c, value in enumerate(cells):
            if old[c] != value:
                table.update_cell_at(Coordinate(r, c), value, update_width=True)


def refill(table: DataTable, rows: Sequence[Row]) -> None:
    """The plain way: clear ``table`` and add every row (the reference for :func:`fill`)."""
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
