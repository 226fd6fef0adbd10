"""A past year of care calls for the demo database, so reports and the dashboard show
something on the first run.

The history is simulated, seeded and reproducible (the same seed and the same ``now``
give the same rows): each customer goes through care cycles at their tier's cadence,
calls land on weekdays inside office hours in the customer's own time zone, outcomes
retry as the policy says, completed calls carry answers to the shipped quarterly script,
and what customers say becomes follow-ups — detractors get a fix and, once it is done, a
recovery call with the score before and after; promoters refer; needs become leads.
Nothing is written when the database already holds calls.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from calls.calling import next_care_state
from calls.clock import UTC, to_iso
from calls.outcomes import Outcome
from calls.store import Store
from calls.store import reports as q
from calls.store.scripts import store_script
from calls.survey.script import load_script

CALLERS = ("alex", "sam", "jo", "kim", "ravi")
SEED = 2026
HISTORY_DAYS = 365
# Outcome weights of one attempt (no do-not-call or wrong numbers: those change the list).
_ATTEMPT = (
    (Outcome.COMPLETED, 36), (Outcome.NO_ANSWER, 26), (Outcome.VOICEMAIL, 14),
    (Outcome.BUSY, 5), (Outcome.REFUSED, 6), (Outcome.CALLBACK, 6), (Outcome.PARTIAL, 3),
    (Outcome.OTHER_CONTACT, 4),
)
# NPS answers lean positive, as they do for a business that calls its customers.
_NPS_WEIGHTS = (3, 1, 2, 2, 3, 4, 6, 11, 18, 24, 26)
_WELL = ("friendly people", "fast delivery", "quality is consistent", "easy to order",
         "they know our account", "good prices")
_IMPROVE = ("delivery took too long", "invoice had errors", "hard to reach support",
            "a part arrived damaged", "price went up", "website is slow")
_AREAS = ("delivery", "price", "service", "quality", "other")
_NEEDS = ("new site opening in spring", "looking at a bigger order next quarter",
          "replacing old equipment")


@dataclass
class _Customer:
    id: int
    tier: str
    owner: str | None
    zone: str
    last_purchase: str | None
    state: dict = field(default_factory=dict)


def _office_moment(rng: random.Random, day: datetime, zone: str) -> datetime:
    """A moment on ``day`` (moved to a weekday) between 09:00 and 17:00 in ``zone``."""
    local_day = day.astimezone(ZoneInfo(zone)).date()
    while local_day.weekday() >= 5:
        local_day += timedelta(days=1)
    minutes = rng.randrange(9 * 60, 17 * 60)
    local = datetime.combine(local_day, time(minutes // 60, minutes % 60),
                             tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(microsecond=0)


class _History:
    def __init__(self, store: Store, now: datetime, rng: random.Random, policy) -> None:
        self.store = store
        self.now = now
        self.rng = rng
        self.policy = policy
        self.calls = 0
        self.answers = 0
        self.followups = 0
        self.scripts = self._scripts()

    def _scripts(self) -> dict[str, tuple[int | None, frozenset[str]]]:
        """The shipped scripts the history uses: id in the store and question keys."""
        out: dict[str, tuple[int | None, frozenset[str]]] = {}
        for name in ("quarterly", "recovery"):
            script = load_script(name)
            out[name] = (store_script(self.store, script, self.now, by="demo"), frozenset(script.keys))
        return out

    # -- one call ---------------------------------------------------------------------

    def call(self, c: _Customer, at: datetime, outcome: Outcome, script: str,
             reason: str, callback_at: datetime | None = None) -> tuple[int, datetime]:
        rng = self.rng
        talk = outcome in (Outcome.COMPLETED, Outcome.PARTIAL, Outcome.CALLBACK,
                           Outcome.REFUSED, Outcome.OTHER_CONTACT)
        seconds = rng.randint(150, 540) if outcome is Outcome.COMPLETED else (
            rng.randint(40, 200) if talk else rng.randint(20, 45))
        ended = at + timedelta(seconds=seconds)
        script_id = self.scripts[script][0] if talk else None
        [call_id] = q.insert_calls(self.store, [{
            "customer_id": c.id, "caller": rng.choice(CALLERS), "script_id": script_id,
            "reason": reason, "started_at": to_iso(at),
            "connected_at": to_iso(at + timedelta(seconds=15)) if talk else None,
            "ended_at": to_iso(ended), "outcome": outcome.value,
            "callback_at": to_iso(callback_at) if callback_at else None,
            "callback_personal": 1 if callback_at else None,
            "purpose": "care",   # the shipped scripts' call purpose (docs/lawful.md)
        }])
        self.calls += 1
        self._advance_state(c, outcome, ended)
        return call_id, ended

    def _advance_state(self, c: _Customer, outcome: Outcome, ended: datetime) -> None:
        c.state = next_care_state(c.state, outcome, ended, self.policy)

    def answer(self, call_id: int, script: str, at: datetime, values: dict) -> None:
        keys = self.scripts[script][1]
        rows = []
        for i, (key, (qtype, value)) in enumerate(values.items()):
            if key in keys or not keys:
                rows.append((call_id, key, qtype, value, to_iso(at + timedelta(seconds=20 * i))))
        q.insert_answers(self.store, rows)
        self.answers += len(rows)

    def followup(self, **row) -> int:
        [fid] = q.insert_followups(self.store, [{"source": "rule", "created_by": "demo", **row}])
        self.followups += 1
        return fid

    # -- what a completed call says -------------------------------------------------------

    def survey(self, c: _Customer, call_id: int, ended: datetime) -> None:
        rng = self.rng
        nps = rng.choices(range(11), _NPS_WEIGHTS)[0]
        values: dict = {"nps": ("nps", nps)}
        if rng.random() < 0.6:
            values["going_well"] = ("text", rng.choice(_WELL))
        if nps <= 8:
            values["improve"] = ("text", rng.choice(_IMPROVE))
        if nps <= 6:
            values["problem_area"] = ("choice", rng.choice(_AREAS))
        if c.last_purchase:
            values["last_order_csat"] = ("rating", max(1, min(5, round(nps / 2.2 + rng.gauss(
                0.4, 0.8)))))
        values["contact_ok"] = ("yes_no", rng.random() < 0.9)
        referral = nps >= 9 and rng.random() < 0.35
        if nps >= 9:
            values["referral_ok"] = ("yes_no", referral)
        need = rng.random() < 0.12
        values["need"] = ("yes_no", need)
        if need:
            values["need_detail"] = ("text", rng.choice(_NEEDS))
        values["send_info"] = ("yes_no", False)
        self.answer(call_id, "quarterly", ended - timedelta(seconds=200), values)

        owner = c.owner or "account_owner"
        if nps <= 6:
            self.detractor_loop(c, call_id, ended, nps, owner)
        if referral:
            self.closable("referral", c, call_id, ended, owner, timedelta(days=3),
                          f"Promoter (NPS {nps}) will refer a contact.")
        if need:
            self.closable("sales_lead", c, call_id, ended, owner, timedelta(days=5),
                          values["need_detail"][1])

    def _late(self, share: float = 0.08) -> bool:
        """Whether this follow-up is one of the few a busy team worked late."""
        return self.rng.random() < share

    def _contact(self, created: datetime, closed: datetime) -> datetime | None:
        """When the owner first reached the customer: mostly within the 48 hours the
        deadlines ask for (a few late), never after closing; None when not yet."""
        hours = self.rng.uniform(50, 80) if self._late() else self.rng.uniform(2, 40)
        contact = min(created + timedelta(hours=hours), closed)
        return contact if contact < self.now else None

    def closable(self, kind: str, c: _Customer, call_id: int, created: datetime, owner: str,
                 due: timedelta, note: str) -> None:
        # Worked within days as a rule (a few late); only the last days' are still open.
        days = self.rng.uniform(10, 20) if self._late() else self.rng.uniform(0.5, 8)
        closed = created + timedelta(days=days)
        done = closed < self.now
        contact = self._contact(created, closed)
        self.followup(kind=kind, customer_id=c.id, call_id=call_id, owner=owner,
                      created_at=to_iso(created), due_at=to_iso(created + due),
                      status="done" if done else "open", details=note,
                      first_contact_at=to_iso(contact) if contact else None,
                      closed_at=to_iso(closed) if done else None,
                      closed_by=owner if done else None)

    def detractor_loop(self, c: _Customer, call_id: int, ended: datetime, nps: int,
                       owner: str) -> None:
        rng = self.rng
        # The loop closes as the deadlines ask (first contact in 48 h, fixed in 10 days)
        # for most detractors; a few are late, and only the last days' are still open. A
        # new demo must not open on a year of escalations nobody would have let happen.
        days = rng.uniform(10.5, 14) if self._late() else rng.uniform(1, 8)
        fixed_at = ended + timedelta(days=days)
        done = fixed_at < self.now
        contact = self._contact(ended, fixed_at)
        fix_id = self.followup(
            kind="fix_problem", customer_id=c.id, call_id=call_id, owner=owner,
            created_at=to_iso(ended), due_at=to_iso(ended + timedelta(days=2)),
            status="done" if done else "open", details=f"Detractor (NPS {nps}).",
            first_contact_at=to_iso(contact) if contact else None,
            closed_at=to_iso(fixed_at) if done else None, closed_by=owner if done else None,
            close_note="Sorted out with the customer." if done else None, score_before=nps,
        )
        if not done:
            return
        # The recovery call within the 72 hours its deadline gives, now and then later.
        wait = rng.uniform(3.2, 6) if self._late() else rng.uniform(0.3, 2.5)
        recall = _office_moment(rng, fixed_at + timedelta(days=wait), c.zone)
        made = recall < self.now - timedelta(hours=1)
        recovery = {
            "kind": "recovery_call", "customer_id": c.id, "call_id": call_id, "owner": None,
            "created_at": to_iso(fixed_at), "due_at": to_iso(fixed_at + timedelta(days=2)),
            "parent_id": fix_id, "score_before": nps, "status": "open",
            "details": f"Recovery call after the fix (NPS before {nps}).",
        }
        if made:
            rec_call, rec_end = self.call(c, recall, Outcome.COMPLETED, "recovery", "recovery")
            after = min(10, nps + rng.choice((0, 1, 2, 3, 3, 4, 5, 6)))
            fixed_ok = after >= 5
            values = {"fixed_ok": ("yes_no", fixed_ok), "nps": ("nps", after)}
            if not fixed_ok:
                values["still_wrong"] = ("text", rng.choice(_IMPROVE))
            self.answer(rec_call, "recovery", rec_end - timedelta(seconds=90), values)
            recovery.update(status="done", closed_at=to_iso(rec_end),
                            closed_by=CALLERS[rec_call % len(CALLERS)],
                            score_after=after, closed_call_id=rec_call)
        self.followup(**recovery)

    def past_occasions(self) -> None:
        """The cards and gifts the planner made for the last days' birthdays and
        anniversaries, written and sent on time: without them the first planner run of a
        new demo makes notes already past their occasion (escalated at once)."""
        from calls.planner import plan

        days = max(1, int(getattr(self.policy.occasions, "days_ahead", 14)))
        planned = plan(self.store, self.now - timedelta(days=days), self.policy, by="demo")
        closes = []
        for f in planned.planned:
            if f.due_at is not None and f.due_at < self.now and f.status == "open":
                sent = max(f.created_at, f.due_at - timedelta(days=self.rng.uniform(0.5, 3)))
                closes.append((f.id, to_iso(sent), f.owner or "office"))
        q.close_followups_done(self.store, closes)
        self.followups += len(planned.planned)

    # -- a customer's year ------------------------------------------------------------------

    def customer_year(self, c: _Customer) -> None:
        rng = self.rng
        cadence = timedelta(days=self.policy.cadence_days.get(c.tier, 365))
        start = self.now - timedelta(days=HISTORY_DAYS)
        t = start + timedelta(days=rng.uniform(0, min(cadence.days, 300)))
        max_attempts = self.policy.cycle.max_attempts
        while t < self.now - timedelta(days=1):
            attempts = 0
            reason = "care"
            while attempts < max_attempts:
                at = _office_moment(rng, t, c.zone)
                if at >= self.now - timedelta(hours=1):
                    return
                outcome = rng.choices([o for o, _ in _ATTEMPT], [w for _, w in _ATTEMPT])[0]
                callback = None
                if outcome is Outcome.CALLBACK:
                    callback = _office_moment(rng, at + timedelta(days=rng.randint(1, 3)), c.zone)
                call_id, ended = self.call(c, at, outcome, "quarterly", reason, callback)
                if outcome is Outcome.COMPLETED:
                    self.survey(c, call_id, ended)
                    break
                if outcome is Outcome.PARTIAL:
                    self.answer(call_id, "quarterly", ended - timedelta(seconds=30),
                                {"nps": ("nps", rng.choices(range(11), _NPS_WEIGHTS)[0])})
                    break
                if outcome is Outcome.CALLBACK:
                    answered = callback < self.now
                    self.followup(kind="callback", customer_id=c.id, call_id=call_id,
                                  owner=None, created_at=to_iso(ended),
                                  due_at=to_iso(callback),
                                  status="done" if answered else "open",
                                  closed_at=to_iso(callback) if answered else None,
                                  # the caller who made the callback (no random draw: the
                                  # rest of the history stays as it was)
                                  closed_by=CALLERS[call_id % len(CALLERS)]
                                  if answered else None,
                                  source="outcome")
                    t, reason = callback, "callback"
                    continue
                attempts += 1
                delay = {Outcome.REFUSED: timedelta(days=7)}.get(
                    outcome, timedelta(days=rng.uniform(0.5, 3)))
                t = at + delay
            else:
                # the cycle closed unreached: a letter goes out instead
                letter_at = t + timedelta(days=1)
                if letter_at < self.now:
                    self.followup(kind="unreached_letter", customer_id=c.id, owner="office",
                                  created_at=to_iso(letter_at),
                                  due_at=to_iso(letter_at + timedelta(days=5)),
                                  status="done", closed_at=to_iso(letter_at + timedelta(
                                      days=rng.uniform(1, 5))), closed_by="office",
                                  source="planner",
                                  details="Letter: we tried to reach you.")
            t = t + cadence + timedelta(days=rng.uniform(-7, 14))


def generate_history(store: Store, now: datetime, *, seed: int = SEED, policy=None) -> dict:
    """Write a year of simulated calls, answers and follow-ups before ``now``.

    Returns counts (``calls``, ``answers``, ``followups``, ``customers``); all zero and
    ``skipped: True`` when the database already holds calls (a real or earlier history).
    """
    if q.count_calls(store):
        return {"skipped": True, "calls": 0, "answers": 0, "followups": 0, "customers": 0}
    if policy is None:
        from calls.policy import load_policy

        policy = load_policy(None)
    rng = random.Random(seed)
    with store.write():
        history = _History(store, now, rng, policy)
    customers = [
        _Customer(row["id"], row["tier"] or "C", row["owner"], _first_zone(row["time_zones"]),
                  row["last_purchase"])
        for row in q.demo_customers(store)
    ]
    called = 0
    # One transaction: a demo database is either given its whole history or none of it.
    with store.write():
        for c in customers:
            # about one customer in twelve is new this year and has not been called yet
            if rng.random() < 0.08:
                continue
            history.customer_year(c)
            called += 1
            if c.state:
                q.set_care_state(store, c.id, c.state)
    history.past_occasions()
    return {"skipped": False, "calls": history.calls, "answers": history.answers,
            "followups": history.followups, "customers": called}


def _first_zone(text: str | None) -> str:
    try:
        zones = json.loads(text) if text else []
    except ValueError:
        zones = []
    for name in zones:
        try:
            ZoneInfo(name)
            return name
        except (ValueError, KeyError, OSError):
            continue
    return "America/New_York"
