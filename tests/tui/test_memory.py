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
