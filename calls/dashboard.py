"""The supervisor dashboard's figures, read again only when they can have changed.

The dashboard refreshes every few seconds (and at ``r``), but most refreshes find the
same database: nobody wrapped up a call since the last one. The plain functions read
everything each time (:func:`live_figures`, ``calls.reports.dashboard_period``; coverage
alone read every customer: ~110 ms at 100,000; it now counts kept per-customer dates,
``calls.store.coverage``). :class:`DashboardFigures` answers the same, reading only what
can have changed:

- *a write* since its last read: ``PRAGMA data_version`` on its connection (another
  connection committed) or the connection's own changes
  (:func:`calls.store.reports.change_stamp`); any write makes it read again, so a call
  wrapped up at a seat shows at the next refresh;
- *the clock*: today's shift is today's (read again when the day turns); the period's
  figures (coverage, overdue follow-ups, the 7 and 30 days) change with time alone only
  at moments the store can name (a call leaving a cadence window, a follow-up falling
  due: :func:`calls.store.reports.period_next_change`), so they are read again at the
  first such moment; the floor (states and how long) is read at every refresh (a few
  milliseconds);
- *the days before today*: the week's cases and the 30 days' attempts are the days before
  today's (kept) joined with today's (read at each read); the kept part is read again
  only when a write since reached back before today (the store's journal of call writes,
  :func:`calls.store.dashboard.calls_written_since`: on a floor nearly every write is
  today's), the day turned, or the outcome table changed;
- *deadlines*: the escalation check (a deadline missed since the last check) runs after
  any write and otherwise once a minute (``escalate_every``; the shift app's own check
  runs as often): a deadline that passes on a quiet floor shows within that minute.

Its answers equal the plain functions' at every moment (``tests/core/test_dashboard_figures.py``
holds the two to the same figures through random writes and clock moves).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from calls.clock import UTC, to_iso
from calls.deadlines import Escalation, escalate_overdue, open_escalations
from calls.floor import CallerFloor, floor_view
from calls.outcomes import CONTACT, FAMILY_ORDER, Outcome
from calls.policy import DEFAULT_POLICY
from calls.reports import (
    NOT_REACHED_DAYS,
    DashboardDays,
    DashboardPeriod,
    DashboardToday,
    cadence_days,
    dashboard_days,
    dashboard_period,
    dashboard_today,
)
from calls.store import Store
from calls.store import reports as q
from calls.store.dashboard import calls_written_since, case_ranks, rank_rule


@dataclass(frozen=True)
class DashboardLive:
    """The dashboard's first load: today's shift, the floor and the open escalations."""

    today: DashboardToday
    floor: list[CallerFloor]
    escalations: list[Escalation]


def load_floor(store: Store, now: datetime, tz: tzinfo) -> list[CallerFloor]:
    """The floor view for a supervisor (customers named), "today" in ``tz``."""
    start = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    return floor_view(store, now, start, show_customers=True)


def live_figures(store: Store, now: datetime, policy: Any = None,
                 tz: tzinfo = UTC) -> DashboardLive:
    """What changes by the minute, the plain way. The dashboard is the supervisors'
    screen: it escalates what missed a deadline (once each) even when no caller's app
    runs."""
    escalate_overdue(store, now, policy or DEFAULT_POLICY)
    return DashboardLive(dashboard_today(store, now, tz), load_floor(store, now, tz),
                         open_escalations(store))


def call_windows(policy: Any = None) -> dict[str, set[int]]:
    """{outcome: window lengths in days} of the calls that count in the period figures
    while recent: a completed call within its tier's cadence (every cadence: which tier
    the customer is in does not matter for when a figure may change), any contact within
    a year (not reached)."""
    windows: dict[str, set[int]] = {o.value: {NOT_REACHED_DAYS} for o in CONTACT}
    windows.setdefault(Outcome.COMPLETED.value, set()).update(cadence_days(policy).values())
    return windows


@dataclass(frozen=True)
class _PastDays:
    """What the days before today add up to, as of the journal's write ``seq``."""

    key: tuple
    seq: int
    ranks: dict[int, int]           # the week's days before today: best rank per customer
    families: dict[str, int]        # ... and their cases per family
    attempts: dict[str, int]        # the 30 days before today: attempts per day


class DashboardFigures:
    """The dashboard's two loads for one connection, each equal to the plain function's
    answer (:func:`live_figures`, ``calls.reports.dashboard_period``), read again only
    when a write or the clock can have changed them. One per screen; its methods run on
    one connection, one at a time (the app's ``reports`` lane)."""

    def __init__(self, policy: Any = None, tz: tzinfo = UTC, *,
                 escalate_every: timedelta = timedelta(minutes=1)) -> None:
        self.policy = policy or DEFAULT_POLICY
        self.tz = tz
        self.escalate_every = escalate_every
        self._escalated: tuple[tuple, datetime] | None = None   # (stamp, when) of the check
        self._today: tuple[tuple, DashboardToday] | None = None
        self._escalations: tuple[tuple, list[Escalation]] | None = None
        # (key, figures, read at, valid until): valid from the moment read to the bound
        self._period: tuple[tuple, DashboardPeriod, str, str | None] | None = None
        self._past: _PastDays | None = None
        self.reads = {"today": 0, "escalations": 0, "period": 0,   # for tests and benches
                      "days before today": 0}

    def _day(self, now: datetime) -> tuple:
        local = now.astimezone(self.tz)
        return local.date(), local.utcoffset()

    def live(self, store: Store, now: datetime) -> DashboardLive:
        """Today's shift, the floor and the open escalations at ``now``."""
        stamp = q.change_stamp(store)
        checked = self._escalated
        if (checked is None or checked[0] != stamp or not
                checked[1] <= now < checked[1] + self.escalate_every):
            escalate_overdue(store, now, self.policy)
            stamp = q.change_stamp(store)             # its own writes, if it escalated
            self._escalated = (stamp, now)
        if self._escalations is None or self._escalations[0] != stamp:
            self._escalations = (stamp, open_escalations(store))
            self.reads["escalations"] += 1
        key = (stamp, self._day(now))
        if self._today is None or self._today[0] != key:
            self._today = (key, dashboard_today(store, now, self.tz))
            self.reads["today"] += 1
        today = self._today[1]
        if today.now != to_iso(now):
            today = replace(today, now=to_iso(now))
        return DashboardLive(today, load_floor(store, now, self.tz), self._escalations[1])

    def period(self, store: Store, now: datetime) -> DashboardPeriod:
        """The last 7 and 30 days, coverage and the backlog at ``now``."""
        stamp = q.change_stamp(store)
        key = (stamp, self._day(now))
        as_of = to_iso(now)
        cached = self._period
        if cached is not None:
            old_key, figures, read_at, until = cached
            if old_key == key and read_at <= as_of and (until is None or as_of <= until):
                if figures.coverage.as_of == as_of:
                    return figures
                return replace(figures, coverage=replace(figures.coverage, as_of=as_of))
        # The bound first: a write between the two reads moves the stamp (read again).
        until = q.period_next_change(store, as_of, call_windows(self.policy))
        days = dashboard_days(now, self.tz)
        past = self._days_before_today(store, days)
        # The week's cases: the days before today's, each customer called today moved to
        # the better of their two ranks (or added).
        families = dict(past.families)
        for cid, rank in case_ranks(store, days.today_start, days.end).items():
            before = past.ranks.get(cid)
            if before is None or rank < before:
                if before is not None:
                    families[FAMILY_ORDER[before - 1]] -= 1
                families[FAMILY_ORDER[rank - 1]] = families.get(FAMILY_ORDER[rank - 1], 0) + 1
        attempts = dict(past.attempts)
        for day, n in q.daily_attempts(store, days.today_start, days.end, days.shift).items():
            attempts[day] = attempts.get(day, 0) + n
        figures = dashboard_period(store, now, self.policy, self.tz, week_families=families,
                                   attempts_by_day=attempts)
        self._period = (key, figures, as_of, until)
        self.reads["period"] += 1
        return figures

    def _days_before_today(self, store: Store, days: DashboardDays) -> _PastDays:
        """The week's cases per customer and the 30 days' attempts per day before today,
        read again only when a write since the last read reached back before today (the
        store's journal of call writes says; nearly every write on a floor is today's),
        the days moved, or the outcome table changed."""
        key = (days.week_start, days.month_start, days.today_start, days.shift, rank_rule())
        past = self._past
        seq, earliest, reaches = calls_written_since(store, past.seq if past else None)
        if (past is not None and past.key == key and reaches
                and (earliest is None or earliest >= days.today_start)):
            self._past = replace(past, seq=seq)
            return self._past
        ranks = case_ranks(store, days.week_start, days.today_start)
        families: dict[str, int] = {}
        for rank in ranks.values():
            families[FAMILY_ORDER[rank - 1]] = families.get(FAMILY_ORDER[rank - 1], 0) + 1
        self._past = _PastDays(
            key=key, seq=seq, ranks=ranks, families=families,
            attempts=q.daily_attempts(store, days.month_start, days.today_start, days.shift))
        self.reads["days before today"] += 1
        return self._past
