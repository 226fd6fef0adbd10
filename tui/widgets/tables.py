"""Filling a ``DataTable`` again without rebuilding what did not change.

A screen that reloads a table every few seconds (the dashboard) mostly gets the same rows
back. Clearing the table and adding every row again costs a row object, a layout and a
repaint per row (300 escalations: ~80 ms of the UI thread); :func:`fill` compares the new
rows with those it put on screen last and changes only the cells that differ (nothing at
all, in one list compare, when no row changed), rebuilding only when the rows themselves
(their keys, in order) changed; the cursor then stays on the row the user put it on. The
picture is the same either way (tests/tui/test_tables.py holds the two to the same screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from weakref import WeakKeyDictionary

from textual.coordinate import Coordinate
from textual.widgets import DataTable

Row = tuple[str | None, Sequence[str]]   # (row key, one text per column)

# The rows each table was last given by fill/refill, to answer "nothing changed" at once.
_SHOWN: WeakKeyDictionary[DataTable, list[tuple[str | None, tuple[str, ...]]]] = (
    WeakKeyDictionary())


def _rows(rows: Sequence[Row]) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(key, tuple(cells)) for key, cells in rows]


def fill(table: DataTable, rows: Sequence[Row]) -> None:
    """Make ``table`` show ``rows`` (key, cells), changing as little as it can."""
    new = _rows(rows)
    keys = [key for key, _ in new]
    shown = [row_key.value for row_key in table.rows]
    if keys != shown or None in keys:
        refill(table, rows)
        return
    last = _SHOWN.get(table)
    if last == new:
        return
    for r, (_, cells) in enumerate(new):
        if last is not None and last[r][1] == cells:
            continue
        old = table.get_row_at(r)
        for c, value in enumerate(cells):
            if old[c] != value:
                table.update_cell_at(Coordinate(r, c), value, update_width=True)
    _SHOWN[table] = new


def refill(table: DataTable, rows: Sequence[Row]) -> None:
    """The plain way: clear ``table`` and add every row (the reference for :func:`fill`)."""
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    _SHOWN[table] = _rows(rows)
