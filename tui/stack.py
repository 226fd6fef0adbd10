"""The screen stack as the shift's screens and bars ask about it.

Its own module, on Textual alone: the widgets on every screen (``KeyBar``,
``ShiftBar``) ask it too, and ``tui.core`` would bring the call session's imports into
the dashboard's and the login screen's start.
"""

from __future__ import annotations

from textual.screen import Screen


def shows(screen: Screen) -> bool:
    """Whether ``screen`` can be seen: the one on top, or one under dialogs only (Textual's
    ``is_current`` also counts the screen right under a full screen)."""
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    return all(above.is_modal for above in stack[stack.index(screen) + 1:])
