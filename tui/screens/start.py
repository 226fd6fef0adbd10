"""The first screen: opens the database and decides where the shift begins.

An empty database goes to the welcome screen; otherwise the queue, with the resume
prompt on top when this caller left calls unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from calls.store import Store


@dataclass
class StartInfo:
    """What the app needs to know before the first real screen."""

    customers: int
    unfinished: list[Any] = field(default_factory=list)
    planned: int = 0
    plan_error: str | None = None


def load_start(store: Store, caller: str, now: datetime, policy: Any) -> StartInfo:
    """Count customers, find this caller's unfinished calls, run the (idempotent) planner."""
    from calls.store.customers import count_customers

    count = count_customers(store)
    info = StartInfo(customers=count)
    if not count:
        return info
    from tui.core import unfinished

    info.unfinished = unfinished(store, caller)
    try:
        from calls.planner import plan
    except ImportError:  # the planner ships with the follow-ups area
        return info
    try:
        result = plan(store, now=now, policy=policy)
        info.planned = _count_planned(result)
    except Exception as exc:  # noqa: BLE001 - the shift must open even if planning fails
        info.plan_error = str(exc)
    return info


def _count_planned(result: Any) -> int:
    for name in ("planned", "created"):
        value = getattr(result, name, None)
        if isinstance(value, int):
            return value
        if isinstance(value, (list, tuple)):
            return len(value)
    return 0


class StartScreen(Screen):
    """Shown for the moment it takes to open the database."""

    def compose(self) -> ComposeResult:
        yield Static("Opening the shift…", id="starting")

    def on_mount(self) -> None:
        app = self.app
        app.db(load_start, app.caller, app.now(), app.policy, on_done=self._started,
               on_error=self._failed)

    def _failed(self, exc: Exception) -> None:
        self.app.show_error(exc)
        self.query_one("#starting", Static).update(
            f"Could not open the database {self.app.db_path}:\n{exc}\n\nctrl+q to quit."
        )

    def _started(self, info: StartInfo) -> None:
        from tui.screens.queue import QueueScreen
        from tui.screens.welcome import WelcomeScreen

        if not info.customers:
            self.app.switch_screen(WelcomeScreen())
            return
        queue = QueueScreen()
        self.app.switch_screen(queue)
        if info.plan_error:
            self.app.notify(f"Planning follow-ups failed: {info.plan_error}", severity="warning")
        if info.unfinished:
            queue.offer_resume(info.unfinished)
