"""Call context for scripts that the customer record alone does not give.

``occasion_context`` says which special day an occasion call is about (the ``occasion.*``
fill-ins); the ``fix.*`` values come from ``calls.followups.recovery_context``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from calls.models import Customer


def _on_year(day: date, year: int) -> date:
    """The same month and day in another year; 29 February falls on the 28th otherwise."""
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _next(day: date, today: date) -> date:
    upcoming = _on_year(day, today.year)
    if upcoming < today:
        upcoming = _on_year(day, today.year + 1)
    return upcoming


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def occasion_context(customer: Customer, now: datetime, days_ahead: int = 14,
                     days_after: int = 3) -> dict[str, dict[str, Any]]:
    """``{"occasion": {...}}`` for the customer's birthday or customer-since anniversary
    falling between ``days_after`` days ago and ``days_ahead`` days from ``now`` (the
    nearest wins), or ``{}`` when there is none.

    ``what`` is a phrase for the opening line ("your birthday", "your 10th anniversary
    with us"), ``date`` the day itself, ``years`` the anniversary's years (None for a
    birthday: list birth years are often placeholders).
    """
    today = now.date()
    window_start = today - timedelta(days=days_after)
    found: list[tuple[int, dict[str, Any]]] = []
    if customer.birthday:
        day = _next(customer.birthday, window_start)
        if day <= today + timedelta(days=days_ahead):
            found.append((abs((day - today).days),
                          {"what": "your birthday", "date": day, "years": None}))
    if customer.customer_since:
        day = _next(customer.customer_since, window_start)
        years = day.year - customer.customer_since.year
        if years >= 1 and day <= today + timedelta(days=days_ahead):
            what = ("your first anniversary with us" if years == 1
                    else f"your {ordinal(years)} anniversary with us")
            found.append((abs((day - today).days), {"what": what, "date": day, "years": years}))
    if not found:
        return {}
    found.sort(key=lambda item: item[0])
    return {"occasion": found[0][1]}
