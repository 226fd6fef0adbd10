"""Keys in typing order, through Textual's public API only.

Textual hands each key to the widget focused when the app *reads* the key and runs the
screen's and app's bindings later, when the key bubbles back up. On the call screen a
caller types ahead (``c`` Enter ``1`` ``0`` ``great service`` Enter …) and a burst of
keys arrives at once over SSH: a key would land on a widget that the key before it has
just taken out of use. A screen that is an :class:`OrderedKeys` gets every key from the
app instead and handles it completely, in the app's own task, before the next key is
read:

1. a priority binding of the screen or app (the command palette, ``ctrl+q`` …);
2. else the focused widget, when it types (:class:`TypesKeys`: the answer pads, a text
   field, the notes);
3. else the binding Textual would run for the key (``Screen.active_bindings``: the focused
   widget's, then its containers', the screen's, the app's; the user's keymap applied).

A screen that :class:`GuardsKeys` may refuse a key before steps 2 and 3 (the call screen:
a key typed before the question it would answer was on screen, :mod:`tui.typeahead`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual import events
from textual.app import App
from textual.keys import format_key
from textual.screen import Screen
from textual.widgets import Input, TextArea


@runtime_checkable
class TypesKeys(Protocol):
    """A widget that takes some keys itself (typing, an answer pad)."""

    def type_key(self, event: events.Key) -> bool:
        """Handle ``event`` at once; True when the key was used."""
        ...


class OrderedKeys:
    """Mixin for a screen whose keys are handled one by one, in typing order."""


@runtime_checkable
class GuardsKeys(Protocol):
    """A screen that decides whether a key may act at all (after the priority bindings)."""

    def accepts_key(self, event: events.Key) -> bool:
        """False: the key is not used (the screen says so itself)."""
        ...

    def key_handled(self, event: events.Key) -> None:
        """The key :meth:`accepts_key` let through has been handled."""
        ...


def is_ordered(screen: Screen) -> bool:
    """True when ``screen`` wants its keys in typing order."""
    return isinstance(screen, OrderedKeys)


async def handle_in_order(screen: Screen, event: events.Key) -> None:
    """Handle one key on ``screen`` completely (see the module docstring)."""
    app = screen.app
    active = screen.active_bindings.get(event.key)
    if active is not None and active.binding.priority and active.enabled:
        await app.run_action(active.binding.action, active.node)
        return
    guard = screen if isinstance(screen, GuardsKeys) else None
    if guard is not None and not guard.accepts_key(event):
        return
    try:
        focused = screen.focused
        if isinstance(focused, TypesKeys) and focused.type_key(event):
            return
        if active is not None and active.enabled:
            await app.run_action(active.binding.action, active.node)
    finally:
        if guard is not None:
            guard.key_handled(event)


def shown_key(app: App, binding_id: str, default: str) -> str:
    """How to show the key of binding ``binding_id`` in text on screen: the first key the
    user's keymap gives it, else ``default``."""
    keys = getattr(app, "keymap", {}).get(binding_id, "")
    first = keys.split(",")[0].strip()
    if not first:
        return default
    return format_key(first)


def type_into_input(field: Input, event: events.Key) -> bool:
    """A printable key typed into ``field`` (what Textual's Input does with it)."""
    if not event.is_printable or event.character is None:
        return False
    start, end = field.selection
    if start == end:
        field.insert_text_at_cursor(event.character)
    else:
        field.replace(event.character, start, end)
    return True


def type_into_text_area(area: TextArea, event: events.Key) -> bool:
    """A printable key or Enter typed into ``area`` (what Textual's TextArea does)."""
    if area.read_only:
        return False
    if event.key == "enter":
        text = "\n"
    elif event.is_printable and event.character is not None:
        text = event.character
    else:
        return False
    start, end = area.selection
    area.replace(text, start, end, maintain_selection_offset=False)
    return True
