"""Callbacks at a glance: the agenda by day at two clocks, and the iCalendar file."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar

from calls import followups as fu
from calls.agenda import callback_agenda, followups_ics
from tests.support.followups import add_customer

CHICAGO = ZoneInfo("America/Chicago")


def _callbacks(store, now):
    berlin = add_customer(store, "DE-1", "Klaus Becker", company="Becker Bau",
                          phone="+49301234567", phone_region="DE",
                          time_zones=json.dumps(["Europe/Berlin"]))
    ny = add_customer(store, "US-1", "Jane Doe", phone="+12125550101", phone_region="US",
                      time_zones=json.dumps(["America/New_York"]))
    people = {berlin: {"id": berlin, "ref": "DE-1", "name": "Klaus Becker",
                       "company": "Becker Bau"},
              ny: {"id": ny, "ref": "US-1", "name": "Jane Doe", "company": None}}
    made = {}
    for name, cid, offset in (("late", ny, -timedelta(hours=1)),
                              ("today", berlin, timedelta(hours=2)),
                              ("tomorrow", ny, timedelta(days=1)),
                              ("far", ny, timedelta(days=30))):
        made[name] = fu.insert_new_followup(
            store, kind="callback", customer=people[cid], owner="olga", due_at=now + offset,
            details=f"call {name}", now=now)
    fu.insert_new_followup(store, kind="callback", customer=people[berlin], owner="bo",
                           due_at=now + timedelta(hours=1), details=None, now=now)
    return made


def test_agenda_groups_my_callbacks_by_day_at_both_clocks(store, now):
    made = _callbacks(store, now)            # now: Tuesday 10 March 2026, 15:00 UTC
    days = callback_agenda(store, "olga", now, CHICAGO)
    assert [d.label for d in days] == ["Overdue", "Today", "Tomorrow"]   # 30 days out: not shown
    overdue, today, tomorrow = days
    assert [i.followup.id for i in overdue.items] == [made["late"].id]
    [item] = today.items
    assert item.followup.id == made["today"].id and not item.overdue
    assert (item.mine.hour, item.theirs.hour, item.their_zone) == (12, 18, "Berlin")
    assert tomorrow.items[0].their_zone == "New York"
    assert callback_agenda(store, "nobody", now, CHICAGO) == []


def test_ics_has_one_event_per_due_followup_with_a_tel_link(store, now):
    _callbacks(store, now)
    rows = fu.list_followups(store, owner="olga", kind="callback")
    text = followups_ics(store, rows, now)
    cal = icalendar.Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    assert len(events) == 4
    first = events[0]
    assert str(first["summary"]) == "Callback: Jane Doe"
    assert first.decoded("dtstart") == now - timedelta(hours=1)
    assert str(first["url"]) == "tel:+12125550101"
    assert "Customer's time: 10:00 (America/New_York)" in str(first["description"])
    assert first.walk("VALARM")[0].decoded("trigger") == timedelta(minutes=-5)
    assert "\r\n" in text
