"""The shift bar: caller, time on shift, calls, contacts, completes, the shift's NPS, the time."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from textual.widgets import Static


def format_duration(seconds: float) -> str:
    """``1h 05m`` / ``12m``."""
    minutes = int(max(seconds, 0) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def format_nps(score: float | None) -> str:
    """``+40`` / ``-12`` / ``–`` (no answers yet)."""
    if score is None:
        return "–"
    return f"{score:+.0f}"


def clock_text(seconds: float) -> str:
    """``4:07`` / ``1:02:09``: a running timer."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seat_text(app, now: datetime) -> str:
    """``  │ talking 2:13`` (the seat's state and how long), with the call timer in a call."""
    state = getattr(app, "seat_state", None)
    if state is None:
        return ""
    text = f"  │ {escape(state.label)} {clock_text(state.elapsed(now).total_seconds())}"
    started = getattr(app, "call_started_at", None)
    if started is not None and state.state != "dialling":
        text += f" (call {clock_text((now - started).total_seconds())})"
    if state.pause_after:
        text += f" · then {escape(state.pause_after)}"
    return text


class ShiftBar(Static):
    """One line at the top of every shift screen; refreshes itself every few seconds."""


    def on_mount(self) -> None:
        self.update_bar()
        # Every second: the seat's state and the call timer run on it.
        self.set_interval(1, self.update_bar)

    def update_bar(self) -> None:
        """Redraw from the app's figures and clock."""
        app = self.app
        stats = getattr(app, "stats", None)
        if stats is None:
            return
        now: datetime = app.now()
        local = now.astimezone()
        self.update(
            f"[b]{escape(app.caller)}[/b]  on shift {format_duration((now - stats.started).total_seconds())}"
            f"{seat_text(app, now)}"
            f"  │ calls {stats.calls}  contacts {stats.contacts}  completes {stats.completes}"
            f"  │ NPS {format_nps(stats.nps_score)}"
            f"  │ {local:%a %H:%M}"
        )
