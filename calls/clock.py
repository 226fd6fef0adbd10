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


def parse_user_moment(text: str, option: str = "--at") -> datetime:
    """A moment a user typed (ISO 8601; UTC when it has no offset), in UTC.

    Raises ``UserError`` naming ``option`` for text that is not a time, or a year so far
    away that calling windows (which look a day or more either side) would overflow.
    """
    from calls.errors import UserError

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{option}: cannot read {text!r} as a time; use e.g. 2026-03-10T15:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1900 <= moment.year <= 9000:
        raise UserError(
            f"{option}: {text!r} is too far from today (give a year between 1900 and 9000)"
        )
    return moment.astimezone(UTC)
