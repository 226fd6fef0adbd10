"""``tui.widgets.tables.fill`` (change only the cells that differ) shows what the plain
``refill`` (clear, add every row) shows, for every kind of change between two loads."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable

from tests.support.tui import screen_lines
from tui.widgets.tables import CELL_PADDING, Column, cut, fill, fill_fitted, fit_columns, refill

A = [("ann", ("Ann", "3", "ready")), ("bob", ("Bob", "12", "talking")),
     ("cy", ("Cy", "0", "paused"))]
LOADS = {
    "the same rows": A,
    "a cell changed": [("ann", ("Ann", "4", "talking")), *A[1:]],
    "a cell grew": [A[0], ("bob", ("Bob", "1,234", "wrap-up (call 12:03)")), A[2]],
    "a cell shrank": [A[0], ("bob", ("Bob", "1", "ok")), A[2]],
    "a row more": [*A, ("dee", ("Dee", "1", "ready"))],
    "a row less": A[:2],
    "rows in another order": [A[1], A[0], A[2]],
    "nothing left": [("__none__", ("(nobody)", "", ""))],
    "markup": [("ann", ("[b]Ann[/b]", "3", "ready")), *A[1:]],
}


class Tables(App):
    def compose(self):
        yield DataTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("caller", "calls", "state")
        refill(table, A)


async def _shown(way, rows) -> list[str]:
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        way(table, rows)
        await pilot.pause()
        way(table, rows)        # a second load of the same rows changes nothing
        await pilot.pause()
        return screen_lines(app)


@pytest.mark.parametrize("change", list(LOADS))
async def test_fill_shows_what_clearing_and_adding_shows(change):
    rows = LOADS[change]
    assert await _shown(fill, rows) == await _shown(refill, rows)
    assert any(rows[0][1][0].replace("[b]", "").replace("[/b]", "") in line
               for line in await _shown(fill, rows))


async def test_fill_keeps_the_cursor_on_its_row_when_the_rows_stay():
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(DataTable)
        table.focus()
        await pilot.press("down")
        fill(table, LOADS["a cell changed"])
        await pilot.pause()
        assert table.cursor_row == 1
        assert table.get_row_at(0)[1] == "4"
        fill(table, LOADS["a row less"])          # other rows: built again, like refill
        await pilot.pause()
        assert table.row_count == 2


async def test_fill_after_fill_follows_every_load():
    """fill remembers what it last put on screen (to skip a load that changes nothing):
    a run of loads ends on what refill of the last one shows."""
    loads = [LOADS["a cell changed"], A, LOADS["a cell grew"], LOADS["a cell grew"],
             LOADS["rows in another order"], A, LOADS["a cell shrank"]]

    async def shown(way) -> list[str]:
        app = Tables()
        async with app.run_test(size=(60, 12)) as pilot:
            table = app.query_one(DataTable)
            for rows in loads:
                way(table, rows)
                await pilot.pause()
            return screen_lines(app)

    assert await shown(fill) == await shown(refill)
    assert any("ok" in line for line in await shown(fill))


# -- fitting to the width -------------------------------------------------------------------

COLUMNS = (Column("caller", shrink=8, keep=3), Column("state", shrink=10, keep=3),
           Column("for", keep=2), Column("customer", shrink=10, keep=1))
WIDE = [("Ravi Patel-Longname", "wrap-up, then paused (coaching)", "1:02:03",
         "Anneliese Müller-Lüdenscheidt (C000123)")]


def _used(plan) -> int:
    return sum(w for _, w in plan) + CELL_PADDING * len(plan)


def test_fit_columns_keeps_natural_widths_when_they_fit():
    assert fit_columns(COLUMNS, WIDE, 200) == [(0, 19), (1, 31), (2, 7), (3, 39)]


@pytest.mark.parametrize("width", [100, 80, 74, 60])
def test_fit_columns_cuts_the_widest_cuttable_first(width):
    plan = fit_columns(COLUMNS, WIDE, width)
    assert [i for i, _ in plan] == [0, 1, 2, 3] and _used(plan) == width
    widths = dict(plan)
    assert widths[2] == 7                       # "for" is never cut
    assert all(widths[i] >= COLUMNS[i].shrink for i in (0, 1, 3))


def test_fit_columns_leaves_out_the_least_needed_when_cutting_is_not_enough():
    plan = fit_columns(COLUMNS, WIDE, 40)
    assert [i for i, _ in plan] == [0, 1, 2] and _used(plan) <= 40   # customer goes first
    assert [i for i, _ in fit_columns(COLUMNS, WIDE, 30)] == [0, 1]  # then "for" (last of keep 2)
    assert [i for i, _ in fit_columns(COLUMNS, WIDE, 5)] == [0]      # one is always shown


def test_cut_marks_what_it_cut():
    assert cut("Anneliese", 9) == "Anneliese" and cut("Anneliese", 5) == "Anne…"


async def test_fill_fitted_makes_the_columns_again_only_when_others_show():
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(DataTable)
        assert fill_fitted(table, COLUMNS, [("r", WIDE[0])], 200) == [0, 1, 2, 3]
        await pilot.pause()
        assert [str(c.label) for c in table.ordered_columns] == [
            "caller", "state", "for", "customer"]
        assert table.get_row_at(0)[3] == WIDE[0][3]
        assert fill_fitted(table, COLUMNS, [("r", WIDE[0])], 40) == [0, 1, 2]
        await pilot.pause()
        assert [str(c.label) for c in table.ordered_columns] == ["caller", "state", "for"]
        assert table.get_row_at(0)[1].endswith("…")
        assert not any("Anneliese" in line for line in screen_lines(app))
