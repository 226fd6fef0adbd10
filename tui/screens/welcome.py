"""The welcome screen for an empty database: how to load customers, or the demo."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Markdown

from calls.store import Store
from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar

WELCOME = """\
# Welcome to carecall

This database has **no customers yet**, so there is nobody to call.

**Load your customer list** (CSV, Excel, JSON) from another terminal:

    carecall import customers.csv --db {db}

{demo}This screen looks again every few seconds and opens the call queue
as soon as there are customers.
"""


DEMO = """\
**Or try carecall with demo customers:** press **d** here
(or run `carecall demo` from a terminal). This is offered only because
this database is new: nothing has ever been put in it.

"""


def _count(store: Store) -> int:
    from calls.store.customers import count_customers

    return count_customers(store)


def _is_new(store: Store) -> bool:
    from calls.store.customers import database_is_new

    return database_is_new(store)


def _load_demo(store: Store, now) -> int:
    from calls.demo import build_demo
    from calls.errors import UserError

    # Checked again here: someone may have imported a list since the screen opened, and
    # invented calls must never land in a real database.
    if not _is_new(store):
        raise UserError("this database is no longer new: the demo goes only into a new "
                        "one (carecall demo --db demo.db)")
    # build_demo opens its own connection to the same file (WAL: fine beside ours).
    build_demo(store.path, now)
    return _count(store)


class WelcomeScreen(Screen):
    """Shown instead of an empty queue."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "demo", "Load demo customers", id="welcome-demo"),
        Binding("r", "recheck", "Look again", id="welcome-recheck"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.new_database = False   # known after the first look at the database

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        with Vertical(id="welcome"):
            yield Markdown(WELCOME.format(db=self.app.db_path, demo=""))
        yield KeyBar()

    def on_mount(self) -> None:
        self.app.db(_is_new, on_done=self._looked)
        self.set_interval(3, self.action_recheck)

    def _looked(self, new: bool) -> None:
        self.new_database = new
        if new and self.is_attached:
            self.query_one(Markdown).update(WELCOME.format(db=self.app.db_path, demo=DEMO))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo":
            return self.new_database
        return True

    def action_recheck(self) -> None:
        self.app.db(_count, on_done=self._counted)

    def action_demo(self) -> None:
        self.new_database = False   # one press: the footer drops the key at once
        self.refresh_bindings()
        self.notify("Loading the demo customers…")
        self.app.db(_load_demo, self.app.now(), on_done=self._counted)

    def _counted(self, count: int) -> None:
        if count and self.is_current:
            from tui.screens.queue import QueueScreen

            self.app.switch_screen(QueueScreen())
