"""Giving freed memory back to the system between a seat's steps (issue 18).

A seat's process frees much of what a step allocated (query rows, a screen's drawing),
but the C allocator keeps the freed pages for later: a shift app that has drawn its queue
holds about 8 MB it no longer uses (``scripts/bench_tui.py``: 50 MB after start, 42 MB
after :func:`give_back`). On a server with hundreds of seats that is what decides how
many fit. :func:`give_back` asks glibc's ``malloc_trim`` to return free pages (about a
millisecond); where the C library has no such call (musl, macOS, Windows) it does
nothing. No garbage collection is forced: a full collection costs 100-400 ms on the UI
thread and, measured, gave nothing back on top.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache


@cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim   # the process's own C library
    except (OSError, AttributeError):          # not glibc: no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the C heap's free pages to the system; True when there was a way to."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True


def after_frame(widget) -> None:
    """:func:`give_back` once ``widget``'s screen has drawn what it was doing (never in
    the time a caller waits for a key)."""
    widget.call_after_refresh(give_back)
