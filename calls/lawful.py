"""May this customer be called now, on what basis, and how often: pure rules over a row.

Two questions the queue, ``explain`` and the call session ask of every customer:

- **basis** (:func:`basis_for`): does the customer's consent, contract or relationship
  allow a call of this purpose where they live? (Germany: consumers need recorded consent
  for any call; marketing needs consent or a relationship in most places.) Consent to
  calls withdrawn means no call at all, anywhere.
- **holds** (:func:`contact_holds`): caps on calls per period from every reason together,
  and a quiet period after a refusal: the rule packs' limits and the policy's own, the
  stricter winning.

Everything here takes ``now`` and reads no clock and no database.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from calls import rules as lawrules
from calls.clock import from_iso, parse_date
from calls.outcomes import CONTACT, Outcome
from calls.policy import DEFAULT_POLICY, Policy, format_duration
from calls.records import record

# Outcomes that are the customer saying no (the quiet period after a refusal).
REFUSALS = frozenset({Outcome.REFUSED.value, Outcome.DO_NOT_CALL.value})
CONTACT_CODES = frozenset(o.value for o in CONTACT)
NEED_WORDS = {"consent": "recorded consent", "contract": "a current contract",
              "relationship": "a recent purchase"}


@record(frozen=True)
class Basis:
    """Whether a call of ``purpose`` may be made to a customer, and why (not)."""

    ok: bool
    text: str
    rule: lawrules.Rule | None = None


def customer_type(row: dict, policy: Policy = DEFAULT_POLICY) -> str:
    """``consumer`` or ``business``: the list's word, else the policy's default."""
    value = (row.get("customer_type") or "").strip().lower()
    return value if value in lawrules.CUSTOMER_TYPES else policy.lawful.default_customer_type


def _consent_word(purpose: str) -> str:
    return "marketing" if purpose == "marketing" else "calls"


def _has(need: str, rule: lawrules.Rule, row: dict, purpose: str, today: date) -> bool:
    if need == "consent":
        return row.get(f"consent_{_consent_word(purpose)}") == "given"
    if need == "contract":
        return bool(row.get("contract"))
    if need == "relationship":
        if row.get("contract"):
            return True
        last = parse_date(row.get("last_purchase"))
        months = rule.relationship_months or 18
        return last is not None and today <= _add_months(last, months)
    return False


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def basis_for(row: dict, purpose: str, now: datetime, policy: Policy = DEFAULT_POLICY,
              jurisdiction: str | None = None) -> Basis:
    """May a call of ``purpose`` (care, survey, marketing) be made to this customer?

    ``row`` is a ``customers`` row; ``jurisdiction`` its code when the caller has it
    already (else worked out from the row).
    """
    if row.get("consent_calls") == "withdrawn":
        return Basis(False, "withdrew consent to be called")
    if purpose == "marketing" and row.get("consent_marketing") == "withdrawn":
        return Basis(False, "withdrew consent to marketing")
    code = jurisdiction if jurisdiction is not None else lawrules.row_jurisdiction(row)
    kind = customer_type(row, policy)
    today = now.date()
    for rule in lawrules.rules_for(code, "basis", purpose, kind, today):
        if any(_has(need, rule, row, purpose, today) for need in rule.needs):
            continue
        needs = " or ".join(NEED_WORDS[n] for n in rule.needs)
        return Basis(False, f"no basis for a {purpose} call to a {kind}: needs {needs}; "
                            f"by law: {rule.cites()}", rule)
    return Basis(True, "")


def needs_consent_only(country: str, purpose: str, kind: str, day: date) -> bool:
    """True when ``country``'s own pack lets only recorded consent allow such a call (the
    queue filters those customers in SQL)."""
    return any(r.needs == ("consent",)
               for r in lawrules.rules_for(country, "basis", purpose, kind, day, national=True))


# -- caps and quiet periods ----------------------------------------------------------------


@record(frozen=True)
class PastCall:
    """One earlier call of the customer: when it started and how it ended (None: not yet)."""

    started_at: datetime
    outcome: str | None


def past_calls(rows: Iterable[dict]) -> list[PastCall]:
    """``calls`` rows (``started_at``, ``outcome``) as :class:`PastCall`."""
    return [PastCall(from_iso(r["started_at"]), r.get("outcome")) for r in rows
            if r.get("started_at")]


def horizon(policy: Policy = DEFAULT_POLICY, jurisdiction: str | None = None) -> timedelta:
    """How far back a call can still hold a customer (the longest cap or quiet period):
    of any jurisdiction, or of this one (a customer whose last call is older is free)."""
    c = policy.contact
    return max(timedelta(days=max(c.attempts_days, c.contacts_days, c.refusal_quiet_days)),
               _law_horizon(jurisdiction))


@functools.lru_cache(maxsize=1024)
def _law_horizon(jurisdiction: str | None) -> timedelta:
    found = (lawrules.packs().values() if jurisdiction is None
             else lawrules.packs_for(jurisdiction))
    return max((s for p in found for r in p.rules for s in (r.period, r.quiet)
                if s is not None), default=timedelta(0))


def contact_holds(calls: list[PastCall], now: datetime, policy: Policy = DEFAULT_POLICY, *,
                  jurisdiction: str = "", kind: str = "consumer", purpose: str = "care",
                  asked: bool = False) -> list[lawrules.Hold]:
    """What holds the customer back at ``now`` because of earlier calls (empty: nothing).

    ``asked``: the call is a callback the customer asked for, which the company's own
    limits let through (the law's still apply).
    """
    out: list[lawrules.Hold] = []
    times = [c.started_at for c in calls]
    for rule in lawrules.rules_for(jurisdiction, "attempts", purpose, kind, now.date()):
        until = lawrules.count_hold(times, rule.max_calls, rule.period, now)
        if until is not None:
            out.append(lawrules.Hold(
                "attempts", f"{rule.max_calls} calls within {format_duration(rule.period)}; "
                            f"by law: {rule.cites()}", until, rule))
    refusals = [c.started_at for c in calls if c.outcome in REFUSALS and c.started_at <= now]
    last_no = max(refusals, default=None)
    if last_no is not None:
        for rule in lawrules.rules_for(jurisdiction, "refusal", purpose, kind, now.date()):
            if last_no + rule.quiet > now:
                out.append(lawrules.Hold(
                    "refusal", f"refused on {last_no:%Y-%m-%d}; quiet for "
                               f"{rule.quiet.days} days by law: {rule.cites()}",
                    last_no + rule.quiet, rule))
    if asked:
        return out
    c = policy.contact
    until = lawrules.count_hold(times, c.max_attempts, timedelta(days=c.attempts_days), now)
    if until is not None:
        out.append(lawrules.Hold(
            "attempts", f"{c.max_attempts} calls within {c.attempts_days} days "
                        f"(policy contact.max_attempts)", until))
    contacts = [t.started_at for t in calls if t.outcome in CONTACT_CODES]
    until = lawrules.count_hold(contacts, c.max_contacts, timedelta(days=c.contacts_days), now)
    if until is not None:
        out.append(lawrules.Hold(
            "contacts", f"reached {c.max_contacts} times within {c.contacts_days} days "
                        f"(policy contact.max_contacts)", until))
    if last_no is not None and c.refusal_quiet_days:
        end = last_no + timedelta(days=c.refusal_quiet_days)
        if end > now:
            out.append(lawrules.Hold(
                "refusal", f"refused on {last_no:%Y-%m-%d}; quiet for {c.refusal_quiet_days} "
                           f"days (policy contact.refusal_quiet_days)", end))
    return out


def voicemails_left(calls: list[PastCall], cycle_start: datetime | None) -> int:
    """Voicemails left since the current care cycle began (None: since ever)."""
    return sum(1 for c in calls if c.outcome == Outcome.VOICEMAIL.value
               and (cycle_start is None or c.started_at > cycle_start))


# -- in a call (the call session asks these) ---------------------------------------------------


def marketing_allowed(store, customer_id: int, now: datetime,
                      policy: Policy = DEFAULT_POLICY) -> bool:
    """May marketing questions be asked of this customer now (their basis for marketing)?"""
    from calls.store.queue import customer_rows

    row = customer_rows(store, [customer_id]).get(customer_id)
    return row is not None and basis_for(row, "marketing", now, policy).ok


def recording_rule(jurisdiction: str, policy: Policy = DEFAULT_POLICY) -> lawrules.Rule | None:
    """The rule that makes the recording notice's answer needed before the questions
    (all-party consent to recording where the customer is), or None. ``lawful.recording``:
    "off" (calls are not recorded) needs none; "always" needs it everywhere."""
    mode = policy.lawful.recording
    if mode == "off":
        return None
    found = lawrules.rules_for(jurisdiction, "recording")
    if found:
        return found[0]
    if mode == "always":
        return lawrules.Rule(pack="policy", key="lawful.recording", kind="recording",
                             source="policy lawful.recording = \"always\"")
    return None


def customer_recording_rule(store, customer_id: int, policy: Policy = DEFAULT_POLICY
                            ) -> lawrules.Rule | None:
    """:func:`recording_rule` for a customer in the store."""
    from calls.store.queue import customer_rows

    row = customer_rows(store, [customer_id]).get(customer_id)
    return None if row is None else recording_rule(lawrules.row_jurisdiction(row), policy)


def check_voicemail(store, customer_id: int, policy: Policy = DEFAULT_POLICY) -> None:
    """Refuse a voicemail beyond ``contact.voicemails_per_cycle`` in the customer's current
    care cycle (a UserError that says what to pick instead)."""
    from calls.errors import UserError
    from calls.store.consent import voicemails_this_cycle

    limit = policy.contact.voicemails_per_cycle
    if voicemails_this_cycle(store, customer_id) >= limit:
        raise UserError(f"a voicemail was already left this care cycle (policy "
                        f"contact.voicemails_per_cycle = {limit}): leave no message, "
                        "pick no answer")
