"""Time in the store: every moment is UTC, written as ISO 8601 text ending in ``Z``.

Dates without a time (birthdays, customer since, purchases) are ``YYYY-MM-DD`` text.
One fixed format keeps text comparison in SQL equal to time comparison.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_utc() -> datetime:
    """The current moment, timezone-aware in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def to_iso(moment: datetime) -> str:
    """A timezone-aware datetime as the store's UTC text form."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: carecall stores only timezone-aware moments")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_iso(text: str) -> datetime:
    """Parse the store's text form (or any ISO 8601 moment with an offset) into UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_date(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` store date, or None."""
    if not text:
        return None
    return date.fromisoformat(text[:10])
