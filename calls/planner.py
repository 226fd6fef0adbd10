"""The planner: calendar-driven follow-ups (``carecall plan``, also run at shift start).

What it plans, for the days from ``now`` up to ``policy.followups.note_days_ahead``
(else ``policy.occasions.days_ahead``, else 10) ahead:

- a handwritten ``thank_you_note`` ahead of a customer's birthday or customer-since
  anniversary (one year or more); customers in ``policy.followups.gift_tiers``
  (default A) get a ``gift`` instead. A 29 February date is kept on 28 February in
  common years. The follow-up is due ``policy.followups.post_days`` (default 3) days
  before the day, so that it arrives in time, or at once when that moment has passed;
  for a customer who came onto the list after that moment, by the end of today, or not
  this year when its day has begun (:func:`occasion_due`: nothing born late).
- an ``unreached_letter`` for every customer whose care cycle ended unreached (the
  queue closes a cycle after ``policy.cycle.max_attempts`` failed attempts).

It is idempotent: every occasion it planned is remembered (customer + key such as
``birthday:2027-01-03``), so running it again, or after the note was written and
closed, plans nothing twice. Do-not-call customers: no calls are ever planned; notes
and gifts go to them only when ``policy.followups.mail_dnc`` is true (default false: a
customer who asked not to be called is not sent unsolicited mail either, unless the
business decides otherwise).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import field
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any

from calls.clock import UTC, from_iso, parse_date, to_iso
from calls.followups import Followup, _policy_value, add_followup, insert_new_followup
from calls.records import record
from calls.store import Pacer, Store
from calls.store import followups as q

DEFAULT_DAYS_AHEAD = 10
DEFAULT_POST_DAYS = 3
DEFAULT_GIFT_TIERS = ("A",)


@record
class PlanResult:
    """What one planner run did."""

    planned: list[Followup] = field(default_factory=list)  # new or joined follow-ups
    count: int = 0  # occasions planned (also when ``planned`` is not kept: plan(keep=False))
    already_planned: int = 0  # occasions a previous run planned
    skipped_dnc: int = 0  # occasions left alone: do-not-call customer
    too_late: int = 0  # occasions whose day had begun before the customer was known in time
    window: tuple[date, date] | None = None
    stopped: bool = False  # ``stop`` asked for the end before all was planned

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "planned": [f.to_dict() for f in self.planned],
            "already_planned": self.already_planned,
            "skipped_dnc": self.skipped_dnc,
            "too_late": self.too_late,
            "window": [d.isoformat() for d in self.window] if self.window else None,
        }


def occasion_date(month: int, day: int, year: int) -> date:
    """The day a yearly date falls on in ``year``: 29 February is 28 February in common years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def window_days(start: date, days_ahead: int) -> dict[str, date]:
    """Map each stored ``MM-DD`` whose yearly occasion falls in [start, start+days_ahead]
    to that occasion's date (29 February included in common years, on 28 February)."""
    days_ahead = max(0, min(int(days_ahead), 365))
    out: dict[str, date] = {}
    for offset in range(days_ahead + 1):
        day = start + timedelta(days=offset)
        out.setdefault(day.strftime("%m-%d"), day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            out.setdefault("02-29", day)
    return out


def _days_ahead(policy: Any) -> int:
    value = _policy_value(policy, "followups", "note_days_ahead", None)
    if value is None:
        value = _policy_value(policy, "occasions", "days_ahead", DEFAULT_DAYS_AHEAD)
    return int(value)


def occasion_due(occasion: date, known_at: datetime | None, now: datetime,
                 post_days: int) -> datetime | None:
    """When the note or gift for ``occasion`` is due, planned at ``now`` for a customer on
    the list since ``known_at``; None: not planned this year.

    Due ``post_days`` before the day at 09:00 UTC, so that it arrives in time (an upcoming
    occasion keeps that lead time). Its deadline is the start of its day
    (``calls.deadlines``: a card after the birthday is no card). When that posting moment
    has passed:

    - the customer was known before it (the planner ran late: no shift, no ``plan`` for
      days): due at once; it is overdue, and escalates at its day, as the team's lateness;
    - the customer came onto the list only after it (a list imported today), its day not
      yet begun: due by the end of today (UTC), a fresh due time from when it was planned,
      not "overdue" from its first minute for something nobody could have done sooner;
    - ... and its day has already begun: nobody could ever have sent it in time; planned,
      it would be born past its deadline and escalated within the minute (a list
      imported on the day of its customers' anniversaries did that), so it is left for
      next year (None)."""
    due = datetime.combine(occasion - timedelta(days=post_days), time(9, 0), tzinfo=UTC)
    if now <= due:
        return due
    if known_at is None or known_at <= due:
        return now
    if now >= datetime.combine(occasion, time(0), tzinfo=UTC):
        return None
    return max(now, datetime.combine(now.astimezone(UTC).date(), time(23, 59), tzinfo=UTC))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# Occasions planned in the first write transaction; the next ones are sized by a
# calls.store.Pacer to hold the write lock about CHUNK_SECONDS each, with a pause between
# them: the planner runs at every shift start beside seats that claim and wrap up (a
# first run on 100,000 customers plans 11,390 occasions), and every seat waits for every
# write transaction.
BATCH = 100


def _in_chunks(store: Store, rows: list[dict], work: Callable[[list], None],
               stop: Callable[[], bool] | None,
               prepare: Callable[[list[dict]], list] | None = None) -> bool:
    """``work(chunk)`` for ``rows`` in chunks, each in one ``store.write()``, paced (see
    ``BATCH``); ``prepare(rows)`` makes a chunk of the rows before the lock. False when
    ``stop()`` (asked before each chunk) ended it early. Each chunk is whole: stopping
    loses nothing, the next run plans the rest."""
    pacer, start = Pacer(store, first=BATCH), 0
    while start < len(rows):
        if stop is not None and stop():
            return False
        size = pacer.size
        chunk = rows[start:start + size]
        if prepare is not None:
            chunk = prepare(chunk)
        with store.write():
            began = perf_counter()           # the hold, not the wait for it
            work(chunk)
        start += size
        if start < len(rows):
            pacer.done(perf_counter() - began)
    return True


def _add(
    store: Store, open_now: set[tuple[int, str]], row: dict, *, kind: str, **values: Any
) -> Followup:
    """A planned follow-up: joins the customer's open one of the kind, else a new row
    (the quick way: the planner already knows the customer and that none is open)."""
    key = (row["id"], kind)
    if key in open_now:
        return add_followup(store, kind=kind, customer_id=row["id"], source="planner", **values)
    open_now.add(key)
    return insert_new_followup(store, customer=row, kind=kind, source="planner", **values)


def plan(store: Store, now: datetime, policy: Any = None, *, by: str = "planner",
         keep: bool = True, stop: Callable[[], bool] | None = None) -> PlanResult:
    """Create the calendar-driven follow-ups due in the planning window; idempotent.
    ``keep=False``: only count what was planned (``count``), ``planned`` stays empty: a
    seat's run at shift start wants the count, and a first run on a large list plans
    thousands (11,390 at 100,000 customers, ~10 MB of follow-ups a seat kept until the
    run ended and whose pages it held all shift).

    The writes go in short transactions (``BATCH``): callers working beside it wait at
    most one of them. ``stop``: asked between them; when it says True the run ends there
    with ``stopped`` set (the app is closing), every occasion planned so far whole, and
    the next run plans the rest."""
    start = now.astimezone(UTC).date()
    days_ahead = _days_ahead(policy)
    post_days = int(_policy_value(policy, "followups", "post_days", DEFAULT_POST_DAYS))
    gift_tiers = {
        str(t).upper()
        for t in (_policy_value(policy, "followups", "gift_tiers", DEFAULT_GIFT_TIERS) or ())
    }
    mail_dnc = bool(_policy_value(policy, "followups", "mail_dnc", False))
    days = window_days(start, days_ahead)
    result = PlanResult(window=(start, start + timedelta(days=max(0, min(days_ahead, 365)))))
    stamp = to_iso(now)

    for column, label in (("birthday", "birthday"), ("customer_since", "anniversary")):
        keys = {f"{label}:{d.isoformat()}" for d in days.values()}
        result.already_planned += q.count_planned(store, keys)
        if stop is not None and stop():
            result.stopped = True
            return result
        # What each occasion is, worked out before the lock, a chunk at a time; in the
        # lock only the check that no other run (another seat starting) planned it
        # meanwhile, and the writes.
        def occasions(rows: list[dict], label: str = label) -> list:
            return _occasions(rows, label, days, now, post_days, gift_tiers, by)

        def plan_occasions(chunk: list) -> None:
            open_now = q.open_kinds(store, (row["id"] for row, _key, _values in chunk))
            for row, key, values in chunk:
                if q.is_planned(store, row["id"], key):
                    continue  # another planner run (another shift start) got here first
                if row["is_dnc"] and not mail_dnc:
                    result.skipped_dnc += 1
                    continue
                if values is None:
                    result.too_late += 1
                    continue
                f = _add(store, open_now, row, **values)
                q.record_planned(store, row["id"], key, f.id, stamp)
                _count(result, f, keep)

        rows = q.customers_with_dates_on(store, column, days, skip_keys=keys)
        if not _in_chunks(store, rows, plan_occasions, stop, prepare=occasions):
            result.stopped = True
            return result

    result.already_planned += q.count_unreached_planned(store)

    def plan_letters(chunk: list[dict]) -> None:
        open_now = q.open_kinds(store, (row["id"] for row in chunk))
        for row in chunk:
            f = _plan_letter(store, open_now, row, now, by, result)
            if f is not None:
                _count(result, f, keep)

    if stop is not None and stop() or not _in_chunks(
            store, q.unreached_cycles(store, unplanned=True), plan_letters, stop):
        result.stopped = True
    return result


def _occasions(rows: list[dict], label: str, days: dict[str, date], now: datetime,
               post_days: int, gift_tiers: set[str], by: str) -> list[tuple]:
    """(row, the planner's key, the follow-up's values) of each occasion of ``rows`` (of
    ``customers_with_dates_on``): ``label`` birthday or anniversary; values None for an
    occasion too late to plan this year (:func:`occasion_due`)."""
    out = []
    for row in rows:
        original = parse_date(row["day"])
        if original is None:
            continue
        when = days[original.strftime("%m-%d")]
        if label == "anniversary":
            years = when.year - original.year
            if years < 1:
                continue  # became a customer this year: nothing to celebrate yet
            what = f"{_ordinal(years)} anniversary as a customer"
        else:
            what = "birthday"
        key = f"{label}:{when.isoformat()}"
        known = row.get("created_at")
        due = occasion_due(when, from_iso(known) if known else None, now, post_days)
        if due is None:
            out.append((row, key, None))   # too late this year: counted, not planned
            continue
        tier = (row.get("tier") or "").upper()
        kind = "gift" if tier in gift_tiers else "thank_you_note"
        item = "a gift" if kind == "gift" else "a handwritten card"
        out.append((row, key, {
            "kind": kind,
            "owner": row.get("owner") or None,
            "due_at": due,
            "details": f"{what.capitalize()} on {when:%a %d %b %Y}: send {item}.",
            "now": now,
            "created_by": by,
            "occasion": f"{what} {when.isoformat()}",
        }))
    return out


def _count(result: PlanResult, f: Followup, keep: bool) -> None:
    result.count += 1
    if keep:
        result.planned.append(f)


def _plan_letter(store: Store, open_now: set, row: dict, now: datetime, by: str,
                 result: PlanResult | None = None) -> Followup | None:
    """The unreached letter for one row of ``unreached_cycles`` (inside ``store.write()``);
    None when it was planned before or the customer must not be contacted."""
    key = f"unreached:{row['cycle_key']}"
    if q.is_planned(store, row["id"], key):
        return None
    if row["is_dnc"]:
        if result is not None:
            result.skipped_dnc += 1
        return None
    ended = row.get("ended") or ""
    f = _add(
        store,
        open_now,
        row,
        kind="unreached_letter",
        owner=row.get("owner") or None,
        due_at=now,
        details=(
            "We could not reach this customer by phone"
            + (f" (cycle ended {ended[:10]})" if ended else "")
            + ": send a letter or e-mail asking how we are doing and when to call."
        ),
        now=now,
        created_by=by,
        occasion=f"unreached {ended[:10]}".strip(),
    )
    q.record_planned(store, row["id"], key, f.id, to_iso(now))
    return f


def plan_letter_now(store: Store, customer_id: int, ended_at: str, now: datetime,
                    by: str = "planner") -> Followup | None:
    """Plan the unreached letter of a customer whose care cycle ended unreached at
    ``ended_at`` (the call that used the last attempt), due now; the planner's next run
    sees it as already planned. None when the cycle did not end unreached then. Call
    inside ``store.write()`` (``on_call_ended`` does)."""
    row = q.unreached_cycle(store, customer_id)
    if row is None or row["ended"] != ended_at or row["planned"]:
        return None
    open_now = q.open_kinds(store, [customer_id])
    return _plan_letter(store, open_now, row, now, by)
