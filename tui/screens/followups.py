"""The follow-ups screen: my callbacks and actions (or the team's), due first.

Keys: d marks the highlighted follow-up done (with a note; closing a fix_problem puts a
recovery call in the queue), s reschedules it, x cancels it, c calls the customer now (a
callback or recovery call), o opens the customer (their
card and every follow-up), t switches between my follow-ups and the team's, / filters,
Esc goes back. Also here: :class:`CallbackAnnouncer`, which the app runs on any screen
to announce callbacks due in the next minutes.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static
from textual.widgets.data_table import CellDoesNotExist

from calls import followups as fu
from calls.errors import UserError
from calls.models import kind_label
from calls.records import record
from calls.store.customers import get_customer, time_zones_of
from tui.screens.kept import KeptStyles
from tui.stack import shows
from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.tables import PagedTable

REFRESH_SECONDS = 30
# Width of the Due, Kind, Customer and Owner columns plus cell padding and the scrollbar.
_FIXED_COLUMNS = 16 + 14 + 18 + 8 + 2 * 5 + 2
LIMIT = 500
# Rows the table holds at first (at least: a screenful and ten); the rest are added a page
# at a time as the cursor or the scroll comes near (tui.widgets.tables.PagedTable).
FIRST_ROWS = 40
# Kinds the caller makes by phone: shown in the customer's local time.
_PHONE_KINDS = fu.CALL_KINDS


def _zone(names: tuple[str, ...] | list[str] | None) -> ZoneInfo:
    for name in names or ():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone name in old data: try the next, else UTC
    return ZoneInfo("UTC")


def _local_zone():
    return datetime.now().astimezone().tzinfo


def format_due(f: fu.Followup, now: datetime, zone) -> str:
    """``today 14:30`` / ``tomorrow 09:00`` / ``Tue 10 Mar 14:30`` in ``zone``; ``-`` if none."""
    if f.due_at is None:
        return "-"
    local = f.due_at.astimezone(zone)
    today = now.astimezone(zone).date()
    days = (local.date() - today).days
    if days == 0:
        return f"today {local:%H:%M}"
    if days == 1:
        return f"tomorrow {local:%H:%M}"
    if days == -1:
        return f"yesterday {local:%H:%M}"
    return f"{local:%a %d %b %H:%M}"


# -- database work (runs on the app's database thread) ---------------------------------


@record
class FollowupsView:
    """What the screen shows: the first follow-ups, each customer's time zones, and the
    counts over all of them (the list stops at ``LIMIT``)."""

    rows: list[fu.Followup]
    zones: dict[int, tuple[str, ...]] = field(default_factory=dict)
    counts: fu.OpenCounts | None = None


def load_followups(
    store, owner: str | None, now: datetime | None = None, limit: int = LIMIT
) -> FollowupsView:
    """Open follow-ups (of ``owner``, or everybody's with None), due first."""
    rows = fu.list_followups(store, owner=owner, limit=limit)
    zones = time_zones_of(store, (f.customer_id for f in rows))
    counts = fu.count_open(store, now, owner) if now is not None else None
    return FollowupsView(rows, zones, counts)


@record
class CustomerFollowups:
    """One customer with all their follow-ups (any status)."""

    customer: Any
    followups: list[fu.Followup]


def load_customer(store, customer_id: int) -> CustomerFollowups:
    """The customer and every follow-up they have had, newest due first."""
    customer = get_customer(store, customer_id)
    if customer is None:
        raise UserError(f"no customer with id {customer_id}")
    rows = fu.list_followups(store, customer_id=customer_id, status=None)
    return CustomerFollowups(customer, rows)


def close_with_recovery(store, followup_id: int, by: str, note: str, now: datetime, policy,
                        actor=None, themes: Any = None):
    """Close a follow-up; returns it and the recovery call it opened (if any). A fix gets
    its themes: ``themes`` (a ThemeChoice) confirmed, else the suggestions stored."""
    closed = fu.close_followup(store, followup_id, by=by, note=note, now=now, policy=policy,
                               actor=actor)
    recovery = fu.recovery_for(store, closed.id) if closed.kind == "fix_problem" else None
    if closed.kind == "fix_problem":
        from calls.themes import tag_followup

        chosen = themes.themes.get("fix") if themes is not None else None
        tag_followup(store, closed.id, now, by, chosen=chosen,
                     root_cause=bool(themes and themes.root_cause), policy=policy)
    return closed, recovery


# -- dialogs ----------------------------------------------------------------------------


class _Dialog(ModalScreen):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel", id="followups-dialog-cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class CloseNoteScreen(_Dialog):
    """Ask for the closing note; required when closing a fix_problem. Returns the note."""

    def __init__(self, f: fu.Followup, verb: str = "done") -> None:
        super().__init__()
        self.followup = f
        self.verb = verb
        self.required = verb == "done" and f.kind == "fix_problem"

    def compose(self) -> ComposeResult:
        f = self.followup
        what = "Mark done" if self.verb == "done" else "Cancel"
        with Vertical(classes="dialog"):
            yield Label(
                f"[b]{what} #{f.id} {kind_label(f.kind)}[/b] — "
                f"{escape(f.customer_name or f.customer_ref)}",
                classes="title",
            )
            if f.details:
                yield Static(escape(f.details), classes="hint")
            if self.required:
                prompt = "What was done? (the recovery call tells the customer)"
            elif self.verb == "done":
                prompt = "Note (optional)"
            else:
                prompt = "Why is it cancelled?"
            yield Label(prompt)
            yield Input(id="close-note", placeholder="Enter to save, Esc to go back")
            yield Static("", id="error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#close-note", Input).focus()

    @on(Input.Submitted, "#close-note")
    def _submit(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if self.required and not note:
            self.query_one("#error", Static).update("Say what was done to fix it.")
            return
        self.dismiss(note)


class RescheduleScreen(_Dialog):
    """Ask for a new due time (read in the zone given). Returns the UTC moment."""

    def __init__(self, f: fu.Followup, now: datetime, zone, zone_label: str) -> None:
        super().__init__()
        self.followup = f
        self.now = now
        self.zone = zone
        self.zone_label = zone_label

    def compose(self) -> ComposeResult:
        f = self.followup
        with Vertical(classes="dialog"):
            yield Label(
                f"[b]Reschedule #{f.id} {kind_label(f.kind)}[/b] — "
                f"{escape(f.customer_name or f.customer_ref)}",
                classes="title",
            )
            yield Static(f"Now due {format_due(f, self.now, self.zone)} ({self.zone_label})")
            yield Input(id="new-due", placeholder="+2h, +3d, tomorrow, 2026-03-15T14:30")
            yield Static(f"Times are in {escape(self.zone_label)}.", classes="hint")
            yield Static("", id="error", classes="error")

    def on_mount(self) -> None:
        self.query_one("#new-due", Input).focus()

    @on(Input.Submitted, "#new-due")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            when = fu.parse_when(event.value, self.now, self.zone)
        except UserError as exc:
            self.query_one("#error", Static).update(escape(str(exc)))
            return
        self.dismiss(when)


class CustomerFollowupsScreen(_Dialog):
    """A customer's card and every follow-up they have had."""

    CSS_PATH = "followups.tcss"

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape,o,enter", "cancel", "Close", id="customer-followups-close")]

    def __init__(self, data: CustomerFollowups, now: datetime) -> None:
        super().__init__()
        self.data = data
        self.now = now

    def compose(self) -> ComposeResult:
        c = self.data.customer
        zone = _zone(c.time_zones)
        lines = [
            f"[b]{escape(c.name or c.ref)}[/b]  {escape(c.company or '')}  ({escape(c.ref)})",
            (
                f"Phone {escape(c.phone or '-')} · tier {c.tier or '-'} · owner "
                f"{escape(c.owner or '-')} · their time {self.now.astimezone(zone):%a %H:%M}"
            ),
        ]
        if c.do_not_call:
            lines.append("[red]On the do-not-call list[/red]")
        if c.birthday or c.customer_since:
            lines.append(f"Birthday {c.birthday or '-'} · customer since {c.customer_since or '-'}")
        lines.append("")
        if not self.data.followups:
            lines.append("No follow-ups.")
        for f in self.data.followups:
            # Calls are due in the customer's time (as they asked), the rest in ours.
            theirs = f.kind in _PHONE_KINDS and bool(c.time_zones)
            due = format_due(f, self.now, zone if theirs else _local_zone())
            if theirs and f.due_at is not None:
                due += " their time"
            head = (
                f"#{f.id} [b]{kind_label(f.kind)}[/b] · {f.status} · "
                f"due {due} · {escape(f.owner or 'anyone')}"
            )
            lines.append(head)
            if f.details:
                lines.append("   " + escape(f.details.replace("\n", "\n   ")))
            if f.status != "open":
                closed = f"   closed by {escape(f.closed_by or '?')}"
                if f.close_note:
                    closed += f": {escape(f.close_note)}"
                lines.append(closed)
            if f.score_before is not None or f.score_after is not None:
                lines.append(f"   NPS {f.score_before} -> {f.score_after}")
        with Vertical(classes="dialog"):
            with VerticalScroll(id="customer-followups"):
                yield Static("\n".join(lines))
            yield Static("Esc: close", classes="hint")


# -- the screen -------------------------------------------------------------------------


class FollowupsScreen(KeptStyles, Screen):
    """The caller's own follow-ups, due first; t switches to the team's."""

    BETWEEN_CALLS: ClassVar[bool] = True   # the seat may pause here (tui/seat.py)

    CSS_PATH = "followups.tcss"

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("d", "done", "Done", tooltip="Mark the highlighted follow-up done", id="followups-done"),
        Binding("s", "reschedule", "Move", tooltip="Reschedule the highlighted follow-up", id="followups-reschedule"),
        Binding("x", "cancel_followup", "Cancel", tooltip="Cancel the highlighted follow-up", id="followups-cancel-followup"),
        Binding("c", "call_now", "Call now", tooltip="Take this customer and call them now", id="followups-call-now"),
        Binding("o", "open_customer", "Customer", tooltip="The customer and all their follow-ups", id="followups-open-customer"),
        Binding("t", "toggle_team", "Team", tooltip="Switch between my follow-ups and the team's", id="followups-toggle-team"),
        # The same key back from the team's list says where it goes (one id: remapped together).
        Binding("t", "toggle_mine", "Mine", tooltip="Switch between my follow-ups and the team's", id="followups-toggle-team"),
        Binding("g", "reassign", "Give to", tooltip="Give the highlighted follow-up to someone "
                "else (supervisors)", id="followups-reassign"),
        Binding(
            "slash", "filter", "Filter", key_display="/", show=False, tooltip="Filter follow-ups"
        , id="followups-filter"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Reload the follow-ups", id="followups-refresh"),
        Binding("escape", "back", "Back", tooltip="Back to the queue", id="followups-back"),
    ]

    def __init__(self, team: bool = False) -> None:
        super().__init__()
        self.team = team
        self.view: FollowupsView | None = None
        self.filter_text = ""
        self._loading = False

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        yield Static("Loading follow-ups…", id="fu-status")
        yield Input(
            placeholder="filter: name, ref, kind, owner or note (Esc clears)", id="fu-filter"
        )
        table = PagedTable(id="fu-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Due", width=16, key="due")
        table.add_column("Kind", width=14, key="kind")
        table.add_column("Customer", width=18, key="customer")
        table.add_column("Owner", width=8, key="owner")
        table.add_column("What", key="what")
        yield table
        yield Static("", id="fu-details")
        yield KeyBar()

    def on_mount(self) -> None:
        self.action_refresh()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.query_one(DataTable).focus()

    def _tick(self) -> None:
        # Only the screen on top reloads by itself; a covered one reloads when resumed.
        if shows(self):   # (Textual's is_current holds under a full screen too)
            self.action_refresh()

    def on_resize(self) -> None:
        if self.view is not None and shows(self):   # hidden: it reloads when shown again
            self._fill()

    def on_screen_resume(self) -> None:
        # Shown again, it shows its last list at once and reloads once that is drawn: the
        # load's thread would share the interpreter with the drawing. (Shown the first
        # time, the load asked for on mount is on its way.)
        if not self._loading:
            self.call_after_refresh(self.action_refresh)

    def on_screen_suspend(self) -> None:
        # Kept all shift (the queue shows it again at once), but closed or covered it
        # needs only what it will show first: trimmed after the next frame.
        self.app.call_after_refresh(self._keep_what_shows)

    def _keep_what_shows(self) -> None:
        """Keep only the rows down to a screenful below the cursor (what shows again
        first, the cursor where it was), in the table and the list: a seat held the whole
        list (up to ``LIMIT`` rows, ~1.5 MB at 300) all shift. Shown again, the screen
        reloads and pages the rest in as when it opened (``_fill``)."""
        if shows(self) or self.view is None:
            return
        table = self.query_one(PagedTable)
        table.keep(max(FIRST_ROWS, (table.cursor_row or 0) + table.size.height + 10))
        kept = {key.value for key in table.rows}
        view = self.view
        rows = [f for f in view.rows if str(f.id) in kept]
        customers = {f.customer_id for f in rows}
        self.view = FollowupsView(rows, {c: z for c, z in view.zones.items() if c in customers},
                                  view.counts)

    # -- loading ---------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Reload in the background (skipped while a load is running)."""
        if self._loading:
            return
        self._loading = True
        owner = None if self.team else self.app.caller
        team = self.team
        self.app.db(
            load_followups,
            owner,
            self.app.now(),
            on_done=lambda view: self._loaded(view, team),
            on_error=self._load_failed,
        )

    def _load_failed(self, exc: Exception) -> None:
        self._loading = False  # the app's notice follows

    def _loaded(self, view: FollowupsView, team: bool) -> None:
        self._loading = False
        if team != self.team:
            # The caller switched views while this was loading: load the one wanted now.
            self.action_refresh()
            return
        self.view = view
        self._fill()

    def _rows(self) -> list[fu.Followup]:
        if self.view is None:
            return []
        needle = self.filter_text.lower().strip()
        if not needle:
            return list(self.view.rows)
        return [
            f
            for f in self.view.rows
            if needle
            in " ".join(
                (
                    f.customer_name,
                    f.customer_ref,
                    f.customer_company or "",
                    f.kind,
                    kind_label(f.kind),
                    f.owner or "anyone",
                    f.details,
                )
            ).lower()
        ]

    def _zone_for(self, f: fu.Followup):
        if f.kind in _PHONE_KINDS and self.view is not None:
            names = self.view.zones.get(f.customer_id)
            if names:
                return _zone(names), f"their time, {names[0]}"
        return _local_zone(), "your time"

    def _fill(self) -> None:
        """Show the (filtered) list: the rows that fit on screen and a page more in the
        table (the rows it holds already changed only where they differ,
        :meth:`tui.widgets.tables.PagedTable.show`), the rest added as the caller moves
        down; the highlighted follow-up stays highlighted."""
        table = self.query_one(PagedTable)
        keep = self._selected_id()
        now = self.app.now()
        rows = self._rows()
        # The last column gets what is left of the width: no sideways scrolling at 80x24.
        room = max(12, self.size.width - _FIXED_COLUMNS)
        first = max(FIRST_ROWS, table.size.height + 10)
        at = next((i for i, f in enumerate(rows) if f.id == keep), None)
        if at is not None:
            first = max(first, at + table.size.height + 10)
        table.show([(str(f.id), self._cells(f, now, room)) for f in rows], first)
        if at is not None and table.cursor_row != at:
            table.move_cursor(row=at)
        self._status(rows, now)
        self._show_details()
        self.refresh_bindings()

    def _cells(self, f: fu.Followup, now: datetime, room: int) -> tuple[str, ...]:
        """One follow-up's row: due (red when overdue), kind, customer, owner, what."""
        zone, _label = self._zone_for(f)
        due = format_due(f, now, zone)
        if f.is_overdue(now):
            due = f"[red]{due}[/red]"
        what = f.details.splitlines()[0] if f.details else ""
        if len(what) > room:
            what = what[: max(room - 1, 1)] + "…"
        return (due, kind_label(f.kind), escape(f.customer_name or f.customer_ref),
                escape(f.owner or "anyone"), escape(what))

    def _status(self, rows: list[fu.Followup], now: datetime) -> None:
        whose = "The team's" if self.team else "My"
        view = self.view
        shown = len(view.rows) if view else 0
        counts = view.counts if view else None
        if counts is not None and not self.filter_text:
            total, due, overdue = counts.open, counts.due, counts.overdue
        else:
            total = shown
            due = sum(1 for f in rows if f.is_due(now))
            overdue = sum(1 for f in rows if f.is_overdue(now))
        text = f"[b]{whose} open follow-ups: {total}[/b]"
        if total > shown and not self.filter_text:
            text += f" (first {shown})"
        if self.filter_text:
            text += f" · {len(rows)} match “{escape(self.filter_text)}”"
        text += f" · due now {due} · overdue {overdue}"
        if self.team or self.app.may("followups.team"):
            text += " · t: " + ("mine" if self.team else "team view")
        if not total:
            text += " — nothing to do."
        self.query_one("#fu-status", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        f = self._selected()
        box = self.query_one("#fu-details", Static)
        if f is None:
            box.update("")
            return
        _zone_obj, label = self._zone_for(f)
        bits = [f"#{f.id} {escape(f.customer_ref)}"]
        if f.customer_company:
            bits.append(escape(f.customer_company))
        bits.append(f"created by {escape(f.created_by or f.source or '?')}")
        if f.due_at is not None:
            bits.append(f"due in {label}")
        text = " · ".join(bits)
        if f.details:
            text += "\n" + escape(f.details)
        box.update(text)

    # -- selection -------------------------------------------------------------------

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count or table.cursor_row is None:
            return None
        try:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except CellDoesNotExist:  # cursor outside the rows while the table refills
            return None
        return int(key) if key is not None else None

    def _selected(self) -> fu.Followup | None:
        wanted = self._selected_id()
        if wanted is None or self.view is None:
            return None
        return next((f for f in self.view.rows if f.id == wanted), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = isinstance(self.focused, Input)
        if action in ("done", "reschedule", "cancel_followup", "open_customer"):
            return not typing and self._selected() is not None
        if action == "reassign":
            return (not typing and self._selected() is not None
                    and self.app.may("followups.reassign"))
        if action == "call_now":
            selected = self._selected()
            return not typing and selected is not None and selected.kind in _PHONE_KINDS
        if action == "toggle_team":   # shown to those who may see the team's only
            return not typing and not self.team and self.app.may("followups.team")
        if action == "toggle_mine":
            return not typing and self.team
        if action in ("filter", "refresh"):
            return not typing
        return True

    # -- actions ---------------------------------------------------------------------

    def action_back(self) -> None:
        if self.filter_text or self.query_one("#fu-filter").has_class("shown"):
            self._clear_filter()
            return
        self.app.pop_screen()

    def on_key(self, event) -> None:
        self.app.refuse_role_key(event, "followups-toggle-team", "t", "followups.team")

    def action_toggle_team(self) -> None:
        if not self.team and not self.app.refuse_unless("followups.team"):
            return
        self.team = not self.team
        self.view = None
        self.action_refresh()

    def action_toggle_mine(self) -> None:
        self.action_toggle_team()

    def action_filter(self) -> None:
        box = self.query_one("#fu-filter", Input)
        box.add_class("shown")
        box.focus()

    def _clear_filter(self) -> None:
        box = self.query_one("#fu-filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.filter_text = ""
        self._fill()
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#fu-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    @on(Input.Submitted, "#fu-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_done(self) -> None:
        f = self._selected()
        if f is None:
            return

        def close(note: str, themes: Any = None) -> None:
            app = self.app
            app.db(
                close_with_recovery,
                f.id,
                app.caller,
                note,
                app.now(),
                app.policy,
                actor=app.actor,
                themes=themes,
                on_done=self._show_closed,
            )

        def closed(note: str | None) -> None:
            if note is None:
                return
            if f.kind != "fix_problem":
                close(note)
                return
            # The owner confirms what the problem was about, and whether the fix removed
            # the cause for everyone (issue 17); Esc keeps the suggested themes.
            from calls.themes import followup_text, suggest
            from tui.widgets.themes import ThemeItem, ThemesScreen

            policy = self.app.policy
            text = followup_text(f.details, note)
            item = ThemeItem("fix", "Problem and fix", text, tuple(suggest(text, policy.themes)))
            vocabulary = [(t.key, t.label) for t in policy.themes.vocabulary]
            self.app.push_screen(
                ThemesScreen([item], vocabulary, root_cause=False,
                             title=f"Themes of fix #{f.id}"),
                lambda choice: close(note, choice))

        self.app.push_screen(CloseNoteScreen(f, "done"), closed)

    # Not ``_closed``: Textual keeps a ``_closed`` flag on every message pump, and a
    # method of that name was replaced by it ("'bool' object is not callable").
    def _show_closed(self, result) -> None:
        closed, recovery = result
        message = f"Done: #{closed.id} {kind_label(closed.kind)} for {closed.customer_name}."
        if recovery is not None:
            message += " A recovery call is now in the queue."
        elif closed.kind == "fix_problem":
            message += " No recovery call: the customer is on the do-not-call list."
        self.notify(message)
        self.action_refresh()

    def action_cancel_followup(self) -> None:
        f = self._selected()
        if f is None:
            return

        def cancelled(note: str | None) -> None:
            if note is None:
                return
            app = self.app
            app.db(
                fu.cancel_followup,
                f.id,
                by=app.caller,
                note=note,
                now=app.now(),
                actor=app.actor,
                on_done=lambda g: (self.notify(f"Cancelled #{g.id}."), self.action_refresh()),
            )

        self.app.push_screen(CloseNoteScreen(f, "cancel"), cancelled)

    def action_reschedule(self) -> None:
        f = self._selected()
        if f is None:
            return
        zone, label = self._zone_for(f)
        now = self.app.now()

        def chosen(when: datetime | None) -> None:
            if when is None:
                return
            app = self.app
            app.db(
                fu.reschedule_followup,
                f.id,
                when,
                app.caller,
                app.now(),
                actor=app.actor,
                on_done=lambda g: (
                    self.notify(f"#{g.id} now due {format_due(g, app.now(), zone)}."),
                    self.action_refresh(),
                ),
            )

        self.app.push_screen(RescheduleScreen(f, now, zone, label), chosen)

    def action_reassign(self) -> None:
        """A supervisor gives the follow-up to another owner (or anyone)."""
        f = self._selected()
        if f is None or not self.app.refuse_unless("followups.reassign"):
            return
        from tui.screens.team import ReassignScreen

        def chosen(name: str | None) -> None:
            if name is None:
                return
            app = self.app
            owner = None if name.lower() == "anyone" else name
            app.db(fu.reassign_followup, f.id, owner, by=app.caller, now=app.now(),
                   actor=app.actor,
                   on_done=lambda g: (self.notify(f"#{g.id} is now {g.owner or 'anyone'}'s."),
                                      self.action_refresh()))

        what = f"#{f.id} {kind_label(f.kind)} for {f.customer_name}"
        self.app.push_screen(ReassignScreen(what, f.owner), chosen)

    def action_call_now(self) -> None:
        """Claim the customer of a callback / recovery call and open the call screen."""
        f = self._selected()
        if f is None or f.kind not in _PHONE_KINDS:
            return
        from calls.session import CallSession

        app = self.app
        app.db(
            CallSession.take,
            f.customer_id,
            app.caller,
            app.now(),
            app.policy,
            app.script_name,
            on_done=self._taken,
        )

    def _taken(self, session) -> None:
        from tui.screens.call import CallScreen

        # Back here when the call is over; the list reloads on resume.
        self.app.push_screen(CallScreen(session))

    def action_open_customer(self) -> None:
        f = self._selected()
        if f is None:
            return
        app = self.app
        app.db(
            load_customer,
            f.customer_id,
            on_done=lambda data: app.push_screen(CustomerFollowupsScreen(data, app.now())),
        )

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_customer()


# -- callbacks due soon, announced on any screen ---------------------------------------


class CallbackAnnouncer:
    """Announces (``notify``) the caller's callbacks due in the next minutes, once each.

    The app makes one in its ``on_mount`` and starts it; it checks every ``every``
    seconds on the database thread. A rescheduled callback is announced again.
    """

    def __init__(self, app, minutes: int = 10, every: float = 60.0) -> None:
        self.app = app
        self.minutes = minutes
        self.every = every
        self._announced: set[tuple[int, str]] = set()
        self._started = False

    def start(self) -> None:
        """Check now and then every ``every`` seconds."""
        if self._started:
            return  # already running: the same callback must not be announced twice
        self._started = True
        self.check()
        self.app.set_interval(self.every, self.check)

    def check(self) -> None:
        """Look for callbacks due soon (in the background)."""
        app = self.app
        app.db(
            fu.callbacks_due_soon,
            app.caller,
            app.now(),
            self.minutes,
            on_done=self._announce,
            quiet=True,  # looked for again in a minute
        )

    def _on_the_phone_with(self) -> int | None:
        """The customer the caller is on a call with now (any screen of the call)."""
        for screen in reversed(self.app.screen_stack):
            session = getattr(screen, "session", None)
            if session is not None and not getattr(session, "ended", True):
                return session.customer.id
        return None

    def _announce(self, due: list[fu.Followup]) -> None:
        now = self.app.now()
        busy_with = self._on_the_phone_with()
        for f in due:
            key = (f.id, f.due_at.isoformat() if f.due_at else "")
            if key in self._announced:
                continue
            self._announced.add(key)
            if f.customer_id == busy_with:
                continue          # the caller is on that very call: nothing to announce
            minutes = round((f.due_at - now).total_seconds() / 60) if f.due_at else 0
            when = f"in {minutes} min" if minutes > 0 else "now"
            whose = "your" if f.owner else "a"
            self.app.notify(
                f"Callback due {when}: {f.customer_name or f.customer_ref}"
                + (f" ({f.details.splitlines()[0]})" if f.details else ""),
                title=f"{whose.capitalize()} callback",
                timeout=20,
            )
