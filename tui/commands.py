"""The command palette: every action of the current screen that applies now, by name.

The palette is built from the screens' own ``BINDINGS`` (filtered by ``check_action``),
so a new key on a screen is in the palette without a second list to keep in step; the
key shown is the user's (``[keymap]`` in the config file) where they remapped it.
"""

from __future__ import annotations

from functools import partial

from textual.actions import parse as parse_action
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ShiftCommands(Provider):
    """Every action on the current screen that applies now, searchable by name."""

    def _hits(self) -> list[tuple[str, str, object]]:
        screen = self.screen
        hits: list[tuple[str, str, object]] = []
        seen: set[str] = set()
        app = screen.app
        # The app's own keys only (End shift), not Textual's focus/copy plumbing.
        app_actions = {b.action for b in getattr(type(app), "BINDINGS", [])
                       if isinstance(b, Binding)}
        keymap = getattr(app, "keymap", {})
        for node in (screen, app):
            for binding in Binding.make_bindings(getattr(type(node), "BINDINGS", [])):
                if not binding.description or binding.action in seen:
                    continue
                if node is app and binding.action not in app_actions:
                    continue
                _namespace, name, params = parse_action(binding.action)
                try:
                    allowed = node.check_action(name, params)
                except Exception:  # noqa: BLE001 - a screen half torn down: leave it out
                    allowed = False
                if allowed is not True:
                    continue
                seen.add(binding.action)
                title = binding.tooltip or binding.description
                key = keymap.get(binding.id, binding.key_display or binding.key)
                hits.append((title, f"key: {key}", partial(node.run_action, binding.action)))
        for title, help_text, callback in getattr(screen, "extra_commands", list)():
            hits.append((title, help_text, callback))
        return hits

    async def discover(self) -> Hits:
        for title, help_text, callback in self._hits():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._hits():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
