"""My callbacks at a glance (``a`` on the queue): by day, at my clock and the customer's.

Enter calls the highlighted customer now; the list reloads every minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from calls.agenda import AgendaDay
from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.tables import CELL_PADDING, Table, cut

DAYS = 14
# The columns' widths ("Mon 16 Mar", "Mon 14:30 Guernsey", a name and company); the note
# gets the rest of the width, so that nothing scrolls sideways out of sight at 80 columns.
MINE, THEIRS, CUSTOMER = 10, 18, 22


def load_agenda(store, caller: str, now: datetime) -> list[AgendaDay]:
    """The caller's callbacks for the next two weeks, at this terminal's clock (DB thread)."""
    from calls.agenda import callback_agenda

    return callback_agenda(store, caller, now, now.astimezone().tzinfo, days=DAYS)


class AgendaScreen(Screen[int | None]):
    """The caller's callbacks by day; returns the customer to call now (or None)."""

    CSS_PATH = "tools.tcss"
    HELP_TITLE = "my callbacks"
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the table's own Enter (not shown) would hide this one from the key bar
        Binding("enter", "call", "Call now", priority=True, tooltip="Take the highlighted "
                "customer and call them now", id="agenda-call"),
        Binding("r", "refresh", "Refresh", show=False, id="agenda-refresh"),
        Binding("escape", "back", "Back", tooltip="Back to the queue", id="agenda-back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days: list[AgendaDay] = []
        self._rows: dict[str, int] = {}     # row key -> customer id
        self._details: dict[str, str] = {}  # row key -> the callback in full (cut in the row)
        self._due: dict[str, datetime] = {}  # row key -> when the callback is due
        self._note_width = 0                # the note column's width as last filled

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        yield Static("Loading your callbacks…", id="agenda-status")
        yield Table(id="agenda-table", cursor_type="row")
        yield Static("", id="agenda-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(60, self.action_refresh)

    def on_resize(self) -> None:
        # Once loaded (before that the status says it is loading, not "no callbacks").
        if self._note_width and self._width_of_note() != self._note_width:
            self._loaded(self.days)

    def _width_of_note(self) -> int:
        width = self.query_one(DataTable).size.width or self.size.width or 80
        # every column's padding, and the scroll bar's two cells
        return max(width - 2 - 4 * CELL_PADDING - MINE - THEIRS - CUSTOMER, 12)

    def action_refresh(self) -> None:
        app = self.app
        app.db(load_agenda, app.caller, app.now(), on_done=self._loaded)

    def _loaded(self, days: list[AgendaDay]) -> None:
        if not self.is_attached:
            return
        self.days = days
        table = self.query_one(DataTable)
        table.clear(columns=True)
        self._note_width = note_width = self._width_of_note()
        for label, width in (("Mine", MINE), ("Theirs", THEIRS), ("Customer", CUSTOMER),
                             ("Note", note_width)):
            table.add_column(label, width=width)
        self._rows, self._details, self._due = {}, {}, {}
        count = 0
        for day in days:
            table.add_row(f"[b]{escape(day.label)}[/b]", "", "", "", key=f"day-{day.label}")
            for item in day.items:
                f = item.followup
                theirs = (f"{item.theirs:%a %H:%M} {item.their_zone or ''}".strip()
                          if item.theirs else "?")
                mine = f"{item.mine:%a %H:%M}" if day.day is None else f"{item.mine:%H:%M}"
                name = f.customer_name + (f", {f.customer_company}" if f.customer_company
                                          else "")
                key = f"fu-{f.id}"
                table.add_row(mine, escape(cut(theirs, THEIRS)), escape(cut(name, CUSTOMER)),
                              escape(cut(f.details or "", note_width)), key=key)
                self._rows[key] = f.customer_id
                self._due[key] = item.mine
                self._details[key] = f"{name} · their time {theirs}\n{f.details or ''}"
                count += 1
        status = self.query_one("#agenda-status", Static)
        if count:
            status.update(f"[b]{count} callback{'s' if count != 1 else ''}[/b] in the next "
                          f"{DAYS} days, overdue first · your time and theirs")
            first = next(i for i, k in enumerate(table.rows) if k.value in self._rows)
            table.move_cursor(row=first)
        else:
            status.update("[b]No callbacks for you[/b] in the next two weeks.")
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        detail = self._details.get(self._highlighted_key() or "", "")
        self.query_one("#agenda-detail", Static).update(escape(detail))

    def _highlighted_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.is_valid_row_index(table.cursor_row):
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    def _highlighted(self) -> int | None:
        return self._rows.get(self._highlighted_key() or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "call":
            # A callback not due yet holds its customer until then (Enter says why): the
            # key bar offers "Call now" only where it calls.
            due = self._due.get(self._highlighted_key() or "")
            return due is not None and due <= self.app.now()
        return True

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_call()

    def action_call(self) -> None:
        customer_id = self._highlighted()
        if customer_id is not None:
            self.dismiss(customer_id)

    def action_back(self) -> None:
        self.dismiss(None)
