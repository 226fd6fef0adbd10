"""The first ``n`` of a shift on a freshly imported list: does it wait for the planner?

At a seat's start the app runs the planner (the calendar follow-ups, ``calls.planner``) once
the queue is drawn; on a list nobody has planned yet it plans thousands of occasions
(11,390 at 100,000 customers, seconds of work). This bench starts the shift app (a child
process per sample, headless through Textual's Pilot at 80x24, the bench's fixed clock,
the caller ``owner1``) on a fresh, unplanned copy of scripts/bench_tui.py's database
(bench_queue's generator, 100,000 customers by default) and presses ``n`` in the frame the
queue is first drawn (``--delay S``: S seconds after). It prints, medians of ``--repeat`` samples per tree:

- **first n**: ``n`` to the customer's call screen drawn, the planner running beside it
  (or in front of it, when it shares the seat's lane);
- **first n, planned list**: the same, started again on the same copy, which the first
  run planned (the planner finds nothing): the reference, in the same run;
- **second n, planner done**: ``n`` again in the first run's process once the planner has
  finished and the first customer was given back (the call screen already built);
- **planner**: from the queue drawn to the planner's job done, and how many first ``n``s
  were drawn before the planner finished;
- **memory** (Anonymous pages, as bench_tui) once the planner has finished: a first start
  on an unplanned list, which bench_tui's readings (on a planned copy) never show.

``--against REV`` runs REV's app the same way, interleaved (A B B A ...), each sample on its
own fresh copy. The load average is printed before and after; the machine is shared, so
compare trees only within one run.

    python scripts/bench_first_take.py [--customers N] [--repeat 5] [--against REV]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _bench_tui():
    """scripts/bench_tui.py as a module: its frame watch, database and checkouts."""
    spec = importlib.util.spec_from_file_location("bench_tui", HERE / "bench_tui.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bt = _bench_tui()


async def _first_take(db: str, now_iso: str, delay: float) -> dict:
    from datetime import datetime

    from tui.app import make_app
    from tui.clock import FixedClock
    from tui.screens import start

    planner_done: list[float] = []
    run_planner = start.run_planner

    def timed_planner(*args, **kwargs):
        try:
            return run_planner(*args, **kwargs)
        finally:
            planner_done.append(bt.clock())

    start.run_planner = timed_planner
    try:  # a person reads the screen before typing; the bench types at once (bench_tui)
        import tui.typeahead

        tui.typeahead.LOOK_SECONDS = 0.0
    except ImportError:
        pass
    bt._close_leftovers(db, datetime.fromisoformat(now_iso))
    app = make_app(db, bt.CALLER, script="quarterly", clock=FixedClock(
        datetime.fromisoformat(now_iso)))
    watch = bt.FrameWatch(app)
    queue_drawn = watch.arm(lambda t: "to call now" in t or "Nobody to call" in t)

    def on_call(previous):
        def test(text: str) -> bool:
            session = getattr(app.screen, "session", None)
            return (type(app.screen).__name__ == "CallScreen" and session is not None
                    and session is not previous and bt.shows_name(text, session.customer.name))
        return test

    async def take(previous) -> tuple[float, float]:
        """``n`` to the next customer drawn: wall and CPU seconds."""
        done = watch.arm(on_call(previous))
        t0, cpu0 = bt.clock(), time.process_time()
        await pilot.press("n")
        try:
            at, cpu = await asyncio.wait_for(done, 120)
        except TimeoutError:
            from tests.support.tui import screen_lines

            raise RuntimeError("n: no customer drawn in 120 s; the screen:\n"
                               + "\n".join(screen_lines(app))) from None
        return at - t0, cpu - cpu0

    result: dict = {}
    async with app.run_test(size=(80, 24)) as pilot:
        drawn, _cpu = await asyncio.wait_for(queue_drawn, 120)
        if delay:
            await asyncio.sleep(delay)
        result["first n"], result["first n cpu"] = await take(None)
        result["planner still running"] = not planner_done
        while not planner_done:
            await asyncio.sleep(0.01)
        result["planner"] = planner_done[0] - drawn
        await bt._settle(app, pilot)
        result["memory"] = bt.memory("planned")
        previous = app.screen.session
        await pilot.press("s")               # the customer given back: the queue again
        await bt._settle(app, pilot)
        result["n, planner done"], result["n, planner done cpu"] = await take(previous)
        await bt._settle(app, pilot)
        await pilot.press("ctrl+q", "q")
    return result


def child(args) -> int:
    sys.path.insert(0, args.tree)
    print("RESULT " + json.dumps(asyncio.run(_first_take(args.db, args.now, args.delay))))
    return 0


def spawn(tree: Path, db: Path, now, delay: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--tree", str(tree),
           "--db", str(db), "--now", now.isoformat(), "--delay", repr(delay)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=tree)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"run in {tree} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5, help="samples per tree (default 5)")
    ap.add_argument("--against", metavar="REV", help="also run REV's app, interleaved")
    ap.add_argument("--delay", type=float, default=0.0,
                    help="press the first n this many seconds after the queue is drawn")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--now", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    _path, now = bt.prepare_database(args.customers, args.rebuild)
    built = bt.OUT / f"tui_{args.customers}.db"
    trees = {"this tree": ROOT}
    if args.against:
        trees[f"against {args.against}"] = bt.checkout(args.against)
    names = list(trees)
    order: list[str] = []
    for i in range(args.repeat):
        order += names if i % 2 == 0 else list(reversed(names))
    print(f"database: fresh unplanned copies of {built} ({args.customers:,} customers), "
          f"clock {now:%a %Y-%m-%d %H:%M} UTC, caller {bt.CALLER}")
    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    planned: dict[str, list[dict]] = {name: [] for name in names}
    for i, name in enumerate(order):
        copy = bt.working_copy(built, f"first-{i % 2}")   # unplanned: built without it
        run = spawn(trees[name], copy, now, args.delay)
        runs[name].append(run)
        again = spawn(trees[name], copy, now, args.delay)  # the same list, planned now
        planned[name].append(again)
        print(f"  {name:24s} first n {run['first n'] * 1000:8.1f} ms (planned list "
              f"{again['first n'] * 1000:6.1f}), planner {run['planner'] * 1000:7.0f} ms, "
              f"still running at the first n drawn: {run['planner still running']}",
              flush=True)
    load_after = os.getloadavg()

    def median(name: str, key: str, of: dict = runs) -> float:
        return statistics.median(r[key] for r in of[name])

    ms = 1000.0
    print(f"\nmedians of {args.repeat} per tree, wall ms (CPU of the app's process, the "
          "planner's thread included):")
    print(f"  {'':34s}" + "".join(f"{n[:24]:>26s}" for n in names))
    for label, key, of in (("first n, planner beside it", "first n", runs),
                           ("first n, planned list (reference)", "first n", planned),
                           ("second n, planner done", "n, planner done", runs)):
        print(f"  {label:34s}" + "".join(
            f"{median(n, key, of) * ms:14.1f} ({median(n, key + ' cpu', of) * ms:7.1f})  "
            for n in names))
    print(f"  {'planner: queue drawn to done':34s}" + "".join(
        f"{median(n, 'planner') * ms:14.0f}{'':12s}" for n in names))
    print(f"  {'first n drawn before it ended':34s}" + "".join(
        f"{sum(r['planner still running'] for r in runs[n]):11d} of {len(runs[n]):<12d}"
        for n in names))
    memory = {n: statistics.median(r["memory"]["anonymous"] for r in runs[n]) for n in names}
    print(f"  {'memory, planned (Anonymous MB)':34s}" + "".join(
        f"{memory[n]:14.1f}{'':12s}" for n in names))
    for other in names[1:]:
        print(f"  first n, this tree / {other}: "
              f"{median(names[0], 'first n') / median(other, 'first n'):.2f}x")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
