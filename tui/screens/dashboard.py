"""The supervisor's dashboard: the floor now, today's shift per caller, the week's rates
and NPS, coverage per tier and the follow-up backlog, refreshing by itself.

It is a screen of the one app (``make_app(..., mode="dashboard")`` for ``carecall
dashboard``, or pushed from a supervisor's queue). The figures come from
:class:`calls.dashboard.DashboardFigures` through the app's worker path on the
``reports`` lane (:mod:`tui.database`): a connection of its own, so that a dashboard
query over a large database never queues in front of (or behind) a caller's writes, and
WAL lets it read while others write. Each load is two jobs: the floor, today's shift and
the escalations first (drawn at once), then the week, the 30-day lines, coverage and the
backlog. The figures are read again only when something was written or the clock moved
past a moment that changes them; the screen draws again only what changed. Pausing a
caller or releasing their claims are the seat's writes. Charts are drawn with Textual's
own widgets (``Sparkline`` for the 30-day lines, block bars for coverage): no plotting
dependency is needed for four small charts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Sparkline, Static

from calls.clock import UTC, from_iso
from calls.dashboard import DashboardFigures, DashboardLive
from calls.deadlines import DEADLINE_LABEL, Escalation, late_by_kind
from calls.floor import RATE_AFTER_SECONDS, CallerFloor
from calls.models import kind_label
from calls.policy import DEFAULT_POLICY
from calls.reports import (
    DashboardPeriod,
    DashboardToday,
    GroupRow,
    count_text,
    nps_text,
    percent_text,
)
from tui import memory
from tui.database import REPORTS
from tui.widgets.escalations import describe, waited_text
from tui.widgets.key_bar import KeyBar
from tui.widgets.tables import Column, FigureTable, PagedFigureTable, fill_fitted
from tui.widgets.text import show_text

REFRESH_SECONDS = 30.0

# Cut or left out to fit the width (tui.widgets.tables.fit_columns); Enter on a caller
# shows every figure.
FLOOR_COLUMNS = (Column("caller", shrink=8, keep=3), Column("state", shrink=10, keep=3),
                 Column("for", keep=2), Column("customer", shrink=10, keep=1))
TODAY_COLUMNS = (Column("caller", shrink=8, keep=9), Column("tries", keep=7),
                 Column("contacts", keep=5), Column("done", keep=8), Column("RR1", keep=4),
                 Column("NPS", keep=3), Column("calls/h", keep=6), Column("handle", keep=2))
BACKLOG_COLUMNS = (Column("kind", shrink=7, keep=9), Column("open", keep=8),
                   Column("late", keep=7), Column("done", keep=5), Column("days", keep=4))
ESCALATED_COLUMNS = (Column("#", keep=6), Column("kind", shrink=6, keep=7),
                     Column("customer", shrink=8, keep=8), Column("owner", shrink=6, keep=4),
                     Column("late for", shrink=8, keep=5),
                     # "04 Dec 09:45…": cut after the minute, never inside it
                     Column("escalated", shrink=13, keep=3), Column("waited", keep=2))


def _pct(value: float | None) -> str:
    return percent_text(value, 0)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _aht(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


def coverage_bar(share: float | None, width: int = 20) -> str:
    """A text bar for a percentage: ``██████░░░░``."""
    if share is None:
        return "░" * width
    full = round(width * max(0.0, min(share, 100.0)) / 100)
    return "█" * full + "░" * (width - full)


class DashboardScreen(Screen[None]):
    """Live supervisor figures; ``r`` refreshes now, ``escape`` goes back."""

    CSS_PATH = "dashboard.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "pause_caller", "Pause caller", id="dashboard-pause-caller",
                tooltip="Pause the highlighted caller (e.g. for coaching): no more customers"),
        Binding("x", "release_caller", "Release claims", id="dashboard-release-caller",
                tooltip="Give back every customer the highlighted caller holds"),
        Binding("r", "refresh_now", "Refresh", tooltip="Refresh the dashboard now",
                id="dashboard-refresh-now"),
        Binding("enter", "caller_figures", "Caller", show=False, id="dashboard-caller",
                tooltip="All the figures of the highlighted caller (also those left out at "
                        "80 columns)"),
        Binding("escape", "back", "Back", tooltip="Back to the queue", id="dashboard-back"),
        Binding("q", "quit_or_back", "Quit", show=False, id="dashboard-quit",
                tooltip="Quit the dashboard (back to the queue when opened from it)"),
    ]

    def __init__(self, *, refresh_seconds: float = REFRESH_SECONDS,
                 tz: tzinfo | None = None) -> None:
        super().__init__()
        # "Today" is the supervisor's today: the zone of this terminal unless told.
        self.tz = tz or datetime.now().astimezone().tzinfo or UTC
        self.refresh_seconds = refresh_seconds
        self.today: DashboardToday | None = None
        self.period: DashboardPeriod | None = None
        self.escalations: list[Escalation] | None = None
        self.floor: list[CallerFloor] = []
        self.loads = 0        # complete loads drawn (both parts)
        self.live_loads = 0   # first parts drawn
        self._loading = False
        self._escalations_seen: set[int] | None = None  # None: the first load announces none
        self.figures: DashboardFigures | None = None  # made at the first load (app's policy)
        self.standalone = False       # opened by carecall dashboard (set on mount)

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("[b]carecall[/b] · supervisor dashboard", id="dash-heading")
        with VerticalScroll(id="dash-body"):
            with Vertical(classes="dash-box"):
                yield Label("The floor now · Enter on a caller: all their figures",
                            classes="dash-title")
                yield FigureTable(id="floor", cursor_type="row", zebra_stripes=True)
            with Vertical(classes="dash-box"):
                yield Label("Today's shift", classes="dash-title")
                yield FigureTable(id="today", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="dash-row"):
                with Vertical(classes="dash-box"):
                    yield Label("Last 7 days", classes="dash-title")
                    yield Static("loading…", id="week")
                with Vertical(classes="dash-box"):
                    yield Label("Coverage per tier", classes="dash-title")
                    yield Static("loading…", id="coverage")
            with Horizontal(classes="dash-row"):
                with Vertical(classes="dash-box"):
                    yield Label("NPS per day, last 30 days", classes="dash-title")
                    yield Sparkline([], id="nps-line")
                    yield Label("Attempts per day, last 30 days", classes="dash-title")
                    yield Sparkline([], id="attempts-line")
                    yield Static("", id="lines-caption")
                with Vertical(classes="dash-box", id="backlog-box"):
                    yield Label("Follow-up backlog (done, days: 7 d)", classes="dash-title")
                    yield FigureTable(id="backlog", cursor_type="row")
            with Vertical(classes="dash-box"):
                yield Label("Escalated: past their deadline", classes="dash-title",
                            id="escalated-title")
                # Hundreds on a large list: rows made for what shows and a page more.
                yield PagedFigureTable(id="escalated", cursor_type="row", zebra_stripes=True)
        yield Static("", id="updated")
        yield KeyBar()

    def on_mount(self) -> None:
        # Opened on its own (carecall dashboard) there is nothing to go back to: no "Back";
        # q or ctrl+q quits. Pushed from a supervisor's queue, esc goes back there.
        self.standalone = getattr(self.app, "mode", "shift") == "dashboard"
        self.load()
        if self.refresh_seconds:
            self.set_interval(self.refresh_seconds, self.load)

    def on_resize(self) -> None:
        # The floor and today's tables are fitted to their boxes: fit them again once the
        # boxes have their new size.
        self.call_after_refresh(self._fit_tables)

    def _fit_tables(self) -> None:
        if self.today is not None:
            self.show_today(self.today)
            self.show_floor(self.floor)
        if self.period is not None:
            self._draw_backlog()
        if self.escalations is not None:
            self._draw_escalations()

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load the figures through the app's worker path, the live part first (one load
        at a time: a refresh asked for while one runs is that one)."""
        if self._loading:
            return
        self._loading = True
        app = self.app
        now = app.now()
        if self.figures is None:
            self.figures = DashboardFigures(app.policy, self.tz)
        self.show_updated()
        app.db(self.figures.live, now, lane=REPORTS,
               on_done=self._live_loaded, on_error=self._failed, description="dashboard")
        app.db(self.figures.period, now, lane=REPORTS,
               on_done=self._period_loaded, on_error=self._failed,
               description="dashboard, last 30 days")

    def _live_loaded(self, live: DashboardLive) -> None:
        self.show_floor(live.floor)
        self.show_today(live.today)   # its calls/h and handle are the floor's
        self.show_escalations(live.escalations)
        self.live_loads += 1

    def _period_loaded(self, period: DashboardPeriod) -> None:
        self._loading = False
        self.show_period(period)
        self.loads += 1
        self.show_updated()
        memory.after_frame(self)   # what the load read is garbage now: give the pages back

    def _failed(self, _exc: Exception) -> None:
        self._loading = False  # the figures on screen stay; the app's notice says why
        self.show_updated()

    # -- showing ----------------------------------------------------------------------------
    # Each refresh draws only what changed: a widget given new content lays out and paints
    # again (tens of milliseconds for the whole screen), a compare costs microseconds.

    def _show_text(self, selector: str, text: str) -> None:
        """``text`` in the Static ``selector``, unless it shows that already; the screen
        is laid out again only when the text can change the widget's size (a refresh
        mostly changes a few figures in lines that stay as long)."""
        show_text(self.query_one(selector, Static), text, in_place=True)

    def _show_line(self, selector: str, values: list) -> None:
        line = self.query_one(selector, Sparkline)
        if list(line.data or []) != values:
            line.data = values

    def _width_for(self, table: DataTable, rows: int, max_rows: int) -> int:
        """The characters a table may take: its box's width, less the table's own
        scrollbar when its rows will not all show."""
        box = table.parent.content_region.width if table.parent is not None else 0
        width = box or self.app.size.width - 8   # before the first layout
        return width - (2 if rows + 1 > max_rows else 0)

    def show_floor(self, rows: list[CallerFloor]) -> None:
        """Every caller now: state and for how long, the customer on the line (cut, or
        left out, to fit the width: Enter shows the caller's every figure)."""
        from tui.widgets.shift_bar import clock_text

        self.floor = rows
        table = self.query_one("#floor", DataTable)
        lines: list[tuple[str | None, tuple[str, ...]]] = [(r.caller, (
            r.display or r.caller, r.label,
            clock_text(r.in_state_seconds) if r.in_state_seconds is not None else "",
            r.customer or "")) for r in rows] or [
            ("__none__", ("(nobody on the floor yet)", "", "", ""))]
        fill_fitted(table, FLOOR_COLUMNS, lines, self._width_for(table, len(lines), 14),
                    escape)

    def show_today(self, data: DashboardToday) -> None:
        """Today's shift per caller: tries, contacts, completes, RR1 and NPS from the
        calls; calls per hour and handle time from the floor's logged states."""
        self.today = data
        t = data.today_total
        floor = {r.caller: r for r in self.floor}
        rows: list[tuple[str | None, tuple[str, ...]]] = []
        for g in data.today:
            seat = floor.get(g.key)
            rows.append((g.key, (
                (seat.display if seat and seat.display else g.key),
                f"{g.activity.attempts}", f"{g.activity.contacts}",
                f"{g.activity.completes}", _pct(g.rates["RR1"]), nps_text(g.nps.score),
                _num(seat.calls_per_hour if seat else None),
                _aht(seat.handle_seconds if seat else None))))
        rows.append(("__all__", ("all", f"{t.attempts}", f"{t.contacts}",
                                 f"{t.completes}", "", "", "", "")) if data.today
                    else ("__none__", ("(no calls yet today)", "", "", "", "", "", "", "")))
        table = self.query_one("#today", DataTable)
        fill_fitted(table, TODAY_COLUMNS, rows, self._width_for(table, len(rows), 12), escape)

    def show_updated(self) -> None:
        """The bottom line: when the figures on screen were read, and "refreshing…" while
        a load runs (a refresh that finds nothing changed still shows it happened)."""
        read = ("" if self.today is None else
                f"updated {from_iso(self.today.now).astimezone(self.tz):%Y-%m-%d %H:%M} · ")
        if self._loading:
            text = read + "refreshing…"
        else:
            text = read + (f"refreshes every {self.refresh_seconds:g} s · "
                           if self.refresh_seconds else "") + "r: refresh now"
        self._show_text("#updated", text)

    def show_period(self, data: DashboardPeriod) -> None:
        """The last 7 days, the 30-day lines, coverage per tier and the backlog."""
        self.period = data
        r = data.week_rates
        nps = data.week_nps
        nps_line = (f"NPS [b]{nps_text(nps.score)}[/b]  ({count_text(nps.promoters, 'promoter')}, "
                    f"{count_text(nps.passives, 'passive')}, "
                    f"{count_text(nps.detractors, 'detractor')})"
                    if nps.responses else "NPS –  (no answers)")
        cases = sum(v for k, v in data.week_counts.items() if k != "NE")
        self._show_text("#week",
            f"{cases} case{'' if cases == 1 else 's'} · RR1 {_pct(r['RR1'])} · "
            f"CON1 {_pct(r['CON1'])}\n"
            f"COOP1 {_pct(r['COOP1'])} · REF1 {_pct(r['REF1'])}\n{nps_line}"
        )

        lines = []
        for tier in data.coverage.tiers:
            share = tier.share_text(0)
            lines.append(f"{escape(tier.tier)} {coverage_bar(tier.share, 10)} {share:>4} "
                         f"of {tier.customers:,} ({tier.cadence_days}d)")
        lines.append(f"not reached in a year: [b]{data.coverage.not_reached:,}[/b]")
        self._show_text("#coverage", "\n".join(lines))

        scores = [s for _, s in data.daily_nps if s is not None]
        # One day's score alone would fill the line's whole width, as if it were a trend.
        self._show_line("#nps-line", scores if len(scores) > 1 else [])
        self._show_line("#attempts-line", [n for _, n in data.daily_attempts])
        days_with = len(scores)
        self._show_text("#lines-caption",
            f"NPS on {days_with} day{'' if days_with == 1 else 's'} with answers"
            + (f", last {nps_text(scores[-1])}" if scores else "")
            + f"; {count_text(sum(n for _, n in data.daily_attempts), 'attempt')} in 30 days"
        )

        self._draw_backlog()

    def _draw_backlog(self) -> None:
        table = self.query_one("#backlog", DataTable)
        # Late: past a deadline (escalated), not merely past the due time: a recovery
        # call is due from the moment it is made.
        late = late_by_kind(self.escalations or [])
        rows = [(f.kind, (kind_label(f.kind), f"{f.open}", f"{late.get(f.kind, 0)}", f"{f.done}",
                          _num(f.median_days_to_close)))
                for f in (self.period.followups if self.period else [])
                if f.open or f.done or late.get(f.kind)] or [
                    ("__none__", ("(none)", "", "", "", ""))]
        fill_fitted(table, BACKLOG_COLUMNS, rows, self._width_for(table, len(rows), 8), escape)

    def show_escalations(self, escalations: list[Escalation]) -> None:
        """The list of open escalated follow-ups; new ones since the last load announced."""
        if escalations == self.escalations:
            return
        self.escalations = escalations
        self._draw_escalations()
        if self.period is not None:
            self._draw_backlog()          # its "late" column counts them
        seen = self._escalations_seen
        fresh = [e for e in escalations if e.id not in seen] if seen is not None else []
        self._escalations_seen = {e.id for e in escalations}
        for e in fresh:
            self.notify(describe(e), title="Follow-up escalated", severity="warning",
                        timeout=30)

    # -- actions ----------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a caller (the floor or today's shift): every figure of theirs, also
        those the width of the screen leaves out of the tables."""
        if event.data_table.id in ("floor", "today"):
            event.stop()
            self._show_caller(event.row_key.value)

    def action_caller_figures(self) -> None:
        """Enter elsewhere than on the two tables (theirs selects the row, above): the
        caller highlighted on the floor."""
        table = self.query_one("#floor", DataTable)
        if 0 <= table.cursor_row < table.row_count:
            self._show_caller(table.coordinate_to_cell_key(
                Coordinate(table.cursor_row, 0)).row_key.value)

    def _show_caller(self, caller: str | None) -> None:
        seat = next((r for r in self.floor if r.caller == caller), None)
        shift = next((g for g in (self.today.today if self.today else []) if g.key == caller),
                     None)
        if caller is not None and (seat is not None or shift is not None):
            self.app.push_screen(CallerFiguresScreen(caller, seat, shift))

    def _floor_caller(self) -> str | None:
        """The caller highlighted in the floor table, if the floor table has the focus."""
        table = self.query_one("#floor", DataTable)
        if not self.floor or self.focused is not table or table.cursor_row < 0:
            return None
        return self.floor[table.cursor_row].caller if table.cursor_row < len(self.floor) \
            else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pause_caller", "release_caller"):
            return self._floor_caller() is not None
        if action == "back":
            return not self.standalone    # on its own there is nothing to go back to
        return True

    def _draw_escalations(self) -> None:
        table = self.query_one("#escalated", DataTable)
        rows = [(str(e.id), (
            str(e.followup_id), kind_label(e.kind), e.customer_name or e.customer_ref,
            e.owner or "anyone", DEADLINE_LABEL.get(e.deadline, e.deadline),
            f"{e.escalated_at.astimezone(self.tz):%d %b %H:%M} to {e.escalated_to}",
            waited_text(e.waited))) for e in self.escalations or []] or [
            ("__none__", ("", "(none)", "", "", "", "", ""))]
        fill_fitted(table, ESCALATED_COLUMNS, rows, self._width_for(table, len(rows), 10),
                    escape)
        count = len(self.escalations or [])
        title = "Escalated: past their deadline" + (f" ({count:,})" if count else "")
        label = self.query_one("#escalated-title", Label)
        if str(label.render()) != title:
            label.update(title)

    def _act_on_caller(self, fn: Callable[..., Any], caller: str,
                       done: str | Callable[[Any], str], **kwargs) -> None:
        """A supervisor's floor action (audited, refused for a caller's role), then a
        reload; ``done``: the notice (a format with {caller} and {n}, or made from the
        result)."""
        app = self.app

        def acted(result: Any) -> None:
            self.notify(done(result) if callable(done) else done.format(caller=caller, n=result))
            self.load()

        app.db(fn, caller, actor=app.actor, now=app.now(), **kwargs, on_done=acted)

    def action_pause_caller(self) -> None:
        from calls.floor import pause_caller
        from tui.screens.team import PauseScreen

        caller = self._floor_caller()
        if caller is None:
            return
        policy = self.app.policy or DEFAULT_POLICY

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self._act_on_caller(pause_caller, caller, lambda state: (
                    f"{caller} will be paused ({reason}) when the call's wrap-up is done."
                    if state.pause_after else f"{caller} is paused ({reason})."),
                    reason=reason, policy=policy)

        self.app.push_screen(PauseScreen(policy.floor.pause_reasons, who=caller), chosen)

    def action_release_caller(self) -> None:
        from calls.floor import release_caller

        caller = self._floor_caller()
        if caller is not None:
            self._act_on_caller(release_caller, caller, "Released {n} claim(s) of {caller}.")

    def action_refresh_now(self) -> None:
        self.load()

    def on_unmount(self) -> None:
        # Left for the queue: the dashboard's tables and figures are garbage now, and its
        # connection of its own is not needed until it opens again.
        memory.after_frame(self.app)
        if not self.standalone:
            self.app.rest_lane(REPORTS)

    def action_back(self) -> None:
        """Back to the supervisor's queue."""
        if not self.standalone:
            self.app.pop_screen()

    def action_quit_or_back(self) -> None:
        """``q``: quits a dashboard opened on its own (as ctrl+q does), goes back to the
        queue from one opened there."""
        if self.standalone:
            self.app.exit()
        else:
            self.app.pop_screen()


def caller_figures_text(caller: str, seat: CallerFloor | None, shift: GroupRow | None) -> str:
    """Every dashboard figure of one caller, as lines (Rich markup)."""
    from tui.widgets.shift_bar import clock_text

    lines = [f"[b]{escape(seat.display or caller) if seat else escape(caller)}[/b]"
             + (f" ({escape(caller)})" if seat and seat.display else "")]
    if seat is not None:
        now = escape(seat.label)
        if seat.in_state_seconds is not None:
            now += f" for {clock_text(seat.in_state_seconds)}"
        lines.append(f"now: {now}")
        if seat.customer:
            lines.append(f"on the line: {escape(seat.customer)}")
        lines.append(f"today: {clock_text(seat.signed_in_seconds)} worked (signed in), "
                     f"{clock_text(seat.paused_seconds)} paused"
                     + (f", {clock_text(seat.locked_seconds)} locked (not worked)"
                        if seat.locked_seconds else ""))
        lines.append(f"calls per hour: {_num(seat.calls_per_hour)}"
                     + ("" if seat.calls_per_hour is not None else
                        f" (shown after {RATE_AFTER_SECONDS // 60} minutes worked)"))
        lines.append("handle time: " + (f"{_aht(seat.handle_seconds)} a call"
                                        if seat.handle_seconds is not None else "–"))
    if shift is not None:
        a = shift.activity
        lines.append(f"calls today: {a.attempts} tried, {a.contacts} reached, "
                     f"{a.completes} completed")
        lines.append(f"RR1 {_pct(shift.rates['RR1'])} · NPS {nps_text(shift.nps.score)}")
    return "\n".join(lines)


class CallerFiguresScreen(ModalScreen[None]):
    """One caller's figures on the dashboard (Enter on a caller); esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="caller-figures-close",
                tooltip="Back to the dashboard"),
    ]

    def __init__(self, caller: str, seat: CallerFloor | None, shift: GroupRow | None) -> None:
        super().__init__()
        self.text = caller_figures_text(caller, seat, shift)

    def compose(self) -> ComposeResult:
        with Vertical(id="caller-figures"):
            yield Static(self.text, id="caller-figures-text")
        yield KeyBar()

    def action_close(self) -> None:
        self.dismiss(None)
