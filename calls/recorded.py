"""Recording, on calls written by an older carecall, what the export writes beside them.

A call row records its customer's ref and zone and its moments' local times when it is
written (``calls.store.calls``, migration ``calls_0003_recorded_for_export``). Calls
written before that migration hold NULL there, which the export computes as before (the
same bytes, at the speed of before). :func:`record_old_calls` records them, for large
exports of them to run about 1.8x faster: in short write transactions paced by
:class:`calls.store.Pacer` (each holds the write lock about ``CHUNK_SECONDS``, then pauses
at least as long), so that it can run beside a working floor; stopped at any moment it
keeps every step done, and the next run (of any process) carries on from there
(``carecall upgrade``; docs/reports.md "Recorded at the call").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from calls.localtime import LocalTimes
from calls.store import Pacer, Store
from calls.store import calls as q

# Calls looked at in the first step; the Pacer sizes the next ones from how long it held
# the lock (about 16 us a call to fill, about 1 us to pass one already filled).
FIRST_STEP = 500
# At most this many ids a step: a stretch of calls that are all filled already costs
# little per id.
MOST_A_STEP = 20_000


@dataclass
class Recorded:
    """What a run of :func:`record_old_calls` did."""

    filled: int = 0        # calls that got their values recorded
    looked: int = 0        # ids looked at
    left: int = 0          # ids still to look at when it ended (0: done)
    steps: int = 0         # write transactions
    stopped: bool = False  # ``stop()`` ended it early


def record_old_calls(store: Store, *, stop: Callable[[], bool] | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     pacer: Pacer | None = None) -> Recorded:
    """Record what the export writes on every call that has not recorded it, from its
    customer as now (what the export computed for it until then), in paced steps.

    Each step reads and writes its calls in one write transaction, from where the last
    step of any run ended (``calls.store.calls.RECORDED_FROM``): a call written or moved
    between steps is never overwritten (the store's writers record their own values; the
    trigger of raw writes leaves NULL, which the export computes), and two runs at once
    share the work. ``stop``: asked before each step; ``progress(ids looked at, ids in
    all)`` after each. ``pacer``: sizes the steps and pauses between them (tests give
    one of fixed sizes)."""
    start, top = q.recorded_ids(store)         # the calls from before calls_0003
    result = Recorded(left=max(0, top + 1 - start))
    if result.left == 0:
        return result
    pacer = pacer or Pacer(store, first=FIRST_STEP, high=MOST_A_STEP)
    local = LocalTimes()            # its own, bounded: let go when the run ends
    while True:
        if stop is not None and stop():
            result.stopped = True
            break
        with store.write():
            began = perf_counter()          # the hold, not the wait for it
            low, high, filled = q.fill_recorded_step(store, pacer.size, top, local)
        held = perf_counter() - began
        result.steps += 1
        result.filled += filled
        result.looked += high - low
        result.left = max(0, top + 1 - high)
        if progress is not None:
            progress(result.looked, result.looked + result.left)
        if not result.left:
            break
        pacer.done(held)
    return result
