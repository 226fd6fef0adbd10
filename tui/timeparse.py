"""Times a caller types for a callback or a due date, read in the customer's own time zone.

Accepted: ``14:30`` (today, or tomorrow when already past), ``tomorrow 14:30``,
``mon 10:00`` (the next Monday), ``2026-03-12 14:30``, ``2026-03-12`` (09:00), and
offsets ``+2h``, ``+30m``, ``+3d``. Anything else is a ``ValueError`` whose message is
the line to show.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calls.clock import UTC

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFSET = re.compile(r"^\+\s*(\d+)\s*([mhdw])$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
HELP = "e.g. 14:30, tomorrow 10:00, fri 9:30, 2026-03-12 14:30, +2h, +3d"


def zone_of(time_zones: tuple[str, ...] | list[str] | None) -> ZoneInfo:
    """The customer's zone: the first zone of the number, else UTC."""
    for name in time_zones or ():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def _parse_clock(text: str) -> time:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise ValueError(f"cannot read the time {text!r} ({HELP})")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise ValueError(f"no such time {text!r}")
    return time(hour, minute)


def parse_local_time(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The moment (UTC) the caller means by ``text``, read in ``zone``; must be in the future."""
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise ValueError(f"type a time ({HELP})")
    local_now = now.astimezone(zone)
    offset = _OFFSET.match(raw)
    if offset:
        amount, unit = int(offset.group(1)), offset.group(2)
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        if unit in "dw":
            # "+3d" means the same wall-clock time three days on, across DST changes too.
            target = (local_now.replace(tzinfo=None) + delta).replace(tzinfo=zone)
            return target.astimezone(UTC)
        return (now + delta).replace(second=0, microsecond=0).astimezone(UTC)

    day: date | None = None
    rest = raw
    parts = raw.split(" ", 1)
    head = parts[0]
    if head in ("today",):
        day, rest = local_now.date(), (parts[1] if len(parts) > 1 else "")
    elif head in ("tomorrow", "tmrw", "tom"):
        day, rest = local_now.date() + timedelta(days=1), (parts[1] if len(parts) > 1 else "")
    elif head[:3] in _WEEKDAYS and head.isalpha():
        wanted = _WEEKDAYS.index(head[:3])
        ahead = (wanted - local_now.weekday()) % 7 or 7
        day, rest = local_now.date() + timedelta(days=ahead), (parts[1] if len(parts) > 1 else "")
    elif re.match(r"^\d{4}-\d{2}-\d{2}", head):
        try:
            day = date.fromisoformat(head[:10])
        except ValueError:
            raise ValueError(f"no such date {head!r}") from None
        rest = (parts[1] if len(parts) > 1 else "") or head[11:]
        if not rest:
            rest = "09:00"
    clock = _parse_clock(rest) if rest else time(local_now.hour, local_now.minute)
    if day is None:
        day = local_now.date()
        if datetime.combine(day, clock, zone) <= local_now:
            day += timedelta(days=1)
    moment = datetime.combine(day, clock, zone).astimezone(UTC)
    if moment <= now:
        raise ValueError("that time has already passed")
    return moment


def parse_due(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """A follow-up's due time (empty: None, meaning no set time)."""
    if not text.strip():
        return None
    return parse_local_time(text, now, zone)


def format_local(moment: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """``Tue 10 Mar 14:30`` in ``zone`` (``today 14:30`` / ``tomorrow 14:30`` when close)."""
    local = moment.astimezone(zone)
    if now is not None:
        today = now.astimezone(zone).date()
        if local.date() == today:
            return f"today {local:%H:%M}"
        if local.date() == today + timedelta(days=1):
            return f"tomorrow {local:%H:%M}"
    return f"{local:%a %d %b %H:%M}"
