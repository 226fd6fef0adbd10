"""Any customer, from the queue's ``/``: search the whole list and call one of them now.

Search by name, company, ref or a number in any format ("030 1234567", "+49 30 ...").
Enter calls the highlighted customer now (the do-not-call list and the calling window
still apply); ``i`` opens them as an inbound call (they called us: allowed outside the
calling window). Supervisors add a customer (``a``) or correct one (``c``) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from calls.models import Customer
from tui.widgets.tables import Table

# How long typing pauses before the list is searched (a search per key would queue up).
DEBOUNCE_SECONDS = 0.25
LIMIT = 50


@dataclass(frozen=True)
class SearchPick:
    """The customer to call now, and whether it is their call to us."""

    customer_id: int
    inbound: bool = False


def search(store, text: str, region: str | None) -> list[tuple[Customer, str]]:
    """Customers for ``text`` with their main number as a caller reads it (DB thread)."""
    from calls.customers import numbers_for, search_customers

    out = []
    for customer in search_customers(store, text, default_region=region, limit=LIMIT):
        numbers = numbers_for(store, customer)
        out.append((customer, numbers[0].national if numbers else ""))
    return out


def _status(customer: Customer) -> str:
    if customer.do_not_call:
        return "do not call"
    if customer.number_status != "ok":
        return customer.number_status.replace("_", " ")
    return ""


class SearchScreen(ModalScreen[SearchPick | None]):
    """Find any customer in the list; Enter calls them now."""

    CSS_PATH = "tools.tcss"
    HELP_TITLE = "find a customer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="search-close"),
        Binding("down", "to_results", "Results", show=False, id="search-to-results"),
        Binding("i", "inbound", "Inbound call", tooltip="They called us: take the call now, "
                "also outside the calling window", id="search-inbound"),
        Binding("a", "add", "Add customer", tooltip="Add a customer who is not in the list "
                "(supervisors)", id="search-add"),
        Binding("c", "correct", "Correct", tooltip="Correct the highlighted customer's details "
                "(supervisors)", id="search-correct"),
    ]

    def __init__(self, region: str | None = None, may_edit: bool = False) -> None:
        super().__init__()
        self.home_region = region
        self.may_edit = may_edit
        self.results: list[tuple[Customer, str]] = []
        self._timer: Timer | None = None
        self._asked = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box", classes="dialog"):
            yield Static("[b]Find a customer[/b] in the whole list", classes="title")
            yield Input(placeholder="name, company, ref or phone number", id="search-text")
            yield Static("Type at least two characters.", id="search-status", classes="hint")
            table: DataTable = Table(id="search-results", cursor_type="row")
            table.add_column("Customer", width=22, key="name")
            table.add_column("Company", width=18, key="company")
            table.add_column("Number", width=16, key="number")
            table.add_column("", key="status")
            yield table
            yield Static("Enter: call now · i: inbound call · Esc: close", classes="hint",
                         id="search-hint")

    def on_mount(self) -> None:
        self.query_one("#search-text", Input).focus()
        if self.may_edit:
            self.query_one("#search-hint", Static).update(
                "Enter: call now · i: inbound · a: add · c: correct · Esc: close")

    # -- searching -------------------------------------------------------------------

    @on(Input.Changed, "#search-text")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._search)

    def _search(self) -> None:
        text = self.query_one("#search-text", Input).value.strip()
        if len(text) < 2:
            self.results = []
            self._fill("Type at least two characters.")
            return
        self._asked = text
        self.app.db(search, text, self.home_region, on_done=lambda found: self._found(text, found))

    def _found(self, text: str, found: list[tuple[Customer, str]]) -> None:
        if text != self._asked or not self.is_attached:
            return  # an older search: the caller has typed on
        self.results = found
        if not found:
            self._fill(f"No customer matches “{escape(text)}”.")
        else:
            more = " (the first 50: type more)" if len(found) >= LIMIT else ""
            self._fill(f"{len(found)} found{more} · ↓ to pick")

    def _fill(self, status: str) -> None:
        self.query_one("#search-status", Static).update(status)
        table = self.query_one(DataTable)
        table.clear()
        for customer, number in self.results:
            table.add_row(escape(customer.name or customer.ref), escape(customer.company or ""),
                          escape(number), _status(customer), key=str(customer.id))
        self.refresh_bindings()

    @on(Input.Submitted, "#search-text")
    def _submitted(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if len(self.results) == 1:
            self.dismiss(SearchPick(self.results[0][0].id))
            return
        self.action_to_results()

    # -- choosing --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_text = isinstance(self.focused, Input)
        if action == "inbound":
            return bool(self.results) and not in_text
        if action == "to_results":
            return bool(self.results) and in_text
        if action == "add":
            return self.may_edit and not in_text
        if action == "correct":
            return self.may_edit and bool(self.results) and not in_text
        return True

    def action_to_results(self) -> None:
        if self.results:
            self.query_one(DataTable).focus()

    def _highlighted(self) -> Customer | None:
        table = self.query_one(DataTable)
        if not self.results or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.results[table.cursor_row][0]

    @on(DataTable.RowSelected, "#search-results")
    def _chosen(self) -> None:
        customer = self._highlighted()
        if customer is not None:
            self.dismiss(SearchPick(customer.id))

    def action_inbound(self) -> None:
        customer = self._highlighted()
        if customer is not None:
            self.dismiss(SearchPick(customer.id, inbound=True))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_key(self, event: events.Key) -> None:
        # The supervisors' keys are not in a caller's footer; a caller who presses one
        # anyway is told why nothing opens (a notice, not an error).
        if self.may_edit or isinstance(self.focused, Input):
            return
        keymap = getattr(self.app, "keymap", {})
        for binding_id, default in (("search-add", "a"), ("search-correct", "c")):
            keys = [k.strip() for k in keymap.get(binding_id, default).split(",")]
            if event.key in keys:
                event.stop()
                event.prevent_default()
                self.app.refuse_unless("customers.edit")
                return

    def action_add(self) -> None:
        from tui.screens.customer_form import CustomerFormScreen

        if self.app.refuse_unless("customers.edit"):
            self.app.push_screen(CustomerFormScreen(None, self.home_region), self._saved)

    def action_correct(self) -> None:
        from tui.screens.customer_form import CustomerFormScreen

        customer = self._highlighted()
        if customer is not None and self.app.refuse_unless("customers.edit"):
            self.app.push_screen(CustomerFormScreen(customer, self.home_region), self._saved)

    def _saved(self, customer: Customer | None) -> None:
        if customer is None:
            return
        box = self.query_one("#search-text", Input)
        box.value = customer.ref      # shows the customer just saved
        self._search()
