"""Text shown on a screen that is drawn again and again (the call screen, per customer)."""

from __future__ import annotations

from textual.widgets import Static


def show_text(widget: Static, content: str) -> bool:
    """Put ``content`` (markup) on ``widget`` unless it shows it already; True when it
    changed. ``Static.update`` repaints the widget and lays the screen out again even for
    the same text (the outcome bar, the consent line and the error line are the same for
    most customers). The markup's colours are looked up when the widget is painted, so a
    text kept across a theme change takes the new theme's colours all the same."""
    if widget.content == content:
        return False
    widget.update(content)
    return True
