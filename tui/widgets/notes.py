"""The call's notes: a text area that types in the call screen's key order."""

from __future__ import annotations

from textual import events
from textual.widgets import TextArea

from tui.keys import type_into_text_area


class NotesArea(TextArea):
    """Free-text notes for the call (saved by the screen as they change)."""

    def type_key(self, event: events.Key) -> bool:
        """Type a printable key or Enter (a new line) into the notes."""
        return type_into_text_area(self, event)
