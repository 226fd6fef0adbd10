"""Helpers for the Pilot-driven shift app tests: a small customer list and a settled pilot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from calls.ingest.customers import ImportOptions, import_customers
from calls.store import Store

# Tuesday 10 March 2026, 15:00 UTC: 10:00 in Chicago, 11:00 in New York, 08:00 in Los
# Angeles (not yet callable), 16:00 in Berlin, 15:00 in London.
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
CUSTOMERS = Path(__file__).resolve().parents[1] / "data" / "tui_customers.csv"

_KEY_NAMES = {" ": "space", ".": "full_stop", ",": "comma", ":": "colon", "-": "minus",
              "/": "slash", "@": "at", "+": "plus", "'": "apostrophe"}


def make_db(path: Path, now: datetime = NOW) -> Path:
    """A database with the five test customers."""
    with Store.open(path) as store:
        import_customers(store, CUSTOMERS, ImportOptions(workers=1), now)
        # Dieter Weber (Berlin) gave consent to be called: German consumers need it.
        from calls import consent

        dieter = store.scalar("SELECT id FROM customers WHERE ref = 'C004'")
        consent.record(store, dieter, "calls", True, how="letter", actor="test", now=now,
                       proof="signed form")
    return path


async def wait_for(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run (workers, messages) until ``condition()`` holds."""
    import asyncio

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


async def settle(pilot, rounds: int = 6) -> None:
    """Let database workers finish and their results reach the screens."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)


def steady_cursors(app) -> None:
    """Stop the text cursors blinking (shown steadily): a picture taken mid-blink would
    differ from the stored one by the cursor alone."""
    from textual.widgets import Input, TextArea

    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for widget in app.screen.query(TextArea):
        widget.cursor_blink = False


async def press(pilot, *keys: str) -> None:
    """Press keys one at a time, settling after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, 3)


async def read_question(pilot) -> None:
    """Pause as a caller does to read the next question after a typed answer: keys that
    run straight on from typing answer nothing (tui/typeahead.py)."""
    from tui.typeahead import PAUSE_SECONDS

    await pilot.pause(PAUSE_SECONDS + 0.05)


async def type_text(pilot, text: str) -> None:
    """Type text into the focused field."""
    await pilot.press(*[_KEY_NAMES.get(ch, ch) for ch in text])
    await settle(pilot, 2)


def screen_lines(app) -> list[str]:
    """What the terminal shows now, line by line (from Textual's SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    rows: dict[float, dict[int, str]] = {}
    for x, y, text in re.findall(
            r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        row = rows.setdefault(float(y), {})
        for i, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            row[round(float(x) / 12.2) + i] = char
    lines = []
    for _, row in sorted(rows.items()):
        lines.append("".join(row.get(i, " ") for i in range(max(row) + 1)).rstrip())
    return lines


def db_rows(db: Path, sql: str, params=()) -> list[dict]:
    """Rows of a query on the database file (a connection of the test's own)."""
    with Store.open(db) as store:
        return store.all(sql, params)


async def take_next(pilot):
    """From the queue, ``n``: the call screen with the next customer."""
    from tui.screens.call import CallScreen

    await settle(pilot)
    await press(pilot, "n")
    screen = pilot.app.screen
    assert isinstance(screen, CallScreen), screen
    return screen
