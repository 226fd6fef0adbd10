"""What is checked and prepared before the app takes the screen: ``carecall shift`` (and
``carecall`` with no command), ``carecall dashboard`` and the demo's shift.

The commands themselves live in ``tui/launch_cmd.py`` (the core never imports the UI);
everything here is the core's part: the config, the database, the moment, the policy, the
script and who opens the seat, each refused in one line before the screen is taken over.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from calls.commands import common
from calls.errors import UserError

ScriptOption = Annotated[
    str | None,
    typer.Option("--script", help="Script name or TOML file for every call "
                 "(default: chosen per call from the reason)."),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Start the shift clock at this ISO time (it then runs forward); "
                 "for training, demos and tests. Without an offset: UTC."),
]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="Care policy TOML (default: $CARECALL_POLICY, else built-in)."),
]


def parse_at(text: str | None) -> datetime | None:
    """``--at``: an ISO 8601 moment; without an offset it is read as UTC."""
    if text is None or not text.strip():
        return None
    from calls.clock import parse_user_moment

    return parse_user_moment(text)


@dataclass(frozen=True)
class ShiftStart:
    """Everything the shift app is opened with, checked."""

    path: Path
    caller: str          # "" opens on the login screen
    actor: Any           # calls.accounts.Actor or None
    seat: str            # "terminal" or "web"
    script: str | None
    policy: Any
    clock: datetime | None
    config: Any


def prepare_shift(
    db_path: str | Path | None,
    caller: str | None,
    script: str | None = None,
    at: str | datetime | None = None,
    policy: str | Path | None = None,
    *,
    check_ui: Callable[[Any], None] = lambda config: None,
) -> ShiftStart:
    """Check and gather what the shift app for ``caller`` opens with.

    ``check_ui(config)`` is the app's own check of the config file (key ids, theme).
    Raises ``UserError`` for a database, policy, script or time the app cannot use, and
    when there is no terminal to draw on.
    """
    from calls.config import load_config
    from calls.policy import load_policy
    from calls.store import Store, checkpoint_in_background, resolve_db_path
    from calls.survey import load_script

    path = resolve_db_path(db_path)
    # Everything a user can get wrong is checked here, before the screen is taken over,
    # so it is one clear line: the config file, the database (this also applies pending
    # migrations before the app's workers start), the time, the policy and the script.
    config = load_config()
    check_ui(config)
    start = parse_at(at) if isinstance(at, str) or at is None else at
    care_policy = load_policy(policy)
    if script:
        load_script(script)
    served = served_seat()
    with Store.open(path) as store:
        actor = seat_for(store, caller, served)
    # A browser seat (carecall serve) draws through textual-serve's web driver, not a TTY.
    if not served and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the shift app needs a terminal (stdin and stdout must be a TTY)")
    # A seat's step never copies the write-ahead log within its own commit.
    checkpoint_in_background()
    return ShiftStart(path=path, caller=actor.name if actor is not None else "",
                      actor=actor, seat="web" if served else "terminal", script=script,
                      policy=care_policy, clock=start, config=config)


def say_shift_ended(start: ShiftStart, stats) -> None:
    """The line printed when a terminal shift ends: the caller's calls, contacts and
    completes (nothing for a browser seat or a shift that never signed in)."""
    if stats is not None and start.seat == "terminal" and start.caller:
        counts = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in (
            (stats.calls, "call"), (stats.contacts, "contact"), (stats.completes, "complete")))
        common.console.print(f"Shift ended for {start.caller}: {counts}.", highlight=False)


def prepare_dashboard(db_path: Path | None, *, check_ui: Callable[[Any], None],
                      policy: str | Path | None = None):
    """Check what the supervisor's dashboard opens with: ``(path, actor, config, policy)``.

    What a user can get wrong is one line before the screen is taken over: the config
    file, the policy (as ``carecall shift`` reads it: ``--policy``, else
    ``CARECALL_POLICY``, else the built-in one), the database, the role, no terminal. A
    known seat is checked here; any other signs in on the dashboard's login screen,
    which checks the role then.
    """
    from calls.config import load_config
    from calls.policy import load_policy
    from calls.store import resolve_db_path

    config = load_config()
    check_ui(config)
    care_policy = load_policy(policy)
    store = common.open_store(db_path)  # fails cleanly on a bad path; migrates a new file
    try:
        actor = common.screen_actor(store)
        if actor is not None:
            from calls.accounts import require

            require(actor, "dashboard")
    finally:
        store.close()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the dashboard needs a terminal (stdin and stdout must be a TTY)")
    return resolve_db_path(db_path), actor, config, care_policy


def served_seat() -> bool:
    """True in a browser seat: ``carecall serve`` runs each tab's app with the web driver."""
    return os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver")


def seat_for(store, caller: str | None, served: bool):
    """Who opens this seat without a password (``calls.accounts.Actor``), or None for the
    login screen: the one-person trial's person, or, in a terminal seat, the account the
    OS login maps to (``--caller`` may only name it). A browser seat, and an SSH seat
    on the shared service login, always sign in."""
    from calls.accounts import check_caller, seat_actor, team_mode, trial_actor
    from calls.audit import os_login

    if not team_mode(store):
        return trial_actor(common.resolve_caller(caller))
    if served or common.shared_ssh_login():
        return None
    actor = seat_actor(store, os_login())
    if actor is not None:
        check_caller(actor, caller)
    return actor


def build_demo_database(db_path: Path | None, *, json_out: bool, no_shift: bool) -> Path:
    """``carecall demo``'s first half: build (or bring up to date) the demo database from
    the shipped list and say what it holds. Returns its path."""
    import json

    from calls.demo import build_demo, demo_db_path

    with common.user_errors():
        path = demo_db_path(db_path)
        summary = build_demo(path)
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        console = common.console
        verb = "Built" if summary["inserted"] else "Up to date:"
        console.print(
            f"{verb} demo database {path}: {summary['customers']} customers "
            f"({summary['inserted']} new, {summary['rejected']} rows of the demo list rejected "
            f"on purpose: see `carecall import` for why).",
            highlight=False,
        )
        console.print(
            "Tiers: " + ", ".join(f"{t} {summary['tiers'].get(t, 0)}" for t in ("A", "B", "C")),
            highlight=False,
        )
        if summary.get("order_lines"):
            console.print(f"Loaded {summary['order_lines']} demo order lines.", highlight=False)
        history = summary.get("history") or {}
        if history and not history.get("skipped"):
            console.print(
                f"History: a past year of {history['calls']} calls, {history['answers']} "
                f"answers and {history['followups']} follow-ups (try: carecall report, "
                "carecall dashboard).",
                highlight=False,
            )
        if no_shift:
            console.print(
                f"Next: carecall shift --db {path}   (or: carecall queue --db {path})",
                highlight=False,
            )
    return path


def demo_shift_clock(path: Path) -> datetime | None:
    """When the demo shift's clock starts: None for now, or the next moment someone in the
    demo list may be called (said in one line), so the demo never opens on an empty queue."""
    from calls.clock import now_utc
    from calls.demo import demo_shift_start
    from calls.store import Store

    with common.user_errors(), Store.open(path) as store:
        start = demo_shift_start(store, now_utc())
    if start is not None:
        common.console.print(
            f"Nobody in the demo list can be called right now (outside their calling hours), "
            f"so the demo shift runs its clock from {start:%a %d %b %H:%M} UTC.",
            highlight=False,
        )
    return start
