"""The welcome screen for an empty database: how to load customers, or the demo."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Markdown

from calls.store import Store
from tui.widgets.shift_bar import ShiftBar

WELCOME = """\
# Welcome to carecall

This database has **no customers yet**, so there is nobody to call.

**Load your customer list** (CSV, Excel, JSON) from another terminal:

    carecall import customers.csv --db {db}

**Or try carecall with demo customers:** press **d** here
(or run `carecall demo` from a terminal).

This screen looks again every few seconds and opens the call queue
as soon as there are customers.
"""


def _count(store: Store) -> int:
    from calls.store.customers import count_customers

    return count_customers(store)


def _load_demo(store: Store, now) -> int:
    from calls.demo import build_demo

    # build_demo opens its own connection to the same file (WAL: fine beside ours).
    build_demo(store.path, now)
    return _count(store)


class WelcomeScreen(Screen):
    """Shown instead of an empty queue."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "demo", "Load demo customers", id="welcome-demo"),
        Binding("r", "recheck", "Look again", id="welcome-recheck"),
    ]

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        with Vertical(id="welcome"):
            yield Markdown(WELCOME.format(db=self.app.db_path))
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(3, self.action_recheck)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo":
            try:
                import calls.demo  # noqa: F401
            except ImportError:
                return False
        return True

    def action_recheck(self) -> None:
        self.app.db(_count, on_done=self._counted)

    def action_demo(self) -> None:
        self.notify("Loading the demo customers…")
        self.app.db(_load_demo, self.app.now(), on_done=self._counted)

    def _counted(self, count: int) -> None:
        if count and self.is_current:
            from tui.screens.queue import QueueScreen

            self.app.switch_screen(QueueScreen())
