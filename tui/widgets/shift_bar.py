"""The shift bar: caller, time on shift, calls, contacts, completes, the shift's NPS, the time."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from textual.widgets import Static

from calls.reports import nps_text
from tui.stack import shows
from tui.widgets.text import markup_text, show_text


def format_duration(seconds: float) -> str:
    """``1h 05m`` / ``12m``."""
    minutes = int(max(seconds, 0) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def clock_text(seconds: float) -> str:
    """``4:07`` / ``1:02:09``: a running timer."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seat_text(app, now: datetime) -> str:
    """``  │ talking 2:13`` (the seat's state and how long), with the call timer in a call
    where it says more than the state's own time (in wrap-up: the whole call; talking
    starts with the call timer, so there it would only repeat it)."""
    state = getattr(app, "seat_state", None)
    if state is None:
        return ""
    text = f"  │ {escape(state.label)} {clock_text(state.elapsed(now).total_seconds())}"
    started = getattr(app, "call_started_at", None)
    if started is not None and state.state not in ("dialling", "talking"):
        text += f" (call {clock_text((now - started).total_seconds())})"
    if state.pause_after:
        text += f" · then {escape(state.pause_after)}"
    return text


class ShiftBar(Static):
    """One line at the top of every shift screen; redraws itself every second while its
    screen shows. Screens kept all shift (the queue under a call, the wrap-up between
    calls) keep their bar: a covered screen's bar waits, and catches up when shown again
    (a seat at rest does no work for screens nobody sees)."""

    ticking = False    # whether the bar redraws every second now (its screen shows)

    def on_mount(self) -> None:
        self.update_bar()
        # Every second: the seat's state and the call timer run on it.
        self.ticking = shows(self.screen)
        self._ticks = self.set_interval(1, self.update_bar, pause=not self.ticking)
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_resize(self) -> None:
        # The form that fits depends on the width, unknown (0) when mounted: without this
        # the first second showed the longest form cut off at the right.
        self.update_bar()

    def _screen_changed(self, _top: object) -> None:
        shown = shows(self.screen)
        if shown == self.ticking:
            return
        self.ticking = shown
        if shown:
            self.update_bar()         # what changed while covered, at once
            self._ticks.resume()
        else:
            self._ticks.pause()

    def update_bar(self) -> None:
        """Redraw from the app's figures and clock."""
        app = self.app
        stats = getattr(app, "stats", None)
        if stats is None:
            return
        now: datetime = app.now()
        local = now.astimezone()
        name = f"[b]{escape(app.caller)}[/b]"
        shift = format_duration((now - stats.started).total_seconds())
        seat = seat_text(app, now)
        tight = seat.replace("  │", " │")
        nps = f"NPS {nps_text(stats.nps_score)}"
        c, k, d = stats.calls, stats.contacts, stats.completes
        short = f"calls {c} · cont. {k} · compl. {d}"
        # The longest form that fits the bar's width (80 columns during a call cut the
        # counts and the clock off): shorter words first, then the weekday, the time on
        # shift, the clock.
        forms = (
            (f"{name}  on shift {shift}{seat}  │ calls {c}  contacts {k}  completes {d}"
             f"  │ {nps}  │ {local:%a %H:%M}"),
            (f"{name} {shift}{tight} │ calls {c} · contacts {k} · completes {d} │ {nps}"
             f" │ {local:%a %H:%M}"),
            f"{name} {shift}{tight} │ {short} │ {nps} │ {local:%H:%M}",
            f"{name}{tight} │ {short} │ {nps} │ {local:%H:%M}",
            f"{name}{tight} │ {short} │ {nps}",
        )
        width = self.content_size.width
        fitting = [f for f in forms if not width or markup_text(f).cell_len <= width]
        show_text(self, fitting[0] if fitting else forms[-1])
