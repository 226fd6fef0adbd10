"""Fixtures for every Pilot test: an error notification the test did not expect fails it.

A save that worked but showed "Could not save or load" passed its test once because the
test only read the database; this makes such a screen fail every UI test that meets it.
"""

from __future__ import annotations

import re

import pytest
from textual.app import App


class NotificationLog:
    """Every notification an app showed during one test, and the errors it expects."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []        # (severity, message)
        self._expected: list[re.Pattern] = []

    def expect_error(self, pattern: str) -> None:
        """An error notification matching ``pattern`` (a regex) is part of this test."""
        self._expected.append(re.compile(pattern))

    def messages(self, severity: str | None = None) -> list[str]:
        """The messages shown, optionally of one severity only."""
        return [m for s, m in self.shown if severity is None or s == severity]

    def unexpected_errors(self) -> list[str]:
        """Error notifications no :meth:`expect_error` pattern accounts for."""
        return [
            m for m in self.messages("error")
            if not any(p.search(m) for p in self._expected)
        ]


@pytest.fixture(autouse=True)
def notifications(monkeypatch):
    """Records what every app notified; fails the test on an unexpected error notification.

    Use ``notifications.expect_error("regex")`` in a test that provokes an error on purpose.
    """
    log = NotificationLog()
    original = App.notify

    def notify(self, message, *args, **kwargs):
        log.shown.append((kwargs.get("severity", "information"), str(message)))
        return original(self, message, *args, **kwargs)

    monkeypatch.setattr(App, "notify", notify)
    yield log
    unexpected = log.unexpected_errors()
    if unexpected:
        pytest.fail("error notification(s) the test did not expect: " + " | ".join(unexpected))


@pytest.fixture(autouse=True)
def no_look_time(monkeypatch):
    """The Pilot presses a key a few milliseconds after a new customer comes up, faster
    than anyone reads a card: the type-ahead guard's look time (tui/typeahead.py) is off
    here and tested on its own timeline in test_typeahead.py (``look_time``)."""
    import tui.typeahead

    monkeypatch.setattr(tui.typeahead, "LOOK_SECONDS", 0.0)


@pytest.fixture
def shift_db(tmp_path):
    """A database with the five test customers (tests/support/tui.py)."""
    from tests.support.tui import make_db

    return make_db(tmp_path / "shift.db")
