"""The first screen: opens the database and decides where the shift begins.

An empty database goes to the welcome screen; otherwise the queue, with the resume
prompt on top when this caller left calls unfinished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from calls.records import record
from calls.store import Store


@record
class StartInfo:
    """What the app needs to know before the first real screen; ``queue``: the first
    page of the caller's queue (``tui.core.QueueView``), read with the rest when there
    are customers."""

    customers: int
    unfinished: list[Any] = field(default_factory=list)
    queue: Any = None


def load_start(store: Store, caller: str, now: datetime | None = None, policy: Any = None,
               page: int = 0) -> StartInfo:
    """Count customers and find this caller's unfinished calls; with ``page``, read the
    queue's first ``page`` rows at ``now`` too (the queue screen opens with them)."""
    from calls.store.customers import count_customers

    count = count_customers(store)
    info = StartInfo(customers=count)
    if count:
        from calls.session import unfinished

        info.unfinished = unfinished(store, caller)
        if page and now is not None:
            from tui.core import load_queue

            # Failing here is not "could not open the database": the queue screen then
            # reads the queue itself, and says why if that fails too (r retries).
            try:
                info.queue = load_queue(store, caller, now, policy, page)
            except Exception:  # noqa: BLE001
                info.queue = None
    return info


def run_planner(store: Store, now: datetime, policy: Any,
                stop: Callable[[], bool] | None = None) -> int:
    """The calendar follow-ups (idempotent; ``carecall plan`` does the same): how many new.
    ``stop``: asked between its transactions (the app is closing: the rest waits for the
    next start)."""
    from calls.planner import plan

    return plan(store, now=now, policy=policy, keep=False, stop=stop).count


class StartScreen(Screen):
    """Shown for the moment it takes to open the database. ``on_shown`` runs once the
    shift's first screen (the queue, or the welcome) has been drawn."""

    def __init__(self, on_shown: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._on_shown = on_shown

    def compose(self) -> ComposeResult:
        yield Static("Opening the shift…", id="starting")

    def on_mount(self) -> None:
        from tui.screens.queue import PAGE

        app = self.app
        # The queue's first page is read in the same job: the seat's lane goes on to it at
        # once, while the queue screen is being built (a start waited for a second job).
        app.db(load_start, app.caller, app.now(), app.policy, PAGE,
               on_done=self._started, on_error=self._failed)

    def _shown(self) -> None:
        if self._on_shown is not None:
            self._on_shown()

    def _failed(self, exc: Exception) -> None:
        # The app's notice follows; the screen says what it means for the shift.
        self.query_one("#starting", Static).update(
            f"Could not open the database {self.app.db_path}:\n{exc}\n\nctrl+q to quit."
        )

    def _started(self, info: StartInfo) -> None:
        from tui.database import PLANNER
        from tui.screens.queue import QueueScreen

        if not info.customers:
            # Imported only here: the welcome's Markdown brings markdown-it and pygments
            # (about 3 MB and 40 ms of a start) that a shift with customers never uses.
            from tui.screens.welcome import WelcomeScreen

            self.app.switch_screen(WelcomeScreen())
            self.app.call_after_refresh(self._shown)
            return
        app = self.app

        def planned(_count: int) -> None:
            app.rest_lane(PLANNER)      # its connection and caches, not needed all shift

        def planning_failed(exc: Exception) -> bool:
            app.rest_lane(PLANNER)
            app.notify(f"Planning follow-ups failed: {exc}", severity="warning")
            return True

        def first_load() -> None:
            # Once the queue is on screen: the resume prompt over it, and the planner (the
            # shift opens without waiting for it) on a lane of its own: the seat's first
            # n does not wait for it (seconds on a freshly imported list).
            if info.unfinished:
                queue.offer_resume(info.unfinished)
            app.db(run_planner, app.now(), app.policy, stop=app.lanes_closing.is_set,
                   lane=PLANNER, on_done=planned, on_error=planning_failed)
            self._shown()

        queue = QueueScreen(on_first_load=first_load, view=info.queue)
        app.switch_screen(queue)
