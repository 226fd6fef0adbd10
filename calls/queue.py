"""The call queue: who a caller should call next, why, and why somebody is not callable.

The reasons, in the policy's order (default: DESIGN.md "Reasons"):

1. ``callback``: an open callback follow-up that is due (personal ones for their caller
   until the grace period has passed);
2. ``recovery``: an open, due ``recovery_call`` follow-up (the detractor loop);
3. ``thank_you``: a purchase within ``purchases.thank_you_days`` not yet followed by a call;
4. ``occasion``: a birthday or customer-since anniversary within ``occasions.days_ahead``;
5. ``at_risk``: buying slowed (days since the last purchase above ``at_risk_factor`` times
   the customer's usual days between orders);
6. ``overdue``: the care call is due (one tier interval after the last cycle ended);
7. ``never_called``: no care cycle ended yet.

A customer appears once, at their best reason, with every reason that applies listed.
Nobody is offered who is on the do-not-call list or flagged do-not-call, has a wrong or
disconnected number, is outside the calling window in any of the number's zones, is
waiting out a retry delay, is claimed by another caller, was skipped by this caller a
moment ago, or asked for a callback at a later time.

How it stays fast on a million customers: each reason reads its candidates from an index
in priority order with the exclusions in SQL (``calls.store.queue``), and reading stops
once the page is full. ``tests/test_queue_property.py`` checks the result against a slow,
obviously-correct evaluation of every customer.
"""

from __future__ import annotations

import functools
import heapq
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import field, replace
from datetime import date, datetime, timedelta
from typing import Any

from calls import lawful
from calls import rules as lawrules
from calls.clock import from_iso, parse_date, to_iso
from calls.errors import UserError
from calls.models import Customer
from calls.outcomes import LABEL, Outcome
from calls.policy import (
    DEFAULT_POLICY,
    Policy,
    WindowState,
    at_risk_date,
    closing_law,
    format_duration,
    holiday_name,
    local_date,
    local_now,
    next_occurrence,
    tier_rank,
    window_state,
)
from calls.records import record
from calls.store import Store
from calls.store import queue as q
from calls.store.customers import get_customer

# -- what the queue returns ------------------------------------------------------------


@record(frozen=True)
class Reason:
    """One reason to call a customer now: a code from ``calls.policy.REASONS``, words, order."""

    code: str
    text: str
    key: tuple = ()


@record(frozen=True)
class QueueEntry:
    """One row of a caller's queue."""

    customer: Customer
    reasons: list[str]                 # in words, best first
    reason_codes: list[str]            # the same, as codes
    local_time: datetime               # the customer's local time now (first zone)
    time_zone: str
    priority: tuple                    # sort key: smaller is called first
    window_closes_at: datetime | None = None
    claimed_by_me: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``carecall queue --json`` prints per row)."""
        c = self.customer
        return {
            "id": c.id,
            "ref": c.ref,
            "name": c.name,
            "company": c.company,
            "phone": c.phone,
            "tier": c.tier,
            "local_time": self.local_time.isoformat(timespec="minutes"),
            "time_zone": self.time_zone,
            "reasons": list(self.reasons),
            "reason_codes": list(self.reason_codes),
            "window_closes_at": to_iso(self.window_closes_at) if self.window_closes_at else None,
            "claimed_by_me": self.claimed_by_me,
        }


@record(frozen=True)
class Blocker:
    """Why a customer cannot be called now; ``until`` None with ``permanent`` = not by waiting."""

    code: str
    text: str
    until: datetime | None = None
    permanent: bool = False
    # What holds them, for counts per rule: a pack rule's id ("FR.hours"), a policy key
    # ("policy calling.hours"), else the code.
    rule: str = ""

    @property
    def label(self) -> str:
        """The rule (or the code) this blocker counts under in ``queue --held``."""
        return self.rule or self.code


@record(frozen=True)
class Explanation:
    """Why a customer is or is not callable now, in words, and when they next will be."""

    customer: Customer
    callable: bool
    reasons: list[str]
    blockers: list[str]
    lines: list[str]
    next_callable_at: datetime | None
    local_time: datetime
    time_zone: str
    window_open: bool
    state: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ref": self.customer.ref,
            "name": self.customer.name,
            "phone": self.customer.phone,
            "callable": self.callable,
            "reasons": self.reasons,
            "blockers": self.blockers,
            "lines": self.lines,
            "next_callable_at": to_iso(self.next_callable_at) if self.next_callable_at else None,
            "local_time": self.local_time.isoformat(timespec="minutes"),
            "time_zone": self.time_zone,
            "window_open": self.window_open,
        }


# -- pure helpers on a customers row -----------------------------------------------------


def zones_of(row: dict) -> tuple[str, ...]:
    """The IANA zones of a customer's number: those stored ('[]' or bad JSON: none); for
    a toll-free number, those of the list's state (every state's when none is given)."""
    return _split_key(zone_key(row))[1]


@functools.lru_cache(maxsize=4096)
def _zones_text(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        zones = json.loads(text)
    except (ValueError, TypeError):
        return ()
    if isinstance(zones, str):
        return (zones,)
    return tuple(str(z) for z in zones) if isinstance(zones, list) else ()


def zone_key(row: dict) -> str:
    """The key the store groups calling windows by (see ``calls.store.queue.ZONE_KEY``)."""
    return (f"{row.get('phone_region') or ''}|{row.get('time_zones') or ''}|"
            f"{lawrules.area_code(row.get('phone'))}|{row.get('region') or ''}")


@functools.lru_cache(maxsize=8192)
def _split_key(key: str) -> tuple[str | None, tuple[str, ...]]:
    """A zone key as (jurisdiction code, zones)."""
    country, zones, npa, region = (key.split("|") + ["", "", ""])[:4]
    code = lawrules.jurisdiction(country, npa, region)
    found = _zones_text(zones)
    if code and lawrules.is_toll_free(npa):
        # A toll-free number rings wherever the business is: the list's state, else any.
        found = lawrules.region_zones(*lawrules.split(code)) or found
    return code or None, found


def row_jurisdiction(row: dict) -> str | None:
    """The jurisdiction code of a customer (``"US-FL"``, ``"FR"``; None: no country)."""
    return _split_key(zone_key(row))[0]


def row_window(row: dict, now: datetime, policy: Policy) -> WindowState:
    """The calling window of a customer's number at ``now``."""
    return window_state(row_jurisdiction(row), zones_of(row), now, policy)


def customer_window(customer: Customer, now: datetime, policy: Policy = DEFAULT_POLICY
                    ) -> WindowState:
    """The calling window of a customer at ``now``, as the queue sees it (their number's
    jurisdiction and the list's region: state hours, holidays, a toll-free number)."""
    return row_window({"phone": customer.phone, "phone_region": customer.phone_region,
                       "region": customer.region,
                       "time_zones": json.dumps(list(customer.time_zones))}, now, policy)


def _local(row: dict, now: datetime, policy: Policy) -> tuple[datetime, str]:
    return _local_cached(zones_of(row), now, policy)


# Both caches are keyed by a moment, and a seat's clock moves on: every queue read asks
# for the few zone sets of its page (about 6 on the bench's 100k) and a few moments at a
# new "now". They are sized for what one read asks for again, not for a shift: at 4,096
# and 1,024 entries they filled over two hours of a shift with answers for moments gone
# (~1.4 MB a seat). LRU keeps the read's "now" (asked for at every row) over a follow-up's
# due moment (asked for once).
LOCAL_CACHE_SIZE = 256
ISO_CACHE_SIZE = 64


@functools.lru_cache(maxsize=LOCAL_CACHE_SIZE)
def _local_cached(zones: tuple[str, ...], now: datetime, policy: Policy):
    return local_now(zones, now, policy)


@functools.lru_cache(maxsize=ISO_CACHE_SIZE)
def _iso(moment: datetime) -> str:
    return to_iso(moment)


def _tier_label(tier: str | None) -> str:
    return f"{tier}-tier " if tier in ("A", "B", "C") else ""


def _days_phrase(days: int, future: bool = True) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow" if future else "yesterday"
    return f"in {days} days" if future else f"{days} days ago"


def _qualifying_callbacks(followups: Iterable[dict], caller: str, now: datetime,
                          policy: Policy) -> list[dict]:
    nowt = _iso(now)
    grace_cut = _iso(now - timedelta(minutes=policy.callbacks.personal_grace_minutes))
    out = []
    for f in followups:
        if f["kind"] != "callback":
            continue
        due = f.get("due_at") or ""
        if due <= nowt and (f.get("owner") is None or f.get("owner") == caller
                            or due <= grace_cut):
            out.append(f)
    return out


def _local_clock(moment: datetime, row: dict, now: datetime, policy: Policy) -> str:
    local, _ = _local(row, moment, policy)
    today, _ = _local(row, now, policy)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def customer_reasons(row: dict, followups: Iterable[dict], caller: str, now: datetime,
                     policy: Policy = DEFAULT_POLICY, *, only: str | None = None
                     ) -> list[Reason]:
    """Every reason to call this customer now, best first (pure: no database, no clock).

    ``row`` is a ``customers`` row; ``followups`` its open callback / recovery_call rows.
    Exclusions (do-not-call, window, claims ...) are not considered here: see
    :func:`customer_blockers`. ``only`` computes just that reason (the queue's hot path).
    """
    followups = list(followups)
    out: list[Reason] = []
    nowt = _iso(now)
    today = _local(row, now, policy)[0].date()
    ended = row.get("cycle_ended_at")
    tier = row.get("tier")

    def want(code: str) -> bool:
        return only is None or only == code

    # 1. callbacks
    cbs = _qualifying_callbacks(followups, caller, now, policy) if (
        followups and want("callback")) else []
    if cbs:
        first = min(cbs, key=lambda f: (f.get("due_at") or "", f["id"]))
        due = first.get("due_at") or ""
        if due:
            when = _local_clock(from_iso(due), row, now, policy)
            text = f"callback requested for {when} their time"
        else:
            text = "callback requested"
        if first.get("owner") == caller:
            text += " (yours)"
        out.append(Reason("callback", text, (due,)))

    # 2. recovery calls
    recs = [f for f in followups
            if f["kind"] == "recovery_call" and (f.get("due_at") or "") <= nowt] if (
        want("recovery")) else []
    if recs:
        due = min(f.get("due_at") or "" for f in recs)
        out.append(Reason("recovery", "recovery call: their problem was fixed, ask again",
                          (due,)))

    # 3. thank-you after a purchase
    lp = parse_date(row.get("last_purchase"))
    if lp is not None and want("thank_you"):
        days = (today - lp).days
        if 0 <= days <= policy.purchases.thank_you_days and not (
                ended and ended >= lp.isoformat()):
            when = "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
            out.append(Reason("thank_you", f"bought {when}: thank-you call",
                              (tier_rank(tier), lp.isoformat())))

    # 4. occasions
    occasions: list[Reason] = []
    ahead = policy.occasions.days_ahead
    bday = parse_date(row.get("birthday")) if (
        policy.occasions.birthday and want("occasion")) else None
    if bday is not None:
        occ = next_occurrence(bday, today)
        days = (occ - today).days
        if days <= ahead and not (ended and ended >= (occ - timedelta(days=ahead)).isoformat()):
            occasions.append(Reason("occasion", f"birthday {_days_phrase(days)}",
                                    (occ.isoformat(), bday.isoformat()[5:])))
    since = parse_date(row.get("customer_since")) if (
        policy.occasions.anniversary and want("occasion")) else None
    if since is not None:
        occ = next_occurrence(since, today)
        days = (occ - today).days
        years = occ.year - since.year
        if years >= 1 and days <= ahead and not (
                ended and ended >= (occ - timedelta(days=ahead)).isoformat()):
            label = "1 year" if years == 1 else f"{years} years"
            occasions.append(Reason("occasion",
                                    f"customer for {label} {_days_phrase(days)}",
                                    (occ.isoformat(), since.isoformat()[5:])))
    out.extend(sorted(occasions, key=lambda r: r.key))

    # 5. at risk: buying slowed
    avg = row.get("avg_order_interval_days")
    if (want("at_risk") and lp is not None and avg is not None
            and (row.get("order_count") or 0) >= 2):
        start = at_risk_date(lp, float(avg), policy)
        if start <= today and not (ended and ended >= start.isoformat()):
            since_days = (today - lp).days
            out.append(Reason(
                "at_risk",
                f"at risk: buying slowed (last order {since_days} days ago, "
                f"usually every {round(float(avg))} days)",
                (start.isoformat(),)))

    # 6. overdue care call / 7. never called
    attempts = row.get("cycle_attempts") or 0
    tries = f" ({attempts} attempt{'s' if attempts != 1 else ''} so far)" if attempts else ""
    if ended and want("overdue"):
        interval = policy.interval(tier)
        if ended <= _iso(now - interval):
            ended_at = from_iso(ended)
            overdue_days = (now - (ended_at + interval)).days
            ratio = (now - ended_at).total_seconds() / interval.total_seconds()
            when = "due today" if overdue_days == 0 else (
                f"{overdue_days} day{'s' if overdue_days != 1 else ''} overdue")
            out.append(Reason("overdue", f"{_tier_label(tier)}care call {when}{tries}",
                              (-ratio,)))
    elif not ended and want("never_called"):
        revenue = row.get("revenue")
        if attempts:
            text = f"{_tier_label(tier)}first care call, not reached yet{tries}"
        else:
            text = f"never called ({tier}-tier)" if tier in ("A", "B", "C") else "never called"
        out.append(Reason("never_called", text,
                          (tier_rank(tier), revenue is None, -(revenue or 0.0))))

    if len(out) > 1:
        order = {code: i for i, code in enumerate(policy.queue.reason_order)}
        out.sort(key=lambda r: (order[r.code], r.key))
    return out


def priority_key(reason: Reason, customer_id: int, policy: Policy) -> tuple:
    """The queue's total order: reason rank, the reason's own key, then customer id."""
    return (policy.queue.reason_order.index(reason.code), *reason.key, customer_id)


def customer_blockers(row: dict, followups: Iterable[dict], claim: dict | None,
                      skip: dict | None, dnc: dict | None, caller: str, now: datetime,
                      policy: Policy = DEFAULT_POLICY) -> list[Blocker]:
    """Why this customer may not be called by ``caller`` now (pure; empty = callable)."""
    out: list[Blocker] = []
    nowt = to_iso(now)
    if not row.get("phone"):
        out.append(Blocker("no_phone", "no phone number", permanent=True))
    if row.get("do_not_call"):
        since = f" since {row['dnc_at'][:10]}" if row.get("dnc_at") else ""
        why = f" ({row['dnc_reason']})" if row.get("dnc_reason") else ""
        out.append(Blocker("do_not_call", f"asked not to be called{since}{why}",
                           permanent=True))
    if dnc is not None:
        since = f" since {dnc['added_at'][:10]}" if dnc.get("added_at") else ""
        why = f" ({dnc['reason']})" if dnc.get("reason") else ""
        out.append(Blocker("dnc_list", f"on the do-not-call list{since}{why}", permanent=True))
    status = row.get("number_status") or "ok"
    if status != "ok":
        word = {"wrong_number": "wrong number", "disconnected": "number disconnected"}.get(
            status, status.replace("_", " "))
        out.append(Blocker("number", f"{word}: correct the number to call again",
                           permanent=True))
    if claim is not None and claim["caller"] != caller and claim["expires_at"] > nowt:
        until = from_iso(claim["expires_at"])
        out.append(Blocker("claimed", f"being called by {claim['caller']} "
                                      f"(claim until {until:%H:%M} UTC)", until=until))
    if skip is not None and skip["until"] > nowt:
        until = from_iso(skip["until"])
        out.append(Blocker("skipped", f"you skipped them; back at {until:%H:%M} UTC",
                           until=until))
    callbacks = [f for f in followups if f["kind"] == "callback"]
    if callbacks and not _qualifying_callbacks(callbacks, caller, now, policy):
        first = min(callbacks, key=lambda f: f.get("due_at") or "")
        due = from_iso(first["due_at"])
        when = _local_clock(due, row, now, policy)
        if due > now:
            out.append(Blocker("callback_later", f"callback requested for {when} their time",
                               until=due))
        else:
            grace = due + timedelta(minutes=policy.callbacks.personal_grace_minutes)
            out.append(Blocker("callback_personal",
                               f"personal callback for {first.get('owner')} at {when} their "
                               f"time; anyone's from {_local_clock(grace, row, now, policy)}",
                               until=grace))
    retry = row.get("retry_after")
    if retry and retry > nowt:
        until = from_iso(retry)
        last = row.get("last_call_at")
        try:
            label = LABEL[Outcome(row.get("last_outcome"))].lower()
        except ValueError:
            label = "last attempt"
        ago = f" {format_duration(now - from_iso(last))} ago" if last else ""
        out.append(Blocker("retry", f"{label}{ago}, retry after "
                                    f"{_local_clock(until, row, now, policy)} their time",
                           until=until))
    window = window_blocker(row, now, policy)
    if window is not None:
        out.append(window)
    return out


def window_blocker(row: dict, now: datetime, policy: Policy = DEFAULT_POLICY
                   ) -> Blocker | None:
    """The closed calling window of the customer's number at ``now`` (None: open); it
    depends on the number's zone key alone (``zone_key``)."""
    win = row_window(row, now, policy)
    if not win.open:
        local, _zone = _local(row, now, policy)
        zones = ", ".join(win.zones)
        # "outside calling hours: 11:00" on a Thursday puzzles a supervisor: name the holiday.
        jurisdiction = row_jurisdiction(row)
        holiday = holiday_name(jurisdiction, local.date(), policy)
        closed = f"closed for {holiday}" if holiday else "outside calling hours"
        if win.opens_at is not None:
            opens_local, _ = _local(row, win.opens_at, policy)
            when = (opens_local.strftime("%H:%M") if opens_local.date() == local.date()
                    else opens_local.strftime("%a %H:%M"))
            text = (f"{closed}: {local:%H:%M} in {zones}, opens {when} "
                    f"(in {format_duration(win.opens_at - now)})")
        else:
            text = f"{closed}: {local:%H:%M} in {zones}, no opening in 2 weeks"
        law = closing_law(jurisdiction, local, policy)
        if law is not None:
            # The supervisor sees which law, not only that the window is shut.
            text += f"; by law: {law.cites()}"
        rule = (law.id if law is not None else
                "policy calling.skip_holidays" if holiday else "policy calling.hours")
        return Blocker("window", text, until=win.opens_at, permanent=win.opens_at is None,
                       rule=rule)
    return None


# -- lawful: basis, caps, quiet periods --------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _need_consent(day: date) -> list[str]:
    """"country|customer type" pairs whose care calls need recorded consent (SQL filter)."""
    return sorted(f"{code}|{kind}" for code in lawrules.packs() if len(code) == 2
                  for kind in lawrules.CUSTOMER_TYPES
                  if lawful.needs_consent_only(code, "care", kind, day))


def lawful_blockers(store: Store, row: dict, now: datetime, policy: Policy, *,
                    asked: bool = False, calls: list[dict] | None = None) -> list[Blocker]:
    """Why the law or the contact policy holds this customer back now (empty: nothing).

    The basis for a care call (consent, contract, relationship), the caps on calls per
    period and the quiet period after a refusal. ``calls``: the customer's recent calls
    when the caller has them (else read here, only when the last call is recent enough).
    """
    jurisdiction = row_jurisdiction(row) or ""
    return (basis_blockers(row, now, policy, jurisdiction)
            + cap_blockers(store, row, now, policy, jurisdiction, asked=asked, calls=calls))


def basis_blockers(row: dict, now: datetime, policy: Policy, jurisdiction: str
                   ) -> list[Blocker]:
    """The basis part of :func:`lawful_blockers` (consent, contract, relationship)."""
    basis = lawful.basis_for(row, "care", now, policy, jurisdiction)
    if basis.ok:
        return []
    return [Blocker("basis", basis.text, permanent=True,
                    rule=basis.rule.id if basis.rule else "consent withdrawn")]


def cap_blockers(store: Store, row: dict, now: datetime, policy: Policy, jurisdiction: str,
                 *, asked: bool = False, calls: list[dict] | None = None) -> list[Blocker]:
    """The caps and quiet periods part of :func:`lawful_blockers`."""
    # Most customers were not called recently enough for any cap of their own
    # jurisdiction to matter: no query for them (the queue's hot path). Calls handed in
    # (read for many customers at once, from further back) pass the same test, so that
    # both ways give one answer.
    last = row.get("last_call_at")
    mine = _iso(now - lawful.horizon(policy, jurisdiction))
    if not last or last < mine:
        return []
    if calls is None:
        calls = q.recent_calls(store, [row["id"]], mine).get(row["id"], [])
    else:
        calls = [c for c in calls if (c.get("started_at") or "") >= mine]
    kind = lawful.customer_type(row, policy)
    return [Blocker(hold.code, f"{hold.text}; again from "
                               f"{_local_clock(hold.until, row, now, policy)} their time",
                    until=hold.until,
                    rule=hold.rule.id if hold.rule else f"policy contact ({hold.code})")
            for hold in lawful.contact_holds(lawful.past_calls(calls), now, policy,
                                             jurisdiction=jurisdiction, kind=kind,
                                             asked=asked)]


# -- the fast queue ------------------------------------------------------------------------


class _Run:
    """One evaluation of the queue for a caller at a moment."""

    def __init__(self, store: Store, caller: str, now: datetime, policy: Policy):
        self.store, self.caller, self.now, self.policy = store, caller, now, policy
        self.windows: dict[str, WindowState] = {}
        open_keys = []
        for key in q.zone_keys(store):
            region, zones = _split_key(key)
            ws = window_state(region, zones, now, policy)
            self.windows[key] = ws
            if ws.open:
                open_keys.append(key)
        self.open_keys = open_keys
        self.params = {
            "now": to_iso(now),
            "caller": caller,
            "open_keys": json.dumps(open_keys),
            "grace_cut": to_iso(now - timedelta(minutes=policy.callbacks.personal_grace_minutes)),
            "default_type": policy.lawful.default_customer_type,
            "need_consent": json.dumps(_need_consent(now.date())),
        }
        # The customers' local dates: only open zones matter (nobody else is offered),
        # so the date ranges of the purchase and occasion reasons are exact, not padded.
        days = [local_date(_split_key(k)[1], now, policy) for k in open_keys]
        self.day_lo = min(days, default=now.date())
        self.day_hi = max(days, default=now.date())
        self.tiers = q.tier_values(store) if open_keys else []

    def allowed(self, row: dict, reason: Reason) -> bool:
        """The lawful checks SQL cannot make: the basis in full, caps, quiet periods."""
        return not lawful_blockers(self.store, row, self.now, self.policy,
                                   asked=reason.code == "callback")

    def _reason(self, row: dict, code: str) -> Reason | None:
        found = customer_reasons(row, (), self.caller, self.now, self.policy, only=code)
        return found[0] if found else None

    def candidates(self, code: str) -> Iterator[tuple[dict, Reason | None]]:
        """Rows for one reason in priority order (SQL superset; exact check follows)."""
        s, p = self.store, self.params
        if code == "callback":
            for row in q.callback_stream(s, p):
                yield row, Reason("callback", "", (row["_due"],))
        elif code == "recovery":
            for row in q.recovery_stream(s, p):
                yield row, Reason("recovery", "", (row["_due"],))
        elif code == "thank_you":
            lp_min = self.day_lo - timedelta(days=self.policy.purchases.thank_you_days)
            lp_max = self.day_hi
            yield from self._by_tier(
                lambda t: q.thank_you_stream(s, t, lp_min.isoformat(), lp_max.isoformat(), p),
                code)
        elif code == "occasion":
            if not (self.policy.occasions.birthday or self.policy.occasions.anniversary):
                return
            streams = []
            for column, on in (("birthday", self.policy.occasions.birthday),
                               ("customer_since", self.policy.occasions.anniversary)):
                if on:
                    streams.append(self._occasion_rows(column))
            yield from heapq.merge(*streams, key=_merge_key)
        elif code == "at_risk":
            factor = self.policy.purchases.at_risk_factor
            q.ensure_at_risk_index(s, factor)
            day_max = self.day_hi.isoformat()
            yield from self._exact(q.at_risk_stream(s, factor, day_max, p), code)
        elif code == "overdue":
            streams = [
                self._exact(q.overdue_stream(s, t, to_iso(self.now - self.policy.interval(t)), p),
                            code)
                for t in self.tiers
            ]
            yield from heapq.merge(*streams, key=_merge_key)
        elif code == "never_called":
            yield from self._by_tier(lambda t: q.never_stream(s, t, p), code)

    def _by_tier(self, make, code: str) -> Iterator[tuple[dict, Reason]]:
        """A, B, C one after the other (tier comes first in the key); other tier values
        (no tier yet) share the last rank, so their streams are merged."""
        for tier in ("A", "B", "C"):
            if tier in self.tiers:
                yield from self._exact(make(tier), code)
        others = [self._exact(make(t), code) for t in self.tiers if t not in ("A", "B", "C")]
        yield from heapq.merge(*others, key=_merge_key)

    def _exact(self, rows: Iterator[dict], code: str) -> Iterator[tuple[dict, Reason]]:
        for row in rows:
            r = self._reason(row, code)
            if r is not None:
                yield row, r

    def _occasion_rows(self, column: str) -> Iterator[tuple[dict, Reason]]:
        """Birthday or anniversary candidates, by occasion date, with the exact reason."""
        ahead = self.policy.occasions.days_ahead
        first = self.day_lo
        last = self.day_hi + timedelta(days=ahead)
        ranges: list[tuple[int, str, str]] = []
        if first.year == last.year:
            ranges.append((first.year, _md(first), _md(last)))
        else:
            ranges.append((first.year, _md(first), "12-31"))
            ranges.append((last.year, "01-01", _md(last)))
        wanted = "birthday" if column == "birthday" else "customer for"
        for year, lo, hi in ranges:
            if hi == "02-28" and not _leap(year):
                hi = "02-29"  # 29 February counts as the 28th in a common year
            for row in q.occasion_stream(self.store, column, year, lo, hi, ahead, self.params):
                for r in customer_reasons(row, (), self.caller, self.now, self.policy,
                                          only="occasion"):
                    if r.text.startswith(wanted):
                        yield row, r
                        break


def _merge_key(item: tuple[dict, Reason]) -> tuple:
    return (*item[1].key, item[0]["id"])


def _md(d: date) -> str:
    return d.isoformat()[5:]


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def build_queue(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY,
                limit: int = 50) -> list[QueueEntry]:
    """The caller's queue at ``now``: up to ``limit`` callable customers, best first."""
    picked, windows = _picked(store, caller, now, policy, limit)
    return _entries(store, picked, caller, now, policy, windows) if picked else []


def _picked(store: Store, caller: str, now: datetime, policy: Policy, limit: int
            ) -> tuple[list[dict], dict[str, WindowState]]:
    """The rows of the first ``limit`` customers of the queue, best first (before they are
    made queue rows), and the calling windows read for them."""
    if limit <= 0:
        return [], {}
    run = _Run(store, caller, now, policy)
    if not run.open_keys:
        return [], {}
    picked: list[dict] = []
    seen: set[int] = set()
    for code in policy.queue.reason_order:
        if len(picked) >= limit:
            break
        for row, reason in run.candidates(code):
            if reason is None or row["id"] in seen or not run.allowed(row, reason):
                continue
            seen.add(row["id"])
            picked.append(row)
            if len(picked) >= limit:
                break
    return picked, run.windows


def _entries(store: Store, rows: list[dict], caller: str, now: datetime, policy: Policy,
             windows: dict[str, WindowState] | None = None) -> list[QueueEntry]:
    ids = [r["id"] for r in rows]
    fus: dict[int, list[dict]] = {}
    for f in q.open_call_followups(store, ids):
        fus.setdefault(f["customer_id"], []).append(f)
    mine = {c["customer_id"] for c in q.claims_rows(store, ids)
            if c["caller"] == caller and c["expires_at"] > to_iso(now)}
    out = []
    for row in rows:
        reasons = customer_reasons(row, fus.get(row["id"], ()), caller, now, policy)
        if reasons:
            out.append(_entry(row, reasons, row["id"] in mine, now, policy, windows))
    return out


def _entry(row: dict, reasons: list, mine: bool, now: datetime, policy: Policy,
           windows: dict[str, WindowState] | None = None) -> QueueEntry:
    """One queue row from a customer's row and their reasons (at least one)."""
    local, zone = _local(row, now, policy)
    ws = (windows or {}).get(zone_key(row)) or row_window(row, now, policy)
    return QueueEntry(
        customer=Customer.from_row(row),
        reasons=[r.text for r in reasons],
        reason_codes=[r.code for r in reasons],
        local_time=local,
        time_zone=zone,
        priority=priority_key(reasons[0], row["id"], policy),
        window_closes_at=ws.closes_at,
        claimed_by_me=mine,
    )


# -- explain -----------------------------------------------------------------------------


def _resolve(store: Store, customer: Customer | int | str) -> Customer:
    if isinstance(customer, Customer):
        return customer
    found = get_customer(store, customer)
    # A customer id is a 64-bit SQLite integer: longer digit strings are no id at all.
    if (found is None and isinstance(customer, str) and customer.isdigit()
            and int(customer) < 2**63):
        found = get_customer(store, int(customer))
    if found is None:
        raise UserError(f"no customer {customer!r} (give a ref or an id)")
    return found


def _status(store: Store, customer_id: int, caller: str, now: datetime, policy: Policy):
    """The customer's row, open call follow-ups, blockers, reasons and claims rows."""
    row = q.customer_rows(store, [customer_id]).get(customer_id)
    if row is None:
        raise UserError(f"no customer #{customer_id}")
    fus = q.open_call_followups(store, [customer_id])
    claims = q.claims_rows(store, [customer_id])
    skips = q.skip_rows(store, caller, [customer_id])
    dnc = q.dnc_rows_for(store, [row.get("phone") or ""]).get(row.get("phone") or "")
    blockers = customer_blockers(row, fus, claims[0] if claims else None,
                                 skips[0] if skips else None, dnc, caller, now, policy)
    reasons = customer_reasons(row, fus, caller, now, policy)
    blockers += lawful_blockers(store, row, now, policy,
                                asked=bool(reasons) and reasons[0].code == "callback")
    return row, fus, blockers, reasons, claims


def care_due_at(row: dict, policy: Policy) -> datetime | None:
    """When the customer's next care call is due (None: due now, never called)."""
    ended = row.get("cycle_ended_at")
    if not ended:
        return None
    return from_iso(ended) + policy.interval(row.get("tier"))


def explain(store: Store, customer: Customer | int | str, caller: str, now: datetime,
            policy: Policy = DEFAULT_POLICY) -> Explanation:
    """Why ``customer`` is or is not callable by ``caller`` at ``now``, and when next."""
    cust = _resolve(store, customer)
    row, _fus, blockers, reasons, claims = _status(store, cust.id, caller, now, policy)
    local, zone = _local(row, now, policy)
    win = row_window(row, now, policy)
    lines: list[str] = []
    is_callable = not blockers and bool(reasons)
    if is_callable:
        lines.append("callable now")
        lines.extend(r.text for r in reasons)
    else:
        lines.extend(b.text for b in blockers)
        if reasons:
            lines.append("would be called for: " + "; ".join(r.text for r in reasons))
    for claim in claims:
        if claim["caller"] == caller and claim["expires_at"] > to_iso(now):
            lines.append(f"you hold this customer (claim until "
                         f"{from_iso(claim['expires_at']):%H:%M} UTC)")
    status = row.get("cycle_status")
    due = care_due_at(row, policy)
    if status == "unreached" and row.get("cycle_ended_at"):
        lines.append(f"last cycle closed unreached on {row['cycle_ended_at'][:10]} after "
                     f"{policy.cycle.max_attempts} attempts")
    if not reasons:
        if due is not None:
            lines.append(f"no reason to call now: next {_tier_label(row.get('tier'))}care call "
                         f"due {due:%Y-%m-%d} (in {format_duration(due - now)})")
        else:
            lines.append("no reason to call now")
    attempts = row.get("cycle_attempts") or 0
    if attempts:
        lines.append(f"{attempts} of {policy.cycle.max_attempts} attempts used this cycle")
    if not is_callable:
        lines.append(_law_line(row, policy))
    next_at = None if is_callable else _next_callable(row, blockers, reasons, due, now, policy)
    if is_callable:
        next_at = now
    elif next_at is not None:
        lines.append(f"next callable {next_at:%Y-%m-%d %H:%M} UTC "
                     f"(in {format_duration(next_at - now)})")
    return Explanation(
        customer=Customer.from_row(row),
        callable=is_callable,
        reasons=[r.text for r in reasons],
        blockers=[b.text for b in blockers],
        lines=lines,
        next_callable_at=next_at,
        local_time=local,
        time_zone=zone,
        window_open=win.open,
        state={k: row.get(k) for k in ("cycle_status", "cycle_ended_at", "cycle_attempts",
                                       "retry_after", "last_outcome", "last_call_at")},
    )


def _law_line(row: dict, policy: Policy) -> str:
    """"rules: US-FL (United States (federal), Florida); consumer" for explain."""
    code = row_jurisdiction(row)
    kind = lawful.customer_type(row, policy)
    if not code:
        return f"rules: no country known for the number; {kind}"
    names = ", ".join(p.name for p in lawrules.packs_for(code)) or "no rule pack"
    line = f"rules: {code} ({names}); {kind}"
    if lawrules.is_toll_free(lawrules.area_code(row.get("phone"))) and "-" not in code:
        line += ("; a toll-free number: no state known, so every state's hours hold in "
                 "every US time zone (set the customer's region to call in their state's)")
    return line


# -- held back: who is not offered now, and why ------------------------------------------------


@record(frozen=True)
class Held:
    """A customer with a reason to be called who is held back now, and by what."""

    customer: Customer
    reasons: list[str]
    blockers: list[Blocker]
    opens_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``carecall queue --held --json``)."""
        return {"ref": self.customer.ref, "name": self.customer.name,
                "reasons": self.reasons,
                "held_by": [{"rule": b.label, "why": b.text,
                             "until": to_iso(b.until) if b.until else None}
                            for b in self.blockers],
                "opens_at": to_iso(self.opens_at) if self.opens_at else None}


# Blockers that are not "held back now" but out of the queue for good or by a person.
_NOT_HELD = {"no_phone", "do_not_call", "dnc_list", "number", "claimed", "skipped"}


def _held_one(store: Store, row: dict, fus: Iterable[dict], caller: str, now: datetime,
              policy: Policy, calls: list[dict] | None = None) -> Held | None:
    """The customer as ``queue --held`` lists them, or None (no reason, or not held).
    ``calls``: their calls since the longest cap or quiet period, when read already."""
    fus = list(fus)
    reasons = customer_reasons(row, fus, caller, now, policy)
    if not reasons:
        return None
    blockers = [b for b in customer_blockers(row, fus, None, None, None, caller, now, policy)
                if b.code not in _NOT_HELD]
    blockers += lawful_blockers(store, row, now, policy, asked=reasons[0].code == "callback",
                                calls=calls)
    if not blockers:
        return None
    opens = None if any(b.permanent for b in blockers) else _next_callable(
        row, blockers, reasons, None, now, policy)
    return Held(Customer.from_row(row), [r.text for r in reasons], blockers, opens)


def held_back(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY
              ) -> list[Held]:
    """Every customer with a reason to be called who is held back now, and by what, one
    customer at a time (the reference :func:`held_report` is checked against; slow on a
    large list).

    The calling window (the law's hours and holidays, the policy's), the basis, the caps
    and quiet periods, retry delays and callbacks set for later. Customers who are out for
    good (do-not-call, wrong number) or held by another caller are not listed.
    """
    fus: dict[int, list[dict]] = {}
    for f in q.open_call_followups(store):
        fus.setdefault(f["customer_id"], []).append(f)
    listed = q.all_dnc_phones(store)
    out: list[Held] = []
    for row in q.all_customer_rows(store):
        if (row.get("do_not_call") or (row.get("number_status") or "ok") != "ok"
                or not row.get("phone") or row["phone"] in listed):
            continue
        held = _held_one(store, row, fus.get(row["id"], ()), caller, now, policy)
        if held is not None:
            out.append(held)
    return out


@record(frozen=True)
class HeldReport:
    """Who is held back now: how many, how many per rule, and the first of them."""

    at: datetime
    total: int
    by_rule: dict[str, int]          # rule (or code) -> customers, most first
    customers: list[Held]            # the first ``limit`` held customers, by id

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``carecall queue --held --json``)."""
        return {"at": to_iso(self.at), "held": self.total, "by_rule": self.by_rule,
                "customers": [h.to_dict() for h in self.customers]}


def held_report(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY,
                limit: int = 50) -> HeldReport:
    """Who has a reason to be called but is held back now, with counts per rule: the same
    answer as :func:`held_back`, fast on a large list.

    Without a callback or recovery call and without calls recent enough for a cap, what
    holds a customer follows from their zone key (the calling window; the local date their
    reasons are counted by), a retry delay running, their consent and customer type (the
    basis): the rules are worked out here once per zone and code (:class:`_HeldPlan`), and
    SQL counts the customers with a reason per slot in one pass over the list. Everybody
    else (a callback or recovery call, enough recent calls or a refusal for a cap to hold
    them, an unusual customer type) is checked one by one as :func:`held_back` does, and
    so are the first ``limit`` held customers, who are listed.
    """
    plan = _HeldPlan(store, now, policy)
    counts: dict[str, int] = {}
    total = 0
    found = q.held_slots(store, plan.query, limit)
    for slot, n in found.counts.items():
        total += n
        for label in plan.labels(slot):
            counts[label] = counts.get(label, 0) + n
    fus: dict[int, list[dict]] = {}
    for f in q.open_call_followups(store):
        fus.setdefault(f["customer_id"], []).append(f)
    listed: list[Held] = []
    since = _iso(now - lawful.horizon(policy))
    for start in range(0, len(found.singles), 500):
        chunk = found.singles[start:start + 500]
        rows = q.customer_rows(store, chunk)
        # Their recent calls in one query per 500 (cap_blockers keeps its own reach).
        recent = q.recent_calls(store, [i for i, r in rows.items()
                                        if (r.get("last_call_at") or "") >= since], since)
        for cid in chunk:
            held = _held_one(store, rows[cid], fus.get(cid, ()), caller, now, policy,
                             calls=recent.get(cid, []))
            if held is None:
                continue
            total += 1
            for label in dict.fromkeys(b.label for b in held.blockers):
                counts[label] = counts.get(label, 0) + 1
            if len(listed) < limit:
                listed.append(held)
    first = q.customer_rows(store, found.first)
    listed += [h for cid in sorted(first)
               if (h := _held_one(store, first[cid], (), caller, now, policy)) is not None]
    listed = sorted(listed, key=lambda h: h.customer.id)[:limit]
    return HeldReport(now, total, dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                      listed)


class _HeldPlan:
    """What holds a customer without a callback, recovery call or recent calls, per zone
    key and code (``calls.store.queue.HELD_CODES``), worked out with the same functions
    as for one customer, and the zones grouped into classes that SQL counts alike."""

    def __init__(self, store: Store, now: datetime, policy: Policy):
        keys = q.zone_keys(store)
        reps = q.zone_key_rows(store, keys)
        by_class: dict[tuple, int] = {}
        zones: list[tuple[tuple[str, str, str, str], int]] = []
        basis_cache: dict[tuple, list[str]] = {}
        for key in keys:
            parts = key.split("|")
            if len(parts) != 4:
                continue        # a "|" in the zones: its customers are checked one by one
            zone = (parts[0], parts[1], parts[2], parts[3])
            if key not in reps:
                zones.append((zone, -1))    # gone since: whoever has it, one by one
                continue
            rep = {**reps[key], "do_not_call": 0, "number_status": "ok", "retry_after": None}
            jurisdiction = row_jurisdiction(rep) or ""
            if any(set(r.needs) - {"consent"}
                   for kind in lawrules.CUSTOMER_TYPES
                   for r in lawrules.rules_for(jurisdiction, "basis", "care", kind, now.date())):
                zones.append((zone, -1))    # a basis from a contract or purchase: one by one
                continue
            window = window_blocker(rep, now, policy)
            labels = []
            for code in q.HELD_CODES:
                retry, consent, kind = q.held_code_parts(code)
                found = [window.label] if window is not None else []
                if retry:       # what customer_blockers says of a retry delay running
                    found.append("retry")
                basis_key = (jurisdiction, consent, kind)
                if basis_key not in basis_cache:
                    row = {**rep, "consent_calls": q.HELD_CONSENTS[consent],
                           "customer_type": q.HELD_TYPES[kind]}
                    basis_cache[basis_key] = [b.label for b in basis_blockers(
                        row, now, policy, jurisdiction)]
                labels.append(tuple(found + basis_cache[basis_key]))
            today = _local(rep, now, policy)[0].date()
            recent = _iso(now - lawful.horizon(policy, jurisdiction))
            zones.append((zone, by_class.setdefault((today, recent, tuple(labels)),
                                                    len(by_class))))
        self.slot_labels: dict[int, tuple[str, ...]] = {}
        classes = []
        for j, (today, recent, labels) in enumerate(by_class):
            for code, found in zip(q.HELD_CODES, labels, strict=True):
                self.slot_labels[j * q.HELD_SLOTS_PER_CLASS + code] = found
            classes.append(q.HeldClass(
                today=today.isoformat(),
                thank_you_from=(today - timedelta(
                    days=policy.purchases.thank_you_days)).isoformat(),
                birthdays=_occasion_days(today, policy.occasions.days_ahead)
                if policy.occasions.birthday else (),
                anniversaries=_occasion_days(today, policy.occasions.days_ahead, years=True)
                if policy.occasions.anniversary else (),
                recent_from=recent,
                held_codes=tuple(c for c, found in zip(q.HELD_CODES, labels, strict=True)
                                 if found)))
        c = policy.contact
        self.query = q.HeldQuery(
            now=to_iso(now),
            due_cuts=tuple((tier, to_iso(now - policy.interval(tier)))
                           for tier in policy.cadence_days),
            other_due_cut=to_iso(now - policy.interval(None)),
            classes=tuple(classes),
            zones=tuple(zones),
            at_risk_factor=policy.purchases.at_risk_factor,
            # A cap holds a customer only once they had this many calls in its period.
            cap_calls=min([c.max_attempts, c.max_contacts]
                          + [r.max_calls for p in lawrules.packs().values() for r in p.rules
                             if r.kind == "attempts" and r.max_calls is not None]),
            refusals=tuple(sorted(lawful.REFUSALS)))

    def labels(self, slot: int) -> tuple[str, ...]:
        """The rules that hold the customers of ``slot``."""
        return self.slot_labels[slot]


@functools.lru_cache(maxsize=16)
def _occasion_days(today: date, ahead: int, years: bool = False) -> tuple:
    """The month-days (of a leap year: 29 February too) whose next occurrence from
    ``today`` is at most ``ahead`` days away, each with the moment a call since then
    thanked for it (the days before it began), and with ``years`` the year it falls in (a
    customer since before that year has an anniversary)."""
    out = []
    day = date(2000, 1, 1)
    while day.year == 2000:
        occ = next_occurrence(day, today)
        if (occ - today).days <= ahead:
            since = (occ - timedelta(days=ahead)).isoformat()
            out.append((day.isoformat()[5:], since, str(occ.year)) if years
                       else (day.isoformat()[5:], since))
        day += timedelta(days=1)
    return tuple(out)


def held_counts(held: list[Held]) -> dict[str, int]:
    """How many held customers each rule holds back (a customer may count under several),
    most first."""
    counts: dict[str, int] = {}
    for h in held:
        for label in dict.fromkeys(b.label for b in h.blockers):
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _next_callable(row: dict, blockers: list[Blocker], reasons: list[Reason],
                   due: datetime | None, now: datetime, policy: Policy) -> datetime | None:
    if any(b.permanent for b in blockers if b.code != "window"):
        return None
    times = [b.until for b in blockers if b.until is not None and b.code != "window"]
    if not reasons and due is not None:
        times.append(due)
    t = max(times, default=now)
    t = max(t, now)
    for _ in range(30):  # a retry may end at night: move on to the window's opening
        win = row_window(row, t, policy)
        if win.open:
            return t
        if win.opens_at is None:
            return None
        t = win.opens_at
    return None


# -- claims ----------------------------------------------------------------------------


def _lease_end(now: datetime, policy: Policy) -> str:
    return to_iso(now + timedelta(minutes=policy.claims.lease_minutes))


def _entry_if_callable(store: Store, customer_id: int, caller: str, now: datetime,
                       policy: Policy, *, ignore_skip: bool = False,
                       need_reason: bool = True,
                       ignore: frozenset[str] = frozenset()) -> QueueEntry | None:
    row, _fus, blockers, reasons, claims = _status(store, customer_id, caller, now, policy)
    if ignore_skip:
        blockers = [b for b in blockers if b.code != "skipped"]
    blockers = [b for b in blockers if b.code not in ignore]
    if blockers or (need_reason and not reasons):
        return None
    if reasons:
        # From what _status read (this runs inside a claim's write lock: no second
        # reading of the customer's follow-ups and claims, no second reasoning).
        nowt = to_iso(now)
        mine = any(c["caller"] == caller and c["expires_at"] > nowt for c in claims)
        return _entry(row, reasons, mine, now, policy)
    local, zone = _local(row, now, policy)
    win = row_window(row, now, policy)
    return QueueEntry(Customer.from_row(row), [], [], local, zone, (len(policy.queue.reason_order),
                      row["id"]), win.closes_at)


def queue_entry(store: Store, customer_id: int, caller: str, now: datetime,
                policy: Policy = DEFAULT_POLICY) -> QueueEntry:
    """One customer as a queue row (reasons and codes, local time), callable or not.

    Use :func:`explain` to learn whether and why not; this is for a customer the caller
    picked who may sit below the first page.
    """
    row = q.customer_rows(store, [customer_id]).get(customer_id)
    if row is None:
        raise UserError(f"no customer #{customer_id}")
    fus = q.open_call_followups(store, [customer_id])
    reasons = customer_reasons(row, fus, caller, now, policy)
    local, zone = _local(row, now, policy)
    win = row_window(row, now, policy)
    mine = any(c["caller"] == caller and c["expires_at"] > to_iso(now)
               for c in q.claims_rows(store, [customer_id]))
    priority = (priority_key(reasons[0], customer_id, policy) if reasons
                else (len(policy.queue.reason_order), customer_id))
    return QueueEntry(Customer.from_row(row), [r.text for r in reasons],
                      [r.code for r in reasons], local, zone, priority, win.closes_at, mine)


# How many customers from the top of the queue a claim reads before taking the write
# lock, per reading: when many callers take at the same moment, the first gets the top
# customer and the others spread over the next ones, reading more if they all went.
CLAIM_CANDIDATES = (5, 20, 60)

# How long the top of a caller's queue read ahead (while they wrap up a call) stands for
# the queue when they then take the next customer. The customer is checked again at that
# moment in any case (claimed by someone else, no longer callable: the queue is read
# then); what it may miss is a customer who moved above them in between (a callback that
# fell due), as if the caller had taken a few seconds earlier.
AHEAD_SECONDS = 30
# How many customers from the top a reading ahead keeps: the top, and the next ones to try
# when another seat took the top meanwhile (as many as a claim's first reading).
AHEAD_READ = CLAIM_CANDIDATES[0]


@record(frozen=True)
class QueueAhead:
    """The top of a caller's queue read ahead of the take: while a call is wrapped up, the
    next customer is looked up; the take then only checks them again and claims them
    (:func:`claim_next`), instead of reading the queue in the time the caller waits.
    On a busy floor another seat has often taken the top by then (every seat reads the
    same top): the next few read with it are tried in their order, each checked again
    the same way, before the queue is read again."""

    caller: str
    read_at: datetime
    top: QueueEntry | None            # the best customer then (None: nobody callable)
    leaving: int | None = None        # the customer of the call being wrapped up
    after: tuple[int, ...] = ()       # the ids of the next ones then, in the queue's order

    def usable(self, caller: str, now: datetime) -> bool:
        """Whether this reading may stand for ``caller``'s queue at ``now``."""
        return (self.top is not None and caller == self.caller
                and self.read_at <= now <= self.read_at + timedelta(seconds=AHEAD_SECONDS))


def read_ahead(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY,
               leaving: int | None = None) -> QueueAhead:
    """The top of ``caller``'s queue at ``now``, leaving out ``leaving`` (the customer
    whose call is being wrapped up: the caller still holds them), and the next few after
    them (:attr:`QueueAhead.after`). A read; no lock."""
    rows, windows = _picked(store, caller, now, policy, AHEAD_READ + 1)
    rows = [r for r in rows if r["id"] != leaving]
    # Only the top is made a queue row (the seat shows nobody else); the next ones are
    # kept as ids: a claim checks each again from its own reading.
    for k, row in enumerate(rows):
        entries = _entries(store, [row], caller, now, policy, windows)
        if entries:
            return QueueAhead(caller, now, entries[0], leaving,
                              tuple(r["id"] for r in rows[k + 1:AHEAD_READ]))
    return QueueAhead(caller, now, None, leaving)


def claim_next(store: Store, caller: str, now: datetime,
               policy: Policy = DEFAULT_POLICY,
               inside: Callable[[QueueEntry], object] | None = None,
               ahead: QueueAhead | None = None) -> QueueEntry | None:
    """Claim the top of the caller's queue (a lease) and return it; None when empty.

    A caller who already holds a live claim on a callable customer gets that customer
    again (after a crash, or a second ``next`` before the call ended).

    ``inside(entry)`` runs in the claim's own write transaction, after the claim (what
    must happen with it or not at all, e.g. the seat's state; raising undoes the claim).
    Do not call this inside another write transaction: the queue would then be read
    while holding the lock, holding up every other seat.

    The queue is read before the write lock is taken (other callers' writes go on
    meanwhile); inside the lock only the chosen customer is checked again, exactly as
    :func:`claim_customer` checks a customer picked from a list, and claimed. A customer
    another caller took (or called) in between is passed over. The top customer is tried
    first, the next few in a random order: a floor taking at the same moment spreads over
    them instead of queueing for one customer after another.

    ``ahead``: the queue's top read a moment before (:func:`read_ahead`, while the call
    before was wrapped up). When it is still usable (:meth:`QueueAhead.usable`) that
    customer is checked again inside the lock and claimed without reading the queue; when
    another caller took them or they are no longer callable, the next ones of the reading
    are tried in order the same way (the first still free is whom the queue read now
    would put first, unless someone moved above them meanwhile, as with the top). When
    none of them can be had, or the customer left then is callable again (they might rank
    first), the queue is read as without it.
    """
    nowt = to_iso(now)
    if q.live_claims_of(store, caller, nowt):
        with store.write():
            entry = _claim_held(store, caller, now, policy)
            if entry is not None and inside is not None:
                inside(entry)
        if entry is not None:
            return entry
    if ahead is not None and ahead.usable(caller, now) and not (
            ahead.leaving is not None
            and _entry_if_callable(store, ahead.leaving, caller, now, policy) is not None):
        for customer_id in (ahead.top.customer.id, *ahead.after):
            claimed = _claim_candidate(store, customer_id, caller, now, policy, inside)
            if claimed is not None:
                return claimed
    for limit in CLAIM_CANDIDATES:
        entries = build_queue(store, caller, now, policy, limit=limit)
        if not entries:
            return None
        for entry in [entries[0], *random.sample(entries[1:], len(entries) - 1)]:
            claimed = _claim_candidate(store, entry.customer.id, caller, now, policy, inside)
            if claimed is not None:
                return claimed
    # The floor took every candidate of every reading: decide inside the lock.
    with store.write():
        q.delete_expired_claims(store, nowt)
        entries = build_queue(store, caller, now, policy, limit=1)
        if not entries:
            return None
        q.put_claim(store, entries[0].customer.id, caller, nowt, _lease_end(now, policy))
        claimed = replace(entries[0], claimed_by_me=True)
        if inside is not None:
            inside(claimed)
        return claimed


def _claim_candidate(store: Store, customer_id: int, caller: str, now: datetime,
                     policy: Policy, inside: Callable[[QueueEntry], object] | None
                     ) -> QueueEntry | None:
    """Claim the customer (read from the queue before the lock) if they are still callable
    for ``caller`` inside the write lock; None when another caller took them or they are
    not."""
    nowt = to_iso(now)
    held = q.claim_row(store, customer_id)
    if held is not None and held["caller"] != caller and held["expires_at"] > nowt:
        return None           # taken since the queue was read: no need for the lock
    with store.write():
        fresh = _entry_if_callable(store, customer_id, caller, now, policy)
        if fresh is None:
            return None
        q.delete_expired_claims(store, nowt)
        q.put_claim(store, customer_id, caller, nowt, _lease_end(now, policy))
        claimed = replace(fresh, claimed_by_me=True)
        if inside is not None:
            inside(claimed)
        return claimed


def _claim_held(store: Store, caller: str, now: datetime, policy: Policy
                ) -> QueueEntry | None:
    """The caller's live claim on a callable customer, renewed (inside store.write());
    claims on customers no longer callable are dropped."""
    nowt = to_iso(now)
    for held in q.live_claims_of(store, caller, nowt):
        entry = _entry_if_callable(store, held["customer_id"], caller, now, policy,
                                   ignore_skip=True, need_reason=False)
        if entry is not None:
            q.put_claim(store, held["customer_id"], caller, nowt, _lease_end(now, policy))
            return replace(entry, claimed_by_me=True)
        q.delete_claims(store, caller, held["customer_id"])
    return None


# What an inbound call (the customer called us) may do that an outbound one may not: be
# taken outside the calling window, before a retry wait or an agreed callback time, without
# a basis for calling them (consent rules such as UWG § 7 are about calls we make), past
# a cap or quiet period on our calls, on a number marked wrong (they are on the line: the
# caller can correct it). The do-not-call list still holds (issue 15).
INBOUND_IGNORES = frozenset({"window", "retry", "callback_later", "callback_personal",
                             "basis", "attempts", "contacts", "refusal", "number"})


def blocker_texts(store: Store, customer_id: int, caller: str, now: datetime,
                  policy: Policy = DEFAULT_POLICY, *, inbound: bool = False) -> list[str]:
    """What keeps ``caller`` from taking this customer now, in words (empty: nothing);
    ``inbound``: only what holds an inbound call too (see :data:`INBOUND_IGNORES`)."""
    _row, _fus, blockers, _reasons, _claims = _status(store, customer_id, caller, now, policy)
    ignore = INBOUND_IGNORES if inbound else frozenset()
    return [b.text for b in blockers if b.code not in ignore and b.code != "skipped"]


def claim_customer(store: Store, customer_id: int, caller: str, now: datetime,
                   policy: Policy = DEFAULT_POLICY, *, inbound: bool = False) -> bool:
    """Claim one chosen customer for the caller; False if someone else holds them or they
    cannot be called now (``inbound``: the customer called us, see
    :data:`INBOUND_IGNORES`). The caller's other claims are released."""
    nowt = to_iso(now)
    with store.write():
        q.delete_expired_claims(store, nowt)
        held = q.claim_row(store, customer_id)
        if held is not None and held["caller"] != caller and held["expires_at"] > nowt:
            return False
        entry = _entry_if_callable(store, customer_id, caller, now, policy, ignore_skip=True,
                                   need_reason=False,
                                   ignore=INBOUND_IGNORES if inbound else frozenset())
        if entry is None:
            return False
        for other in q.live_claims_of(store, caller, nowt):
            if other["customer_id"] != customer_id:
                q.delete_claims(store, caller, other["customer_id"])
        q.put_claim(store, customer_id, caller, nowt, _lease_end(now, policy))
        return True


def renew_claim(store: Store, customer_id: int, caller: str, now: datetime,
                policy: Policy = DEFAULT_POLICY) -> bool:
    """Extend the caller's lease on a customer (or take it if nobody holds a live claim);
    False when another caller holds it."""
    nowt = to_iso(now)
    with store.write():
        held = q.claim_row(store, customer_id)
        if held is not None and held["caller"] != caller and held["expires_at"] > nowt:
            return False
        q.put_claim(store, customer_id, caller, nowt, _lease_end(now, policy))
        return True


def release(store: Store, caller: str, customer_id: int | None = None) -> list[int]:
    """Give back the caller's claim on one customer (or all of them); returns their ids."""
    with store.write():
        return q.delete_claims(store, caller, customer_id)


def skip_customer(store: Store, caller: str, customer_id: int, now: datetime,
                  policy: Policy = DEFAULT_POLICY) -> None:
    """Release a claimed customer and keep them out of this caller's queue for
    ``claims.skip_minutes`` (other callers may take them at once)."""
    with store.write():
        q.delete_claims(store, caller, customer_id)
        if policy.claims.skip_minutes:
            q.put_skip(store, caller, customer_id,
                       to_iso(now + timedelta(minutes=policy.claims.skip_minutes)))


def held_claims(store: Store, caller: str, now: datetime) -> list[int]:
    """Customer ids the caller holds a live claim on."""
    return [r["customer_id"] for r in q.live_claims_of(store, caller, to_iso(now))]


# -- when does the queue fill again ------------------------------------------------------


@record(frozen=True)
class Opening:
    """When the caller's empty queue offers somebody again, who, and what holds them now."""

    at: datetime
    customer: Customer
    why: str        # what holds them now ("4 calls within 30 days; by law: FR.attempts ...")
    rule: str       # the rule (or the code) of that hold, "" when nothing holds them

    def line(self, now: datetime) -> str:
        """"2026-05-09 10:00 UTC (in 59d): Luc Martin, held by FR.refusal" for messages."""
        who = self.customer.name or self.customer.ref
        # A rule of a pack ("FR.attempts") or of the policy is named; a person or a
        # moment (a claim, a retry delay, a callback time) is said in words.
        named = "." in self.rule or self.rule.startswith("policy")
        held = f", held by {self.rule}" if named else f": {self.why}"
        return (f"{self.at:%Y-%m-%d %H:%M} UTC (in {format_duration(self.at - now)}): "
                f"{who}{held}")


def _hold_periods(policy: Policy) -> set[timedelta]:
    """Every period after which a call stops holding a customer: the caps' and quiet
    periods of the policy and of every rule pack."""
    c = policy.contact
    out = {timedelta(days=d) for d in (c.attempts_days, c.contacts_days, c.refusal_quiet_days)
           if d}
    out |= {p for pack in lawrules.packs().values() for r in pack.rules
            for p in (r.period, r.quiet) if p}
    return out


def opening_horizon(policy: Policy = DEFAULT_POLICY,
                    horizon: timedelta = timedelta(days=7)) -> timedelta:
    """How far :func:`next_opening_why` looks: ``horizon``, or past the longest cap or quiet
    period when that is longer (France: 60 days after a refusal)."""
    return max(horizon, lawful.horizon(policy) + timedelta(days=1))


def next_opening_why(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY,
                     *, horizon: timedelta = timedelta(days=7), tries: int = 60
                     ) -> Opening | None:
    """The next moment after ``now`` at which the caller's queue will not be empty, the
    customer it offers then and what holds them now; None if nobody within ``horizon`` (or
    within the longest cap or quiet period, when that is longer).

    Looks at the moments something changes: a calling window opens, a retry delay or a
    personal callback's grace ends, a callback falls due, a care call falls due, a contact
    cap or a quiet period after a refusal ends (a call leaves the period that counted it).
    A cap that ends while the customer's window is shut opens with the window.
    """
    end = now + opening_horizon(policy, horizon)
    keys = [_split_key(k) for k in q.zone_keys(store)]

    # Per zone: open now until when, and its next opening after now.
    open_until: dict[int, datetime | None] = {}
    reopen: dict[int, datetime | None] = {}

    def next_opening_of(i: int, t: datetime) -> tuple[datetime | None, datetime | None]:
        region, zones = keys[i]
        ws = window_state(region, zones, t, policy)
        if not ws.open:
            return None, ws.opens_at
        if ws.closes_at is None:
            return None, None
        # A zone open now may reopen tomorrow: its next opening is a moment too.
        return ws.closes_at, window_state(region, zones, ws.closes_at, policy).opens_at

    for i in range(len(keys)):
        open_until[i], reopen[i] = next_opening_of(i, now)

    def maybe_open(t: datetime) -> bool:
        """Whether some zone's window may be open at ``t`` (if not, nobody is offered)."""
        return any((open_until[i] is not None and t < open_until[i])
                   or (reopen[i] is not None and reopen[i] <= t) for i in open_until)

    def openings_after(t: datetime) -> set[datetime]:
        # A zone shut from now until past t opens at the moment already known.
        return {o for i in open_until if reopen[i] is not None and reopen[i] <= t
                for o in (next_opening_of(i, t)[1],) if o is not None}

    moments: set[datetime] = {o for o in reopen.values() if o is not None}
    for text in q.upcoming_moments(store, to_iso(now), caller,
                                   policy.callbacks.personal_grace_minutes):
        moments.add(from_iso(text))
    for text in q.claim_ends(store, to_iso(now), caller):
        moments.add(from_iso(text))
    for tier in q.tier_values(store):
        due = q.first_care_due(store, tier, to_iso(now - policy.interval(tier)))
        if due:
            moments.add(from_iso(due) + policy.interval(tier))
    ends: set[datetime] = set()
    for period in _hold_periods(policy):
        for text in q.calls_started_between(store, to_iso(now - period), to_iso(end - period)):
            ends.add(from_iso(text) + period)
    # First the moments the windows, delays and callbacks give; then, before the first of
    # them that works, the ends of caps and quiet periods, earliest first (one that falls
    # while the customer's window is shut brings the window's openings after it).
    failed: set[datetime] = set()
    first = None
    for t in sorted(m for m in moments if now < m <= end)[:tries]:
        found = build_queue(store, caller, t, policy, limit=1)
        if found:
            first = (t, found[0])
            break
        failed.add(t)
    bound = first[0] if first else end
    heap = sorted(m for m in ends if now < m < bound)
    pops = 0
    while heap and pops < 2 * tries:
        t = heapq.heappop(heap)
        if t in failed:
            continue
        pops += 1
        found = build_queue(store, caller, t, policy, limit=1) if maybe_open(t) else []
        if found:
            return _opening(store, found[0], caller, t, now, policy)
        failed.add(t)
        if t in ends:
            for later in openings_after(t):
                if later < bound and later not in failed:
                    heapq.heappush(heap, later)
    return _opening(store, first[1], caller, first[0], now, policy) if first else None


def _opening(store: Store, entry: QueueEntry, caller: str, at: datetime, now: datetime,
             policy: Policy) -> Opening:
    _row, _fus, blockers, _reasons, _claims = _status(store, entry.customer.id, caller, now,
                                                      policy)
    held = [b for b in blockers if b.code not in _NOT_HELD] or blockers
    if not held:
        return Opening(at, entry.customer, "their care call falls due", "")
    # What holds them longest is what they wait for.
    last = max(held, key=lambda b: b.until or at)
    return Opening(at, entry.customer, last.text, last.label)


def next_opening(store: Store, caller: str, now: datetime, policy: Policy = DEFAULT_POLICY,
                 *, horizon: timedelta = timedelta(days=7), tries: int = 60) -> datetime | None:
    """When the caller's empty queue offers somebody again (see :func:`next_opening_why`)."""
    found = next_opening_why(store, caller, now, policy, horizon=horizon, tries=tries)
    return found.at if found is not None else None
