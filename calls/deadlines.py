"""Follow-up deadlines and escalation (issue 17).

Each follow-up kind has deadlines in the policy (``[deadlines]``, see docs/followups.md):
a detractor's ``fix_problem`` is first contacted within 48 hours and closed within 10
days, a callback is made at its time, a note or gift goes out before its occasion. The
pure functions here say which deadlines a follow-up has and which it has missed at
``now``; :func:`escalate_overdue` records, once per follow-up and deadline, that a missed
one was escalated to the supervisors (the policy's ``deadlines.supervisors``, else the
supervisor accounts, as a group), with how long the customer had waited.
:func:`deadline_figures` gives the report its share closed on time and the median times
to first contact and to close, per kind and owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import field
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from calls.clock import UTC, from_iso, to_iso
from calls.policy import DEFAULT_POLICY, KindDeadline, Policy
from calls.records import record
from calls.store import Store
from calls.store import deadlines as q

FIRST_CONTACT = "first_contact"
CLOSE = "close"
DEADLINE_LABEL = {FIRST_CONTACT: "first contact", CLOSE: "close"}
_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


@record(frozen=True)
class Deadline:
    """One deadline of a follow-up: ``first_contact`` or ``close``, and its moment."""

    name: str
    at: datetime


@record(frozen=True)
class Escalation:
    """A missed deadline, escalated once: to whom, when, how long the customer waited."""

    id: int
    followup_id: int
    deadline: str
    deadline_at: datetime
    escalated_at: datetime
    escalated_to: str
    owner: str | None
    waited: timedelta
    kind: str = ""
    status: str = "open"
    customer_ref: str = ""
    customer_name: str = ""

    @classmethod
    def from_row(cls, row: dict) -> Escalation:
        """Build from a row of :func:`calls.store.deadlines.escalation_rows`."""
        return cls(
            id=row["id"],
            followup_id=row["followup_id"],
            deadline=row["deadline"],
            deadline_at=from_iso(row["deadline_at"]),
            escalated_at=from_iso(row["escalated_at"]),
            escalated_to=row["escalated_to"],
            owner=row.get("owner"),
            waited=timedelta(seconds=row["waited_seconds"]),
            kind=row.get("kind") or "",
            status=row.get("status") or "open",
            customer_ref=row.get("customer_ref") or "",
            customer_name=row.get("customer_name") or "",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (moments as store text, the wait in hours)."""
        return {
            "deadline": self.deadline,
            "deadline_at": to_iso(self.deadline_at),
            "escalated_at": to_iso(self.escalated_at),
            "escalated_to": self.escalated_to,
            "owner": self.owner,
            "waited_hours": round(self.waited.total_seconds() / 3600, 1),
        }


# -- pure ----------------------------------------------------------------------------


def occasion_day(occasion: str | None) -> date | None:
    """The day of a note's or gift's occasion ("birthday 2026-03-15"), or None."""
    if not occasion:
        return None
    days = []
    for text in _DAY.findall(occasion):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            continue
    return min(days) if days else None  # two occasions in one note: the first one


def deadlines_for(kind: str, created_at: datetime, due_at: datetime | None,
                  occasion: str | None, policy: Policy = DEFAULT_POLICY) -> list[Deadline]:
    """The deadlines of a follow-up of ``kind`` opened at ``created_at``.

    The close deadline is the earliest of: ``close_hours`` after it was opened; its due
    time plus ``grace_minutes`` (``at_due``); the start (UTC) of its occasion's day
    (``before_occasion``; the due time when it names no occasion day).
    """
    rule: KindDeadline | None = policy.deadlines.kinds.get(kind)
    if rule is None:
        return []
    out: list[Deadline] = []
    if rule.first_contact_hours:
        out.append(Deadline(FIRST_CONTACT, created_at + timedelta(hours=rule.first_contact_hours)))
    closes: list[datetime] = []
    if rule.close_hours:
        closes.append(created_at + timedelta(hours=rule.close_hours))
    if rule.at_due and due_at is not None:
        closes.append(due_at + timedelta(minutes=rule.grace_minutes))
    if rule.before_occasion:
        day = occasion_day(occasion)
        if day is not None:
            closes.append(datetime.combine(day, time(0), tzinfo=UTC))
        elif due_at is not None:
            closes.append(due_at + timedelta(minutes=rule.grace_minutes))
    if closes:
        out.append(Deadline(CLOSE, min(closes)))
    return out


def missed_deadlines(kind: str, status: str, created_at: datetime, due_at: datetime | None,
                     occasion: str | None, first_contact_at: datetime | None, now: datetime,
                     policy: Policy = DEFAULT_POLICY) -> list[Deadline]:
    """The deadlines an open follow-up has missed at ``now`` (strictly past them; at the
    deadline itself it is still on time). A first contact already made is not missed."""
    if status != "open":
        return []
    out = []
    for d in deadlines_for(kind, created_at, due_at, occasion, policy):
        if d.name == FIRST_CONTACT and first_contact_at is not None:
            continue
        if now > d.at:
            out.append(d)
    return out


def _moment(row: dict, key: str) -> datetime | None:
    return from_iso(row[key]) if row.get(key) else None


def _row_missed(row: dict, now: datetime, policy: Policy) -> list[Deadline]:
    return missed_deadlines(row["kind"], row["status"], from_iso(row["created_at"]),
                            _moment(row, "due_at"), row.get("occasion"),
                            _moment(row, "first_contact_at"), now, policy)


# -- escalation ----------------------------------------------------------------------


def supervisor_for(store: Store, owner: str | None, policy: Policy = DEFAULT_POLICY) -> str:
    """Whom a missed deadline of ``owner``'s goes to. Accounts have roles but no "whose
    supervisor" yet, so the supervisors as a group: the policy's
    ``deadlines.supervisors`` when it names them, else the active supervisor accounts
    (the admins where there is no supervisor), else the group's name (a trial)."""
    if policy.deadlines.supervisors:
        return ", ".join(policy.deadlines.supervisors)
    from calls import accounts

    if accounts.team_mode(store):
        active = [a for a in accounts.list_accounts(store) if a.active]
        names = ([a.name for a in active if a.role == "supervisor"]
                 or [a.name for a in active if a.role == "admin"])
        if names:
            return ", ".join(names)
    return policy.deadlines.group


def missed_cuts(store: Store, policy: Policy, now: datetime,
                kind: str | None = None, *, ids: Iterable[int] | None = None
                ) -> list[q.MissedCuts]:
    """Per kind with deadlines (only ``kind`` when given): the moments a follow-up's
    opening or due time must be at or before, and the occasions whose day has come, for
    it to have missed a deadline at ``now``. The store picks the candidates by them;
    :func:`missed_deadlines` stays the judge. (Occasion texts are read once each: a
    note's occasion names its days in free text; ``ids``: those of these follow-ups.)"""
    today = now.astimezone(UTC).date()
    rules = {name: rule for name, rule in sorted(policy.deadlines.kinds.items())
             if kind is None or name == kind}
    passed: list[str] = []
    undated: list[str] = []
    for text in q.open_occasions(store, [k for k, r in rules.items() if r.before_occasion],
                                 ids=ids):
        day = occasion_day(text)
        if day is None:
            undated.append(text)
        elif day <= today:  # its day has begun (at or before now: the judge decides)
            passed.append(text)
    out = []
    for name, rule in rules.items():
        grace = to_iso(now - timedelta(minutes=rule.grace_minutes))
        out.append(q.MissedCuts(
            kind=name,
            first_contact=(to_iso(now - timedelta(hours=rule.first_contact_hours))
                           if rule.first_contact_hours else None),
            close=to_iso(now - timedelta(hours=rule.close_hours)) if rule.close_hours else None,
            due=grace if rule.at_due else None,
            occasion_due=grace if rule.before_occasion else None,
            occasions_passed=tuple(passed) if rule.before_occasion else (),
            occasions_undated=tuple(undated) if rule.before_occasion else (),
        ))
    return out


def _to_escalate(store: Store, now: datetime, policy: Policy,
                 ids: Iterable[int] | None = None) -> list[tuple[dict, Deadline]]:
    """(follow-up row, missed deadline) not yet escalated at ``now`` (of ``ids`` only,
    when given)."""
    out = []
    for row in q.missed_candidate_rows(store, missed_cuts(store, policy, now, ids=ids),
                                       unescalated=True, ids=ids):
        done = set((row.get("escalated") or "").split(","))
        out += [(row, d) for d in _row_missed(row, now, policy) if d.name not in done]
    return out


def escalate_overdue(store: Store, now: datetime, policy: Policy = DEFAULT_POLICY, *,
                     followup_ids: Iterable[int] | None = None) -> list[Escalation]:
    """Escalate every open follow-up past a deadline that was not escalated yet for that
    deadline; returns the new escalations. Idempotent: run it as often as you like (the
    list, the dashboard, the shift app and ``carecall plan`` do).

    Only the follow-ups that may have missed a deadline are read (:func:`missed_cuts`),
    and the write lock is taken only when one has: a check with nothing to escalate is a
    read of a few rows. ``followup_ids``: check only these (the follow-ups written since
    a check of every one: the others can only have become late by time since)."""
    ids = None if followup_ids is None else sorted(set(followup_ids))
    if ids == [] or not _to_escalate(store, now, policy, ids):
        return []
    stamp = to_iso(now)
    new_ids: list[int] = []
    with store.write():
        # Read again under the lock: another seat may have escalated them meanwhile.
        for row, d in _to_escalate(store, now, policy, ids):
            waited = now - from_iso(row["created_at"])
            new_id = q.insert_escalation(store, {
                "followup_id": row["id"],
                "deadline": d.name,
                "deadline_at": to_iso(d.at),
                "escalated_at": stamp,
                "escalated_to": supervisor_for(store, row.get("owner"), policy),
                "owner": row.get("owner"),
                "waited_seconds": max(int(waited.total_seconds()), 0),
            })
            if new_id is not None:
                new_ids.append(new_id)
        if not new_ids:
            return []
        rows = q.escalation_rows(store, since=stamp)
    return [Escalation.from_row(r) for r in rows if r["id"] in set(new_ids)]


def escalations_by_followup(store: Store, followup_ids) -> dict[int, list[Escalation]]:
    """Escalations of these follow-ups, oldest first, by follow-up id."""
    out: dict[int, list[Escalation]] = {}
    for row in reversed(q.escalation_rows(store, followup_ids=followup_ids)):
        out.setdefault(row["followup_id"], []).append(Escalation.from_row(row))
    return out


def open_escalations(store: Store, limit: int | None = None) -> list[Escalation]:
    """Escalations of follow-ups still open, newest first (the dashboard's list)."""
    return [Escalation.from_row(r) for r in q.escalation_rows(store, open_only=True,
                                                               limit=limit)]


def late_by_kind(escalations: Iterable[Escalation]) -> dict[str, int]:
    """How many open follow-ups of each kind are late: past a deadline of theirs, so
    escalated (``escalations``: :func:`open_escalations`' answer; a follow-up that missed
    two deadlines counts once). Past its due time alone a follow-up is not late: a
    recovery call or an unreached letter is due at once (from then on it may be done) and
    late only past its deadline (72 hours by default); a callback is late 15 minutes
    after its time. The dashboard's backlog shows it."""
    kinds: dict[int, str] = {e.followup_id: e.kind for e in escalations if e.status == "open"}
    late: dict[str, int] = {}
    for kind in kinds.values():
        late[kind] = late.get(kind, 0) + 1
    return late


class KeptEscalations:
    """:func:`open_escalations` for a reader that asks again and again (the dashboard,
    after every write): the rows are read each time, but an :class:`Escalation` is made
    only for a row that differs from every row of the last answer (a few hundred open
    escalations made into objects cost more than reading them), and the last answer
    itself comes back when no row changed. A row read again is kept as the tuple read
    before, whose texts its :class:`Escalation` shares (keeping the new one held each
    text twice: 160 KB at 584 escalations). The same answer
    (tests/core/test_deadlines_kept.py)."""

    def __init__(self) -> None:
        self._rows: list[tuple] | None = None
        self._made: dict[tuple, tuple[tuple, Escalation]] = {}   # row: (row kept, made)
        self._answer: list[Escalation] = []

    def read(self, store: Store) -> list[Escalation]:
        columns, rows = q.escalation_tuples(store, open_only=True)
        if rows == self._rows:
            return self._answer
        made = self._made
        self._made = {}
        for row in rows:
            kept = made.get(row) or (row, Escalation.from_row(dict(zip(columns, row))))
            self._made[kept[0]] = kept
        self._rows = [self._made[row][0] for row in rows]
        self._answer = [self._made[row][1] for row in rows]
        return self._answer


def escalations_since(store: Store, since: datetime) -> list[Escalation]:
    """Escalations made at or after ``since`` of follow-ups still open, newest first."""
    return [Escalation.from_row(r)
            for r in q.escalation_rows(store, since=to_iso(since), open_only=True)]


def sees_escalation(user: str | None, e: Escalation, policy: Policy = DEFAULT_POLICY,
                    role: str | None = None, solo: bool = True) -> bool:
    """True when ``user`` should be told about ``e``: its owner; whoever it went to; a
    supervisor or admin account (``role``, with accounts in force: ``solo`` False); in a
    trial (``solo``) the policy's supervisors, or anybody while none are named."""
    return _sees(user, e.owner, e.escalated_to, policy, role, solo)


def _sees(user: str | None, owner: str | None, escalated_to: str, policy: Policy,
          role: str | None, solo: bool) -> bool:
    if not user:
        return False
    name = user.casefold()
    if owner and owner.casefold() == name:
        return True
    targets = {t.strip().casefold() for t in escalated_to.split(",")}
    if name in targets:
        return True
    if not solo:
        return role in ("supervisor", "admin")
    named = {s.casefold() for s in policy.deadlines.supervisors}
    return name in named or (not named and escalated_to == policy.deadlines.group)


@record(frozen=True)
class EscalationNews:
    """What one look of a seat's watcher finds (:func:`escalation_news`): at the first
    look, how many open escalations the user is to hear of (``waiting``), the oldest of
    them and whether each is of the user's own follow-ups (``all_own``); at a later look,
    those made since (``new``, newest first). ``last_id``: the next look reads after it."""

    new: list[Escalation] = field(default_factory=list)
    waiting: int = 0
    oldest: Escalation | None = None
    all_own: bool = False
    last_id: int = 0


def escalation_news(store: Store, user: str | None, after: int | None = None,
                    policy: Policy = DEFAULT_POLICY, role: str | None = None,
                    solo: bool = True) -> EscalationNews:
    """What ``user`` is to hear of, at a seat's first look (``after`` None) or after an
    earlier look's ``last_id``: the same as judging every open escalation each time
    (:func:`open_escalations` and :func:`sees_escalation`; tests/core/test_deadlines.py),
    without making each into an object every minute at every seat (a backlog of 96,000
    open escalations took ~1.1 s and ~100 MB of a seat at each look)."""
    last = q.last_escalation_id(store)
    if after is None:
        name = (user or "").casefold()
        waiting, first, all_own = 0, None, True
        for head in q.open_escalation_heads(store):     # one at a time: no list of them
            escalation_id, owner, sent_to, at = head
            last = max(last, escalation_id)
            if not _sees(user, owner, sent_to, policy, role, solo):
                continue
            waiting += 1
            all_own = all_own and bool(owner) and owner.casefold() == name
            if first is None or (at, escalation_id) < first:   # the oldest: at, then id
                first = (at, escalation_id)
        if first is None:
            return EscalationNews(last_id=last)
        [row] = q.escalation_rows(store, ids=[first[1]])
        return EscalationNews(waiting=waiting, oldest=Escalation.from_row(row),
                              all_own=all_own, last_id=last)
    if last <= after:
        return EscalationNews(last_id=after)
    made = [Escalation.from_row(r) for r in q.escalation_rows(store, open_only=True,
                                                              after_id=after)]
    return EscalationNews(new=[e for e in made if sees_escalation(user, e, policy, role, solo)],
                          last_id=max([last, *(e.id for e in made)]))


# -- the overdue view --------------------------------------------------------------------


@record(frozen=True)
class OverdueItem:
    """An open follow-up past its due time or a deadline, and its escalations."""

    followup: Any  # calls.followups.Followup
    missed: list[Deadline]
    escalations: list[Escalation]

    def to_dict(self) -> dict[str, Any]:
        """The follow-up's JSON with ``missed_deadlines`` and ``escalations``."""
        out = self.followup.to_dict()
        out["missed_deadlines"] = [{"deadline": d.name, "deadline_at": to_iso(d.at)}
                                   for d in self.missed]
        out["escalated"] = bool(self.escalations)
        out["escalations"] = [e.to_dict() for e in self.escalations]
        return out


def overdue_followups(store: Store, now: datetime, policy: Policy = DEFAULT_POLICY, *,
                      owner: str | None = None, kind: str | None = None,
                      customer_id: int | None = None) -> list[OverdueItem]:
    """Open follow-ups past their due time or past a deadline at ``now``, due first."""
    from calls.followups import Followup, list_followups

    by_id: dict[int, Followup] = {
        f.id: f for f in list_followups(store, owner=owner, kind=kind, status="open",
                                        due_before=now - timedelta(seconds=1),
                                        customer_id=customer_id)
    }
    missed: dict[int, list[Deadline]] = {}
    for row in q.missed_candidate_rows(store, missed_cuts(store, policy, now, kind),
                                       owner=owner):
        if customer_id is not None and row["customer_id"] != customer_id:
            continue
        late = _row_missed(row, now, policy)
        if late:
            missed[row["id"]] = late
            by_id.setdefault(row["id"], Followup.from_row(row))
    for f in by_id.values():
        missed.setdefault(f.id, [d for d in deadlines_for(
            f.kind, f.created_at, f.due_at, f.occasion, policy) if now > d.at and not (
                d.name == FIRST_CONTACT and f.first_contact_at is not None)])
    escalations = escalations_by_followup(store, by_id)
    items = [OverdueItem(f, missed[f.id], escalations.get(f.id, [])) for f in by_id.values()]
    far = datetime.max.replace(tzinfo=UTC)

    def first_due(item: OverdueItem) -> tuple:
        moments = [d.at for d in item.missed]
        if item.followup.due_at is not None:
            moments.append(item.followup.due_at)
        return (min(moments) if moments else far, item.followup.id)

    return sorted(items, key=first_due)


# -- history -----------------------------------------------------------------------------


@record(frozen=True)
class StatusSpell:
    """A time a follow-up spent in one status (``until`` None: still in it)."""

    status: str
    since: datetime
    until: datetime | None
    by: str | None

    def duration(self, now: datetime) -> timedelta:
        """How long it was (or has been, at ``now``) in this status."""
        return (self.until or now) - self.since


def status_history(store: Store, followup_id: int) -> list[StatusSpell]:
    """Each status the follow-up has been in, from when to when, and who moved it there."""
    rows = q.history_rows(store, followup_id)
    out = []
    for i, row in enumerate(rows):
        until = from_iso(rows[i + 1]["at"]) if i + 1 < len(rows) else None
        if row["status"] in ("done", "cancelled"):
            until = from_iso(row["at"])  # the end: no time is spent "in" a closed status
        out.append(StatusSpell(row["status"], from_iso(row["at"]), until, row.get("by")))
    return out


# -- the report's figures ------------------------------------------------------------------


@record(frozen=True)
class DeadlineFigures:
    """Per kind and owner: closed on time, median hours to first contact and to close."""

    kind: str
    owner: str
    opened: int                    # opened in the period
    closed: int                    # done in the period
    closed_on_time: int            # of those, done by their close deadline
    on_time_share: float | None    # % of closed (with a close deadline) done on time
    contacted: int                 # first contacted in the period
    median_hours_to_first_contact: float | None
    median_hours_to_close: float | None
    escalated: int                 # follow-ups of these with an escalation
    open_past_deadline: int        # still open and past a deadline at the end


def deadline_figures(store: Store, start: str, end: str, as_of: datetime,
                     policy: Policy = DEFAULT_POLICY) -> list[DeadlineFigures]:
    """The deadline figures for ``[start, end)``; open ones are judged at ``as_of``."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in q.figure_rows(store, start, end):
        key = (row["kind"], row.get("owner") or "anyone")
        g = groups.setdefault(key, {"opened": 0, "closed": 0, "on_time": 0, "with_deadline": 0,
                                    "contact": [], "close": [], "escalated": 0, "past": 0})
        created = from_iso(row["created_at"])
        if start <= row["created_at"] < end:
            g["opened"] += 1
        if row["escalations"]:
            g["escalated"] += 1
        first_text = row.get("first_contact_at")
        if first_text is None and row["status"] == "done":
            # Closed before first contacts were recorded (or written closed by an
            # import): the close was the contact at the latest.
            first_text = row.get("closed_at")
        if first_text and start <= first_text < end:
            g["contact"].append((from_iso(first_text) - created).total_seconds() / 3600)
        closed = _moment(row, "closed_at")
        if row["status"] == "done" and closed is not None and start <= row["closed_at"] < end:
            g["closed"] += 1
            g["close"].append((closed - created).total_seconds() / 3600)
            close = [d for d in deadlines_for(row["kind"], created, _moment(row, "due_at"),
                                              row.get("occasion"), policy) if d.name == CLOSE]
            if close:
                g["with_deadline"] += 1
                g["on_time"] += closed <= close[0].at
        if _row_missed(row, as_of, policy):
            g["past"] += 1
    out = []
    for (kind, owner), g in sorted(groups.items()):
        out.append(DeadlineFigures(
            kind=kind, owner=owner, opened=g["opened"], closed=g["closed"],
            closed_on_time=g["on_time"],
            on_time_share=(round(100.0 * g["on_time"] / g["with_deadline"], 1)
                           if g["with_deadline"] else None),
            contacted=len(g["contact"]),
            median_hours_to_first_contact=round(median(g["contact"]), 1) if g["contact"] else None,
            median_hours_to_close=round(median(g["close"]), 1) if g["close"] else None,
            escalated=g["escalated"], open_past_deadline=g["past"],
        ))
    return out
