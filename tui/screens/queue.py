"""The queue screen: who to call next and why; n takes the top customer, Enter the highlighted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from calls.session import CallSession, close_unfinished
from tui import core, memory
from tui.stack import shows
from tui.timeparse import zone_of
from tui.widgets.key_bar import KeyBar
from tui.widgets.notices import drop_empty_notice_holders
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.tables import Table

REFRESH_SECONDS = 30
PAGE = 100  # rows loaded (and filtered); the screen shows about 20


class QueueTable(Table):
    """The queue rows; Enter (take the highlighted customer) is shown in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Take", tooltip="Take the highlighted customer", id="queue-table-take"),
    ]


class QueueScreen(Screen):
    """The caller's queue; refreshes by itself and after every call."""

    BETWEEN_CALLS: ClassVar[bool] = True   # the seat may pause here (tui/seat.py)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "take_next", "Next", tooltip="Take the next customer (claims the top row)", id="queue-take-next"),
        Binding("enter", "take_selected", "Take", tooltip="Take the highlighted customer", id="queue-take-selected"),
        Binding("e", "explain", "Explain", show=False, tooltip="Why this customer is (not) in the queue now", id="queue-explain"),
        Binding("slash", "search", "Find", key_display="/", tooltip="Find any customer in the whole list and call them now", id="queue-search"),
        Binding("a", "agenda", "Callbacks", tooltip="My callbacks by day, at my clock and theirs", id="queue-agenda"),
        Binding("ctrl+f", "filter", "Filter", show=False, tooltip="Filter the queue by name, company or reason", id="queue-filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="queue-clear-filter"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Reload the queue now", id="queue-refresh"),
        Binding("f", "followups", "Follow-ups", tooltip="My callbacks and follow-ups", id="queue-followups"),
        Binding("ctrl+d", "dashboard", "Dashboard", show=False, tooltip="The supervisor dashboard", id="queue-dashboard"),
        Binding("u", "accounts", "Accounts", tooltip="Manage accounts: add, password, role, disable (admins)", id="queue-accounts"),
    ]

    AUTO_FOCUS = "#queue-table"

    def __init__(self, on_first_load: Callable[[], None] | None = None,
                 view: core.QueueView | None = None) -> None:
        """``view``: the queue already read (the shift's start reads it with its other
        reads); ``on_first_load`` runs once the first page read is on screen."""
        super().__init__()
        self._on_first_load = on_first_load
        self._first_view = view
        self.view: core.QueueView | None = None
        self.filter_text = ""
        self._loading = False
        self._taking = False
        self._pending_unfinished: list[Any] = []
        self._in_call = False
        # One call screen for the whole shift: each customer is loaded into it.
        self._call_screen: Any = None
        self._followups_screen: Any = None

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        yield Static("Loading the queue…", id="queue-status")
        yield Input(placeholder="filter: name, company, ref or reason (Esc clears)", id="queue-filter")
        table: DataTable = QueueTable(id="queue-table", cursor_type="row", zebra_stripes=True)
        self._add_columns(table, column_widths(80, 40))
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        if self._first_view is None:
            self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self._tick)

    def _tick(self) -> None:
        # Only while the caller looks at the queue: during a call the database thread
        # has better things to do (the queue reloads when the call is over).
        if shows(self):   # (Textual's is_current holds under a full screen too)
            self.action_refresh()

    def on_screen_resume(self) -> None:
        drop_empty_notice_holders(self)     # kept all shift: see tui.widgets.notices
        if self._first_view is not None:    # read with the shift's start: shown as read
            view, self._first_view = self._first_view, None
            self._loaded(view)
            return
        if self._in_call:
            # Back from a call: _call_ended decides (the next customer first, then the list).
            return
        self.action_refresh()

    # -- loading ---------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Reload the queue in the background (skipped while a load is running)."""
        if self._loading:
            return
        self._loading = True
        app = self.app
        app.db(core.load_queue, app.caller, app.now(), app.policy, PAGE,
               on_done=self._loaded, on_error=self._load_failed)

    def _load_failed(self, exc: Exception) -> None:
        self._loading = False  # the app's notice follows; r tries again

    def _loaded(self, view: core.QueueView) -> None:
        self._loading = False
        self.view = view
        self._fill()
        memory.after_frame(self)     # the rows read are garbage now: give the pages back
        if self._on_first_load is not None:
            # After the rows are drawn: what it starts (the planner's thread, a resume
            # prompt) must not hold up the caller's first sight of the queue.
            callback, self._on_first_load = self._on_first_load, None
            self.call_after_refresh(callback)

    def _rows(self) -> list[Any]:
        if self.view is None:
            return []
        needle = self.filter_text.lower().strip()
        if not needle:
            return list(self.view.entries)
        return [e for e in self.view.entries if needle in core.entry_search_text(e)]

    @staticmethod
    def _add_columns(table: DataTable, widths: dict[str, int]) -> None:
        for key, label in (("name", "Customer"), ("company", "Company"), ("tier", "T"),
                           ("local", "Their time"), ("why", "Why now")):
            table.add_column(label, width=widths[key], key=key)
        table.widths = widths  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        # The rows are made again only when the columns change with the new size (the
        # first layout of rows filled before it gives the size they were made for).
        if self.view is not None and self._widths(self._rows()) != getattr(
                self.query_one(DataTable), "widths", None):
            self._fill()

    def _widths(self, rows: list[Any]) -> dict[str, int]:
        table = self.query_one(DataTable)
        needed = max((len("; ".join(core.entry_reasons(e))) for e in rows), default=20)
        # Before the first layout (the queue read with the shift's start) nothing has a
        # size yet: the screen will take the terminal's width.
        return column_widths(table.size.width or self.size.width or self.app.size.width,
                             needed)

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        keep = None
        if table.row_count and table.is_valid_row_index(table.cursor_row):
            keep = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        now = self.app.now()
        rows = self._rows()
        widths = self._widths(rows)
        if widths != getattr(table, "widths", None):
            table.clear(columns=True)
            self._add_columns(table, widths)
        else:
            table.clear()
        for entry in rows:
            customer = entry.customer
            local = now.astimezone(zone_of(customer.time_zones))
            table.add_row(
                escape(customer.name or customer.ref),
                escape(customer.company or ""),
                customer.tier or "",
                f"{local:%a %H:%M}",
                escape(fit_reasons(core.entry_reasons(entry), widths["why"])),
                key=str(customer.id),
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        self._status(len(rows))
        self.refresh_bindings()

    def _status(self, shown: int) -> None:
        view = self.view
        status = self.query_one("#queue-status", Static)
        if view is None:
            return
        parts: list[str] = []
        if self.filter_text:
            parts.append(f"{shown} of {len(view.entries)} match “{escape(self.filter_text)}”")
        elif view.entries:
            more = "+" if len(view.entries) >= PAGE else ""
            parts.append(f"[b]{len(view.entries)}{more}[/b] to call now — n takes the top one")
        else:
            parts.append("[b]Nobody to call right now.[/b]")
        if view.waiting_line:
            parts.append(escape(view.waiting_line))
        status.update("  ·  ".join(parts))

    # -- filter ----------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        box.add_class("shown")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#queue-filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.filter_text = ""
        self._fill()
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#queue-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    @on(Input.Submitted, "#queue-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    # -- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        has_rows = self.query_one(DataTable).row_count > 0
        if action in ("take_selected", "explain"):
            return has_rows and not isinstance(self.focused, Input)
        if action == "take_next":
            return bool(self.view and self.view.entries) and not isinstance(self.focused, Input)
        if action == "clear_filter":
            return bool(self.filter_text) or self.query_one("#queue-filter").has_class("shown")
        if action in ("filter", "refresh", "followups", "dashboard", "search", "agenda"):
            return not isinstance(self.focused, Input)
        if action == "accounts":   # shown (key bar, palette) to a team's admins only
            return (self.app.may("accounts.manage") and not self.app.actor.solo
                    and not isinstance(self.focused, Input))
        return True

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return int(key) if key is not None else None

    def action_take_next(self) -> None:
        if self._taking:
            return
        self._taking = True
        app = self.app
        # The top row as the screen read it: claimed after a check in the claim's lock
        # while that reading is fresh, else the queue is read again (calls.queue.claim_next).
        app.db(CallSession.take_next, app.caller, app.now(), app.policy, app.script_name,
               ahead=self.view.ahead if self.view else None,
               on_done=self._taken, on_error=self._take_failed)

    def action_take_selected(self) -> None:
        customer_id = self._selected_id()
        if customer_id is None or self._taking:
            return
        self._taking = True
        app = self.app
        entry = next((e for e in (self.view.entries if self.view else [])
                      if e.customer.id == customer_id), None)
        app.db(CallSession.take, customer_id, app.caller, app.now(), app.policy,
               app.script_name,
               reason_codes=list(entry.reason_codes) if entry is not None else None,
               on_done=self._taken, on_error=self._take_failed)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_take_selected()

    def _take_failed(self, exc: Exception) -> bool:
        self._taking = False  # the app's notice follows; the queue shows what is left
        self.action_refresh()
        return self._paused(exc)   # paused a moment ago: the paused screen says it

    def _paused(self, exc: Exception) -> bool:
        """A supervisor paused the seat a moment ago: the paused screen, not an error."""
        from calls.floor import SeatPaused

        if isinstance(exc, SeatPaused):
            self.app.seat_looked(exc.state)
            return True
        return False

    def _taken(self, session: CallSession | None) -> None:
        self._taking = False
        if session is None:
            self.notify("Nobody left to call right now.", severity="warning")
            self.action_refresh()
            return
        self._in_call = True
        self.app.push_screen(self._call_screen_for(session), self._call_ended)

    def _call_screen_for(self, session: CallSession):
        """The shift's call screen with ``session`` loaded (built and installed the first
        time: building a screen costs far more than drawing a customer into one)."""
        from tui.screens.call import CallScreen

        screen = self._call_screen
        if screen is None:
            screen = self._call_screen = CallScreen(session, takes_next=self._takes_next)
            self.app.install_screen(screen, f"call-{id(self)}")
        else:
            screen.load(session)
        return screen

    def _takes_next(self) -> bool:
        """After a saved call the next customer comes at once, unless calls left
        unfinished wait to be offered again (see offer_resume) or the seat is paused."""
        return not self._pending_unfinished and not self.app.show_pause()

    def _call_ended(self, result: str | None) -> None:
        # Back from the call screen: skipped, or saved with nobody to call next (or calls
        # to resume). A filter typed for the last customer would hide the next ones.
        self._in_call = False
        if self.filter_text or self.query_one("#queue-filter").has_class("shown"):
            self.action_clear_filter()
        if result == "done":
            self.app.show_pause()   # a pause asked for during the call shows now
        self.action_refresh()
        if self._pending_unfinished:
            rest, self._pending_unfinished = self._pending_unfinished, []
            self.offer_resume(rest)

    def on_unmount(self) -> None:
        for screen in (self._call_screen, self._followups_screen):
            if screen is not None and screen not in self.app.screen_stack:
                self.app.uninstall_screen(screen)

    def action_explain(self) -> None:
        customer_id = self._selected_id()
        if customer_id is None:
            return
        app = self.app
        app.db(core.explain_customer, customer_id, app.caller, app.now(), app.policy,
               on_done=self._explained)

    def _explained(self, result: tuple[str, list[str]]) -> None:
        from tui.screens.modals import ExplainScreen

        title, lines = result
        self.app.push_screen(ExplainScreen(title, lines))

    def action_followups(self) -> None:
        """The follow-ups screen: built the first time, then kept (installed) and shown
        again with its last list at once while it reloads."""
        from tui.screens.followups import FollowupsScreen

        screen = self._followups_screen
        if screen is None:
            screen = self._followups_screen = FollowupsScreen()
            self.app.install_screen(screen, f"followups-{id(self)}")
        self.app.push_screen(screen)

    # -- any customer, my callbacks --------------------------------------------------

    def action_search(self) -> None:
        from tui.screens.search import SearchScreen

        app = self.app
        region = _home_region(app)
        self.app.push_screen(SearchScreen(region, may_edit=_may_edit_customers(app)),
                             self._picked)

    def _picked(self, pick) -> None:
        if pick is not None:
            self._take_customer(pick.customer_id, inbound=pick.inbound)

    def action_agenda(self) -> None:
        from tui.screens.agenda import AgendaScreen

        self.app.push_screen(AgendaScreen(),
                             lambda cid: cid is not None and self._take_customer(cid))

    def _take_customer(self, customer_id: int, inbound: bool = False) -> None:
        """Call a customer picked outside the queue's rows (search, agenda)."""
        if self._taking:
            return
        self._taking = True
        app = self.app
        app.db(CallSession.take, customer_id, app.caller, app.now(), app.policy,
               app.script_name, inbound=inbound, on_done=self._taken,
               on_error=self._take_refused)

    def _take_refused(self, exc: Exception) -> bool:
        # "cannot be taken: ..." is an answer, not a failure: said once, as a warning.
        self._taking = False
        from calls.errors import UserError

        if self._paused(exc):
            return True
        if isinstance(exc, UserError):
            self.notify(str(exc), severity="warning", timeout=8)
            return True
        return False

    def on_key(self, event) -> None:
        # The accounts key is an admin's (not in anyone else's key bar or palette).
        self.app.refuse_role_key(event, "queue-accounts", "u", "accounts.manage")

    def action_accounts(self) -> None:
        if self.app.refuse_unless("accounts.manage"):
            from tui.screens.accounts import AccountsScreen

            self.app.push_screen(AccountsScreen())

    def action_dashboard(self) -> None:
        if self.app.refuse_unless("dashboard"):
            from tui.screens.dashboard import DashboardScreen

            self.app.push_screen(DashboardScreen())

    # -- resume ----------------------------------------------------------------------

    def offer_resume(self, unfinished: list[Any]) -> None:
        """Ask about each unfinished call of this caller, one after another."""
        if not unfinished:
            return
        from tui.screens.resume import ResumeScreen

        call, rest = unfinished[0], unfinished[1:]

        def answered(choice: str | None) -> None:
            app = self.app
            if choice == "resume":
                self._pending_unfinished = rest  # offered again when this call is done
                app.db(CallSession.resume, call.call.id, app.caller, app.now(), app.policy,
                       app.script_name, on_done=self._taken, on_error=self._take_failed)
                return
            if choice == "partial":
                app.db(close_unfinished, call.call.id, app.caller, app.now(), app.policy,
                       on_done=lambda _r: (self.notify("Closed as partial."),
                                           self.action_refresh()))
            self.offer_resume(rest)

        self.app.push_screen(ResumeScreen(call), answered)


def column_widths(width: int, why_needed: int) -> dict[str, int]:
    """Column widths for a table ``width`` cells wide: the reason gets the room it needs
    (up to what is left), the company shortens first, then the name."""
    # Each column has a cell of padding on either side; the scroll bar takes two.
    avail = max(width - 2 - 2 * 5, 40)
    tier, local = 1, 10                   # "Their time" / "Wed 14:05"
    rest = avail - tier - local
    why = max(min(why_needed, rest - 14), min(24, rest - 14))
    name = min(22, rest - why)
    company = rest - why - name
    if company > 18:                      # a wide terminal: the reason takes the spare
        why += company - 18
        company = 18
    if company < 5:                       # too narrow to read: the name gets it
        name += company
        company = 0
    return {"name": name, "company": company, "tier": tier, "local": local, "why": why}


def fit_reasons(reasons: list[str], width: int) -> str:
    """The reasons that fit in ``width`` cells, whole, and "+N" for the rest (the card and
    ``e`` show them all): a reason cut in the middle reads wrong ("A-tier ca")."""
    if not reasons:
        return ""
    shown: list[str] = []
    for i, reason in enumerate(reasons):
        rest = len(reasons) - i - 1
        more = f" +{rest}" if rest else ""
        text = "; ".join([*shown, reason]) + more
        if len(text) > width:
            break
        shown.append(reason)
    else:
        return "; ".join(shown)
    left = len(reasons) - len(shown)
    if not shown:                          # not even one fits: the first, shortened
        more = f" +{left - 1}" if left > 1 else ""
        room = max(width - len(more) - 1, 1)
        # cut where a part of it ends: "at risk: buying slowed…", not "at risk: buying
        # slowed (last order 900…" (900 what?)
        first = reasons[0]
        ends = [m.start() for m in re.finditer(r", | \(", first) if m.start() <= room]
        return first[:ends[-1] if ends else room].rstrip() + "…" + more
    return "; ".join(shown) + f" +{left}"


def _home_region(app) -> str | None:
    """The region for numbers typed without a country code: the config file's ``[defaults]
    region``; None: the search reads them where most customers are (``home_region``)."""
    config = getattr(app, "config", None)
    region = getattr(getattr(config, "defaults", None), "region", None)
    return region.strip().upper() if isinstance(region, str) and region.strip() else None


def _may_edit_customers(app) -> bool:
    """Supervisors and admins add and correct customers (in the one-person trial, the one
    user may)."""
    return app.may("customers.edit")
