"""Giving freed memory back to the system between a seat's steps (issue 18).

A seat's process frees much of what a step allocated (query rows, a screen's drawing),
but the C allocator keeps the freed pages for later: a shift app that has drawn its queue
holds about 8 MB it no longer uses (``scripts/bench_tui.py``: 50 MB after start, 42 MB
after :func:`give_back`). On a server with hundreds of seats that is what decides how
many fit. :func:`give_back` asks glibc's ``malloc_trim`` to return free pages (about a
millisecond); where the C library has no such call (musl, macOS, Windows) it does
nothing. No garbage collection is forced: a full collection costs 100-400 ms on the UI
thread and, measured, gave nothing back on top.

:func:`keep_big_blocks_apart` keeps large blocks out of the C heap, so that freeing
them gives their pages back (a seat's high-water mark was made of them);
:func:`mend_textual` bounds what Textual itself keeps of widgets long gone (see there);
:func:`mend_cache_clear` lets what a cleared Textual cache held go at once;
:func:`drop_cancelled_timers` lets a closed screen go at once rather than when its
longest timer would have run.
"""

from __future__ import annotations

import asyncio
import ctypes
import heapq
import sys
from collections.abc import Callable
from functools import cache, lru_cache

# How often the app forgets cancelled timers (:func:`drop_cancelled_timers`).
SWEEP_SECONDS = 2.0
# Blocks from this size up get pages of their own (:func:`keep_big_blocks_apart`).
BIG_BLOCK = 64 * 1024
_M_MMAP_THRESHOLD = -3     # glibc's malloc.h: mallopt's parameter for that size


def _glibc(name: str, *argtypes) -> Callable[..., int] | None:
    """A function of the process's own C library when it is glibc's, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):          # not glibc (musl): no such call
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


@cache
def _trim() -> Callable[[int], int] | None:
    return _glibc("malloc_trim", ctypes.c_size_t)


def give_back() -> bool:
    """Return the C heap's free pages to the system; True when there was a way to."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def keep_big_blocks_apart() -> bool:
    """Give every C-heap block of :data:`BIG_BLOCK` bytes or more pages of its own,
    returned to the system as soon as it is freed; True when the C library let us (glibc;
    elsewhere nothing is done). Once per process.

    glibc maps such blocks apart from its heap only above a threshold that it raises,
    up to 32 MB, each time a mapped block is freed. After a seat's first large reads
    (the dashboard's figures, the follow-ups list: Python lists and dicts of that size,
    SQLite's page cache) the big blocks land in the heap among small ones that live on,
    and the heap keeps its high-water mark: ``malloc_trim`` then finds few whole pages
    to give back (measured: 0.1 MB of a seat's 57 MB). A fixed threshold keeps the
    big, short-lived blocks out of the heap; each costs a map and an unmap, which the
    key timings do not show (``scripts/bench_tui.py``).
    """
    mallopt = _glibc("mallopt", ctypes.c_int, ctypes.c_int)
    return mallopt is not None and mallopt(_M_MMAP_THRESHOLD, BIG_BLOCK) == 1


def after_frame(widget) -> None:
    """:func:`give_back` once ``widget``'s screen has drawn what it was doing (never in
    the time a caller waits for a key)."""
    widget.call_after_refresh(give_back)


def mend_textual() -> bool:
    """Stop Textual keeping every widget's drawn lines after the widget is gone; True
    when there was something to mend (idempotent).

    ``StylesCache.get_inner_outer`` (Textual 8.2) is an ``lru_cache`` on a method, so its
    1,024 entries are keyed by the widget's ``StylesCache`` as well as by the two colours
    it computes from: each entry keeps a whole ``StylesCache`` alive, with the widget's
    drawn lines (``Strip`` objects, each with its own caches of crops and filters) long
    after the widget was removed (upstream issue Textualize/textual#6665, open). On a seat
    every notice, follow-up list and dashboard table added entries: about 70 KB a call,
    1,024 widgets' worth (tens of MB) before the cache would have dropped any. Mended: one
    cache of the colours alone (the answer depends on nothing else), computed by the
    original function. A Textual whose method is no longer such a cache is left alone.
    """
    from textual._styles_cache import StylesCache

    method = StylesCache.__dict__.get("get_inner_outer")
    compute = getattr(method, "__wrapped__", None)
    if compute is None or not hasattr(method, "cache_info"):
        return False

    @lru_cache(1024)
    def inner_outer(base_background, background):
        return compute(StylesCache, base_background, background)

    def get_inner_outer(self, base_background, background):
        return inner_outer(base_background, background)

    get_inner_outer.__doc__ = compute.__doc__
    StylesCache.get_inner_outer = get_inner_outer
    return True


_RING_END = object()     # the one key a mended LRUCache.clear leaves for the collector


def mend_cache_clear() -> bool:
    """Make Textual's ``LRUCache.clear`` unlink what it held, so that it is freed at once;
    True when there was something to mend (idempotent).

    ``LRUCache`` (Textual 8.2) keeps its entries in a ring of lists (``[prev, next, key,
    value]``, the first entry linked to itself) and ``clear()`` drops its dict and its
    head but leaves the ring: every entry, with what it held, becomes garbage in a
    reference cycle that only the collector's rare full pass frees. A ``DataTable``
    clears four such caches at each ``clear()`` (the queue after each call, the kept
    follow-ups screen at each showing and closing): 1.1 MB of drawn rows (Rich texts,
    segments, strips) per showing of the follow-ups waited for the collector, and
    Python's allocator took new memory meanwhile (``scripts/bench_tui.py``). Mended: each
    key discarded first (``discard`` unlinks its entry), through the cache's public
    methods, then Textual's own ``clear``. A cache with no ``discard`` is left alone.
    """
    from textual.cache import LRUCache

    original = LRUCache.clear
    if getattr(original, "mended", False) or not hasattr(LRUCache, "discard"):
        return False

    def clear(self) -> None:
        if len(self):
            # ``discard`` leaves the ring's last entry linked to itself: let it be one
            # that holds nothing (a 4-slot list for the collector, not a drawn row).
            self.set(_RING_END, None)
            for key in list(self.keys()):
                if key is not _RING_END:
                    self.discard(key)
        original(self)

    clear.__doc__ = original.__doc__
    clear.mended = True            # type: ignore[attr-defined]
    LRUCache.clear = clear         # type: ignore[method-assign]
    return True


def drop_cancelled_timers(loop: asyncio.AbstractEventLoop | None = None) -> int:
    """Forget the event loop's cancelled timers now; returns how many were dropped.

    asyncio keeps a cancelled ``call_later`` handle in its queue until the moment it was
    due (it drops them early only when they outnumber the live ones, and at least 100
    wait), and each handle keeps the context it was made in. Textual makes a screen's
    timers in that screen's context (``active_message_pump`` is the screen), so a closed
    screen with a timer, such as the dashboard's 30 s refresh, stayed alive with all its
    tables and drawn lines for up to that long after it closed (a seat that opened the
    dashboard three times in a minute held three: 4 MB each). This does what asyncio's
    own clean-up does (its ``_run_once``), without waiting for the count; a loop that
    does not keep its timers that way (not CPython's asyncio) is left alone.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    scheduled = getattr(loop, "_scheduled", None)
    if not isinstance(scheduled, list) or not getattr(loop, "_timer_cancelled_count", 0):
        return 0
    kept = []
    for handle in scheduled:
        if handle.cancelled():
            handle._scheduled = False
        else:
            kept.append(handle)
    dropped = len(scheduled) - len(kept)
    heapq.heapify(kept)
    scheduled[:] = kept
    loop._timer_cancelled_count = 0
    return dropped
