"""Database work for the TUI: the one way a screen reads or writes the database.

``app.db(fn, *args, on_done=..., **kwargs)`` (see :class:`DatabaseWork`) puts a
:class:`DbJob` on a *lane*: a serial queue with one ``Store`` (one SQLite connection).
When the lane is idle a thread of the loop's executor starts at once and runs the lane's
jobs one at a time, in the order they were asked for, until the queue is empty; a Textual
worker (group ``db-<lane>``) awaits it and ends with it. Each job ends by posting one typed message to the app:
:class:`DbDone` (the result) or :class:`DbFailed` (the exception). The app handles both on
the UI thread: ``on_done(result)``, or the one failure handler (``on_db_failed``), which
gives the user one clear notice. Nothing waits on anything else: there is no long-lived
database thread and no second thread waiting for a first.

Why a serial queue and not an exclusive worker group: Textual's ``exclusive=True``
*cancels* the workers already in the group, and a thread worker cannot be stopped once it
runs, so a burst of writes would either be dropped (an answer changed from 1 to 10 lost)
or run side by side on one connection. A seat's writes must reach the database in the
order the caller made them, so each lane keeps its jobs in a deque and runs them under
one lock, popping and running in the same turn: at most one job of a lane runs at a time
and jobs run in the order asked, even if two workers of the lane ever overlap (a worker
Textual cancelled before it could start is replaced; see ``CareCallApp``).

Lanes: ``"seat"`` (everything a seat does, in order), ``"reports"`` (the dashboard's
long reads, on a connection of their own so that a report never queues in front of a
caller's answer; WAL lets it read while the seat writes) and ``"planner"`` (the planner's
run at a shift's start: seconds on a freshly imported list, which the seat's first ``n``
waited behind when it ran on the seat's lane; its writes are short transactions, so the
seat's claims get in between them).

A job that may run long takes ``stop=app.lanes_closing.is_set`` and ends early when it
turns True: the app sets it when it ends, before it waits for each lane's running job.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import field
from itertools import count
from pathlib import Path
from typing import Any

from textual.dom import DOMNode
from textual.message import Message

from calls.records import record
from calls.store import Store

SEAT = "seat"
REPORTS = "reports"
PLANNER = "planner"
LANES = (SEAT, REPORTS, PLANNER)
# Prepared statements each lane's connection keeps (SQLite's heap: a few KB each, ~50 KB
# for a queue query). The seat's lane runs ~80 statements over and over on a call's keys
# and keeps them (a statement dropped is prepared again at its next key); the dashboard's
# reports lane runs its ~70 reads once every refresh (30 s) and the planner's once at the
# start, so they keep few: a statement prepared again there costs well under a
# millisecond of a worker's thread, and the memory is a seat's for the whole shift.
STATEMENTS_KEPT = {SEAT: 128, REPORTS: 8, PLANNER: 8}

_numbers = count(1)


@record(eq=False)
class DbJob:
    """One piece of database work: ``fn(store, *args, **kwargs)`` and what to do after.

    ``on_done(result)`` runs on the UI thread; ``on_error(exc)`` lets the screen that
    asked put itself back (re-enable a key, keep a form) and returns True when it has told
    the user itself (in place), else the app's notice follows. ``quiet`` jobs (polls that
    run again at the next tick) show no notice when they fail.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[Exception], bool | None] | None = None
    quiet: bool = False
    lane: str = SEAT
    description: str = ""
    number: int = field(default_factory=lambda: next(_numbers))

    @property
    def name(self) -> str:
        return self.description or getattr(self.fn, "__name__", "database work")


class DbDone(Message):
    """A database job finished; ``result`` is what ``fn`` returned."""

    def __init__(self, job: DbJob, result: Any) -> None:
        super().__init__()
        self.job = job
        self.result = result


class DbFailed(Message):
    """A database job raised ``error`` (nothing it wrote in its transaction stays)."""

    def __init__(self, job: DbJob, error: Exception) -> None:
        super().__init__()
        self.job = job
        self.error = error


class Lane:
    """A serial queue of jobs with one ``Store``, drained by short-lived workers."""

    def __init__(self, name: str, db_path: str | Path) -> None:
        self.name = name
        self.db_path = Path(db_path)
        self._jobs: deque[DbJob] = deque()
        self._lock = threading.Lock()      # guards the deque and the flags
        self._turn = threading.Lock()      # one job of this lane at a time, in order
        self._draining = False
        self._closed = False
        self._rest = False                 # close the connection once the lane runs dry
        self._store: Store | None = None

    def put(self, job: DbJob) -> bool:
        """Queue ``job``; True when no worker is draining the lane (start one)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._jobs.append(job)
            self._rest = False             # someone uses the lane again: keep it open
            if self._draining:
                return False
            self._draining = True
            return True

    def needs_worker(self) -> bool:
        """After a worker of this lane ended early (cancelled before it ran): jobs wait
        and nobody drains them; True once (the caller starts a worker)."""
        with self._lock:
            if self._closed or not self._jobs:
                self._draining = False
                return False
            self._draining = True
            return True

    def rest(self) -> bool:
        """Close the lane's connection once the jobs already asked for have run (the
        screen that used it has closed); a job asked for later opens it again. True when
        no worker drains the lane: the caller starts one, which closes it."""
        with self._lock:
            if self._closed:
                return False
            self._rest = True
            if self._draining:
                return False
            self._draining = True
            return True

    @property
    def is_open(self) -> bool:
        """Whether the lane holds a connection now."""
        return self._store is not None

    def _next(self) -> tuple[DbJob | None, bool]:
        """The next job, or None and whether to close the connection (:meth:`rest`)."""
        with self._lock:
            if not self._jobs:
                self._draining = False
                rest, self._rest = self._rest, False
                return None, rest
            return self._jobs.popleft(), False

    def _store_now(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.db_path, statements=STATEMENTS_KEPT[self.name])
        return self._store

    def _run(self, job: DbJob) -> tuple[bool, Any]:
        try:
            return True, job.fn(self._store_now(), *job.args, **job.kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the app's failure handler
            return False, exc

    def drain(self, post: Callable[[Message], Any]) -> int:
        """The worker's body: run queued jobs in order until none is left; each ends by
        posting :class:`DbDone` or :class:`DbFailed` through ``post``. Returns how many.
        When the lane runs dry its connection gives SQLite's spare heap back."""
        done = 0
        while True:
            with self._turn:
                job, rest = self._next()
                if job is None:
                    if rest:
                        self._close_store()
                    elif done:
                        self._give_back()
                    return done
                ok, value = self._run(job)
            done += 1
            post(DbDone(job, value) if ok else DbFailed(job, value))

    def _give_back(self) -> None:
        # After the last job of a load (a follow-up list, a dashboard's figures, a step's
        # writes) SQLite keeps the pages it read or wrote cached, up to 2 MB a connection;
        # a seat holds hundreds of such connections on a server. Shrinking costs ~0.1 ms,
        # and the database's pages come back through the memory map when next needed.
        if self._store is not None:
            with contextlib.suppress(sqlite3.Error):
                self._store.shrink_memory()

    def close(self, last: Callable[[Store], Any] | None = None) -> None:
        """At the app's end: refuse new jobs, run the ones still queued (their results
        go nowhere: the screens are gone), then ``last(store)``, then close the store.
        Waits for a job that is running now."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with self._turn:
            while (job := self._next()[0]) is not None:
                self._run(job)
            if last is not None:
                try:
                    last(self._store_now())
                except Exception:  # noqa: BLE001, S110 - leaving must not fail on the way out
                    pass
            self._close_store()

    def _close_store(self) -> None:
        # Only with ``_turn`` held: no job of the lane runs on the connection.
        if self._store is not None:
            self._store.close()
            self._store = None


class DatabaseWork:
    """The app's side of the worker path (mixed into the app before ``App``).

    ``open_lanes(db_path)`` in ``__init__``; ``db(...)`` from any screen (UI thread);
    ``close_lanes(last=...)`` when the app ends.
    """

    def open_lanes(self, db_path: str | Path) -> None:
        self.lanes = {name: Lane(name, db_path) for name in LANES}
        # Set when the app ends: a long job (the planner) asks it between its
        # transactions and stops, so that quitting does not wait for it.
        self.lanes_closing = threading.Event()

    def db(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], bool | None] | None = None,
        quiet: bool = False,
        lane: str = SEAT,
        description: str = "",
        **kwargs: Any,
    ) -> DbJob:
        """Run ``fn(store, *args, **kwargs)`` off the UI thread, after every job asked for
        before it on the same lane. ``on_done(result)`` then runs on the UI thread; a
        failure goes to :meth:`on_db_failed` (``on_error`` first, see :class:`DbJob`)."""
        job = DbJob(fn, args, kwargs, on_done=on_done, on_error=on_error, quiet=quiet,
                    lane=lane, description=description)
        if self.lanes[lane].put(job):
            self._start_lane(lane)
        return job

    def rest_lane(self, lane: str) -> None:
        """Close ``lane``'s connection after the jobs already asked for on it (a screen
        with a lane of its own has closed: the dashboard's reports connection, with its
        caches, stayed open all shift); the next job on the lane opens it again."""
        if self.lanes[lane].rest():
            self._start_lane(lane)

    def _start_lane(self, lane: str) -> None:
        # The lane's thread starts now (the loop's executor), not when the worker's task
        # first runs: a write asked for by a key starts while the screen redraws. The
        # Textual worker awaits it, so app.workers and wait_for_complete still see it.
        import asyncio

        running = asyncio.get_running_loop().run_in_executor(
            None, self.lanes[lane].drain, self.post_message)  # type: ignore[attr-defined]
        self.run_worker(  # type: ignore[attr-defined]
            running, group=f"db-{lane}", exit_on_error=False, description=f"database ({lane})",
        )

    def on_worker_state_changed(self, event: Any) -> None:
        """A lane's worker that Textual cancelled before it ran leaves jobs waiting."""
        from textual.worker import WorkerState

        group = event.worker.group
        if (group.startswith("db-") and event.state is WorkerState.CANCELLED
                and self.is_running):  # type: ignore[attr-defined]
            lane = group.removeprefix("db-")
            if lane in self.lanes and self.lanes[lane].needs_worker():
                self._start_lane(lane)

    def on_db_done(self, message: DbDone) -> None:
        job = message.job
        # A result for a screen or widget that has closed meanwhile (a dashboard load
        # that ends after the supervisor left it) has nowhere to go: dropped. Failures
        # are never dropped (on_db_failed).
        owner = getattr(job.on_done, "__self__", None)
        if isinstance(owner, DOMNode) and not owner.is_attached:
            self.after_db(job)
            return
        if job.on_done is not None:
            try:
                job.on_done(message.result)
            except Exception as exc:  # noqa: BLE001 - a bug in a screen must not end the shift
                self.show_error(exc)
        self.after_db(job)

    def after_db(self, job: DbJob) -> None:
        """Hook: after each job's result reached the screen (the seat follows the call)."""

    def on_db_failed(self, message: DbFailed) -> None:
        """The one place a failed database job reaches the user: the asking screen puts
        itself back (``on_error``), then one clear notice unless the screen said it in
        place or the job is a quiet poll. What the caller typed stays in the call session
        (the wrap-up writes every answer again), so a failed write loses nothing."""
        job, exc = message.job, message.error
        told = False
        if job.on_error is not None:
            try:
                told = bool(job.on_error(exc))
            except Exception as hook_exc:  # noqa: BLE001
                self.show_error(hook_exc)
        if job.quiet:
            self.log.warning(f"{job.name} failed: {exc!r}")  # type: ignore[attr-defined]
        elif not told:
            self.show_error(exc)

    def show_error(self, exc: BaseException) -> None:
        """One clear notification for something that could not be saved or loaded."""
        from calls.accounts import Refused
        from calls.errors import UserError
        from calls.store import is_locked_error

        if isinstance(exc, Refused):  # a refusal is a notice, not an error
            self.notify(str(exc).removeprefix("refused: "),  # type: ignore[attr-defined]
                        title="Not for your role", severity="warning", timeout=6)
            return
        if isinstance(exc, UserError):
            message = str(exc)
        elif is_locked_error(exc):
            message = "The database is busy (another caller is writing); try again."
        else:
            message = f"{type(exc).__name__}: {exc}"
        self.notify(message, title="Could not save or load",  # type: ignore[attr-defined]
                    severity="error", timeout=8)

    def close_lanes(self, last: Callable[[Store], Any] | None = None) -> None:
        """Finish every lane's queued work (the seat's last, then ``last(store)``); a long
        job that asks ``lanes_closing`` stops at its next step."""
        self.lanes_closing.set()
        for name, lane in self.lanes.items():
            lane.close(last if name == SEAT else None)
