"""What a shift app's start needs: not sqlite-utils (with click, ~100 ms of the start)."""

from __future__ import annotations

import subprocess
import sys


def test_a_shift_app_draws_its_queue_without_sqlite_utils(shift_db):
    """A seat's app to its queue drawn (the seat signed in, its floor state written, the
    queue read) imports no sqlite-utils: ``calls.store.database`` does its writes."""
    code = (
        "import asyncio, sys\n"
        "from datetime import datetime, UTC\n"
        "from tui.app import make_app\n"
        "from tui.clock import FixedClock\n"
        "async def main():\n"
        f"    app = make_app({str(shift_db)!r}, 'ann', clock=FixedClock("
        "datetime(2026, 3, 10, 15, tzinfo=UTC)))\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        for _ in range(100):\n"
        "            await pilot.pause(0.05)\n"
        "            if getattr(app.screen, 'view', None) is not None:\n"
        "                break\n"
        "        print(type(app.screen).__name__, app.screen.view is not None,\n"
        "              'sqlite_utils' in sys.modules, file=sys.stderr)\n"
        "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert "QueueScreen True False" in done.stderr, done.stderr[-2000:]


def test_a_seat_shows_numbers_without_phonenumbers_zone_table():
    """A seat imports its screens and shows numbers (``national_format``) without
    phonenumbers' zone table (``phonenumbers.tzdata`` and ``.timezone``: ~0.4 MB of a
    seat's memory, issue 18); a number normalised (typed, imported) loads it and gets its
    zones."""
    code = (
        "import sys\n"
        "import tui.app, tui.screens.call, tui.screens.followups, tui.screens.dashboard\n"
        "from tui.core import national_format\n"
        "print(national_format('+14155550100'), 'phonenumbers.tzdata' in sys.modules)\n"
        "from calls.ingest.phones import normalise_phone\n"
        "print(normalise_phone('+1 415 555 0100').time_zones,\n"
        "      normalise_phone('+44 20 7946 0000').time_zones,\n"
        "      'phonenumbers.tzdata' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == [
        "(415) 555-0100 False",
        "('America/Los_Angeles',) ('Europe/London',) True",
    ], done.stderr[-2000:]
