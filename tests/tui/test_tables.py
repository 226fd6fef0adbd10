"""``tui.widgets.tables.fill`` (change only the cells that differ) shows what the plain
``refill`` (clear, add every row) shows, for every kind of change between two loads."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import DataTable

from tests.support.tui import screen_lines
from tui.widgets.tables import (
    CELL_PADDING,
    Column,
    FigureTable,
    PagedTable,
    cut,
    fill,
    fill_fitted,
    fit_columns,
    refill,
)

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


async def test_fill_keeps_the_cursor_on_its_row_key_when_rows_come_and_go():
    app = Tables()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(DataTable)
        table.focus()
        await pilot.press("down", "down")                 # on cy
        fill(table, [("abe", ("Abe", "1", "ready")), *A])  # a row above it
        await pilot.pause()
        assert table.get_row_at(table.cursor_row)[0] == "Cy"
        fill(table, [A[0], A[2]])                          # a row above it gone
        await pilot.pause()
        assert table.get_row_at(table.cursor_row)[0] == "Cy"
        fill(table, A[:2])                                 # its own row gone: the last
        await pilot.pause()
        assert table.cursor_row == 1


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


# -- a FigureTable draws again only the rows whose cells changed ----------------------------

MANY = [(f"r{i}", (f"Caller {i}", str(i), "ready")) for i in range(12)]


class Figures(App):
    """One table (a FigureTable or a plain DataTable) of 6 lines: a header and 5 rows in
    sight, zebra stripes, a row cursor, columns of set widths (as fill_fitted makes)."""

    def __init__(self, kind: type[DataTable]) -> None:
        super().__init__()
        self.kind = kind

    def compose(self):
        yield self.kind(id="t", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.styles.height = 6
        for label, width in (("caller", 10), ("calls", 5), ("state", 8)):
            table.add_column(label, width=width)


async def _picture(kind, loads, *, cursor: int = 0, scroll_to: int | None = None,
                   focus: bool = True) -> str:
    """The screenshot (characters and colours) after ``loads`` went in one after another,
    through fill for a FigureTable, through refill (of the last load) for a DataTable."""
    app = Figures(kind)
    async with app.run_test(size=(50, 8)) as pilot:
        table = app.query_one(DataTable)
        if focus:
            table.focus()
        for rows in (loads if kind is FigureTable else loads[-1:]):
            fill(table, rows, update_width=False) if kind is FigureTable else refill(table, rows)
            if table.cursor_row != cursor:
                table.move_cursor(row=cursor, animate=False)
            await pilot.pause()
        if scroll_to is not None:
            table.scroll_to(y=scroll_to, animate=False)
            await pilot.pause()
        return app.export_screenshot()


CHANGED = [(key, (name, str(int(n) * 10), "talking" if key in ("r1", "r3", "r9") else s))
           for key, (name, n, s) in MANY]


@pytest.mark.parametrize("cursor", [0, 1, 3])
@pytest.mark.parametrize("focus", [True, False])
async def test_a_figure_table_shows_what_a_plain_table_shows(cursor, focus):
    """Cells changed on the cursor's row, on striped and plain rows, above and below the
    cursor, out of sight: the same picture as the rows put in afresh."""
    loads = [MANY, CHANGED]
    assert await _picture(FigureTable, loads, cursor=cursor, focus=focus) == await _picture(
        DataTable, loads, cursor=cursor, focus=focus)


async def test_a_figure_table_changed_out_of_sight_shows_it_when_scrolled_to():
    loads = [MANY, CHANGED, MANY, CHANGED]
    for y in (0, 5, 9):
        assert await _picture(FigureTable, loads, scroll_to=y) == await _picture(
            DataTable, loads, scroll_to=y)


@pytest.mark.parametrize("change", list(LOADS))
async def test_a_figure_table_follows_every_kind_of_load(change):
    loads = [A, LOADS[change], A, LOADS[change]]
    assert await _picture(FigureTable, loads) == await _picture(DataTable, loads)


async def _after_steps(kind, steps) -> str:
    """The screenshot after ``steps`` (each a function of the app and its table, then a
    frame) on a table of ``kind`` filled with MANY."""
    app = Figures(kind)
    async with app.run_test(size=(50, 8)) as pilot:
        table = app.query_one(DataTable)
        fill(table, MANY, update_width=False)
        await pilot.pause()
        for step in steps:
            step(app, table)
            await pilot.pause()
        return app.export_screenshot()


def _cursor_to(row):
    return lambda _app, table: table.move_cursor(row=row, animate=False)


STEPS = {
    "the cursor moves over unchanged rows": [
        lambda _a, t: t.focus(), _cursor_to(2), _cursor_to(4), _cursor_to(1)],
    "the focus goes and comes": [
        lambda _a, t: t.focus(), _cursor_to(3), lambda a, _t: a.set_focus(None),
        lambda _a, t: t.focus()],
    "the focus goes": [lambda _a, t: t.focus(), _cursor_to(3), lambda a, _t: a.set_focus(None)],
    "the theme changes": [lambda _a, t: t.focus(), _cursor_to(1),
                          lambda a, _t: setattr(a, "theme", "textual-light")],
    "scrolled and back": [lambda _a, t: t.focus(), _cursor_to(11), _cursor_to(0)],
    "stripes off": [lambda _a, t: setattr(t, "zebra_stripes", False)],
    "a change after the cursor moved": [
        lambda _a, t: t.focus(), _cursor_to(2),
        lambda _a, t: fill(t, CHANGED, update_width=False), _cursor_to(3)],
}


@pytest.mark.parametrize("steps", list(STEPS))
async def test_a_figure_table_follows_the_cursor_focus_theme_and_scroll(steps):
    assert await _after_steps(FigureTable, STEPS[steps]) == await _after_steps(
        DataTable, STEPS[steps])


async def test_a_figure_table_draws_again_only_the_changed_row():
    app = Figures(FigureTable)
    async with app.run_test(size=(50, 8)) as pilot:
        table = app.query_one(FigureTable)
        fill(table, MANY, update_width=False)
        await pilot.pause()
        drawn: list[tuple[int, int]] = []
        render_cell = table._render_cell

        def counted(row, column, *args, **kwargs):
            drawn.append((row, column))
            return render_cell(row, column, *args, **kwargs)

        table._render_cell = counted
        fill(table, [MANY[0], MANY[1], (MANY[2][0], ("Caller 2", "99", "ready")), *MANY[3:]],
             update_width=False)
        await pilot.pause()
        assert drawn and {row for row, _ in drawn} == {2}
        assert "99" in "\n".join(screen_lines(app))


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


async def test_fill_through_random_loads_keeps_each_row_under_its_key():
    """Rows added, removed, reordered and changed at random (a new caller's first call
    adds a row in the middle): the picture is refill's, each key holds its own cells, and
    the rows that stay are not built again (only a new row is measured)."""
    import random

    rng = random.Random(5)
    pool = [(f"k{i}", (f"Name {i}", str(i), "ready")) for i in range(9)]
    loads = []
    for _ in range(12):
        rows = rng.sample(pool, rng.randint(1, 7))
        if rng.random() < 0.5:
            rows.sort()
        loads.append([(key, (name, str(rng.randint(0, 3)), s)) for key, (name, _n, s) in rows])
    loads.append([("k1", ("Same", "1", "x")), ("k2", ("Same", "1", "x"))])  # not told apart
    loads.append(loads[0])

    async def shown(way) -> list[list[str]]:
        app = Tables()
        pictures = []
        async with app.run_test(size=(60, 12)) as pilot:
            table = app.query_one(DataTable)
            for rows in loads:
                kept = {key: table.rows[key] for key, _ in rows if key in table.rows}
                way(table, rows)
                await pilot.pause()
                pictures.append(screen_lines(app))
                assert [r.key.value for r in table.ordered_rows] == [k for k, _ in rows]
                for key, cells in rows:
                    assert tuple(table.get_row(key)) == cells
                if way is fill and len({c for _, c in rows}) == len(rows):
                    assert all(table.rows[key] is row for key, row in kept.items())
        return pictures

    assert await shown(fill) == await shown(refill)


# -- a table that holds a page of a long list -----------------------------------------------


class TwoTables(App):
    """A PagedTable given a long list beside a plain DataTable given every row."""

    def __init__(self, rows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self):
        yield PagedTable(id="paged", cursor_type="row")
        yield DataTable(id="plain", cursor_type="row")

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.styles.height = 12
            table.add_columns("#", "name")
        self.query_one("#paged", PagedTable).show(self.rows)
        refill(self.query_one("#plain", DataTable), self.rows)


def _at_cursor(table: DataTable) -> tuple[str | None, list]:
    row = table.cursor_row
    key = table.coordinate_to_cell_key((row, 0)).row_key.value
    return key, table.get_row_at(row)


LONG = [(f"k{i}", (str(i), f"name {i}")) for i in range(300)]
PAGED_STEPS = [
    ("down",) * 25, ("pagedown",) * 3, ("up",) * 4, ("end",), ("ctrl+home",),
    ("pagedown",) * 40, ("G",), ("up", "up"), ("ctrl+end",), ("ctrl+home", "down"),
]


@pytest.mark.parametrize("steps", PAGED_STEPS, ids=lambda s: "+".join(s[:1]) + f"x{len(s)}")
async def test_a_paged_table_reaches_every_row_a_whole_table_reaches(steps):
    """The same keys on a paged table and on one holding every row put the cursor on the
    same row (key and cells); the paged one holds a page at first, the rest pending,
    and what it holds and what waits are the whole list in order. (End and G are the
    paged table's keys for the last row; a plain DataTable's is ctrl+end.)"""
    app = TwoTables(LONG)
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        paged, plain = app.query_one("#paged", PagedTable), app.query_one("#plain", DataTable)
        assert paged.row_count < 40 and paged.total == 300
        for table in (paged, plain):
            table.focus()
            await pilot.press(*(("ctrl+end" if key in ("end", "G") and table is plain else key)
                                for key in steps))
            await pilot.pause()
        assert _at_cursor(paged) == _at_cursor(plain)
        keys = [row.key.value for row in paged.ordered_rows] + [k for k, _ in paged.pending]
        assert keys == [k for k, _ in LONG]


async def test_end_on_a_paged_table_shows_the_last_row_and_a_reload_keeps_what_was_added():
    app = TwoTables(LONG)
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        paged = app.query_one("#paged", PagedTable)
        paged.focus()
        await pilot.press("end")
        await pilot.pause()
        assert paged.row_count == 300 and not paged.pending
        assert _at_cursor(paged) == ("k299", ["299", "name 299"])
        assert any("name 299" in line for line in screen_lines(app))
        paged.show(LONG[:150])               # a reload: fewer rows, the cursor kept in range
        await pilot.pause()
        assert paged.row_count == 150 and paged.cursor_row == 149
        paged.show(LONG)                     # again the whole list: what it held stays added
        assert paged.row_count == 150 and len(paged.pending) == 150


async def test_scrolling_a_paged_table_with_the_mouse_wheel_adds_the_next_page():
    app = TwoTables(LONG)
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        paged = app.query_one("#paged", PagedTable)
        held = paged.row_count
        for _ in range(12):
            await pilot.scroll_down("#paged") if hasattr(pilot, "scroll_down") else \
                paged.scroll_down(animate=False)
            await pilot.pause()
        assert paged.row_count > held


# -- Table: cells read without emoji codes, drawn as a plain DataTable draws them ------------

# What the app puts in cells: escaped data, its own markup, wide characters, a cell with a
# line break (a one-line row shows its first line), an empty cell, a long text in an
# auto-width column (measured), no emoji codes (there the two differ: the next test).
KINDS_OF_CELLS = [
    ("a", ("[b]Today[/b]", "", "x" * 40)),
    ("b", ("Jürgen \\[VIP]", "first line\nsecond line, a longer one", "日本語テキスト")),
    ("c", ("[dim]later[/dim]", "12:30", "[i]noted[/i] at 10:30:00")),
]


class PlainAndTable(App):
    def __init__(self, kind: type[DataTable], rows) -> None:
        super().__init__()
        self.kind, self.rows = kind, rows

    def compose(self):
        yield self.kind(id="t", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("[b]When[/b]", width=12)
        table.add_column("Theirs", key="theirs")
        table.add_columns("Note")
        refill(table, self.rows)


async def _steady(app, pilot) -> str:
    """The screenshot once the table is laid out again (a cell measured again changes the
    table's size a refresh later): the same twice running."""
    last = None
    for _ in range(50):
        await pilot.pause()
        shot = app.export_screenshot()
        if shot == last:
            return shot
        last = shot
    raise AssertionError("the picture never settled")


@pytest.mark.parametrize("cursor", [0, 1])
async def test_a_table_draws_its_cells_as_a_plain_data_table_draws_them(cursor):
    """``tui.widgets.tables.Table`` (cells as ``Cell``, labels read without emoji codes)
    shows what a plain ``DataTable`` given the same texts shows, colours and widths
    included; a cell updated (measured again) too."""
    from tui.widgets.tables import Table

    pictures = []
    for kind in (DataTable, Table):
        app = PlainAndTable(kind, KINDS_OF_CELLS)
        async with app.run_test(size=(70, 8)) as pilot:
            table = app.query_one(DataTable)
            table.focus()
            table.move_cursor(row=cursor, animate=False)
            before = await _steady(app, pilot)
            table.update_cell("c", "theirs", "[b]a much longer time[/b]", update_width=True)
            pictures.append((before, await _steady(app, pilot)))
            shown = screen_lines(app)
    assert pictures[0] == pictures[1]
    assert any("a much longer time  noted at 10:30:00" in line for line in shown), shown


async def test_a_table_shows_emoji_codes_as_written_and_compares_as_texts():
    from tui.widgets.tables import Cell, Table

    rows = [("a", (":smile:", "Team :fire: Ltd", "[b]:100:[/b]"))]
    app = PlainAndTable(Table, rows)
    async with app.run_test(size=(70, 8)) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        assert table.get_row("a") == [":smile:", "Team :fire: Ltd", "[b]:100:[/b]"]
        assert [str(c) for c in table.get_row("a")] == list(rows[0][1])
        assert all(isinstance(c, Cell) for c in table.get_row("a"))
        assert hash(table.get_row("a")[1]) == hash("Team :fire: Ltd")
        assert table.get_row("a")[0] == Cell(":smile:") != ":grin:"
        shown = screen_lines(app)
    assert " :smile:       Team :fire: Ltd  :100:" in shown, shown
