"""The floor's seconds per caller and state read only the seat log's intervals that reach
into the period (``calls.store.floor.state_seconds``, by the index on their end): the same
answer as reading every interval, over random logs (open, straddling, future, overlapping
intervals) and periods."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.store import floor as q

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def every_interval(store, start: str, now: str) -> list[dict]:
    """The plain way: every interval of the log, filtered (a locked seat's time counted
    as the state under the lock, but locked over ready)."""
    return store.all(
        """
        SELECT caller,
               iif(state = 'locked' AND locked_from IN ('dialling', 'talking', 'wrapup',
                                                        'paused'), locked_from, state) AS state,
               sum(max(0, strftime('%s', min(coalesce(ended_at, :now), :now))
                        - strftime('%s', max(started_at, :start)))) AS seconds,
               count(DISTINCT call_id) AS calls
        FROM seat_states
        WHERE started_at < :now AND coalesce(ended_at, :now) > :start
        GROUP BY 1, 2
        """, {"start": start, "now": now})


def _key(rows: list[dict]) -> list[tuple]:
    return sorted((r["caller"], r["state"], int(r["seconds"]), r["calls"]) for r in rows)


@pytest.mark.parametrize("seed", range(4))
def test_state_seconds_equal_reading_every_interval(store, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(400):
        began = NOW - timedelta(minutes=rng.uniform(-120, 4 * 24 * 60))
        ended = (None if rng.random() < 0.1
                 else began + timedelta(minutes=rng.uniform(0, 600)))
        state = rng.choice(("ready", "dialling", "talking", "wrapup", "paused", "locked"))
        under = (rng.choice(("ready", "dialling", "talking", "wrapup", "paused"))
                 if state == "locked" else None)
        rows.append((rng.choice(("ann", "bob", "cy")), state, under,
                     to_iso(began), to_iso(ended) if ended else None,
                     rng.choice((None, 1, 2, 3))))
    with store.write():
        store.db.conn.executemany(
            "INSERT INTO seat_states(caller, state, locked_from, started_at, ended_at, "
            "call_id) VALUES (?, ?, ?, ?, ?, ?)", rows)
    for _ in range(30):
        start = NOW - timedelta(hours=rng.uniform(-3, 80))
        now = start + timedelta(hours=rng.choice((-1, 0, 0.5, 8, 30)))
        a, b = to_iso(start), to_iso(now)
        assert _key(q.state_seconds(store, a, b)) == _key(every_interval(store, a, b)), (a, b)
