"""The config file's ``[keymap]`` and ``[ui] theme``, checked against what the app has.

Every binding in ``tui/`` has an ``id``; ``[keymap] id = "key"`` gives it other keys
(Textual's keymap support: :meth:`App.set_keymap`). An id or theme the app does not know
is a :class:`~calls.config.ConfigError` before the screen is taken over.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from textual.binding import Binding
from textual.dom import DOMNode
from textual.theme import BUILTIN_THEMES

from calls.config import Config, ConfigError, config_path

_PACKAGES = ("tui", "tui.screens", "tui.widgets")


def _named(cls: type) -> object:
    """What the class's module names at the class's qualified name now."""
    found: object = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found


def binding_ids() -> dict[str, Binding]:
    """Every binding of the app's screens and widgets, by id."""
    for package in _PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            if not info.ispkg:
                importlib.import_module(f"{package}.{info.name}")
    found: dict[str, Binding] = {}
    todo = list(DOMNode.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] != "tui":
            continue
        # A class its module no longer names (a reloaded module's old copy) is not the app's.
        if _named(cls) is not cls:
            continue
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            if binding.id:
                found.setdefault(binding.id, binding)
    return found


def check_config(config: Config) -> None:
    """Raise ``ConfigError`` for a theme or keymap id the app does not have."""
    where = config.path or config_path()
    theme = config.ui.theme
    if theme and theme not in BUILTIN_THEMES:
        raise ConfigError(f"config file {where}: [ui] theme: no theme {theme!r} "
                          f"(themes: {', '.join(sorted(BUILTIN_THEMES))})")
    if not config.keymap:
        return
    known = binding_ids()
    for binding_id, keys in config.keymap.items():
        if binding_id not in known:
            raise ConfigError(f"config file {where}: [keymap] {binding_id}: no such binding "
                              "(the ids are listed in docs/shift.md)")
        if not keys.strip():
            raise ConfigError(f"config file {where}: [keymap] {binding_id}: no key given")
