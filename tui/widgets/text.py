"""Text shown on a screen that is drawn again and again (the call screen, per customer;
the dashboard, per refresh)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


def markup_text(markup: str, **options: Any) -> Text:
    """Rich ``Text`` from the app's markup (``options``: ``Text.from_markup``'s), with
    ``:name:`` left as written. Rich reads ``:smile:`` as an emoji code by default: a
    customer's name or note holding one was drawn with an emoji, not as on file, and the
    first text read loaded rich's emoji table (~0.6 MB) into the seat for good (issue 18).
    Textual's own markup (``Static``, ``Label``, notices) has no emoji codes."""
    return Text.from_markup(markup, emoji=False, **options)


def show_text(widget: Static, content: str, *, in_place: bool = False) -> bool:
    """Put ``content`` (markup) on ``widget`` unless it shows it already; True when it
    changed. ``Static.update`` repaints the widget and lays the screen out again even for
    the same text (the outcome bar, the consent line and the error line are the same for
    most customers). The markup's colours are looked up when the widget is painted, so a
    text kept across a theme change takes the new theme's colours all the same.

    ``in_place``: lay the screen out again only when the new text can take another size
    than the one shown (:func:`keeps_size`); else only the widget is painted again (a
    layout of the whole dashboard costs more than painting its few changed lines)."""
    if widget.content == content:
        return False
    if not in_place:
        widget.update(content)
        return True
    width = widget.content_region.width      # 0 before the first layout
    before = widget.visual.get_height(widget.styles, width) if width else None
    widget.update(content, layout=False)
    if not keeps_size(widget, before, width):
        widget.refresh(layout=True)
    return True


def keeps_size(widget: Static, height_before: int | None, width: int) -> bool:
    """Whether ``widget``, laid out ``width`` cells wide and ``height_before`` lines high
    (None: not laid out), takes the same size with the text it has now: its width does
    not follow its text and the text is as many lines high at that width, as Textual
    measures it (its wrapping included)."""
    return (height_before is not None and width == widget.content_region.width
            and not (widget.styles.width is not None and widget.styles.width.is_auto)
            and widget.visual.get_height(widget.styles, width) == height_before)
