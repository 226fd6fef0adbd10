"""What a caller waits for in the shift app, on a large database, next to references
measured in the same run (issue 18: every key <= 50 ms, start <= 300 ms, <= 50 MB).

Builds (once, in bench-out/; --rebuild to redo) a database with the queue benchmark's
generator (scripts/bench_queue.py), works on a fresh copy of it each run (the runs' calls
do not pile up), then measures, each the median of --repeat samples:

- **core alone** (in this process, its own connection): the calls behind each step —
  taking the next customer, a wrap-up written, the follow-up list read, the dashboard's
  figures computed.
- **the app** (a child process per run, headless through Textual's Pilot at 80x24, fixed
  clock, the bench caller ``owner1`` who owns about 300 open follow-ups):
  ``n`` on the queue to the next customer's call screen drawn; the outcome key to the
  wrap-up drawn; the wrap-up's Enter to the next customer drawn; ``f`` to the follow-ups
  drawn with their list; ``r`` on the dashboard to today's shift drawn (the first of its
  two loads) and to the whole dashboard drawn (the second: coverage), with nothing
  written since the last refresh (the dashboard reads again only what changed: its core
  reference is ``DashboardFigures`` finding nothing to read) and again right after
  another seat (one already on today's table) wrapped up a call (everything read again:
  the plain computation is its reference); a digit to the answer in the database.
  "Drawn" is the first frame the compositor sends out (``App._display``) whose text holds
  the result (the new customer's name, the follow-ups' count line, ...): what a terminal
  would show, without the terminal's own write. Beside the medians, the p90 of the wall
  clock (the slow tail a caller feels now and then: a garbage collection, a busy machine).
- **start**: a fresh process per sample, from its exec to the queue drawn (the Python
  start and every import included), next to ``python -c pass`` and a bare Textual app (a
  footer and a 100-row DataTable) timed the same way, interleaved.

Every app child runs in the interpreter its tree's seats run in: ``carecall shift`` (and
``dashboard``, ``demo``) relaunch themselves as ``python -OO`` (``calls.cli.seat_relaunch``;
no docstrings: ~2 MB less private memory), so this tree's children are ``python -OO``, an
older revision's plain ``python``, the bare app this tree's (the header says which). The
relaunch itself (a second interpreter start up to the exec, ~40 ms) is not in the start
figure. Bytecode is compiled at both levels first, the installed packages' too.
- **private memory**: ``Anonymous`` from ``/proc/self/smaps_rollup`` (the process's
  anonymous pages: Python's heap and objects, thread stacks, copied-on-write library
  pages); the database is read through a memory map of the file, whose pages are shared
  between seats in the page cache and so are not counted. Read after start, after the
  first whole call, after all the calls (does it grow?), and at the end (after the
  follow-ups and the dashboard); the bare Textual app's figure is the reference. ``Private_Dirty`` and ``Rss`` are printed beside it.

``--plain-figures`` runs this tree's app a second time (interleaved, as ``--against``) with
what the dashboard keeps between refreshes ignored: coverage walks every customer's calls
(``calls.store.coverage.in_step`` answering False, as before migration ``coverage_0001``)
and the days before today are read again at every read (as before the journal of call
writes): the reference for the refresh after a write on the same database, which an
older revision cannot open. (The escalation check and the backlog's index ranges stay:
their plain readings are gone from the code; tests hold them to it.)

``--plain-tables`` runs this tree's app once more with the dashboard drawn the plain way:
its tables plain DataTables (every visible row rendered again after any cell changes, not
``tui.widgets.tables.FigureTable``) and every changed text laid out again (not
``show_text(..., in_place=True)``): the reference for the drawing.

Memory is read in each tree's last key run, on a copy of the database its first start
already planned; one more key run per tree, on a fresh unplanned copy (the seat's planner
plans the list beside the first keys), gives a first start's memory (its key figures are
not pooled; ``--planned-only`` leaves it out); that copy is migrated first, in a process
of its own (a built file older than a migration would make the reading an upgrade's too). "Another seat" (the refresh after a write)
works its calls in a process of its own, as on a floor: in a thread of the seat measured
its connection and C heap were counted in that seat's memory.

``--against REV`` checks REV out into bench-out/ (a git worktree) and runs its app in the
same way, interleaved with this tree's runs (start samples alternate; key runs go A B B A),
so a before/after comparison shares the machine's load. The load average is printed
before and after. REV works on its own fresh copy of the built database (this tree's
migrations, run on the first open, would leave a schema an older revision refuses; the
built file itself is only read: it keeps the schema it was built with, so build it with
the older of the two when REV is older than the build).

    python scripts/bench_tui.py [--customers N] [--repeat 20] [--starts 20]
                                [--against REV] [--plain-figures] [--plain-tables]
                                [--planned-only] [--rebuild] [--starts-only]

``--starts-only`` runs the starts alone (each start's own make_app-to-drawn is counted
with the key runs' in the target's median), a quick loop for work on the start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "bench-out"
CALLER = "owner1"  # the generator gives every ownerN about 300 open follow-ups
PLAIN_FIGURES = "BENCH_TUI_PLAIN_FIGURES"   # set in a child: what the dashboard keeps ignored
PLAIN_TABLES = "BENCH_TUI_PLAIN_TABLES"     # set in a child: the dashboard drawn the plain way


def clock() -> float:
    """CLOCK_MONOTONIC: one clock for every process on the machine (the start samples
    begin in the parent and end in the child)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def memory(point: str = "") -> dict[str, float]:
    """This process's memory in MB from /proc/self/smaps_rollup (Linux). With
    BENCH_TUI_TRACEMALLOC=N set, also prints the N largest holders of Python memory by
    module (what allocates; tracemalloc's own bookkeeping inflates the MB figures)."""
    top = int(os.environ.get("BENCH_TUI_TRACEMALLOC") or 0)
    if top and point:
        import tracemalloc

        stats = tracemalloc.take_snapshot().statistics("filename")
        by_package: dict[str, int] = defaultdict(int)
        for stat in stats:
            name = stat.traceback[0].filename
            parts = Path(name).parts
            key = name
            for top_dir in ("site-packages", "calls", "tui", "python3.11"):
                if top_dir in parts[:-1]:
                    i = parts.index(top_dir)
                    key = "/".join(parts[i:i + 2])
                    break
            by_package[key] += stat.size
        total = sum(by_package.values())
        print(f"-- tracemalloc at {point}: {total / 2**20:.1f} MB in Python objects", file=sys.stderr)
        for key, size in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
            print(f"   {size / 2**20:7.2f} MB  {key}", file=sys.stderr)
    fields: dict[str, float] = {}
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    fields[name] = int(parts[0]) / 1024
    except OSError:
        return {}
    return {"anonymous": fields.get("Anonymous", float("nan")),
            "private_dirty": fields.get("Private_Dirty", float("nan")),
            "rss": fields.get("Rss", float("nan"))}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p90(values: list[float]) -> float:
    """The value nine in ten samples stay under (a key's slow tail: a garbage collection,
    the machine's other work)."""
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else float("nan")


# -- frames ---------------------------------------------------------------------------


class FrameWatch:
    """Times the first frame that satisfies a test, from the app's own output.

    Wraps the app's ``_display`` (where Textual hands each compositor update to the
    driver): when armed, each frame's text is checked and the first one that passes
    stops the clock.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.test = None
        self.done: asyncio.Future | None = None
        original = app._display

        def display(screen, update) -> None:
            original(screen, update)
            if self.test is not None and update is not None and not self.done.done():
                at, cpu = clock(), time.process_time()
                if self.test(frame_text(update)):
                    self.test = None
                    self.done.set_result((at, cpu))

        app._display = display

    def arm(self, test) -> asyncio.Future:
        self.done = asyncio.get_running_loop().create_future()
        self.test = test
        return self.done


def frame_text(update) -> str:
    """The characters of a compositor update (layout or chops), lines joined by newlines."""
    parts: list[str] = []
    for segment in update.__rich_console__(None, None):
        if segment.control:
            parts.append("\n")
        else:
            parts.append(segment.text)
    return "".join(parts)


def shows_name(text: str, name: str) -> bool:
    """``Customer 12`` on screen, not as the start of ``Customer 123``."""
    return re.search(re.escape(name) + r"(?![0-9])", text) is not None


# -- the children ---------------------------------------------------------------------


def _use_tree(tree: str) -> None:
    sys.path.insert(0, tree)


async def _bare_app(spawned: float) -> dict:
    from textual.app import App
    from textual.widgets import DataTable, Footer, Static

    class Bare(App):
        def compose(self):
            yield Static("bare Textual")
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("Customer", "Company", "T", "Their time", "Why now")
            for i in range(100):
                table.add_row(f"Row {i}", f"Company {i}", "A", "Tue 10:00", "never called")

    app = Bare()
    async with app.run_test(size=(80, 24)):
        watch = FrameWatch(app)
        drawn, _cpu = await asyncio.wait_for(watch.arm(lambda t: "Row 1" in t), 30)
        result = {"start": drawn - spawned, "memory": memory()}
    return result


async def _app_start(tree: str, db: str, now_iso: str, spawned: float, keys: int) -> dict:
    """Start the app, time it to the queue drawn; with ``keys``, then time the keys."""
    from datetime import datetime

    from calls.session import CallSession
    from tui.app import make_app
    from tui.clock import FixedClock

    now = datetime.fromisoformat(now_iso)
    if os.environ.get(PLAIN_FIGURES):
        import calls.dashboard
        from calls.store import coverage

        coverage.in_step = lambda store: False
        calls.dashboard.calls_written_since = lambda store, seq: (0, None, False)
    if os.environ.get(PLAIN_TABLES):
        from textual.widgets import DataTable

        from tui.screens import dashboard
        from tui.widgets import tables

        # every visible row rendered again (a tree before tables.Table: a DataTable)
        dashboard.FigureTable = getattr(tables, "Table", DataTable)
        if hasattr(dashboard, "show_text"):      # every changed text laid out again
            plain_show = dashboard.show_text
            dashboard.show_text = lambda widget, text, in_place=False: plain_show(widget, text)
    _close_leftovers(db, now)
    saved: list[float] = []
    original_save = CallSession.save

    def save(*args, **kwargs):
        result = original_save(*args, **kwargs)
        saved.append(clock())
        return result

    CallSession.save = save
    try:  # a person reads the new question before typing; the bench types at once
        import tui.typeahead

        tui.typeahead.LOOK_SECONDS = 0.0
    except ImportError:  # a revision from before the type-ahead guard
        pass
    made = clock()
    app = make_app(db, CALLER, script="quarterly", clock=FixedClock(now))
    watch = FrameWatch(app)
    queue_drawn = watch.arm(lambda t: "to call now" in t or "Nobody to call" in t)
    import tui.app as tui_app

    result: dict = {"tree": tree, "module": tui_app.__file__}
    # Notices shown, as in a terminal (the Pilot leaves them out by default): building a
    # notice's widgets is part of what a caller waits for after saving a call.
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        drawn, _cpu = await asyncio.wait_for(queue_drawn, 60)
        result["start"] = drawn - spawned
        result["start_in_process"] = drawn - made
        result["memory_start"] = memory("start")
        if keys:
            await _keys(app, pilot, watch, keys, saved, result)
        await pilot.press("ctrl+q", "q")
    CallSession.save = original_save
    return result


def _close_leftovers(db: str, now) -> None:
    """A run stopped half-way leaves the bench caller's calls open: close them, so that
    the app opens on the queue and not on the resume prompt."""
    from calls.policy import DEFAULT_POLICY
    from calls.session import close_unfinished, unfinished
    from calls.store import Store

    with Store.open(db) as store:
        for item in unfinished(store, CALLER):
            close_unfinished(store, item.call.id, CALLER, now, DEFAULT_POLICY)


async def _settle(app, pilot) -> None:
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one
            pass
        await pilot.pause(0.02)


async def _keys(app, pilot, watch: FrameWatch, repeat: int, saved: list[float],
                result: dict) -> None:
    def on_call(previous):
        def test(text: str) -> bool:
            session = getattr(app.screen, "session", None)
            return (type(app.screen).__name__ == "CallScreen" and session is not None
                    and session is not previous and shows_name(text, session.customer.name))
        return test

    def on_screen(name: str, words: str):
        return lambda text: type(app.screen).__name__ == name and words in text

    cpu_used: dict[str, list[float]] = defaultdict(list)
    profiler = None
    if os.environ.get("BENCH_TUI_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()

    async def timed(keys: tuple[str, ...], test, label: str = "") -> float:
        await _settle(app, pilot)
        if keys[:-1]:
            await pilot.press(*keys[:-1])
            await _settle(app, pilot)
        done = watch.arm(test)
        profile = profiler is not None and label == os.environ["BENCH_TUI_PROFILE"]
        if profile:
            profiler.enable()
        t0, cpu0 = clock(), time.process_time()
        await pilot.press(keys[-1])
        try:
            at, cpu = await asyncio.wait_for(done, float(os.environ.get("BENCH_TUI_WAIT", "60")))
        except TimeoutError:
            from tests.support.tui import screen_lines

            raise RuntimeError(f"{label}: no frame passed the test in 60 s; the screen:\n"
                               + "\n".join(screen_lines(app))) from None
        if profile:
            profiler.disable()
        cpu_used[label].append(cpu - cpu0)
        return at - t0

    await asyncio.sleep(0.5)  # the planner runs once the queue is drawn
    take, wrap_open, wrap_next, answer = [], [], [], []
    session = None
    for i in range(repeat):
        take.append(await timed(("n",), on_call(session), "take next"))
        session = app.screen.session
        await pilot.press("c", "y", "enter")
        await _settle(app, pilot)
        count = len(saved)
        t0 = clock()
        await pilot.press("9")
        while len(saved) == count:
            if clock() - t0 > 60:
                raise RuntimeError("the answer was never saved")
            await asyncio.sleep(0.001)
        answer.append(saved[-1] - t0)
        wrap_open.append(await timed(("escape", "p"), on_screen("WrapUpScreen", "Wrap-up:"),
                                     "wrap-up opens"))
        wrap_next.append(await timed(("enter",), on_call(session), "wrap-up to next"))
        session = app.screen.session
        await _settle(app, pilot)
        await pilot.press("s")   # give the offered customer back: next round starts at n
        session = None
        if i == 0:               # one whole call worked, and the next customer given back
            await _settle(app, pilot)
            result["memory_one_call"] = memory("one call")
    result["memory_calls"] = memory("calls")
    followups = []
    for _ in range(repeat):
        followups.append(await timed(("f",), on_screen("FollowupsScreen", "open follow-ups:"),
                                     "follow-ups open"))
        await pilot.press("escape")
    await _settle(app, pilot)
    await pilot.press("ctrl+d")
    await _settle(app, pilot)
    dashboard, dashboard_live, dashboard_written = [], [], []
    screen = app.screen
    if type(screen).__name__ == "DashboardScreen":
        # A revision that draws the dashboard in one go has no live_loads: the same figure.
        counter = "live_loads" if hasattr(screen, "live_loads") else "loads"
        for _ in range(repeat):
            live = getattr(screen, counter)
            dashboard_live.append(await timed(
                ("r",), lambda _t, live=live: getattr(screen, counter) > live,
                "dashboard today"))
            await _settle(app, pilot)
            loads = screen.loads
            dashboard.append(await timed(
                ("r",), lambda _t, loads=loads: screen.loads > loads, "dashboard refresh"))
        # The same after a write: another seat wraps up a call just before r (everything
        # is read again: this is the plain computation's time, plus the drawing). The
        # seats have each wrapped up a call before (untimed): they are on today's table,
        # as on a shift (a caller's first call of the day adds a row: rarer).
        other = await OtherSeat.start(app.db_path)
        try:
            for i in range(repeat):
                await other.call(app.now(), i)
            await pilot.press("r")
            for i in range(repeat):
                await _settle(app, pilot)
                await other.call(app.now(), i)
                loads = screen.loads
                dashboard_written.append(await timed(
                    ("r",), lambda _t, loads=loads: screen.loads > loads,
                    "dashboard after a write"))
        finally:
            await other.stop()
        # The dashboard is the app's to let go of once closed: this coroutine's own
        # reference (a cell the timed tests above close over) kept it alive.
        screen = None
        await pilot.press("escape")
    await _settle(app, pilot)      # what the app does once the queue is drawn again
    result["memory_end"] = memory("end")
    if profiler is not None:
        profiler.dump_stats(str(OUT / "bench_tui.prof"))
    result.update({"take next": take, "wrap-up opens": wrap_open,
                   "wrap-up to next": wrap_next, "answer saved": answer,
                   "follow-ups open": followups, "dashboard refresh": dashboard,
                   "dashboard today": dashboard_live,
                   "dashboard after a write": dashboard_written,
                   "cpu": cpu_used})


class OtherSeat:
    """Another seat, in a process of its own as on a floor (in a thread of the seat
    measured, its connection and its C heap counted in that seat's memory): each
    :meth:`call` works a call to its wrap-up there (:func:`_another_seat_calls`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, db) -> OtherSeat:
        import tui.app

        tree = str(Path(tui.app.__file__).resolve().parents[1])   # the seat's own tree
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--child", "seat", "--tree", tree,
            "--db", str(db), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=tree))

    async def call(self, now, i: int) -> None:
        self.process.stdin.write(f"{i} {now.isoformat()}\n".encode())
        await self.process.stdin.drain()
        answer = await self.process.stdout.readline()
        if answer.strip() != b"done":
            raise RuntimeError(f"the other seat failed (exit {await self.process.wait()})")

    async def stop(self) -> None:
        self.process.stdin.close()
        await self.process.wait()


def _other_seat(db: str) -> None:
    """The other seat's process: a call per line ("i now") read, "done" after each."""
    from datetime import datetime

    for line in sys.stdin:
        i, now = line.split()
        _another_seat_calls(db, datetime.fromisoformat(now), int(i))
        print("done", flush=True)


def _another_seat_calls(db, now, i: int) -> None:
    """A call worked to its wrap-up by another seat, on its own connection."""
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession
    from calls.store import Store

    with Store.open(db) as store:
        session = CallSession.take_next(store, f"bench-seat-{i}", now, DEFAULT_POLICY,
                                        "quarterly")
        if session is None:
            return
        session.connect(store, now)
        session.save(store, session.answer(session.current().key, 9), now)
        session.choose("completed")
        session.wrap_up(store, now, session.plan_wrap_up(now, ""))


def child(args) -> int:
    if os.environ.get("BENCH_TUI_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start()
    if args.child == "seat":
        _use_tree(args.tree)
        _other_seat(args.db)
        return 0
    if args.child == "bare":
        result = asyncio.run(_bare_app(args.spawned))
    else:
        _use_tree(args.tree)
        result = asyncio.run(_app_start(args.tree, args.db, args.now, args.spawned,
                                        args.repeat if args.child == "keys" else 0))
    print("RESULT " + json.dumps(result))
    return 0


_SEAT_OPTIONS: dict[Path, list[str]] = {}


def seat_options(tree: Path) -> list[str]:
    """The interpreter options ``tree``'s seats run with: ``carecall shift`` relaunches
    itself as ``python -OO`` (``calls.cli.SEAT_OPTIMIZATION``, 4 December; none before),
    so its app is measured in the interpreter a caller's seat has."""
    if tree not in _SEAT_OPTIONS:
        code = "import calls.cli as c; print(getattr(c, 'SEAT_OPTIMIZATION', 0))"
        level = int(subprocess.run([sys.executable, "-c", code], cwd=tree, check=True,
                                   capture_output=True, text=True).stdout)
        _SEAT_OPTIONS[tree] = ["-" + "O" * level] if level else []
    return _SEAT_OPTIONS[tree]


def compile_bytecode(tree: Path) -> None:
    """Compile ``tree`` and the installed packages at the levels seats and the bench run
    (start-up is measured; this machine may not write bytecode on import)."""
    import sysconfig

    levels = ["-o", "0", "-o", "2"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *levels, "calls", "tui"],
                   cwd=tree, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *levels,
                    sysconfig.get_paths()["purelib"]], check=False, capture_output=True)


def spawn(kind: str, tree: Path, db: Path, now, repeat: int = 0, *,
          plain: str | None = None) -> dict:
    """A child run of ``kind`` in ``tree``'s seat interpreter (``seat_options``; the bare
    app in this tree's); ``plain``: PLAIN_FIGURES or PLAIN_TABLES, set in it."""
    cmd = [sys.executable, *seat_options(ROOT if kind == "bare" else tree),
           str(Path(__file__).resolve()), "--child", kind, "--tree", str(tree),
           "--db", str(db), "--now", now.isoformat(), "--repeat", str(repeat)]
    env = {k: v for k, v in os.environ.items() if k not in (PLAIN_FIGURES, PLAIN_TABLES)}
    if plain:
        env[plain] = "1"
    spawned = clock()
    out = subprocess.run(cmd + ["--spawned", repr(spawned)], capture_output=True, text=True,
                         cwd=tree, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{kind} run in {tree} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def migrate_apart(tree: Path, db: Path) -> None:
    """Open ``db`` once with ``tree``'s code in a process of its own, which applies the
    migrations the built file lacks: a seat's reading is then a first start, not also an
    upgrade (a built file older than a migration made the "first start on an unplanned
    list" reading that migration's too: calls_0003's backfill, when the migration ran it,
    kept ~40 MB more in the seat). Migrating plans nothing: the list stays unplanned."""
    code = "import sys; from calls.store import Store; Store.open(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(db)], cwd=tree, check=True)


def python_pass() -> float:
    spawned = clock()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return clock() - spawned


# -- the references: the core alone ----------------------------------------------------


def reference(path: Path, now, repeat: int) -> dict[str, list[float]]:
    """The core calls behind each step, on their own connection."""
    sys.path.insert(0, str(ROOT))
    from calls.dashboard import load_floor
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession
    from calls.store import Store
    from tui.core import load_queue
    from tui.screens.followups import load_followups

    timings: dict[str, list[float]] = {k: [] for k in (
        "queue page", "take next", "wrap-up written", "follow-ups read", "dashboard today",
        "dashboard figures")}
    store = Store.open(path)
    for i in range(repeat):
        caller = f"ref-{i}"
        t0 = clock()
        load_queue(store, caller, now, DEFAULT_POLICY, 100)
        timings["queue page"].append(clock() - t0)
        t0 = clock()
        session = CallSession.take_next(store, caller, now, DEFAULT_POLICY, "quarterly")
        timings["take next"].append(clock() - t0)
        if session is None:
            break
        session.connect(store, now)
        session.save(store, session.answer(session.current().key, 9), now)
        session.choose("partial")
        t0 = clock()
        session.wrap_up(store, now, session.plan_wrap_up(now, ""))
        timings["wrap-up written"].append(clock() - t0)
        t0 = clock()
        load_followups(store, CALLER, now)
        timings["follow-ups read"].append(clock() - t0)
    store.close()
    from calls.reports import build_dashboard, dashboard_today
    from tui.widgets.escalations import check_escalations

    tz = datetime_utc()
    with Store.open(path) as s:
        try:
            from calls.dashboard import DashboardFigures
        except ImportError:      # a tree from before it
            DashboardFigures = None
        if DashboardFigures is not None:
            figures = DashboardFigures(DEFAULT_POLICY, tz)
            figures.live(s, now)
            figures.period(s, now)
            timings["dashboard kept"] = []
            for _ in range(repeat):   # nothing written since the last read: what r costs
                t0 = clock()
                figures.live(s, now)
                figures.period(s, now)
                timings["dashboard kept"].append(clock() - t0)
            timings["dashboard kept, after a write"] = []
            for i in range(repeat):   # another seat wrapped up a call since the last read
                _another_seat_calls(path, now, 900 + i)
                t0 = clock()
                figures.live(s, now)
                figures.period(s, now)
                timings["dashboard kept, after a write"].append(clock() - t0)
        def plain_figures(figures_of) -> None:
            """The dashboard's plain reads: its figures, the floor, the escalation check."""
            figures_of(s, now)
            load_floor(s, now, tz)
            check_escalations(s, now, DEFAULT_POLICY)

        def today(store, at):
            dashboard_today(store, at, tz)

        def whole(store, at):
            build_dashboard(store, at, DEFAULT_POLICY, tz)

        for _ in range(repeat):
            t0 = clock()
            plain_figures(today)
            timings["dashboard today"].append(clock() - t0)
            t0 = clock()
            plain_figures(whole)
            timings["dashboard figures"].append(clock() - t0)
        try:
            from calls.store import coverage
        except ImportError:      # a tree from before the kept coverage
            return timings
        timings["dashboard figures, coverage walked"] = []   # the plain path
        kept_in_step = coverage.in_step
        coverage.in_step = lambda store: False
        try:
            for _ in range(repeat):
                t0 = clock()
                plain_figures(whole)
                timings["dashboard figures, coverage walked"].append(clock() - t0)
        finally:
            coverage.in_step = kept_in_step
    return timings


def datetime_utc():
    from datetime import UTC

    return UTC


# -- the run --------------------------------------------------------------------------


def checkout(rev: str) -> Path:
    """REV as a git worktree under bench-out/ (made once per commit), bytecode compiled."""
    sha = subprocess.run(["git", "rev-parse", "--verify", rev + "^{commit}"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    tree = OUT / f"against-{sha[:12]}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT,
                       check=True, capture_output=True)
    compile_bytecode(tree)
    return tree


def prepare_database(customers: int, rebuild: bool = False):
    """The benchmark's database (bench_queue's generator, built once in bench-out/) and the
    moment its data is generated around; compiles the tree, since start-up is measured."""
    bq = _bench_queue()
    OUT.mkdir(exist_ok=True)
    built = OUT / f"tui_{customers}.db"
    if rebuild or not built.exists():
        print(f"building {built} ...", flush=True)
        bq.build(built, customers)
    compile_bytecode(ROOT)
    return bq.working_copy(built), bq.BASE


def working_copy(built: Path, name: str = "run") -> Path:
    """A fresh copy of the built database for this run (``name``: which copy). The runs
    work calls at the bench's fixed moment; on the built file itself they piled up run
    after run (2,600 calls at that moment after a day of runs), and figures that treat
    calls dated at or after "now" apart (coverage) drifted from one run to the next."""
    return _bench_queue().working_copy(built, name)


def _bench_queue():
    """scripts/bench_queue.py as a module: its generator and its database copies."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])  # -OO: None
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeat", "--calls", type=int, default=20,
                    help="samples per key (default 20; --calls: the old name)")
    ap.add_argument("--starts", type=int, default=20, help="fresh-process starts (default 20)")
    ap.add_argument("--against", metavar="REV", help="also run REV's app, interleaved")
    ap.add_argument("--plain-figures", action="store_true",
                    help="also run this tree's app with the dashboard's kept figures ignored")
    ap.add_argument("--plain-tables", action="store_true",
                    help="also run this tree's app with the dashboard drawn the plain way")
    ap.add_argument("--planned-only", action="store_true",
                    help="no run on a fresh unplanned copy (a first start's memory)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--starts-only", action="store_true",
                    help="only the starts (no key runs, no memory): for working on the start")
    ap.add_argument("--child", choices=("bare", "start", "keys", "seat"), help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--now", help=argparse.SUPPRESS)
    ap.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    sys.path.insert(0, str(ROOT))
    path, now = prepare_database(args.customers, args.rebuild)
    load_before = os.getloadavg()
    trees = {"this tree": ROOT}
    if args.against:
        trees[f"against {args.against}"] = checkout(args.against)
    # Another revision's app works on its own copy of the built database: this tree's
    # migrations (run on the first open) would leave a schema the older one refuses.
    dbs = {name: path for name in trees}
    if args.against:
        dbs[f"against {args.against}"] = working_copy(OUT / f"tui_{args.customers}.db",
                                                      "against")
    plain: dict[str, str] = {}      # tree name: what its child runs the plain way
    if args.plain_figures:
        trees["plain figures"] = ROOT
        plain["plain figures"] = PLAIN_FIGURES
    if args.plain_tables:
        trees["plain tables"] = ROOT
        plain["plain tables"] = PLAIN_TABLES
    print(f"database: {path} ({args.customers:,} customers), clock {now:%a %Y-%m-%d %H:%M} UTC,"
          f" caller {CALLER}")
    print("seats run as: " + ", ".join(
        f"{name} python {' '.join(seat_options(tree))}".rstrip() for name, tree in trees.items()
        if name not in plain))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)

    ref = reference(path, now, args.repeat)
    starts: dict[str, list[float]] = {"python -c pass": [], "bare Textual": []}
    starts.update({name: [] for name in trees})
    in_process: dict[str, list[float]] = {name: [] for name in trees}
    bare_memory: dict = {}
    for _ in range(args.starts):
        starts["python -c pass"].append(python_pass())
        bare = spawn("bare", ROOT, path, now)
        starts["bare Textual"].append(bare["start"])
        bare_memory = bare["memory"]
        for name, tree in trees.items():
            started = spawn("start", tree, dbs.get(name, path), now, plain=plain.get(name))
            starts[name].append(started["start"])
            in_process[name].append(started["start_in_process"])
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    order = list(trees) + list(reversed(trees)) if len(trees) > 1 else list(trees)
    if args.starts_only:
        order = []
    for name in order:
        runs[name].append(spawn("keys", trees[name], dbs.get(name, path), now, args.repeat,
                                plain=plain.get(name)))
    # The runs above work on a copy the first start already planned (a seat's planner run
    # at start plans an unplanned list once); a first start on a fresh unplanned copy, the
    # planner running beside the first keys, for its memory (its keys are not pooled).
    unplanned: dict[str, dict] = {}
    if not args.planned_only and not args.starts_only:
        for i, name in enumerate(n for n in trees if n not in plain):
            fresh = working_copy(OUT / f"tui_{args.customers}.db", f"unplanned{i}")
            migrate_apart(trees[name], fresh)
            unplanned[name] = spawn("keys", trees[name], fresh, now, args.repeat)
    load_after = os.getloadavg()

    def pooled(name: str, key: str) -> float:
        return _median([v for run in runs[name] for v in run[key]])

    def pooled_cpu(name: str, key: str) -> float:
        return _median([v for run in runs[name] for v in run["cpu"].get(key, [])])

    ms = 1000.0
    names = list(trees)
    print(f"\nstart to the queue drawn, median of {args.starts} fresh processes (from exec,"
          " imports included):")
    for label, values in starts.items():
        print(f"  {label:32s} {_median(values) * ms:8.1f} ms")
    base = _median(starts["bare Textual"])
    for name in names:
        print(f"  {name} / bare Textual: {_median(starts[name]) / base:.2f}x")
    print(f"  after the imports (make_app to the queue drawn; the target), median of the"
          f" {args.starts} starts and the key runs (range):")
    for name in names:
        values = in_process[name] + [r["start_in_process"] for r in runs[name]]
        print(f"  {name:32s} {_median(values) * ms:8.1f} ms  ({min(values) * ms:.0f}-"
              f"{max(values) * ms:.0f})")
    if args.starts_only:
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in load_after)}")
        return 0

    rows = [("n → next customer drawn", "take next", "take next"),
            ("outcome key → wrap-up drawn", None, "wrap-up opens"),
            ("wrap-up Enter → next drawn", "wrap-up written", "wrap-up to next"),
            ("f → follow-ups drawn", "follow-ups read", "follow-ups open"),
            ("r → today's shift drawn", "dashboard today", "dashboard today"),
            ("r → whole dashboard drawn", "dashboard kept", "dashboard refresh"),
            ("r after a write → drawn", "dashboard kept, after a write",
             "dashboard after a write"),
            ("a digit → answer saved", None, "answer saved")]
    head = "".join(f"{n[:22]:>24s}" for n in names)
    print(f"\nkeys: median of {args.repeat} x {len(order) // len(names)} run(s), ms, wall (CPU of"
          " the app's process)")
    print(f"  {'':32s}{'core alone':>12s}{head}")
    for label, core_key, app_key in rows:
        core = _median(ref[core_key]) * ms if core_key else float("nan")
        cells = "".join(f"{pooled(n, app_key) * ms:14.1f} ({pooled_cpu(n, app_key) * ms:6.1f})"
                        for n in names)
        print(f"  {label:32s}{core:12.1f}{cells}")
    for label, key in (("  core: every figure read", "dashboard figures"),
                       ("  core: ... coverage walked too", "dashboard figures, coverage walked")):
        if ref.get(key):
            print(f"  {label:32s}{_median(ref[key]) * ms:12.1f}")
    print("  the slowest tenth (p90), wall:")
    for label, _, app_key in rows:
        cells = "".join(f"{_p90([v for r in runs[n] for v in r[app_key]]) * ms:22.1f}"
                        for n in names)
        print(f"  {label:32s}{'':12s}{cells}")
    for other in names[1:]:
        print(f"  ratio this tree / {other}, wall (CPU):")
        for label, _, app_key in rows:
            wall = pooled(names[0], app_key) / pooled(other, app_key)
            cpu = pooled_cpu(names[0], app_key) / pooled_cpu(other, app_key) \
                if runs[other][0]["cpu"].get(app_key) else float("nan")
            print(f"    {label:32s} {wall:5.2f}x ({cpu:.2f}x)")

    # The old two-column lines (core ms, app ms) that scripts/bench_compare.py reads.
    print("\ncore alone and in the app, this tree, medians:")
    for label, core_key, app_key in rows:
        if core_key:
            print(f"  {app_key:28s} {_median(ref[core_key]) * ms:8.1f} ms "
                  f"{pooled(names[0], app_key) * ms:10.1f} ms")

    print("\nprivate memory: Anonymous pages, MB (Private_Dirty, Rss in brackets)")
    print(f"  {'bare Textual':32s} {_fmt_memory(bare_memory)}")
    for name in names:
        last = runs[name][-1]
        for point, key in (("after start", "memory_start"),
                           ("after 1 call", "memory_one_call"),
                           (f"after {args.repeat} calls", "memory_calls"),
                           ("after follow-ups, dashboard", "memory_end")):
            print(f"  {name + ', ' + point:32s} {_fmt_memory(last.get(key, {}))}")
    for name, first in unplanned.items():
        print(f"  {name}, a first start on an unplanned list (a run of its own):")
        for point, key in (("after start", "memory_start"),
                           ("after 1 call", "memory_one_call"),
                           (f"after {args.repeat} calls", "memory_calls"),
                           ("after follow-ups, dashboard", "memory_end")):
            print(f"    {point:30s} {_fmt_memory(first.get(key, {}))}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    return 0


def _fmt_memory(m: dict) -> str:
    if not m:
        return "n/a"
    return f"{m['anonymous']:6.1f}  ({m['private_dirty']:.1f}, {m['rss']:.1f})"


if __name__ == "__main__":
    raise SystemExit(main())
