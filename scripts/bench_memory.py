"""A seat's private memory over a whole shift, next to bare Textual measured in the same
run (issue 18: a seat <= 50 MB with 100k customers, so one server holds hundreds).

Uses the shift app benchmark's database (``scripts/bench_tui.py``: bench-out/, built once
with the queue benchmark's generator; --rebuild to redo) and works, in a child process,
headless through Textual's Pilot at 80x24 with notices shown (as a terminal would), a
whole shift as a caller would: ``n``, connected, the recording answer, the first question
answered, the outcome, Save & next, and on through the next customers; every
``--followups-every`` calls the follow-ups opened and closed, every ``--dashboard-every``
calls the dashboard opened, refreshed and closed, and now and then a customer skipped.

The seat (and the bare app) run in a seat's interpreter, ``python -OO`` (``carecall shift``
relaunches itself so: ``calls.cli.seat_relaunch``); ``--docstrings`` also works the shift in
a plain ``python``, the reference for that relaunch.

Private memory is ``Anonymous`` from ``/proc/self/smaps_rollup``: the process's anonymous
pages (Python's heap and objects, thread stacks, copied-on-write library pages). The
database is read through a memory map of its file, whose pages are shared between seats
in the page cache and so are not a seat's own. Printed at 0 calls (the queue drawn) and at
each --at count of calls, beside ``Private_Dirty`` and ``Rss``, and parts of it: the
seat's live Python objects in Python's small-object allocator (and the arenas it holds
for them: a freed block stays in an arena that still has a live one), and what SQLite
holds in its own heap (page caches, prepared statements, sorters); the reference is a bare
Textual app (a DataTable of 100 rows and a footer) drawn and then redrawn --calls times in
a child of the same run. The load average is printed before and after.

``--unmended`` also works the shift with Textual's ``StylesCache`` cache as it ships
(without :func:`tui.memory.mend_textual`): the before of that fix, in the same run.
``--unreleased`` also works it with what a seat lets go of after a step held as before:
cancelled timers left to asyncio (:func:`tui.memory.drop_cancelled_timers` off: a closed
dashboard lives until its 30 s timer was due), SQLite's page caches kept
(``Store.shrink_memory`` off), the closed follow-ups screen keeping its whole list and
the closed dashboard's connection kept open (``app.rest_lane`` off).
``--plain-heap`` also works it with glibc's own threshold for giving a big block pages
of its own (:func:`tui.memory.keep_big_blocks_apart` off); ``--big-block BYTES`` sets
that threshold for the seat (default :data:`tui.memory.BIG_BLOCK`).

Diagnostics for finding what grows (they slow the run and tracemalloc's own bookkeeping
inflates the MB figures, so they are off for the figures):

- ``--trace N``: tracemalloc started at the last but one --at point, the N allocation
  sites (8 frames deep) of what is still alive at the last: what the calls between them
  added and kept (tracing only those calls keeps the run bearable).
- ``--types N``: live objects by type (``gc.get_objects``) at the last two --at points,
  the N types that grew most.

    python scripts/bench_memory.py [--calls 200] [--at 20,100] [--followups-every 10]
                                   [--dashboard-every 25] [--unmended] [--unreleased]
                                   [--plain-heap] [--big-block BYTES]
                                   [--trace N] [--types N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench_tui import (
    CALLER,
    OUT,
    ROOT,
    _close_leftovers,
    _settle,
    memory,
    prepare_database,
    working_copy,
)


def sqlite_heap() -> float:
    """MB SQLite holds in its own heap (page caches, prepared statements, sorters): part of
    the process's anonymous pages; NaN where the library cannot be asked."""
    import ctypes

    try:
        used = ctypes.CDLL("libsqlite3.so.0").sqlite3_memory_used
    except (OSError, AttributeError):    # SQLite linked into Python itself
        return float("nan")
    used.restype = ctypes.c_int64
    return used() / 2**20


def python_heap() -> tuple[float, float]:
    """MB in Python's small-object allocator (pymalloc): in live objects, and held in its
    arenas (live plus free blocks that an arena with a live block keeps from the system)."""
    import re
    import tempfile

    with tempfile.TemporaryFile() as f:    # sys._debugmallocstats writes to C's stderr
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode()

    def figure(name: str) -> float:
        found = re.search(re.escape(name) + r"\s*=\s*([\d,]+)", text)
        return int(found.group(1).replace(",", "")) / 2**20 if found else float("nan")

    return figure("# bytes in allocated blocks"), figure("Total")   # the arenas' total


class Probe:
    """Memory at the points asked for, and the diagnostics between the last two."""

    def __init__(self, trace: int, types: int, marks: list[str]) -> None:
        self.trace = trace
        self.marks = marks
        self.types = types
        self.points: dict[str, dict] = {}
        self.snapshots: list = []
        self.counts: list[Counter] = []

    def take(self, label: str) -> None:
        gc.collect()
        self.points[label] = memory()    # bench_tui's: Anonymous, Private_Dirty, Rss
        self.points[label]["sqlite"] = sqlite_heap()
        self.points[label]["python"], self.points[label]["arenas"] = python_heap()
        if self.trace and label in self.marks[-2:]:
            import tracemalloc

            if label == self.marks[-2]:
                tracemalloc.start(8)
            else:
                self.snapshots = [tracemalloc.take_snapshot()]
                tracemalloc.stop()
        if self.types:
            counts = Counter(type(o).__qualname__ + " " + (type(o).__module__ or "")
                             for o in gc.get_objects())
            self.counts = [*self.counts[-1:], counts]
        print(f"-- {label}: {self.points[label]['anonymous']:.1f} MB", file=sys.stderr,
              flush=True)

    def report(self) -> dict:
        lines: list[str] = []
        if self.snapshots:
            stats = self.snapshots[0].statistics("traceback")
            lines.append(f"{sum(s.size for s in stats) / 2**20:.2f} MB allocated from "
                         f"{self.marks[-2]} to {self.marks[-1]} calls and still alive")
            for stat in stats[:self.trace]:
                lines.append(f"{stat.size / 1024:+9.1f} KiB {stat.count:+6d} blocks")
                lines.extend("      " + line for line in stat.traceback.format()[-16:])
        if len(self.counts) == 2:
            diff = self.counts[1].copy()
            diff.subtract(self.counts[0])
            for name, grew in diff.most_common(self.types):
                lines.append(f"{grew:+8d} {name} (now {self.counts[1][name]})")
        return {"memory": self.points, "diagnostics": lines}


# -- the children ---------------------------------------------------------------------


async def _until(app, pilot, test, what: str, seconds: float = 60) -> None:
    """Settle until ``test()`` holds (a screen shown, a customer loaded)."""
    t0 = time.monotonic()
    while not test():
        if time.monotonic() - t0 > seconds:
            from tests.support.tui import screen_lines

            raise RuntimeError(f"{what}: not reached in {seconds:.0f} s; the screen:\n"
                               + "\n".join(screen_lines(app)))
        await _settle(app, pilot)


def _screen(app) -> str:
    return type(app.screen).__name__


async def _shift(args, probe: Probe) -> None:
    from datetime import datetime

    import tui.app as _tui_app
    import tui.typeahead
    from tui.clock import FixedClock

    # A person reads the new question before typing; the bench types at once.
    tui.typeahead.LOOK_SECONDS = 0.0
    now = datetime.fromisoformat(args.now)
    _close_leftovers(args.db, now)
    marks = {int(n) for n in args.at.split(",") if n} | {args.calls}
    app = _tui_app.make_app(args.db, CALLER, script="quarterly", clock=FixedClock(now))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _until(app, pilot, lambda: _screen(app) == "QueueScreen"
                     and getattr(app.screen, "view", None) is not None, "the queue")
        await pilot.pause(0.5)   # the planner runs once the queue is drawn
        await _settle(app, pilot)
        probe.take("0")
        calls = 0
        session = None
        while calls < args.calls:
            if _screen(app) != "CallScreen":
                await pilot.press("n")
                await _until(app, pilot, lambda: _screen(app) == "CallScreen",
                             f"call {calls + 1}: n")
            session = app.screen.session
            if calls % 17 == 16:     # now and then a customer skipped: back to the queue
                await pilot.press("s")
                await _until(app, pilot, lambda: _screen(app) == "QueueScreen",
                             f"call {calls + 1}: skip")
                await pilot.press("n")
                await _until(app, pilot, lambda skipped=session: _screen(app) == "CallScreen"
                             and app.screen.session is not skipped, f"call {calls + 1}: n")
                session = app.screen.session
            await pilot.press("c", "y", "enter")
            await _settle(app, pilot)
            await pilot.press("9")
            await _settle(app, pilot)
            await pilot.press("escape", "p")
            await _until(app, pilot, lambda: _screen(app) == "WrapUpScreen",
                         f"call {calls + 1}: wrap-up")
            await pilot.press("enter")       # Save & next: the next customer is drawn
            await _until(app, pilot, lambda saved=session: _screen(app) != "WrapUpScreen" and not (
                _screen(app) == "CallScreen" and app.screen.session is saved),
                f"call {calls + 1}: save")
            calls += 1
            await _settle(app, pilot)
            if args.followups_every and calls % args.followups_every == 0:
                await _away(app, pilot, "f", "FollowupsScreen", ())
            if args.dashboard_every and calls % args.dashboard_every == 0:
                await _away(app, pilot, "ctrl+d", "DashboardScreen", ("r",))
            if calls in marks:
                await pilot.pause(0.3)    # what a caller's next breath lets the app finish
                await _settle(app, pilot)
                probe.take(str(calls))
        await pilot.press("ctrl+q", "q")


async def _away(app, pilot, key: str, screen: str, keys: tuple[str, ...]) -> None:
    """From the call screen to the queue (the offered customer given back), ``key`` to
    ``screen``, ``keys`` there, and back to the queue."""
    if _screen(app) == "CallScreen":
        await pilot.press("s")
    await _until(app, pilot, lambda: _screen(app) == "QueueScreen", "back to the queue")
    await pilot.press(key)
    await _until(app, pilot, lambda: _screen(app) == screen, screen)
    for k in keys:
        await pilot.press(k)
        await _settle(app, pilot)
    await pilot.press("escape")
    await _until(app, pilot, lambda: _screen(app) == "QueueScreen", f"out of {screen}")


async def _bare(args, probe: Probe) -> None:
    """Bare Textual: a DataTable of 100 rows and a footer, drawn, then its rows replaced
    --calls times (each redrawn), memory at the same counts as the seat's."""
    from textual.app import App
    from textual.widgets import DataTable, Footer, Static

    class Bare(App):
        def compose(self):
            yield Static("bare Textual")
            yield DataTable()
            yield Footer()

        def fill(self, n: int) -> None:
            table = self.query_one(DataTable)
            table.clear()
            for i in range(100):
                table.add_row(f"Row {i} {n}", f"Company {i}", "A", "Tue 10:00", "never called")

        def on_mount(self) -> None:
            self.query_one(DataTable).add_columns("Customer", "Company", "T", "Their time",
                                                  "Why now")
            self.fill(0)

    marks = {int(n) for n in args.at.split(",") if n} | {args.calls}
    app = Bare()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause(0.3)
        probe.take("0")
        for n in range(1, args.calls + 1):
            app.fill(n)
            await pilot.pause()
            if n in marks:
                await pilot.pause(0.3)
                probe.take(str(n))


def child(args) -> int:
    marks = sorted({int(n) for n in args.at.split(",") if n} | {0, args.calls})
    probe = Probe(args.trace, args.types, [str(n) for n in marks])
    if args.child == "bare":
        asyncio.run(_bare(args, probe))
    else:
        sys.path.insert(0, str(ROOT))
        if args.child == "unmended":   # Textual's cache as it ships (tui.memory.mend_textual)
            import tui.memory

            tui.memory.mend_textual = lambda: False
        if args.child == "unreleased":   # nothing let go of after a step (see --unreleased)
            import tui.memory
            from calls.store import Store
            from tui.database import DatabaseWork
            from tui.screens.followups import FollowupsScreen

            tui.memory.drop_cancelled_timers = lambda loop=None: 0
            Store.shrink_memory = lambda store: None
            FollowupsScreen._keep_what_shows = lambda screen: None
            DatabaseWork.rest_lane = lambda app, lane: None
        import tui.memory

        if args.child == "plain_heap":   # glibc's own mmap threshold (see --plain-heap)
            tui.memory.keep_big_blocks_apart = lambda: False
        elif args.big_block:
            tui.memory.BIG_BLOCK = args.big_block
        asyncio.run(_shift(args, probe))
    print("RESULT " + json.dumps(probe.report()))
    return 0


def seat_options() -> list[str]:
    """The interpreter options a seat runs with (``carecall shift`` relaunches itself as
    ``python -OO``: ``calls.cli.SEAT_OPTIMIZATION``), so the shift is worked as a seat runs."""
    sys.path.insert(0, str(ROOT))
    from calls.cli import SEAT_OPTIMIZATION

    return ["-" + "O" * SEAT_OPTIMIZATION] if SEAT_OPTIMIZATION else []


def spawn(kind: str, args, db: Path, now, *, options: list[str] | None = None) -> dict:
    """A child run of ``kind`` in a seat's interpreter (``options``: others instead)."""
    options = seat_options() if options is None else options
    cmd = [sys.executable, *options, str(Path(__file__).resolve()), "--child", kind,
           "--db", str(db),
           "--now", now.isoformat(), "--calls", str(args.calls), "--at", args.at,
           "--followups-every", str(args.followups_every),
           "--dashboard-every", str(args.dashboard_every),
           "--trace", str(args.trace), "--types", str(args.types),
           "--big-block", str(args.big_block)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{kind} run failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])  # -OO: None
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=200, help="calls worked (default 200)")
    ap.add_argument("--at", default="20,100", help="also measure after these many calls")
    ap.add_argument("--followups-every", type=int, default=10, metavar="N")
    ap.add_argument("--dashboard-every", type=int, default=25, metavar="N")
    ap.add_argument("--trace", type=int, default=0, metavar="N",
                    help="tracemalloc: the N sites of what the calls between the last two points "
                         "added and kept")
    ap.add_argument("--types", type=int, default=0, metavar="N",
                    help="gc: the N object types that grew most between the last two points")
    ap.add_argument("--unmended", action="store_true",
                    help="also a seat with Textual's StylesCache cache as it ships")
    ap.add_argument("--unreleased", action="store_true",
                    help="also a seat that lets nothing go after a step (timers, SQLite's "
                         "caches, the follow-ups list)")
    ap.add_argument("--plain-heap", action="store_true",
                    help="also a seat with glibc's own threshold for mapping big blocks apart")
    ap.add_argument("--big-block", type=int, default=0, metavar="BYTES",
                    help="the seat's threshold for mapping a block apart (tui.memory.BIG_BLOCK)")
    ap.add_argument("--docstrings", action="store_true",
                    help="also a seat in a plain python, docstrings kept (before the -OO relaunch)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--child", choices=("bare", "seat", "unmended", "unreleased", "plain_heap"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--now", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    path, now = prepare_database(args.customers, args.rebuild)
    print(f"database: {path} ({args.customers:,} customers), clock {now:%a %Y-%m-%d %H:%M} UTC,"
          f" caller {CALLER}, 80x24, notices shown")
    print(f"follow-ups opened every {args.followups_every} calls, the dashboard every "
          f"{args.dashboard_every}")
    load_before = os.getloadavg()
    print(f"seat and bare Textual run as: python {' '.join(seat_options())}".rstrip())
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)
    t0 = time.monotonic()
    built = OUT / f"tui_{args.customers}.db"
    bare = spawn("bare", args, path, now)
    seat = spawn("seat", args, path, now)
    # Each further seat on a fresh copy (the seat before it wrote its calls at "now").
    unmended = spawn("unmended", args, working_copy(built), now) if args.unmended else None
    unreleased = (spawn("unreleased", args, working_copy(built), now) if args.unreleased
                  else None)
    plain_heap = (spawn("plain_heap", args, working_copy(built), now) if args.plain_heap
                  else None)
    docstrings = (spawn("seat", args, working_copy(built), now, options=[])
                  if args.docstrings else None)
    load_after = os.getloadavg()
    print(f"\nprivate memory (Anonymous), MB; Private_Dirty and Rss in brackets "
          f"({time.monotonic() - t0:.0f} s):")
    print(f"  {'calls':>6s} {'seat':>22s} {'bare Textual':>22s} {'seat - bare':>12s}"
          f"   seat's Python objects (pymalloc arenas), SQLite")
    for label, m in seat["memory"].items():
        b = bare["memory"].get(label)
        print(f"  {label:>6s} {_fmt(m):>22s} {_fmt(b):>22s} "
              f"{m['anonymous'] - b['anonymous']:12.1f}   {m['python']:5.1f} ({m['arenas']:.1f}),"
              f" {m['sqlite']:.1f}")
    if unmended:
        print("  Textual's StylesCache cache as it ships (not mended), MB:",
              " / ".join(f"{label}: {m['anonymous']:.1f}"
                         for label, m in unmended["memory"].items()))
    if unreleased:
        print("  nothing let go of after a step (--unreleased), MB:",
              " / ".join(f"{label}: {m['anonymous']:.1f} ({m['python']:.1f}, {m['sqlite']:.1f})"
                         for label, m in unreleased["memory"].items()))
    if plain_heap:
        print("  glibc's own threshold for big blocks (--plain-heap), MB:",
              " / ".join(f"{label}: {m['anonymous']:.1f} ({m['python']:.1f}, {m['sqlite']:.1f})"
                         for label, m in plain_heap["memory"].items()))
    if docstrings:
        print("  a plain python, docstrings kept (--docstrings), MB:",
              " / ".join(f"{label}: {m['anonymous']:.1f} ({m['python']:.1f}, {m['sqlite']:.1f})"
                         for label, m in docstrings["memory"].items()))
    marks = list(seat["memory"])
    if len(marks) >= 3:
        a, z = marks[-2], marks[-1]
        grew = seat["memory"][z]["anonymous"] - seat["memory"][a]["anonymous"]
        print(f"  growth from {a} to {z} calls: {grew * 1024 / (int(z) - int(a)):.1f} KB a call")
    for kind, result in (("bare Textual", bare), ("seat", seat)):
        if result["diagnostics"]:
            print(f"\n{kind}: what grew between the last two points")
            print("\n".join(result["diagnostics"]))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    return 0


def _fmt(m: dict | None) -> str:
    if not m:
        return "n/a"
    return f"{m['anonymous']:5.1f} ({m['private_dirty']:.1f}, {m['rss']:.1f})"


if __name__ == "__main__":
    raise SystemExit(main())
