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
- *today*: today's calls are kept summed per 10-minute slot (:class:`_TodaySums`); a
  write reads again only the slots from the earliest call it touched on (the journal
  says; on a floor, the last minutes' slots), the NPS per caller whole;
- *deadlines*: the escalation check (a deadline missed since the last check) looks at
  every open follow-up once a minute (``escalate_every``; the shift app's own check runs
  as often) and, between, after a follow-up write, at the follow-ups written (the
  journal of follow-up writes names them, :func:`calls.store.dashboard.followups_written_since`;
  every one when it no longer reaches back); a call write alone checks none: a follow-up
  cannot become late by it, and a deadline that passes by time alone shows within the
  minute.

Its answers equal the plain functions' at every moment (``tests/core/test_dashboard_figures.py``
holds the two to the same figures through random writes and clock moves).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from calls.clock import UTC, to_iso
from calls.deadlines import Escalation, KeptEscalations, escalate_overdue, open_escalations
from calls.floor import CallerFloor, floor_view
from calls.outcomes import CONTACT, FAMILY_ORDER, Outcome
from calls.policy import DEFAULT_POLICY
from calls.records import record
from calls.reports import (
    NOT_REACHED_DAYS,
    DashboardDays,
    DashboardPeriod,
    DashboardToday,
    activity_from_outcomes,
    cadence_days,
    caller_rows,
    dashboard_days,
    dashboard_period,
    dashboard_today,
    followup_figures,
)
from calls.store import Store
from calls.store import reports as q
from calls.store.coverage import KeptCounts
from calls.store.dashboard import (
    CaseRanks,
    KeptBacklog,
    calls_written_since,
    case_ranks,
    followups_written_seq,
    followups_written_since,
    rank_rule,
    today_slots,
)
from calls.store.floor import calls_by_outcome as floor_calls_by_outcome


@record(frozen=True)
class DashboardLive:
    """The dashboard's first load: today's shift, the floor and the open escalations."""

    today: DashboardToday
    floor: list[CallerFloor]
    escalations: list[Escalation]


def load_floor(store: Store, now: datetime, tz: tzinfo,
               outcomes: dict[str, dict[str | None, int]] | None = None) -> list[CallerFloor]:
    """The floor view for a supervisor (customers named), "today" in ``tz``;
    ``outcomes``: today's calls per caller and outcome up to ``now``, when known."""
    return floor_view(store, now, floor_start(now, tz), show_customers=True,
                      outcomes=outcomes)


def floor_start(now: datetime, tz: tzinfo) -> datetime:
    """The start of the floor's day (today in ``tz``)."""
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


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


@record(frozen=True)
class _PastDays:
    """What the days before today add up to, as of the journal's write ``seq``."""

    key: tuple
    seq: int
    ranks: CaseRanks                # the week's days before today: best rank per customer
    families: dict[str, int]        # ... and their cases per family
    attempts: dict[str, int]        # the 30 days before today: attempts per day


@record(frozen=True)
class _TodaySlots:
    """Today's calls summed per 10-minute slot (``calls.store.dashboard.today_slots``), as
    of the journal's write ``seq``; ``base``: the slots before the slot ``boundary``
    summed up (a refresh after a write re-reads the last minutes' slots and sums only the
    slots from the boundary on onto a copy of it)."""

    key: tuple
    seq: int
    calls: dict[str, list[tuple]]            # slot: [(caller, outcome, calls, seconds, ended)]
    ranks: dict[str, dict[int, int | None]]  # slot: {customer: best rank}
    boundary: str
    base: _TodaySums


# A refresh sums at most this many slots past the kept sum before moving its boundary up.
RECENT_SLOTS = 12


class _TodaySums:
    """Today's per-caller parts summed over some slots (what ``calls.store.reports``
    counts for ``dashboard_today``: calls per outcome, handle seconds and ended calls,
    attempts and active slots per caller, calls per outcome in all, each customer's best
    rank)."""

    def __init__(self) -> None:
        self.outcomes: dict = {}
        self.handled: dict = {}
        self.attempts: dict = {}
        self.active: dict = {}
        self.totals: dict = {}
        self.best: dict[int, int] = {}

    def copy(self) -> _TodaySums:
        out = _TodaySums()
        out.outcomes = {caller: dict(by) for caller, by in self.outcomes.items()}
        out.handled, out.attempts = dict(self.handled), dict(self.attempts)
        out.active, out.totals, out.best = dict(self.active), dict(self.totals), dict(self.best)
        return out

    def add(self, rows: list[tuple], ranks: dict[int, int | None]) -> None:
        """One slot's rows and ranks."""
        callers = set()
        for caller, outcome, n, seconds, ended in rows:
            by = self.outcomes.setdefault(caller, {})
            by[outcome] = by.get(outcome, 0) + n
            self.totals[outcome] = self.totals.get(outcome, 0) + n
            if ended:
                total, calls = self.handled.get(caller, (0, 0))
                self.handled[caller] = (total + seconds, calls + ended)
            if outcome is not None:
                self.attempts[caller] = self.attempts.get(caller, 0) + n
            callers.add(caller)
        for caller in callers:
            self.active[caller] = self.active.get(caller, 0) + 1
        best = self.best
        for cid, rank in ranks.items():
            if rank is not None and (cid not in best or rank < best[cid]):
                best[cid] = rank

    def today(self, nps_hist: dict, now: datetime) -> DashboardToday:
        """``calls.reports.dashboard_today`` from these sums and the NPS per caller."""
        worked = {caller: (n, self.active[caller] * 600)
                  for caller, n in self.attempts.items() if n}
        return DashboardToday(
            now=to_iso(now),
            today=caller_rows(self.outcomes, self.handled, worked, nps_hist),
            today_total=activity_from_outcomes(
                self.totals, sum(map(bool, self.best.values()))),
        )


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
        # (the follow-ups' journal's newest row, when every one was checked)
        self._escalated: tuple[int, datetime] | None = None
        self._today: tuple[tuple, DashboardToday] | None = None
        self._escalations: tuple[tuple, list[Escalation]] | None = None
        # (key, figures, read at, valid until): valid from the moment read to the bound
        self._period: tuple[tuple, DashboardPeriod, str, str | None] | None = None
        self._past: _PastDays | None = None
        self._slots: _TodaySlots | None = None
        self._sums: tuple[tuple, _TodaySums] | None = None    # ((key, seq), sums)
        self.coverage = KeptCounts()
        # (key, read at, valid until, figures, the follow-ups' next moments)
        self._followups: tuple[tuple, str, str | None, list, list] | None = None
        self.open_escalations = KeptEscalations()
        self.backlog = KeptBacklog()
        self.reads = {"today": 0, "escalations": 0, "period": 0,   # for tests and benches
                      "days before today": 0, "today's slots": 0, "follow-ups": 0,
                      "escalation checks": 0}

    def _day(self, now: datetime) -> tuple:
        local = now.astimezone(self.tz)
        return local.date(), local.utcoffset()

    def live(self, store: Store, now: datetime) -> DashboardLive:
        """Today's shift, the floor and the open escalations at ``now``."""
        stamp = q.change_stamp(store)
        checked = self._escalated
        seq = followups_written_seq(store)
        if checked is None or not checked[1] <= now < checked[1] + self.escalate_every:
            escalate_overdue(store, now, self.policy)       # every follow-up, once a minute
            stamp = q.change_stamp(store)             # its own writes, if it escalated
            self._escalated = (seq, now)
            self.reads["escalation checks"] += 1
        elif checked[0] != seq:
            # Follow-ups written since: those (the rest can only have become late by time,
            # which the check of every one each minute catches); every one when the
            # journal no longer reaches back.
            escalate_overdue(store, now, self.policy,
                             followup_ids=followups_written_since(store, checked[0]))
            stamp = q.change_stamp(store)
            self._escalated = (seq, checked[1])
            self.reads["escalation checks"] += 1
        if self._escalations is None or self._escalations[0] != stamp:
            self._escalations = (stamp, self.open_escalations.read(store))
            self.reads["escalations"] += 1
        key = (stamp, self._day(now))
        if self._today is None or self._today[0] != key:
            self._today = (key, self._today_read(store, now))
            self.reads["today"] += 1
        today = self._today[1]
        if today.now != to_iso(now):
            today = replace(today, now=to_iso(now))
        return DashboardLive(today, load_floor(store, now, self.tz,
                                               self._floor_outcomes(store, now)),
                             self._escalations[1])

    def _floor_outcomes(self, store: Store, now: datetime
                        ) -> dict[str, dict[str | None, int]] | None:
        """Today's calls per caller and outcome started before ``now`` (the floor's), from
        today's kept slots before the slot of ``now`` and the calls of that slot read;
        None (the floor reads them) when the slots are not this day's or the kept sum
        reaches past ``now``'s slot."""
        slots = self._slots
        start, stamp = to_iso(floor_start(now, self.tz)), to_iso(now)
        slot = stamp[:15]
        if slots is None or slots.key[0] != start or slots.boundary > slot:
            return None
        out = {caller: dict(by) for caller, by in slots.base.outcomes.items()}
        rows = [row for at, rows in slots.calls.items() if slots.boundary <= at < slot
                for row in rows]
        rows += [(r["caller"], r["outcome"], r["n"]) for r in
                 floor_calls_by_outcome(store, max(start, slot + "0:00Z"), stamp)]
        for caller, outcome, n, *_ in rows:
            by = out.setdefault(caller, {})
            by[outcome] = by.get(outcome, 0) + n
        return out

    def _today_read(self, store: Store, now: datetime) -> DashboardToday:
        """Today's shift from today's slots (:meth:`_today_sums`) and the NPS per caller,
        read whole (answers are not in the journal; a few hundred rows)."""
        days = dashboard_days(now, self.tz)
        return self._today_sums(store, days).today(
            q.nps_histogram_by(store, days.today_start, days.end, "caller"), now)

    def _today_sums(self, store: Store, days: DashboardDays) -> _TodaySums:
        """Today's calls summed: the slots no write since the last read reached kept, the
        rest read again (the journal of call writes says from which slot on: on a floor,
        the calls wrapped up in the last minutes)."""
        start, end = days.today_start, days.end
        key = (start, end, rank_rule())
        kept = self._slots
        seq, earliest, reaches = calls_written_since(store, kept.seq if kept else None)
        if (kept is not None and kept.key == key and reaches and earliest is None
                and self._sums is not None and self._sums[0] == (key, seq)):
            return self._sums[1]          # nothing written to calls since: the same sums
        if kept is None or kept.key != key or not reaches or (
                earliest is not None and earliest < start):
            calls: dict[str, list[tuple]] = {}
            ranks: dict[str, dict[int, int | None]] = {}
            since: str | None = start
            self.reads["today's slots"] += 1
        else:
            since = None if earliest is None else max(start, earliest[:15])
            calls = {slot: rows for slot, rows in kept.calls.items()
                     if since is None or slot < since[:15]}
            ranks = {slot: r for slot, r in kept.ranks.items()
                     if since is None or slot < since[:15]}
        if since is not None and since < end:
            read_calls, read_ranks = today_slots(store, since, end)
            for slot, *row in read_calls:
                calls.setdefault(slot, []).append(tuple(row))
            for slot, cid, rank in read_ranks:
                ranks.setdefault(slot, {})[cid] = rank
        order = sorted(calls.keys() | ranks.keys())
        boundary, base = (kept.boundary, kept.base) if kept is not None else ("", None)
        recent = [slot for slot in order if slot >= boundary]
        if (base is None or kept.key != key or (since is not None and since[:15] < boundary)
                or len(recent) > RECENT_SLOTS):
            # the kept sum is stale (a slot under it was read again) or far behind: sum
            # every slot but the newest into a new one
            boundary = order[-1] if order else ""
            base = _TodaySums()
            for slot in order[:-1]:
                base.add(calls.get(slot, []), ranks.get(slot, {}))
            recent = order[-1:]
        self._slots = _TodaySlots(key, seq, calls, ranks, boundary, base)
        sums = base.copy()
        for slot in recent:
            sums.add(calls.get(slot, []), ranks.get(slot, {}))
        self._sums = ((key, seq), sums)
        return sums

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
        days = dashboard_days(now, self.tz)
        followups, moments = self._followup_figures(store, days, as_of)
        until = q.period_next_change(store, as_of, call_windows(self.policy),
                                     followups=moments)
        past = self._days_before_today(store, days)
        # The week's cases: the days before today's, each customer called today moved to
        # the better of their two ranks (or added).
        families = dict(past.families)
        for cid, rank in self._today_sums(store, days).best.items():
            if not rank:
                continue      # as calls.store.dashboard.case_ranks leaves them out
            before = past.ranks.get(cid)
            if before is None or rank < before:
                if before is not None:
                    families[FAMILY_ORDER[before - 1]] -= 1
                families[FAMILY_ORDER[rank - 1]] = families.get(FAMILY_ORDER[rank - 1], 0) + 1
        attempts = dict(past.attempts)
        for day, n in q.daily_attempts(store, days.today_start, days.end, days.shift).items():
            attempts[day] = attempts.get(day, 0) + n
        figures = dashboard_period(store, now, self.policy, self.tz, week_families=families,
                                   attempts_by_day=attempts, kept_coverage=self.coverage,
                                   followups=followups)
        self._period = (key, figures, as_of, until)
        self.reads["period"] += 1
        return figures

    def _followup_figures(self, store: Store, days: DashboardDays, as_of: str
                          ) -> tuple[list, list[str | None]]:
        """The backlog (``calls.reports.followup_figures``) and the follow-ups' next
        moments (``calls.store.reports.followups_next_change``) at ``as_of``: kept while
        no follow-up was written, the week is the same and ``as_of`` has not passed the
        first of those moments (up to it, time alone changes no backlog figure); after a
        write, the counts from the journal of follow-up changes (:class:`KeptBacklog`)."""
        key = (followups_written_seq(store), days.week_start, days.end)
        kept = self._followups
        if kept is not None:
            old_key, read_at, until, figures, moments = kept
            if old_key == key and read_at <= as_of and (until is None or as_of <= until):
                return figures, moments
        state, moments = self.backlog.read(store, days.week_start, days.end, as_of)
        figures = followup_figures(store, days.week_start, days.end, as_of, state=state)
        until = min((m for m in moments if m is not None), default=None)
        self._followups = (key, as_of, until, figures, moments)
        self.reads["follow-ups"] += 1
        return figures, moments

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
