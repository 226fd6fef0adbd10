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

DAYS = 14


def load_agenda(store, caller: str, now: datetime) -> list[AgendaDay]:
    """The caller's callbacks for the next two weeks, at this terminal's clock (DB thread)."""
    from calls.agenda import callback_agenda

    return callback_agenda(store, caller, now, now.astimezone().tzinfo, days=DAYS)


class AgendaScreen(Screen[int | None]):
    """The caller's callbacks by day; returns the customer to call now (or None)."""

    CSS_PATH = "tools.tcss"
    HELP_TITLE = "my callbacks"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "call", "Call now", tooltip="Take the highlighted customer and call "
                "them now", id="agenda-call"),
        Binding("r", "refresh", "Refresh", show=False, id="agenda-refresh"),
        Binding("escape", "back", "Back", tooltip="Back to the queue", id="agenda-back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days: list[AgendaDay] = []
        self._rows: dict[str, int] = {}     # row key -> customer id

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        yield Static("Loading your callbacks…", id="agenda-status")
        table: DataTable = DataTable(id="agenda-table", cursor_type="row")
        table.add_column("Mine", width=11, key="mine")
        table.add_column("Theirs", width=17, key="theirs")
        table.add_column("Customer", width=20, key="customer")
        table.add_column("Note", key="note")
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(60, self.action_refresh)

    def action_refresh(self) -> None:
        app = self.app
        app.db(load_agenda, app.caller, app.now(), on_done=self._loaded)

    def _loaded(self, days: list[AgendaDay]) -> None:
        if not self.is_attached:
            return
        self.days = days
        table = self.query_one(DataTable)
        table.clear()
        self._rows = {}
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
                table.add_row(mine, escape(theirs), escape(name), escape(f.details or ""),
                              key=key)
                self._rows[key] = f.customer_id
                count += 1
        status = self.query_one("#agenda-status", Static)
        if count:
            status.update(f"[b]{count} callback{'s' if count != 1 else ''}[/b] in the next "
                          f"{DAYS} days (overdue first) · times at your clock and theirs")
            first = next(i for i, k in enumerate(table.rows) if k.value in self._rows)
            table.move_cursor(row=first)
        else:
            status.update("[b]No callbacks for you[/b] in the next two weeks.")
        self.refresh_bindings()

    def _highlighted(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.is_valid_row_index(table.cursor_row):
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self._rows.get(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "call":
            return self._highlighted() is not None
        return True

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
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
