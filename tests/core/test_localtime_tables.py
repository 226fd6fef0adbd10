"""A seat converts its calls' few moments exactly and never builds ``calls.localtime``'s
bulk tables (~0.9 MB of Python objects: issue 18, a seat's memory <= 50 MB); a process that
converts in bulk builds them on first use, the same tables as before."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from calls.localtime import ExactTimes, LocalTimes
from calls.store import calls as q
from tests.core.test_export_local_times import ODD, ZONES

SEAT = """
import calls.localtime as lt
from calls.store import calls as q
print("STORE_TAILS" in vars(lt), "_SHIFTED_MINUTES" in vars(lt))
print(q.local_text("America/Chicago", "2026-03-08T08:30:00Z"))
print(q.recorded_values("R1", "Asia/Kolkata", ["2026-03-10T15:04:05Z", None])[2:])
print("STORE_TAILS" in vars(lt), "_SHIFTED_MINUTES" in vars(lt))
lt.LocalTimes()
print("STORE_TAILS" in vars(lt), "_SHIFTED_MINUTES" in vars(lt))
"""


def test_a_seats_call_writes_build_no_tables():
    out = subprocess.run([sys.executable, "-c", SEAT], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["False False", "2026-03-08T03:30:00-05:00",
                   "('2026-03-10T20:34:05+05:30', '')", "False False", "True True"]


TABLES = """
from calls.localtime import STORE_TAILS, _SHIFTED_MINUTES
print(len(STORE_TAILS), STORE_TAILS[':07:09Z'], len(_SHIFTED_MINUTES), _SHIFTED_MINUTES[30]['45'])
"""


def test_the_tables_are_built_when_imported():
    out = subprocess.run([sys.executable, "-c", TABLES], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["3600", ":07:09", "60", ":15"]


def test_exact_conversions_are_the_caches_answers():
    rng = random.Random(18)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    cached = LocalTimes()
    assert isinstance(q._LOCAL, ExactTimes)
    for zone in [*ZONES, ""]:
        for _ in range(400):
            moment = (start + timedelta(seconds=rng.randrange(3 * 366 * 86400))
                      ).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert q._LOCAL.convert(zone, moment) == cached.convert(zone, moment)
        for odd in ("", None, *ODD):
            assert q._LOCAL.convert(zone, odd) == cached.convert(zone, odd)
