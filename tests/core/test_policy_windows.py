"""Calling windows against a minute-by-minute brute force, around DST changes everywhere.

For random moments near daylight-saving changes (north and south, 30-minute shifts, odd
offsets), ``window_state`` must agree with walking the clock one minute at a time and
asking, in each zone's local time, whether the hours of that local day contain the minute.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.policy import DEFAULT_POLICY, CallingPolicy, day_spans, policy_from_dict, window_state

CASES = [
    ("US", ("America/New_York",)),
    ("US", ("America/Chicago", "America/New_York")),
    ("US", ("America/Los_Angeles",)),
    ("US", ("America/Phoenix", "America/Denver")),   # one zone without DST
    ("CA", ("America/St_Johns",)),                   # UTC-3:30
    ("GB", ("Europe/London",)),
    ("AU", ("Australia/Sydney",)),                   # southern DST
    ("AU", ("Australia/Lord_Howe",)),                # DST shift of 30 minutes
    ("NZ", ("Pacific/Chatham",)),                    # UTC+12:45
    ("IN", ("Asia/Kolkata",)),
    ("JP", ("Asia/Tokyo",)),
]
# DST changes in 2026: US 8 Mar / 1 Nov, EU 29 Mar / 25 Oct, AU 5 Apr / 4 Oct,
# NZ 5 Apr / 27 Sep.
CHANGES = ["2026-03-08", "2026-03-29", "2026-04-05", "2026-09-27", "2026-10-04",
           "2026-10-25", "2026-11-01"]

NO_HOLIDAYS = replace(DEFAULT_POLICY, calling=replace(CallingPolicy(), skip_holidays=False))
WIDE = policy_from_dict({"calling": {"skip_holidays": False,
                                     "hours": {"weekdays": "06:30-23:15",
                                               "weekend": "07:00-12:00, 13:30-22:00"}}})


def brute_open(country, zones, t, policy) -> bool:
    for zone in zones:
        local = t.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        if not any(s <= minute < e for s, e in day_spans(country, local.date(), policy)):
            return False
    return True


def brute_next_change(country, zones, now, policy, is_open) -> datetime | None:
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(4 * 1440):
        if brute_open(country, zones, t, policy) != is_open:
            return t
        t += timedelta(minutes=1)
    return None


@pytest.mark.parametrize("seed", range(36))
def test_window_state_matches_the_minute_by_minute_clock(seed):
    rng = random.Random(seed)
    country, zones = rng.choice(CASES)
    policy = rng.choice([NO_HOLIDAYS, WIDE, DEFAULT_POLICY])
    day = datetime.fromisoformat(rng.choice(CHANGES)).replace(tzinfo=UTC)
    now = day + timedelta(minutes=rng.randrange(-3 * 1440, 3 * 1440))
    state = window_state(country, zones, now, policy)
    assert state.open == brute_open(country, zones, now, policy)
    change = brute_next_change(country, zones, now, policy, state.open)
    if state.open:
        assert state.closes_at == change
    else:
        assert state.opens_at == change
