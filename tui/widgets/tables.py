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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakKeyDictionary

from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey
from textual.widgets.data_table import Row as TableRow

from calls.records import record
from tui.widgets.text import markup_text

if TYPE_CHECKING:
    from rich.text import Text, TextType

Row = tuple[str | None, Sequence[str]]   # (row key, one text per column)

# The rows each table was last given by fill/refill, to answer "nothing changed" at once.
_SHOWN: WeakKeyDictionary[DataTable, list[tuple[str | None, tuple[str, ...]]]] = (
    WeakKeyDictionary())


def _rows(rows: Sequence[Row]) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(key, tuple(cells)) for key, cells in rows]


class Cell:
    """A table cell: the app's markup (escaped data, the app's own ``[b]...[/b]``) drawn
    by Rich without reading ``:name:`` as an emoji code (:func:`markup_text`). A Textual
    DataTable reads a ``str`` cell with Rich's default, emoji codes on; a cell that is a
    renderable it draws as it is. The markup is read each time the cell is drawn (a
    ``Text`` kept per cell would cost more than the table holds now), one line as a
    ``str`` cell of a one-line row. Equal to, and hashed as, its markup: :func:`fill`
    compares and sorts a table's cells with the texts it is given; ``str()`` is the
    markup."""

    __slots__ = ("markup",)

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def __rich__(self) -> Text:
        markup = self.markup
        end = markup.find("\n")          # as Textual's cell formatter cuts a one-line cell
        if 0 <= end < len(markup) - 1:
            markup = markup[:end]
        return markup_text(markup, end="")

    def __str__(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return f"Cell({self.markup!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Cell):
            return self.markup == other.markup
        if isinstance(other, str):
            return self.markup == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.markup)


def _cell(value: CellType) -> CellType:
    return Cell(value) if isinstance(value, str) else value


class Table(DataTable):
    """A ``DataTable`` whose ``str`` cells (as :class:`Cell`) and ``str`` column and row
    labels are the app's markup read without emoji codes (:func:`markup_text`): every
    table of the app is one (tests/tui/test_emoji_codes.py). Cells are given and read
    back as ever (``get_row`` gives each as a :class:`Cell`, equal to their texts)."""

    def add_column(self, label: TextType, *, width: int | None = None,
                   key: str | None = None, default: CellType | None = None) -> ColumnKey:
        label = markup_text(label) if isinstance(label, str) else label
        return super().add_column(label, width=width, key=key, default=_cell(default))

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: TextType | None = None) -> RowKey:
        label = markup_text(label, end="") if isinstance(label, str) else label
        return super().add_row(*map(_cell, cells), height=height, key=key, label=label)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str,
                    value: CellType, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, _cell(value), update_width=update_width)


class FigureTable(Table):
    """A ``DataTable`` that draws again only the lines whose row changed.

    A plain DataTable counts each cell update as a change of the whole table: its cached
    renderings are keyed by that count, so after one changed cell every visible row goes
    through Rich again (the dashboard's today table after another seat wrapped up a call:
    two rows changed, a header and eleven rows of eight cells rendered, about 20 ms).
    This one keeps each line it drew under what that line shows (its row's cells, its
    place for the stripes, whether the cursor is on it, the columns, the width, the
    scroll, the focus) and hands the kept line back while none of that changed; the row
    the mouse is over, and any table with fixed rows or columns or a cursor other than
    a row's, is drawn the plain way. Public Textual API only (``render_lines`` /
    ``render_line``, the Line API); the picture is the same
    (tests/tui/test_tables.py holds it to a plain DataTable's).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drawn_lines: dict[tuple, Strip] = {}
        self.line_rows: list[tuple[TableRow, int, int]] = []   # per content line: row, index, line
        self._paint: tuple | None = None   # what every line of the paint under way shares

    def notify_style_update(self) -> None:
        self.drawn_lines.clear()      # a theme or a style changed: every line looks otherwise
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        # which row each content line shows, once per paint (the Line API asks line by line)
        self.line_rows = [(row, index, line) for index, row in enumerate(self.ordered_rows)
                          for line in range(row.height)]
        if len(self.drawn_lines) > 4 * (len(self.line_rows) + self.header_height + 8):
            self.drawn_lines.clear()  # keep no more than a few screens' worth
        self._paint = self._shared_key()   # once per paint, not once per line
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        key = self.line_key(y)
        if key is None:
            return super().render_line(y)
        strip = self.drawn_lines.get(key)
        if strip is None:
            strip = self.drawn_lines[key] = super().render_line(y)
        return strip

    def line_key(self, y: int) -> tuple | None:
        """What the line ``y`` (of the widget) shows, or None: draw it the plain way."""
        if self.fixed_rows or self.fixed_columns or self.cursor_type not in ("row", "none"):
            return None
        common, scroll_y, header = self._paint or self._shared_key()
        if y < header:
            return ("header", y, *common)
        at = y + scroll_y - header
        if not 0 <= at < len(self.line_rows):
            return None
        row, index, line = self.line_rows[at]
        if (self.mouse_hover and self.hover_coordinate.row == index) or row.label is not None:
            return None
        cursor = self.cursor_type == "row" and self.cursor_coordinate.row == index
        return (row.key, line, index, tuple(self.get_row_at(index)), cursor, *common)

    def _shared_key(self) -> tuple[tuple, int, int]:
        """What every line's key shares (the size, the scroll, the focus, the cursor's
        kind, the stripes, the columns), the vertical scroll and the header's height."""
        scroll_x, scroll_y = self.scroll_offset
        common = (self.size, scroll_x, self.get_pseudo_class_state(), self.show_cursor,
                  self.cursor_type, self.zebra_stripes,
                  tuple((str(c.label), c.get_render_width(self)) for c in self.ordered_columns))
        return common, scroll_y, self.header_height if self.show_header else 0


class PagedTable(Table):
    """A ``DataTable`` given a long list that holds rows only for what can be seen and a
    page more: the rest waits as plain texts (``pending``) and is added a page at a
    time as the cursor or the scroll comes near the last row added; End, ``G`` and
    ctrl+end add everything and go to the last row. Each added row costs a row object,
    its cells' measuring and drawn lines kept in the table's caches: a seat showed 300
    follow-ups and 584 escalations whole (issue 18: a seat's memory). What the user
    reaches is the same as with every row added (tests/tui/test_tables.py)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end,G,ctrl+end", "last_row", "Last", show=False, id="table-last-row",
                tooltip="The last row of a long list (follow-ups, escalations)"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[Row] = []

    @property
    def total(self) -> int:
        """The rows of the whole list: those added and those waiting."""
        return self.row_count + len(self.pending)

    def page_rows(self) -> int:
        """Rows added at a time: a screenful and ten."""
        return max(self.size.height, 10) + 10

    def show(self, rows: Sequence[Row], first: int = 0, *, update_width: bool = True) -> None:
        """Make the table stand for ``rows``: the first of them added (as many as it holds
        now, and at least ``first`` and a page), changing as little as :func:`fill`
        does; the rest pending."""
        n = max(first, self.row_count, self.page_rows())
        fill(self, rows[:n], update_width=update_width)
        self.pending = list(rows[n:])

    def more(self, count: int | None = None) -> int:
        """Add ``count`` pending rows (a page; None: all); returns how many."""
        count = len(self.pending) if count is None else min(count, len(self.pending))
        if count <= 0:
            return 0
        adding, self.pending = self.pending[:count], self.pending[count:]
        for key, cells in adding:
            self.add_row(*cells, key=key)
        shown = _SHOWN.get(self)
        if shown is not None:
            shown.extend(_rows(adding))
        return count

    def keep(self, count: int) -> None:
        """Hold only the first ``count`` rows (the cursor where it was), nothing pending:
        for a table kept out of sight (its drawn rows go with the rows cleared)."""
        self.pending = []
        if self.row_count <= count:
            return
        shown = _SHOWN.get(self)
        if shown is None or [key for key, _ in shown] != [r.key.value for r in self.ordered_rows]:
            shown = [(r.key.value, tuple(self.get_row(r.key))) for r in self.ordered_rows]
        cursor = self.cursor_coordinate
        refill(self, shown[:count])
        self.cursor_coordinate = cursor

    def _near_end(self, row: int) -> None:
        """Rows added down to a page below ``row``."""
        short = row + self.page_rows() - self.row_count
        if short > 0 and self.pending:
            self.more(max(short, self.page_rows()))

    def action_cursor_down(self) -> None:
        self._near_end(self.cursor_row + 1)
        super().action_cursor_down()

    def action_page_down(self) -> None:
        self._near_end(self.cursor_row + 2 * self.page_rows())
        super().action_page_down()

    def action_last_row(self) -> None:
        """The last row of the whole list, everything before it added."""
        self.more()
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_scroll_bottom(self) -> None:
        self.action_last_row()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Scrolled (the mouse wheel, the scrollbar) near the last row added: the next page.
        if self.pending and new_value >= self.max_scroll_y - self.size.height:
            self.call_after_refresh(self._near_end,
                                    int(new_value) + self.size.height)


class PagedFigureTable(PagedTable, FigureTable):
    """A :class:`PagedTable` that draws again only the lines whose row changed."""


def fill(table: DataTable, rows: Sequence[Row], *, update_width: bool = True) -> None:
    """Make ``table`` show ``rows`` (key, cells), changing as little as it can.
    ``update_width=False`` for columns of a set width (nothing to measure)."""
    new = _rows(rows)
    keys = [key for key, _ in new]
    shown = [row.key.value for row in table.ordered_rows]   # in the order on screen
    if keys != shown or None in keys:
        # Rows came or went: the new rows added, those gone removed, the rest put in
        # order (or, when that cannot be told apart, built again); the cursor stays on
        # its row's key (a caller highlighted to pause stays highlighted when another
        # caller's first call adds a row above), else on the row it was at.
        at = table.cursor_row
        key = shown[at] if 0 <= at < len(shown) else None
        if not _rearrange(table, new, shown, update_width):
            refill(table, rows)
        row = keys.index(key) if key is not None and key in keys else min(at, len(keys) - 1)
        if max(row, 0) != table.cursor_row:
            table.move_cursor(row=row, animate=False)
        _SHOWN[table] = new
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
                table.update_cell_at(Coordinate(r, c), value, update_width=update_width)
    _SHOWN[table] = new


def _rearrange(table: DataTable, new: list[tuple[str | None, tuple[str, ...]]],
               shown: list[str | None], update_width: bool) -> bool:
    """Make ``table`` (showing the rows ``fill`` last gave it, keys ``shown``) show
    ``new`` by removing the rows gone, adding the new ones and sorting: a new row costs
    its own measuring, not every row's (a refill measures every cell of every row again,
    ~20 ms for the dashboard's 40 callers). False (nothing done) when the table holds
    other rows than fill gave it, or a key or a whole row shows twice (the order could
    not be told from the cells)."""
    last = _SHOWN.get(table)
    keys = [key for key, _ in new]
    if (last is None or [key for key, _ in last] != shown or None in keys or None in shown
            or len(set(keys)) != len(keys) or len({cells for _, cells in new}) != len(new)
            or any(len(cells) != len(table.ordered_columns) for _, cells in new)):
        return False
    wanted, before = set(keys), dict(last)
    for key in shown:
        if key not in wanted:
            table.remove_row(key)
    columns = [column.key for column in table.ordered_columns]
    for key, cells in new:
        if key not in before:
            table.add_row(*cells, key=key)
            continue
        for column, old, value in zip(columns, before[key], cells):
            if old != value:
                table.update_cell(key, column, value, update_width=update_width)
    if [row.key.value for row in table.ordered_rows] != keys:
        place = {cells: at for at, (_, cells) in enumerate(new)}
        table.sort(key=lambda values: place[tuple(values)])
    return True


def refill(table: DataTable, rows: Sequence[Row]) -> None:
    """The plain way: clear ``table`` and add every row (the reference for :func:`fill`)."""
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    _SHOWN[table] = _rows(rows)


# -- fitting a table to the width it has ----------------------------------------------------
# A DataTable wider than its box scrolls sideways: at 80 columns the figures on the right
# are out of sight and nothing says so. A table given its width instead cuts its longest
# texts (names, states) to a narrowest width with "…", and only when even that does not
# fit leaves out whole columns, the least needed first (as the key bar leaves out keys);
# what is cut or left out stays reachable where the screen says (the dashboard: Enter on
# a caller).


@record(frozen=True)
class Column:
    """A column of a table fitted to its width."""

    label: str
    shrink: int | None = None   # the narrowest its texts may be cut to; None: never cut
    keep: int = 0               # when columns must go, the lowest ``keep`` goes first


CELL_PADDING = 2   # a DataTable cell's padding, one column each side


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, "…" at the end if it was cut."""
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def fit_columns(columns: Sequence[Column], rows: Sequence[Sequence[str]],
                width: int) -> list[tuple[int, int]]:
    """Which columns to show and how wide, as (column index, width), to fit ``width``
    characters: every column at the width of its longest text while that fits; else the
    cuttable ones cut, the widest first, down to their ``shrink``; else columns left out,
    lowest ``keep`` first (the last of equals first), and the rest fitted again."""
    natural = [max([len(c.label), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    while True:
        widths = {i: natural[i] for i in shown}
        over = sum(widths.values()) + CELL_PADDING * len(shown) - width
        while over > 0:
            cuttable = [i for i in shown if columns[i].shrink is not None
                        and widths[i] > max(columns[i].shrink, len(columns[i].label))]
            if not cuttable:
                break
            widest = max(cuttable, key=lambda i: (widths[i], i))
            floor = max(columns[widest].shrink or 0, len(columns[widest].label))
            others = sorted((widths[i] for i in cuttable if i != widest), reverse=True)
            # down to the next widest cuttable column (so that cuts are shared), or as
            # far as needed, never below the column's narrowest
            step = max(widths[widest] - (others[0] if others else floor), 1)
            take = min(step, over, widths[widest] - floor)
            widths[widest] -= take
            over -= take
        if over <= 0 or len(shown) == 1:
            return [(i, widths[i]) for i in shown]
        drop = min(shown, key=lambda i: (columns[i].keep, -i))
        shown.remove(drop)


def fill_fitted(table: DataTable, columns: Sequence[Column],
                rows: Sequence[tuple[str | None, Sequence[str]]], width: int,
                markup: Callable[[str], str] = str, first: int = 0) -> list[int]:
    """Make ``table`` show ``rows`` (key, plain texts) fitted to ``width`` characters
    (:func:`fit_columns`); ``markup`` turns a cut text into what the cell shows (e.g.
    ``rich.markup.escape``). Returns the indexes of the columns shown. The columns are
    made again only when another set of them, or another width, is shown; the rows are
    filled as by :func:`fill` (a :class:`PagedTable`: the first ``first`` of them, by
    :meth:`PagedTable.show`; the widths fit every row). The columns get the widths
    planned (every text is cut to them), so a changed cell is not measured again, nor its whole column when it got
    narrower (a refresh of the dashboard after a write changed dozens of cells).
    """
    plan = fit_columns(columns, [cells for _, cells in rows], width)
    shape = tuple((columns[i].label, w) for i, w in plan)
    if tuple((str(c.label), None if c.auto_width else c.width)
             for c in table.ordered_columns) != shape:
        table.clear(columns=True)
        _SHOWN.pop(table, None)
        for label, w in shape:
            table.add_column(label, width=w)
    fitted = [(key, tuple(markup(cut(cells[i], w)) for i, w in plan)) for key, cells in rows]
    if isinstance(table, PagedTable):      # fitted to every row, the first ones added
        table.show(fitted, first, update_width=False)
    else:
        fill(table, fitted, update_width=False)
    return [i for i, _ in plan]
