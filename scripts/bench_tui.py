"""How much the shift app adds on top of the core, on a large database.

Builds (once, in bench-out/; --rebuild to redo) a database with the queue benchmark's
generator (scripts/bench_queue.py), then, in the same process:

- reference: the core calls the app makes, called directly — the queue's first page
  (100 rows), claim_next + start_call, one answer written, record_outcome;
- the app, headless through Textual's Pilot at 80x24 with a fixed clock: start to the
  first queue on screen, ``n`` to the call screen, a key to the answer being in the
  database, and the wrap-up's Enter to the next customer on screen.

Each is the median of several calls; the ratio app/core is the app's overhead (screens,
workers, the database thread). There is no target in the issue; the point is that a
caller never waits noticeably longer than the database does.

    python scripts/bench_tui.py [--customers N] [--calls C] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from calls.calling import record_outcome, start_call
from calls.policy import DEFAULT_POLICY
from calls.queue import build_queue, claim_next
from calls.store import Store
from calls.store.scripts import save_answer

OUT = HERE.parent / "bench-out"


def _bench_queue():
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def reference(path: Path, now, calls: int) -> dict[str, float]:
    """The core calls alone, on their own connection."""
    store = Store.open(path)
    page, claim, answer, outcome = [], [], [], []
    for i in range(calls):
        t0 = time.perf_counter()
        build_queue(store, f"ref-{i}", now, DEFAULT_POLICY, limit=100)
        page.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        entry = claim_next(store, f"ref-{i}", now, DEFAULT_POLICY)
        call_id = start_call(store, entry.customer.id, f"ref-{i}", now, policy=DEFAULT_POLICY)
        claim.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        save_answer(store, call_id, "nps", "nps", 9, now)
        answer.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        record_outcome(store, call_id, "no_answer", now, policy=DEFAULT_POLICY)
        outcome.append(time.perf_counter() - t0)
    store.close()
    return {"queue page": _median(page), "take next": _median(claim),
            "answer saved": _median(answer), "outcome saved": _median(outcome)}


async def through_the_app(path: Path, now, calls: int) -> dict[str, float]:
    """The same steps as a caller makes them in the app, timed from the key to the moment
    the result is on screen (the first frame drawn after it) or in the database."""
    from calls.session import CallSession
    from tui.app import make_app
    from tui.clock import FixedClock
    from tui.screens.call import CallScreen
    from tui.screens.queue import QueueScreen

    drawn: list[float] = []       # call screens: first frame drawn
    queue_drawn: list[float] = []
    saved: list[float] = []       # answers: in the database

    original_mount = CallScreen.on_mount

    def on_mount(screen):
        original_mount(screen)
        screen.call_after_refresh(lambda: drawn.append(time.perf_counter()))

    original_loaded = QueueScreen._loaded

    def loaded(screen, view):
        original_loaded(screen, view)
        screen.call_after_refresh(lambda: queue_drawn.append(time.perf_counter()))

    original_save = CallSession.save

    def save(*args, **kwargs):
        result = original_save(*args, **kwargs)
        saved.append(time.perf_counter())
        return result

    CallScreen.on_mount = on_mount
    QueueScreen._loaded = loaded
    CallSession.save = save
    # One script for every call, so that the same keys answer the first question.
    app = make_app(path, f"bench-app-{time.time_ns()}", script="quarterly", clock=FixedClock(now))

    async def until(test, limit=30.0):
        start = time.perf_counter()
        while not test():
            if time.perf_counter() - start > limit:
                notes = [n.message for n in app._notifications]
                raise TimeoutError(f"the app did not get there: {app.screen} {notes}")
            await asyncio.sleep(0.001)

    first, take, answer, wrap = [], [], [], []
    try:
        t0 = time.perf_counter()
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: queue_drawn)
            first.append(queue_drawn[0] - t0)
            await asyncio.sleep(0.5)                   # let the planner run first
            t0 = time.perf_counter()
            await pilot.press("n")
            await until(lambda: drawn)
            take.append(drawn[-1] - t0)
            for _ in range(calls):
                await pilot.press("c", "y", "enter")
                count = len(saved)
                t0 = time.perf_counter()
                await pilot.press("9")
                await until(lambda count=count: len(saved) > count)
                answer.append(saved[-1] - t0)
                await pilot.press("escape", "p")       # break off: partial
                count = len(drawn)
                t0 = time.perf_counter()
                await pilot.press("enter")             # save; the next customer comes
                await until(lambda count=count: len(drawn) > count)
                wrap.append(drawn[-1] - t0)
            await pilot.press("ctrl+q", "q")
    finally:
        CallScreen.on_mount = original_mount
        QueueScreen._loaded = original_loaded
        CallSession.save = original_save
    return {"first queue on screen": _median(first), "take next": _median(take),
            "answer saved": _median(answer), "wrap-up to next customer": _median(wrap)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=15)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    bq = _bench_queue()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"tui_{args.customers}.db"
    if args.rebuild or not path.exists():
        print(f"building {path} ...", flush=True)
        bq.build(path, args.customers)
    now = bq.BASE
    print(f"database: {path} ({args.customers:,} customers), clock {now:%a %Y-%m-%d %H:%M} UTC")
    ref = reference(path, now, args.calls)
    app = asyncio.run(through_the_app(path, now, args.calls))
    print(f"\nmedian of {args.calls} calls            core alone     in the app    ratio")
    pairs = [("queue page / app start", "queue page", "first queue on screen"),
             ("take next customer", "take next", "take next"),
             ("answer saved", "answer saved", "answer saved"),
             ("outcome saved / next", "outcome saved", "wrap-up to next customer")]
    for label, core_key, app_key in pairs:
        c, a = ref[core_key] * 1000, app[app_key] * 1000
        print(f"  {label:28s} {c:9.1f} ms  {a:10.1f} ms  {a / c:6.1f}x")
    print("\nThe app's times run from the key to the first frame drawn with the result (or the"
          "\nanswer in the database); 'app start' is the whole start-up to the queue drawn, and"
          "\n'outcome saved / next' includes claiming and loading the next customer.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
