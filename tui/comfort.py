"""What makes a long shift bearable, for the app: help on ``?`` / F1, one quiet notice at a
time, screenshots that land in a folder that exists.

The app mixes :class:`ShiftComfort` in; its bindings join the app's.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from tui.widgets.notices import drop_empty_notice_holders


def screenshot_folder() -> Path:
    """Where screenshots go: the user's Downloads folder, made (owner-only) when missing."""
    from platformdirs import user_downloads_dir

    folder = Path(user_downloads_dir())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


class ShiftComfort:
    """Mixin for the shift app (before ``App`` in the bases)."""

    COMFORT_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", show=False, priority=True, id="help"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="The keys of this "
                "screen", id="help-question"),
    ]

    def action_help(self) -> None:
        """The keys that apply on this screen now."""
        from tui.screens.help import show_help

        show_help(self)

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """One notice at a time: of the notices asked for at once only the last is shown,
        a new one replaces the one showing (a pile of them would cover the screen), and the
        same notice is not shown again while it is still up. Safe from any thread."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:          # a worker thread: hand it to the app's loop
            self.call_from_thread(self.notify, message, title=title,  # type: ignore[attr-defined]
                                  severity=severity, timeout=timeout, markup=markup)
            return
        first = getattr(self, "_pending_notice", None) is None
        self._pending_notice = (message, title, severity, timeout, markup)
        if first:
            self.call_later(self._show_notice)  # type: ignore[attr-defined]

    def _show_notice(self) -> None:
        pending, self._pending_notice = self._pending_notice, None
        if pending is None:
            return
        if getattr(self, "locked", False):
            # Nothing shows over the lock screen (an escalation or a callback names the
            # customer): the last notice waits for the password (show_held_notice).
            self._held_notice = pending
            return
        message, title, severity, timeout, markup = pending
        if timeout is None:
            timeout = self.NOTIFICATION_TIMEOUT  # type: ignore[attr-defined]
        now = time.monotonic()
        showing, until = getattr(self, "_notice_up", (None, 0.0))
        if showing == (message, title, severity) and now < until:
            return
        self._notice_up = ((message, title, severity), now + timeout)
        drop_empty_notice_holders(self.screen)  # type: ignore[attr-defined]
        self.clear_notifications()  # type: ignore[attr-defined]
        # Textual clears only the top screen's notices: under a dialog (the resume prompt
        # over the queue) the one replaced stayed on the screen below, showing through
        # beside the new one. Their own return to the top shows what is current then.
        for below in self.screen_stack[:-1]:  # type: ignore[attr-defined]
            for rack in below.query("ToastRack"):
                rack.show(self._notifications)  # type: ignore[attr-defined]
        super().notify(message, title=title, severity=severity,  # type: ignore[misc]
                       timeout=timeout, markup=markup)

    def notice_showing(self) -> bool:
        """Whether a notice is up now (or about to be shown)."""
        _shown, until = getattr(self, "_notice_up", (None, 0.0))
        return getattr(self, "_pending_notice", None) is not None or time.monotonic() < until

    def show_held_notice(self) -> None:
        """The seat unlocked: the last notice that came while it was locked, shown now."""
        held, self._held_notice = getattr(self, "_held_notice", None), None
        if held is not None:
            message, title, severity, timeout, markup = held
            self.notify(message, title=title, severity=severity, timeout=timeout,
                        markup=markup)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Save a screenshot (ctrl+p, "Screenshot"); the folder is made when missing and
        the notice says where the file went."""
        if path is None:
            try:
                path = str(screenshot_folder())
            except OSError as exc:
                self.notify(f"No folder for screenshots: {exc.strerror or exc}",
                            severity="error")
                return None
        key = super().deliver_screenshot(filename, path, time_format)  # type: ignore[misc]
        self.notify(f"Screenshot saved in {path}{os.sep}", timeout=4)
        return key
