"""Callbacks at a glance: a caller's agenda by day, and follow-ups as an iCalendar file.

Every callback is shown at two clocks: the caller's (the day it falls on and the time to
dial) and the customer's (what they asked for: "Tuesday 10:00 in Berlin").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from calls import followups as fu
from calls.followups import Followup
from calls.models import Customer
from calls.store import Store
from calls.store.customers import get_customer

__all__ = ["AgendaDay", "AgendaItem", "callback_agenda", "followups_ics"]


@dataclass(frozen=True)
class AgendaItem:
    """One callback on the agenda."""

    followup: Followup
    customer: Customer | None
    mine: datetime                  # the due time at the caller's clock
    theirs: datetime | None         # the due time at the customer's clock (None: unknown)
    overdue: bool

    @property
    def their_zone(self) -> str | None:
        """The customer's zone as a place ("Berlin", "New York"), when known."""
        if self.theirs is None:
            return None
        key = getattr(self.theirs.tzinfo, "key", "")
        return key.rsplit("/", 1)[-1].replace("_", " ") if key else None


@dataclass(frozen=True)
class AgendaDay:
    """The callbacks of one day (at the caller's clock); ``day`` None: overdue ones."""

    day: date | None
    label: str
    items: tuple[AgendaItem, ...]


def _zone(customer: Customer | None) -> tzinfo | None:
    if customer is None or not customer.time_zones:
        return None
    try:
        return ZoneInfo(customer.time_zones[0])
    except (KeyError, ValueError):
        return None


def _label(day: date, today: date) -> str:
    if day == today:
        return "Today"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    # "Mon 16 Mar": the agenda's first column is 10 wide at 80 columns ("Monday 16 M")
    return day.strftime("%a %d %b").replace(" 0", " ")


def callback_agenda(store: Store, caller: str, now: datetime, my_zone: tzinfo, *,
                    days: int = 14) -> list[AgendaDay]:
    """The caller's open callbacks, overdue ones first, then by day at the caller's clock
    for ``days`` days from today."""
    today = now.astimezone(my_zone).date()
    end = datetime.combine(today + timedelta(days=days), datetime.min.time(), my_zone)
    rows = fu.list_followups(store, owner=caller, kind="callback", status="open",
                             due_before=end)
    customers: dict[int, Customer | None] = {}
    overdue: list[AgendaItem] = []
    by_day: dict[date, list[AgendaItem]] = {}
    for f in rows:
        if f.due_at is None:
            continue
        if f.customer_id not in customers:
            customers[f.customer_id] = get_customer(store, f.customer_id)
        customer = customers[f.customer_id]
        zone = _zone(customer)
        item = AgendaItem(f, customer, f.due_at.astimezone(my_zone),
                          f.due_at.astimezone(zone) if zone else None, f.due_at < now)
        if item.overdue:
            overdue.append(item)
        else:
            by_day.setdefault(item.mine.date(), []).append(item)
    out = [AgendaDay(None, "Overdue", tuple(overdue))] if overdue else []
    out += [AgendaDay(day, _label(day, today), tuple(items))
            for day, items in sorted(by_day.items())]
    return out


# How long a follow-up blocks a calendar: a callback is a short call.
_EVENT_MINUTES = {"callback": 15, "recovery_call": 15}


def followups_ics(store: Store, followups: list[Followup], now: datetime) -> str:
    """Follow-ups with a due time as an iCalendar file (RFC 5545), one event each with a
    reminder five minutes before; the customer's number is a ``tel:`` link."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//carecall//follow-ups//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "carecall follow-ups")
    for f in followups:
        if f.due_at is None:
            continue
        customer = get_customer(store, f.customer_id)
        who = f.customer_name + (f" ({f.customer_company})" if f.customer_company else "")
        event = Event()
        event.add("uid", f"followup-{f.id}@carecall")
        event.add("dtstamp", now)
        event.add("dtstart", f.due_at)
        event.add("duration", timedelta(minutes=_EVENT_MINUTES.get(f.kind, 30)))
        event.add("summary", f"{f.kind.replace('_', ' ').capitalize()}: {who}")
        lines = [f.details] if f.details else []
        zone = _zone(customer)
        if zone is not None:
            local = f.due_at.astimezone(zone)
            lines.append(f"Customer's time: {local:%H:%M} ({getattr(zone, 'key', '')})")
        if customer is not None and customer.phone:
            lines.append(f"Phone: {customer.phone}")
            event.add("url", f"tel:{customer.phone}")
        lines.append(f"carecall follow-up #{f.id}, customer {f.customer_ref}")
        event.add("description", "\n".join(lines))
        event.add("status", "CONFIRMED" if f.status == "open" else "CANCELLED")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Call {who}")
        alarm.add("trigger", timedelta(minutes=-5))
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")
