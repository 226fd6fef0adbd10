"""Parsing the cell values people put in lists: amounts, dates, ids.

Pure functions shared by the customer and the order importers. Each raises ``ValueError``
with a reason a supervisor can read when a value cannot be understood.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "clean_ref",
    "control_character",
    "detect_day_first",
    "latest_date",
    "parse_amount",
    "parse_date_text",
    "parse_datetime_text",
    "parse_number",
]

_CURRENCY = re.compile(r"[\$€£¥₹]|\b(?:USD|EUR|GBP|CAD|CHF|AUD)\b", re.IGNORECASE)
_FLOAT_ID = re.compile(r"^(\d+)\.0+$")


def clean_ref(text: str) -> str:
    """A customer id as the list meant it: trimmed, ``12923.0`` (a float export) -> ``12923``."""
    text = text.strip()
    if text.isdigit():
        return text  # the common cases, without a regular expression
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    match = _FLOAT_ID.match(text)
    return match.group(1) if match else text


def _shown(raw: str) -> str:
    """A cell's text quoted for a message, cut short when long."""
    raw = raw.strip()
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


def _finite(value: float, raw: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{_shown(raw)} is not a finite number")
    return value


def parse_number(text: str) -> float | None:
    """A quantity or a price: what :func:`float` reads (the common case, fast), else an
    amount as :func:`parse_amount` reads it; never NaN or infinite; '' -> None."""
    try:
        value = float(text)
    except ValueError:
        return parse_amount(text)
    if value - value != 0.0:      # NaN or infinite (the fast test: both give NaN here)
        raise ValueError(f"{_shown(text)} is not a finite number")
    return value


def parse_amount(text: str) -> float | None:
    """A money amount: ``1,234.56``, ``1.234,56``, ``$1 200``, ``(12.50)``, ``-3``; '' -> None.

    Never NaN or infinite (``1e999`` and 400 digits are refused, not stored as ``inf``).
    """
    if text.replace(".", "", 1).isdigit():
        # The common case: plain digits, no separators or signs.
        return _finite(float(text), text)
    raw = text
    text = text.strip()
    if not text:
        return None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = _CURRENCY.sub("", text).replace("\u00a0", "").replace(" ", "").replace("'", "")
    if text.startswith("-"):
        negative, text = not negative, text[1:]
    elif text.endswith("-"):
        negative, text = not negative, text[:-1]
    text = text.removeprefix("+")
    if not text or not re.fullmatch(r"[\d.,]+", text):
        raise ValueError(f"{raw!r} is not an amount")
    if "," in text and "." in text:
        # The later separator is the decimal one: 1,234.56 or 1.234,56.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        if text.count(",") == 1 and len(tail) != 3:
            text = head + "." + tail          # 12,5 / 1234,56: decimal comma
        else:
            text = text.replace(",", "")      # 1,234 / 1,234,567: thousands
    elif text.count(".") > 1:
        text = text.replace(".", "")          # 1.234.567: thousands
    try:
        value = _finite(float(text), raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not an amount") from None
    return -value if negative else value


# Characters no name, id or address holds: C0 and C1 controls and DEL (a NUL cuts the
# text short in many tools; a line break breaks every one-line display).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` as a readable code (``U+0000``), or None."""
    match = _CONTROL.search(text)
    return f"U+{ord(match.group()):04X}" if match else None


def latest_date(now: datetime) -> str:
    """The latest date (``YYYY-MM-DD``) that is today somewhere on Earth at ``now``: a
    date after it is in the future for everyone (UTC+14 is the earliest clock)."""
    return (now.astimezone(UTC) + timedelta(hours=14)).date().isoformat()


_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T,]+(.*))?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?$")
_WORD_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y")


def _split_numeric(text: str) -> tuple[int, int] | None:
    match = _DMY.match(text.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def detect_day_first(samples: list[str]) -> bool | None:
    """Whether ``a/b/yyyy`` dates in a column are day-first (True), month-first (False) or
    undecided (None), from values that settle it (a first part > 12 or a second part > 12).
    """
    day_first = month_first = 0
    for text in samples:
        parts = _split_numeric(text)
        if not parts:
            continue
        if parts[0] > 12 >= parts[1]:
            day_first += 1
        elif parts[1] > 12 >= parts[0]:
            month_first += 1
    if day_first > month_first:
        return True
    if month_first > day_first:
        return False
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # Two-digit years in exports: 00-69 -> 2000s, 70-99 -> 1900s (POSIX strptime rule).
        year += 2000 if year < 70 else 1900
    return year


def parse_date_text(text: str, day_first: bool = False, allow_no_year: bool = False) -> date | None:
    """A date from ISO, ``d/m/y`` or ``m/d/y`` (per ``day_first``), ``d.m.y`` or words; '' -> None.

    With ``allow_no_year`` (birthdays), ``MM-DD`` / ``DD.MM`` give year 1900 ("year unknown").
    """
    moment = parse_datetime_text(text, day_first, allow_no_year=allow_no_year)
    return moment.date() if moment else None


def parse_datetime_text(
    text: str, day_first: bool = False, *, allow_no_year: bool = False
) -> datetime | None:
    """Like :func:`parse_date_text`, keeping a time of day when the text has one (naive)."""
    raw = text
    text = text.strip()
    if not text:
        return None
    try:
        match = _ISO_DATE.match(text)
        if match:
            if "T" in text or " " in text:
                try:
                    moment = datetime.fromisoformat(text)
                    return moment.replace(tzinfo=None)
                except ValueError:
                    pass
            return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _DMY.match(text)
        if match:
            a, b = int(match.group(1)), int(match.group(2))
            # A dot separator is the German/French way of writing dates: always day first.
            dotted = "." in text[: match.end(2)]
            if dotted or day_first:
                day, month = a, b
            else:
                month, day = a, b
            moment = datetime(_year(match.group(3)), month, day)
            if match.group(4):
                moment = _with_time(moment, match.group(4))
            return moment
        if allow_no_year:
            match = _MONTH_DAY.match(text)
            if match:
                a, b = int(match.group(1)), int(match.group(2))
                dotted = "." in text
                day, month = (a, b) if (dotted or day_first) else (b, a)
                return datetime(1900, month, day)
        for fmt in _WORD_FORMATS:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid date") from None
    raise ValueError(f"{raw!r} is not a date")


def _with_time(moment: datetime, text: str) -> datetime:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(text)
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    ampm = (match.group(4) or "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return moment.replace(hour=hour, minute=minute, second=second)
