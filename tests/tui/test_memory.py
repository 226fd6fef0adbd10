"""tui/memory.py: freed heap pages go back to the system, and the shift app asks for it
after its queue and each customer are drawn (issue 18: memory per seat)."""

from __future__ import annotations

import sys

import pytest

from tests.support.tui import NOW, settle, take_next
from tui import memory
from tui.app import make_app
from tui.clock import FixedClock


def _anonymous_mb() -> float:
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no Anonymous line")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_give_back_returns_freed_pages_to_the_system():
    memory.give_back()
    blocks = [bytes(4000) for _ in range(10_000)]      # 40 MB through malloc
    pin = bytes(4000)                                   # keeps the heap's top in use
    del blocks
    held = _anonymous_mb()
    assert memory.give_back() is True
    assert _anonymous_mb() < held - 20                  # most of the 40 MB went back
    del pin


_BIG_BLOCKS = """
import sys
from tui import memory
if sys.argv[1] == "apart":
    kept_apart = memory.keep_big_blocks_apart()    # called outside the assert: a seat
    assert kept_apart is True                      # runs -OO, which drops asserts
def anonymous():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("Anonymous:")) / 1024
big = bytearray(8 << 20)        # a mapped block freed: glibc raises its threshold to 8 MB
del big
blocks, pins = [], []
for _ in range(300):            # 30 MB in 100 KB blocks, each followed by a small one
    blocks.append(bytearray(100_000))
    pins.append(bytearray(600))  # (over 512 bytes: from the C heap, not Python's pools)
held = anonymous()
del blocks
print(round(held - anonymous(), 1))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_big_blocks_kept_apart_go_back_to_the_system_when_freed():
    """:func:`memory.keep_big_blocks_apart`: freed big blocks go back at once, where
    glibc's own rising threshold had put them in the heap between small blocks that
    live on (the seat's high-water mark), and nothing gave them back until a trim."""
    import subprocess
    from pathlib import Path

    def freed(how: str) -> float:
        out = subprocess.run([sys.executable, "-c", _BIG_BLOCKS, how], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).parents[2])
        return float(out.stdout)

    assert freed("apart") > 25          # of the 30 MB
    assert freed("plain") < 5           # glibc's own way: kept


async def test_the_app_gives_memory_back_after_the_queue_and_each_customer(shift_db,
                                                                           monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(1) or True)
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert calls                                    # the queue was drawn
        before = len(calls)
        await take_next(pilot)
        await settle(pilot)
        assert len(calls) > before                      # the customer was drawn


async def test_widgets_gone_leave_no_drawn_lines_behind(shift_db, monkeypatch):
    """Textual's ``StylesCache.get_inner_outer`` cache kept every drawn widget's lines alive
    after the widget was removed (upstream #6665): a seat grew with every notice, list and
    dashboard table. The shift app mends it at start (:func:`memory.mend_textual`)."""
    import gc
    import weakref

    from textual._styles_cache import StylesCache
    from textual.containers import Vertical
    from textual.widgets import Static

    # Textual's own method back after the test (the app mends it for the process).
    monkeypatch.setattr(StylesCache, "get_inner_outer",
                        StylesCache.__dict__["get_inner_outer"])
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        gone = []
        for round_ in range(4):
            box = Vertical(*(Static(f"line {round_} {i}") for i in range(15)))
            box.styles.background = "darkblue"       # drawn on its own colours
            await app.screen.mount(box)
            await settle(pilot, 2)
            gone.append([weakref.ref(w._styles_cache) for w in (box, *box.children)])
            await box.remove()
        del box
        await settle(pilot, 2)
        gc.collect()
        # The last box's may still be in its parent's cache of shown children (one).
        kept = [sum(1 for ref in refs if ref() is not None) for refs in gone[:-1]]
        assert kept == [0, 0, 0]


async def test_a_cancelled_timer_no_longer_keeps_what_it_was_made_with():
    """asyncio keeps a cancelled timer (and the context it was made in) until the moment
    it was due; :func:`memory.drop_cancelled_timers` lets it go now and leaves the timers
    still to run alone."""
    import asyncio
    import contextvars
    import gc
    import weakref

    class Held:
        pass

    holder: contextvars.ContextVar[Held] = contextvars.ContextVar("holder")
    loop = asyncio.get_running_loop()
    held = Held()
    gone = weakref.ref(held)
    context = contextvars.copy_context()
    context.run(holder.set, held)
    ran = []
    later = loop.call_later(3600, ran.append, "late", context=context)
    soon = loop.call_later(0.01, ran.append, "soon")
    later.cancel()
    del held, context, later
    gc.collect()
    assert gone() is not None            # asyncio still holds the cancelled one
    assert memory.drop_cancelled_timers(loop) >= 1
    gc.collect()
    assert gone() is None
    assert not soon.cancelled()
    await asyncio.sleep(0.05)
    assert ran == ["soon"]               # the live timer still ran
    assert memory.drop_cancelled_timers(loop) == 0


async def test_a_closed_dashboard_is_let_go_at_once(shift_db, monkeypatch):
    """The dashboard refreshes every 30 s: its cancelled timer kept a closed dashboard
    (tables, drawn lines: ~4 MB) alive for up to 30 s; the app forgets cancelled timers
    every few seconds (:data:`memory.SWEEP_SECONDS`)."""
    import asyncio
    import gc
    import weakref

    from tui.screens.dashboard import DashboardScreen

    sweeps = []
    real_drop = memory.drop_cancelled_timers
    monkeypatch.setattr(memory, "SWEEP_SECONDS", 0.01)
    monkeypatch.setattr(memory, "drop_cancelled_timers",
                        lambda: sweeps.append(real_drop()))
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        dashboard = weakref.ref(app.screen)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DashboardScreen)
        for _ in range(100):             # the sweep runs on the app's interval
            sweeps.clear()
            await asyncio.sleep(0.02)
            if sweeps:
                break
        assert sweeps
        real_drop()       # whatever was cancelled since the last sweep
        gc.collect()
        assert dashboard() is None


def test_a_cleared_textual_cache_lets_go_of_what_it_held_at_once():
    """Textual's ``LRUCache.clear`` left its entries in a ring of lists: everything they
    held waited for the collector's full pass (a DataTable clears four such caches each
    time it is cleared). Mended (:func:`memory.mend_cache_clear`), it is freed at once."""
    import gc
    import weakref

    from textual.cache import LRUCache

    memory.mend_cache_clear()
    assert memory.mend_cache_clear() is False           # once

    class Drawn:
        pass

    gc.disable()            # nothing freed by the collector meanwhile
    try:
        for size in (1, 2, 5, 1000):
            cache: LRUCache[int, Drawn] = LRUCache(maxsize=size + 3)
            values = [Drawn() for _ in range(size)]
            for i, value in enumerate(values):
                cache.set(i, value)
            cache.get(0)                                  # the ring reordered
            refs = [weakref.ref(v) for v in values]
            del values, value
            cache.clear()
            assert [r() for r in refs] == [None] * size, size
            assert len(cache) == 0 and cache.get(0) is None
    finally:
        gc.enable()


def test_a_mended_cache_keeps_what_textuals_keeps():
    """The mended ``clear`` changes what is freed, not what the cache answers: random
    sets, gets, discards and clears against a plain least-recently-used model."""
    import random
    from collections import OrderedDict

    from textual.cache import LRUCache

    memory.mend_cache_clear()
    rng = random.Random(18)
    for maxsize in (1, 2, 3, 7):
        cache: LRUCache[int, int] = LRUCache(maxsize)
        model: OrderedDict[int, int] = OrderedDict()
        for step in range(3000):
            key, op = rng.randrange(10), rng.random()
            if op < 0.45:
                cache.set(key, step)
                if key not in model:      # Textual keeps the first value of a key
                    model[key] = step
                    if len(model) > maxsize:
                        model.popitem(last=False)
            elif op < 0.85:
                assert cache.get(key) == model.get(key), (maxsize, step)
                if key in model:
                    model.move_to_end(key)
            elif op < 0.97:
                cache.discard(key)
                model.pop(key, None)
            else:
                cache.clear()
                model.clear()
            assert sorted(cache.keys()) == sorted(model), (maxsize, step)
