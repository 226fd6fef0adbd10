"""The app's clock: the real time, a moment that runs forward (``--at``), or a fixed one (tests).

Every screen reads the time through ``app.now()``; nothing in ``tui/`` calls
``datetime.now`` directly, so a shift can be replayed at any moment and tests are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from calls.clock import UTC, now_utc

Clock = Callable[[], datetime]


class OffsetClock:
    """Starts at ``start`` and runs forward with the real time (``carecall shift --at``)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start of an offset clock must be timezone-aware")
        self.start = start.astimezone(UTC)
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        elapsed = time.monotonic() - self._t0
        return (self.start + timedelta(seconds=elapsed)).replace(microsecond=0)


class FixedClock:
    """A clock that stands still until told to move (tests, snapshots)."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware moment")
        self.moment = moment.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` (or ``timedelta(**kwargs)``); return the new time."""
        self.moment += delta if delta is not None else timedelta(**kwargs)
        return self.moment

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self.moment = moment.astimezone(UTC)


def system_clock() -> datetime:
    """The real time, to the second, in UTC."""
    return now_utc()


def resolve_clock(clock: Clock | datetime | None) -> Clock:
    """A callable clock from a clock, a starting moment (runs forward) or None (real time)."""
    if clock is None:
        return system_clock
    if isinstance(clock, datetime):
        return OffsetClock(clock)
    return clock
