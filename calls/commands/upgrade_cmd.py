"""``carecall upgrade``: the slow part of an upgrade, in short steps beside a working floor."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

import typer

from calls.commands import common


@contextlib.contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """An event set by ctrl+c (SIGINT) while the block runs: the work stops after the step
    it is in, whole, instead of a KeyboardInterrupt somewhere in it."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return
    before = signal.signal(signal.SIGINT, lambda *_: asked.set())
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def _bar(enabled: bool) -> Iterator:
    """A progress bar of the ids looked at, with how many and the time left (on 3M calls
    the run takes minutes), only when someone watches stderr."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("[bold]upgrade[/] calls"), BarColumn(), TaskProgressColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
                   TimeRemainingColumn(), console=common.err_console.rich(), transient=True)
    with bar:
        task = bar.add_task("calls", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def upgrade(db: common.DbOption = None) -> None:
    """Finish upgrading the database in short steps, safe while callers work.

    Calls written by an older carecall (before calls_0003_recorded_for_export) record,
    from their customers as now, the ref, time zone and local times the export writes
    beside them: until then the export computes them for each such call (the same file,
    at the speed of before). Each step holds the database's write lock about 15 ms and
    pauses as long; ctrl+c stops it after the step it is in, and the next run carries
    on from there. Safe to run again: it never writes a call twice.
    """
    from calls.recorded import record_old_calls

    store = common.open_store(db)
    try:
        actor = common.require(store, "reports")
        began = time.monotonic()
        with common.user_errors(), _stop_on_interrupt() as asked, \
                _bar(sys.stderr.isatty() and not common.quiet()) as progress:
            done = record_old_calls(store, stop=asked.is_set, progress=progress)
        took = time.monotonic() - began
        if done.looked:
            _audit(store, actor.name, done, took)
    finally:
        store.close()
    if done.stopped:
        common.console.print(
            f"Stopped: {done.filled:,} calls recorded in {took:.0f} s; {done.left:,} still "
            "to look at (run carecall upgrade again to carry on).", highlight=False)
        raise typer.Exit(130)
    if not done.looked:
        common.console.print("Nothing to do: the database is up to date.", highlight=False)
        return
    common.console.print(
        f"Recorded the export's values on {done.filled:,} calls written by an older "
        f"carecall ({done.looked:,} looked at, {done.steps:,} steps, {took:.0f} s); the "
        "database is up to date.", highlight=False)


def _audit(store, actor: str, done, took: float) -> None:
    """The run in the audit trail (a run that found nothing to do changed nothing and
    writes no row): how many calls it recorded, whether it finished or was stopped."""
    from calls import audit
    from calls.clock import now_utc

    audit.record(store, actor, "upgrade", "calls",
                 {"recorded": done.filled, "looked_at": done.looked, "left": done.left,
                  "steps": done.steps, "seconds": round(took, 1),
                  "ended": "stopped" if done.stopped else "finished"}, now=now_utc())


def register(app: typer.Typer) -> None:
    """Add ``upgrade`` to the app."""
    app.command("upgrade")(upgrade)
