"""Screens kept for a whole shift instead of built for each customer (issue 18)."""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from tui.widgets.notices import drop_empty_notice_holders


class KeptStyles(Screen):
    """A screen kept for the whole shift and pushed again for each customer (the call
    screen, the wrap-up): pushed, it keeps the styles it has unless the theme changed
    meanwhile.

    Textual restyles every widget of a screen it pushes (5-8 ms of the 25 the app spent
    from ``n`` to the next customer drawn, measured quiet), though a kept screen's styles
    are still those it was last shown with: classes, focus and display changed since were
    styled as they changed (as on a screen that is covered and uncovered, which Textual
    does not restyle). A new theme restyles only the screens on the stack, so a kept
    screen pushed after one is restyled as before.
    """

    _styled_theme: str | None = None     # the app's theme when the screen was last shown

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler, which restyles when ``refresh_styles`` is set.
        theme = self.app.theme
        if self._styled_theme == theme:
            event.refresh_styles = False
        self._styled_theme = theme
        drop_empty_notice_holders(self)
