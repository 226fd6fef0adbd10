"""The care policy: tiers, cadence, calling hours, retry rules, claims, occasions, purchases.

Everything here is pure: functions take ``now`` (a timezone-aware datetime) and never read
the clock or the database. A supervisor overrides any value in a TOML file
(``--policy FILE`` or ``$CARECALL_POLICY``); see ``calls/data/policy.example.toml`` and
docs/policy.md. A bad file is refused with a :class:`~calls.errors.UserError` that names
the file and the key.
"""

from __future__ import annotations

import functools
import itertools
import os
import tomllib
from dataclasses import field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calls import rules as lawrules
from calls.errors import UserError
from calls.outcomes import Outcome
from calls.records import record

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIERS = ("A", "B", "C")

# Queue reason codes in their default priority order (DESIGN.md "Reasons").
REASONS = (
    "callback",
    "recovery",
    "thank_you",
    "occasion",
    "at_risk",
    "overdue",
    "never_called",
)

# Minutes of the day: an open span is [start, end).
Span = tuple[int, int]
DayHours = tuple[Span, ...]


@record(frozen=True)
class TierPolicy:
    """80/20 thresholds: A = first ``a_share`` of revenue, B = up to ``b_share``, C = rest."""

    a_share: float = 0.80
    b_share: float = 0.95


@record(frozen=True)
class CountryRules:
    """Calling rules for numbers of one country (ISO 3166 alpha-2).

    ``hours`` replaces the default hours for the weekdays it names; ``earliest`` and
    ``latest`` (minutes of the day) are a hard limit no hours may cross (the US federal
    08:00–21:00 rule); ``skip_holidays`` overrides the global setting.
    """

    hours: dict[int, DayHours] = field(default_factory=dict)
    earliest: int | None = None
    latest: int | None = None
    skip_holidays: bool | None = None


@record(frozen=True)
class CallingPolicy:
    """When a customer may be called, in the customer's own local time."""

    hours: dict[int, DayHours] = field(
        default_factory=lambda: {
            0: ((540, 1200),),
            1: ((540, 1200),),
            2: ((540, 1200),),
            3: ((540, 1200),),
            4: ((540, 1200),),
            5: ((600, 1020),),
            6: (),
        }
    )
    # Narrowing per country (ISO 3166 alpha-2). The law of each place is not here: it
    # is in the rule packs (calls/data/rules/), which every window also obeys.
    countries: dict[str, CountryRules] = field(default_factory=dict)
    # Used when the phone number maps to no known time zone.
    fallback_time_zone: str = "UTC"
    # Public holidays of the number's country and region are closed (where a rule pack
    # closes them by law, this cannot be turned off).
    skip_holidays: bool = True


@record(frozen=True)
class RetryPolicy:
    """How long a customer waits after a failed attempt, per outcome (minutes)."""

    # Defaults from the outcome table (calls/outcomes.py): each entry's retry_minutes.
    minutes: dict[str, int] = field(
        default_factory=lambda: {o.value: o.spec.retry_minutes for o in Outcome
                                 if o.spec.retry_minutes}
    )

    def delay(self, outcome: str) -> timedelta | None:
        """The wait after ``outcome``, or None when the outcome sets no retry delay."""
        value = self.minutes.get(str(outcome))
        return timedelta(minutes=value) if value else None


@record(frozen=True)
class CyclePolicy:
    """A care cycle ends with a contact, or unreached after ``max_attempts`` attempts."""

    max_attempts: int = 5
    # Outcomes that count as the care call being made (the cycle is closed); defaults
    # from the outcome table's ends_cycle.
    closing_outcomes: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.value for o in Outcome if o.spec.ends_cycle))
    # Outcomes that count as an attempt towards the cap (the table's counts_attempt).
    counted_outcomes: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.value for o in Outcome if o.spec.counts_attempt))


@record(frozen=True)
class ClaimsPolicy:
    """A claim (lease) keeps a customer with one caller; a skip hides them a while."""

    lease_minutes: int = 30
    skip_minutes: int = 30


@record(frozen=True)
class CallbacksPolicy:
    """A personal callback becomes anyone's this long after it fell due."""

    personal_grace_minutes: int = 15


@record(frozen=True)
class OccasionsPolicy:
    """Call ahead of a birthday or a customer-since anniversary."""

    days_ahead: int = 7
    birthday: bool = True
    anniversary: bool = True


@record(frozen=True)
class PurchasesPolicy:
    """Purchase-driven reasons: thank-you after a purchase, "buying slowed"."""

    revenue_window_days: int = 365
    thank_you_days: int = 14
    at_risk_factor: float = 2.0


@record(frozen=True)
class FollowupsPolicy:
    """Planned care read by the follow-ups planner: gifts per tier, notes ahead of dates."""

    gift_tiers: tuple[str, ...] = ("A",)
    note_days_ahead: int = 10
    # A recovery call falls due this long after its fix_problem is closed.
    recovery_delay_hours: float = 0.0
    # A planned note or gift is due this many days before the occasion (time to post it).
    post_days: int = 3
    # Notes and gifts also go to do-not-call customers (mail is not a call).
    mail_dnc: bool = False


# -- loop (issue 17): deadlines and escalation, themes, segments ----------------------

# Kinds of follow-up a deadline may be set for (calls.models.FOLLOWUP_KINDS).
DEADLINE_KEYS = {"first_contact_hours", "close_hours", "at_due", "grace_minutes",
                 "before_occasion"}


@record(frozen=True)
class KindDeadline:
    """The deadlines of one follow-up kind, counted from when it was opened.

    ``first_contact_hours``: the customer is contacted about it within this time;
    ``close_hours``: it is done within this time; ``at_due``: its own due time is the
    deadline (callbacks), ``grace_minutes`` after it; ``before_occasion``: done before the
    day of its occasion (notes and gifts; the due time when it names no occasion).
    """

    first_contact_hours: float | None = None
    close_hours: float | None = None
    at_due: bool = False
    grace_minutes: int = 0
    before_occasion: bool = False


def _default_deadlines() -> dict[str, KindDeadline]:
    return {
        # CustomerGauge's published target: a detractor contacted within 48 hours.
        "fix_problem": KindDeadline(first_contact_hours=48, close_hours=240),
        # A callback is made at the time asked for (a personal one is anyone's after the
        # same grace the queue gives: callbacks.personal_grace_minutes).
        "callback": KindDeadline(at_due=True, grace_minutes=15),
        "recovery_call": KindDeadline(close_hours=72),
        "thank_you_note": KindDeadline(before_occasion=True),
        "gift": KindDeadline(before_occasion=True),
        "send_info": KindDeadline(close_hours=48),
        "referral": KindDeadline(close_hours=14 * 24),
        "escalate": KindDeadline(first_contact_hours=24, close_hours=5 * 24),
        "sales_lead": KindDeadline(first_contact_hours=48),
        "unreached_letter": KindDeadline(close_hours=72),
    }


@record(frozen=True)
class DeadlinesPolicy:
    """Deadlines per follow-up kind, and whom a missed one is escalated to."""

    kinds: dict[str, KindDeadline] = field(default_factory=_default_deadlines)
    # Until accounts name each owner's supervisor: the supervisors, as a group.
    supervisors: tuple[str, ...] = ()
    group: str = "supervisors"


@record(frozen=True)
class Theme:
    """One theme of the vocabulary: its key, a label, keywords per language."""

    key: str
    label: str
    words: dict[str, tuple[str, ...]]

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every keyword, all languages."""
        return tuple(w for lang in sorted(self.words) for w in self.words[lang])


def _default_themes() -> tuple[Theme, ...]:
    # Shipped data (a test checks it reads like a policy file's [themes.words]).
    return tuple(
        Theme(key, value["label"],
              {lang: tuple(words) for lang, words in value.items() if lang != "label"})
        for key, value in _read_default_themes().items()
    )


@functools.lru_cache(maxsize=1)
def _read_default_themes() -> dict:
    path = Path(__file__).parent / "data" / "themes.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@record(frozen=True)
class ThemesPolicy:
    """The theme vocabulary (defaults: calls/data/themes.toml) and how many to suggest."""

    vocabulary: tuple[Theme, ...] = field(default_factory=_default_themes)
    max_suggestions: int = 3

    def get(self, key: str) -> Theme | None:
        """The theme with this key, or None."""
        return next((t for t in self.vocabulary if t.key == key), None)


@record(frozen=True)
class SegmentsPolicy:
    """Segments with fewer answers than this are shown but not ranked; weeks with fewer
    NPS answers are gaps in the weekly chart."""

    min_answers: int = 30
    min_week_answers: int = 5


@record(frozen=True)
class LettersPolicy:
    """The letter to customers a care cycle could not reach (printable batch)."""

    sender: str = ""
    subject: str = "We tried to reach you"
    body: str = (
        "Dear {name},\n\n"
        "we tried several times to call you to ask how we are doing, and could not reach "
        "you. Your opinion matters to us: please tell us when we may call you, or simply "
        "reply to this letter with anything we could do better.\n\n"
        "Kind regards"
    )


@record(frozen=True)
class QueuePolicy:
    """The order of the queue's reasons (first = called first)."""

    reason_order: tuple[str, ...] = REASONS


# lawful (issue 14): the company's own contact limits; the rule packs' limits are floors.


@record(frozen=True)
class ContactPolicy:
    """How often one customer may be called, from every reason together.

    The law's caps (France 4 calls in 30 days, Florida 3 in 24 hours ...) apply on top:
    the stricter wins. A callback the customer asked for is not held by these company
    limits (it is by the law's).
    """

    max_attempts: int = 6          # calls (any outcome) ...
    attempts_days: int = 7         # ... within this many days
    max_contacts: int = 3          # calls that reached the customer ...
    contacts_days: int = 7         # ... within this many days
    refusal_quiet_days: int = 7    # no call for this long after a refusal
    voicemails_per_cycle: int = 1  # messages left on a machine per care cycle


@record(frozen=True)
class LawfulPolicy:
    """Defaults for the legal basis of calls (docs/lawful.md)."""

    # A customer whose list says neither: the rules for consumers are the stricter.
    default_customer_type: str = "consumer"
    # The script's recording notice: "law" = asked on every call, and its answer needed
    # before the questions where a rule pack requires all-party consent to recording;
    # "always" = needed on every call; "off" = calls are not recorded, no notice.
    recording: str = "law"


RECORDING_MODES = ("law", "always", "off")


# -- team: accounts, seats, floor states (issue 13) ------------------------------------

# Why a caller is paused; the dashboard and the floor report group by these codes.
PAUSE_REASONS = ("break", "lunch", "training", "meeting", "coaching", "technical")


@record(frozen=True)
class AccountsPolicy:
    """Logins: lockout after wrong passwords, the idle lock, password length."""

    max_failed_logins: int = 5
    lockout_minutes: int = 15
    # An unattended seat shows customer data: it locks after this long without a key.
    idle_lock_minutes: int = 5
    # The supervisor's dashboard (``carecall dashboard``) is watched more than typed at,
    # and shows less (customers' names, not their cards): its own, longer time.
    dashboard_idle_lock_minutes: int = 15
    min_password_length: int = 10


@record(frozen=True)
class FloorPolicy:
    """Seat states: the reason codes a caller may pause with."""

    pause_reasons: tuple[str, ...] = PAUSE_REASONS


def _team_sections(data: dict) -> dict[str, Any]:
    """The ``[accounts]`` and ``[floor]`` sections, as Policy keyword arguments."""
    d = AccountsPolicy()
    a = _table(data, "accounts")
    _check_keys(a, set(d.__dataclass_fields__), "accounts")
    accounts = AccountsPolicy(
        max_failed_logins=_int(a.get("max_failed_logins", d.max_failed_logins),
                               "accounts.max_failed_logins", 1, 100),
        lockout_minutes=_int(a.get("lockout_minutes", d.lockout_minutes),
                             "accounts.lockout_minutes", 1, 7 * 24 * 60, " minutes"),
        idle_lock_minutes=_int(a.get("idle_lock_minutes", d.idle_lock_minutes),
                               "accounts.idle_lock_minutes", 1, 8 * 60, " minutes"),
        dashboard_idle_lock_minutes=_int(
            a.get("dashboard_idle_lock_minutes", d.dashboard_idle_lock_minutes),
            "accounts.dashboard_idle_lock_minutes", 1, 8 * 60, " minutes"),
        min_password_length=_int(a.get("min_password_length", d.min_password_length),
                                 "accounts.min_password_length", 8, 128, " characters"),
    )
    f = _table(data, "floor")
    _check_keys(f, {"pause_reasons"}, "floor")
    reasons = f.get("pause_reasons", list(PAUSE_REASONS))
    if (not isinstance(reasons, list) or not reasons
            or not all(isinstance(r, str) and r.strip() for r in reasons)):
        raise _KeyError("floor.pause_reasons", f"must be a list of reason codes, got {reasons!r}")
    floor = FloorPolicy(tuple(r.strip().lower() for r in reasons))
    return {"accounts": accounts, "floor": floor}


@record(frozen=True)
class Policy:
    """The whole care policy. Build with :func:`load_policy`; DEFAULT_POLICY is the defaults."""

    tiers: TierPolicy = field(default_factory=TierPolicy)
    cadence_days: dict[str, int] = field(default_factory=lambda: {"A": 90, "B": 180, "C": 365})
    calling: CallingPolicy = field(default_factory=CallingPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cycle: CyclePolicy = field(default_factory=CyclePolicy)
    claims: ClaimsPolicy = field(default_factory=ClaimsPolicy)
    callbacks: CallbacksPolicy = field(default_factory=CallbacksPolicy)
    occasions: OccasionsPolicy = field(default_factory=OccasionsPolicy)
    purchases: PurchasesPolicy = field(default_factory=PurchasesPolicy)
    followups: FollowupsPolicy = field(default_factory=FollowupsPolicy)
    queue: QueuePolicy = field(default_factory=QueuePolicy)
    accounts: AccountsPolicy = field(default_factory=AccountsPolicy)
    floor: FloorPolicy = field(default_factory=FloorPolicy)
    # loop (issue 17)
    deadlines: DeadlinesPolicy = field(default_factory=DeadlinesPolicy)
    themes: ThemesPolicy = field(default_factory=ThemesPolicy)
    segments: SegmentsPolicy = field(default_factory=SegmentsPolicy)
    letters: LettersPolicy = field(default_factory=LettersPolicy)
    # lawful (issue 14)
    contact: ContactPolicy = field(default_factory=ContactPolicy)
    lawful: LawfulPolicy = field(default_factory=LawfulPolicy)
    source: str | None = None  # the file it was loaded from, for messages
    source_hash: str | None = None  # sha256 of that file: the version the audit trail names

    def interval(self, tier: str | None) -> timedelta:
        """The care-call interval for a tier; an unknown tier is treated as C."""
        days = self.cadence_days.get(tier or "C", self.cadence_days["C"])
        return timedelta(days=days)

    def __hash__(self) -> int:  # dict fields: hash by identity (policies are not mutated)
        return id(self)


DEFAULT_POLICY = Policy()


# -- loading ------------------------------------------------------------------------


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    """The defaults, overridden by the TOML file at ``path`` (else ``$CARECALL_POLICY``).

    Raises :class:`UserError` naming the file and the key for anything it cannot accept.
    """
    if path is None:
        from calls.config import default_setting

        path = os.environ.get("CARECALL_POLICY") or default_setting("policy")
        if not path:
            return DEFAULT_POLICY
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"policy file {p} not found") from None
    except IsADirectoryError:
        raise UserError(f"policy file {p} is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read policy file {p}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{p}: not valid TOML ({exc})") from None
    except RecursionError:   # tomllib recurses per level: a hostile or broken file
        raise UserError(f"{p}: not valid TOML (arrays or tables nested too deeply)") from None
    try:
        policy = policy_from_dict(data)
    except _KeyError as exc:
        raise UserError(f"{p}: {exc.key}: {exc.message}") from None
    import hashlib

    return replace(policy, source=str(p),
                   source_hash=hashlib.sha256(text.encode("utf-8")).hexdigest())


class _KeyError(Exception):
    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _check_keys(section: dict, allowed: set[str], prefix: str) -> None:
    for key in section:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            known = ", ".join(sorted(allowed))
            raise _KeyError(where, f"unknown key (known here: {known})")


def _table(data: dict, key: str, prefix: str = "") -> dict:
    value = data.get(key, {})
    where = f"{prefix}.{key}" if prefix else key
    if not isinstance(value, dict):
        raise _KeyError(where, "must be a table")
    return value


def _int(value: Any, key: str, lo: int, hi: int, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _KeyError(key, f"must be a whole number{unit}, got {value!r}")
    if not lo <= value <= hi:
        raise _KeyError(key, f"must be between {lo} and {hi}{unit}, got {value}")
    return value


def _float(value: Any, key: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _KeyError(key, f"must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise _KeyError(key, f"must be between {lo} and {hi}, got {value}")
    return float(value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _KeyError(key, f"must be true or false, got {value!r}")
    return value


def _clock(text: Any, key: str, allow_24: bool = True) -> int:
    """"HH:MM" as minutes of the day."""
    if isinstance(text, time):
        return text.hour * 60 + text.minute
    if not isinstance(text, str):
        raise _KeyError(key, f"must be a time like \"09:00\", got {text!r}")
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise _KeyError(key, f"must be a time like \"09:00\", got {text!r}")
    h, m = int(parts[0]), int(parts[1])
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        raise _KeyError(key, f"not a time of day: {text!r}")
    return h * 60 + m


def parse_hours(text: Any, key: str) -> DayHours:
    """"09:00-20:00", "09:00-12:00, 13:00-20:00", or "closed" / "" as spans in minutes."""
    if isinstance(text, list):
        text = ", ".join(str(t) for t in text)
    if not isinstance(text, str):
        raise _KeyError(key, f"must be hours like \"09:00-20:00\" or \"closed\", got {text!r}")
    text = text.strip().lower()
    if text in ("", "closed", "none", "off"):
        return ()
    spans: list[Span] = []
    for part in text.split(","):
        bits = part.strip().split("-")
        if len(bits) != 2:
            raise _KeyError(key, f"must be hours like \"09:00-20:00\", got {part.strip()!r}")
        start, end = _clock(bits[0], key), _clock(bits[1], key)
        if end <= start:
            raise _KeyError(key, f"closing time must be after opening time in {part.strip()!r}")
        spans.append((start, end))
    spans.sort()
    for (_, e1), (s2, _) in itertools.pairwise(spans):
        if s2 < e1:
            raise _KeyError(key, "time spans overlap")
    return tuple(spans)


def _hours_table(table: dict, prefix: str) -> dict[int, DayHours]:
    _check_keys(table, set(WEEKDAYS) | {"weekdays", "weekend"}, prefix)
    out: dict[int, DayHours] = {}
    # Shorthands first so that a named day wins over them.
    if "weekdays" in table:
        spans = parse_hours(table["weekdays"], f"{prefix}.weekdays")
        out.update({d: spans for d in range(5)})
    if "weekend" in table:
        spans = parse_hours(table["weekend"], f"{prefix}.weekend")
        out.update({5: spans, 6: spans})
    for i, day in enumerate(WEEKDAYS):
        if day in table:
            out[i] = parse_hours(table[day], f"{prefix}.{day}")
    return out


def _zone(name: Any, key: str) -> str:
    if not isinstance(name, str):
        raise _KeyError(key, f"must be an IANA time zone name, got {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _KeyError(key, f"unknown time zone {name!r}") from None
    return name


def policy_from_dict(data: dict) -> Policy:
    """Build a policy from parsed TOML: defaults, overridden by what ``data`` sets."""
    d = DEFAULT_POLICY
    sections = {
        "tiers", "cadence_days", "calling", "retry", "cycle", "claims", "callbacks",
        "occasions", "purchases", "followups", "queue",
        "accounts", "floor",
    } | LOOP_SECTIONS | LAWFUL_SECTIONS
    _check_keys(data, sections, "")

    t = _table(data, "tiers")
    _check_keys(t, {"a_share", "b_share"}, "tiers")
    a_share = _float(t.get("a_share", d.tiers.a_share), "tiers.a_share", 0.0, 1.0)
    b_share = _float(t.get("b_share", d.tiers.b_share), "tiers.b_share", 0.0, 1.0)
    if b_share < a_share:
        raise _KeyError("tiers.b_share", f"must not be below tiers.a_share ({a_share})")
    tiers = TierPolicy(a_share, b_share)

    c = _table(data, "cadence_days")
    _check_keys(c, set(TIERS), "cadence_days")
    cadence = dict(d.cadence_days)
    for tier in TIERS:
        if tier in c:
            # Nobody goes more than a year without a call (DESIGN.md).
            cadence[tier] = _int(c[tier], f"cadence_days.{tier}", 1, 365, " days")

    calling = _calling(_table(data, "calling"), d.calling)

    r = _table(data, "retry")
    _check_keys(r, {o.value for o in Outcome}, "retry")
    minutes = dict(d.retry.minutes)
    for key, value in r.items():
        minutes[key] = _int(value, f"retry.{key}", 0, 365 * 1440, " minutes")
    retry = RetryPolicy(minutes)

    cy = _table(data, "cycle")
    _check_keys(cy, {"max_attempts", "closing_outcomes", "counted_outcomes"}, "cycle")
    cycle = CyclePolicy(
        max_attempts=_int(cy.get("max_attempts", d.cycle.max_attempts), "cycle.max_attempts",
                          1, 100),
        closing_outcomes=_outcomes(cy, "closing_outcomes", d.cycle.closing_outcomes),
        counted_outcomes=_outcomes(cy, "counted_outcomes", d.cycle.counted_outcomes),
    )

    cl = _table(data, "claims")
    _check_keys(cl, {"lease_minutes", "skip_minutes"}, "claims")
    claims = ClaimsPolicy(
        lease_minutes=_int(cl.get("lease_minutes", d.claims.lease_minutes),
                           "claims.lease_minutes", 1, 24 * 60, " minutes"),
        skip_minutes=_int(cl.get("skip_minutes", d.claims.skip_minutes),
                          "claims.skip_minutes", 0, 7 * 24 * 60, " minutes"),
    )

    cb = _table(data, "callbacks")
    _check_keys(cb, {"personal_grace_minutes"}, "callbacks")
    callbacks = CallbacksPolicy(
        _int(cb.get("personal_grace_minutes", d.callbacks.personal_grace_minutes),
             "callbacks.personal_grace_minutes", 0, 7 * 24 * 60, " minutes")
    )

    oc = _table(data, "occasions")
    _check_keys(oc, {"days_ahead", "birthday", "anniversary"}, "occasions")
    occasions = OccasionsPolicy(
        days_ahead=_int(oc.get("days_ahead", d.occasions.days_ahead), "occasions.days_ahead",
                        0, 60, " days"),
        birthday=_bool(oc.get("birthday", d.occasions.birthday), "occasions.birthday"),
        anniversary=_bool(oc.get("anniversary", d.occasions.anniversary),
                          "occasions.anniversary"),
    )

    pu = _table(data, "purchases")
    _check_keys(pu, {"revenue_window_days", "thank_you_days", "at_risk_factor"}, "purchases")
    purchases = PurchasesPolicy(
        revenue_window_days=_int(pu.get("revenue_window_days", d.purchases.revenue_window_days),
                                 "purchases.revenue_window_days", 1, 3660, " days"),
        thank_you_days=_int(pu.get("thank_you_days", d.purchases.thank_you_days),
                            "purchases.thank_you_days", 0, 365, " days"),
        at_risk_factor=_float(pu.get("at_risk_factor", d.purchases.at_risk_factor),
                              "purchases.at_risk_factor", 1.0, 100.0),
    )

    fu = _table(data, "followups")
    _check_keys(fu, {"gift_tiers", "note_days_ahead", "recovery_delay_hours", "post_days",
                     "mail_dnc"}, "followups")
    gift_tiers = fu.get("gift_tiers", list(d.followups.gift_tiers))
    if not isinstance(gift_tiers, list) or any(g not in TIERS for g in gift_tiers):
        raise _KeyError("followups.gift_tiers", f"must be a list of tiers from A, B, C, "
                        f"got {gift_tiers!r}")
    followups = FollowupsPolicy(
        gift_tiers=tuple(gift_tiers),
        note_days_ahead=_int(fu.get("note_days_ahead", d.followups.note_days_ahead),
                             "followups.note_days_ahead", 0, 90, " days"),
        recovery_delay_hours=_float(fu.get("recovery_delay_hours",
                                           d.followups.recovery_delay_hours),
                                    "followups.recovery_delay_hours", 0.0, 24.0 * 90),
        post_days=_int(fu.get("post_days", d.followups.post_days), "followups.post_days",
                       0, 90, " days"),
        mail_dnc=_bool(fu.get("mail_dnc", d.followups.mail_dnc), "followups.mail_dnc"),
    )

    q = _table(data, "queue")
    _check_keys(q, {"reason_order"}, "queue")
    order = q.get("reason_order", list(d.queue.reason_order))
    if (not isinstance(order, list) or sorted(order) != sorted(REASONS)):
        raise _KeyError("queue.reason_order",
                        f"must list each of {', '.join(REASONS)} exactly once")
    queue = QueuePolicy(tuple(order))

    return Policy(tiers=tiers, cadence_days=cadence, calling=calling, retry=retry, cycle=cycle,
                  claims=claims, callbacks=callbacks, occasions=occasions, purchases=purchases,
                  followups=followups, queue=queue, **_team_sections(data),
                  **_loop_sections(data, d), **_lawful_sections(data, d))


# -- loop (issue 17): reading [deadlines], [themes], [segments], [letters] ----------------

LAWFUL_SECTIONS = {"contact", "lawful"}


def _lawful_sections(data: dict, d: Policy) -> dict[str, Any]:
    """The ``[contact]`` and ``[lawful]`` sections (issue 14)."""
    c = _table(data, "contact")
    keys = {"max_attempts": (1, 100, ""), "attempts_days": (1, 365, " days"),
            "max_contacts": (1, 100, ""), "contacts_days": (1, 365, " days"),
            "refusal_quiet_days": (0, 365, " days"), "voicemails_per_cycle": (0, 100, "")}
    _check_keys(c, set(keys), "contact")
    contact = ContactPolicy(**{
        k: _int(c.get(k, getattr(d.contact, k)), f"contact.{k}", lo, hi, unit)
        for k, (lo, hi, unit) in keys.items()})
    law = _table(data, "lawful")
    _check_keys(law, {"default_customer_type", "recording"}, "lawful")
    ctype = law.get("default_customer_type", d.lawful.default_customer_type)
    if ctype not in lawrules.CUSTOMER_TYPES:
        raise _KeyError("lawful.default_customer_type",
                        f"must be consumer or business, got {ctype!r}")
    recording = law.get("recording", d.lawful.recording)
    if recording not in RECORDING_MODES:
        raise _KeyError("lawful.recording",
                        f"must be one of {', '.join(RECORDING_MODES)}, got {recording!r}")
    return {"contact": contact, "lawful": LawfulPolicy(ctype, recording)}


LOOP_SECTIONS = {"deadlines", "themes", "segments", "letters"}


def _loop_sections(data: dict, d: Policy) -> dict[str, Any]:
    """The loop's policy sections from parsed TOML (keyword arguments for Policy)."""
    from calls.models import FOLLOWUP_KINDS

    de = _table(data, "deadlines")
    _check_keys(de, {"supervisors", "group", *FOLLOWUP_KINDS}, "deadlines")
    kinds = dict(d.deadlines.kinds)
    for kind in FOLLOWUP_KINDS:
        if kind not in de:
            continue
        prefix = f"deadlines.{kind}"
        t = _table(de, kind, "deadlines")
        _check_keys(t, DEADLINE_KEYS, prefix)
        base = kinds.get(kind, KindDeadline())  # keys not named keep the default

        def hours(key: str, base_value: float | None, t=t, prefix=prefix) -> float | None:
            if key not in t:
                return base_value
            return _float(t[key], f"{prefix}.{key}", 0.0, 24.0 * 366) or None

        kinds[kind] = KindDeadline(
            first_contact_hours=hours("first_contact_hours", base.first_contact_hours),
            close_hours=hours("close_hours", base.close_hours),
            at_due=_bool(t.get("at_due", base.at_due), f"{prefix}.at_due"),
            grace_minutes=_int(t.get("grace_minutes", base.grace_minutes),
                               f"{prefix}.grace_minutes", 0, 7 * 24 * 60, " minutes"),
            before_occasion=_bool(t.get("before_occasion", base.before_occasion),
                                  f"{prefix}.before_occasion"),
        )
    supervisors = de.get("supervisors", list(d.deadlines.supervisors))
    if not isinstance(supervisors, list) or not all(
            isinstance(x, str) and x.strip() for x in supervisors):
        raise _KeyError("deadlines.supervisors", f"must be a list of names, got {supervisors!r}")
    group = de.get("group", d.deadlines.group)
    if not isinstance(group, str) or not group.strip():
        raise _KeyError("deadlines.group", f"must be a name, got {group!r}")
    deadlines = DeadlinesPolicy(kinds, tuple(s.strip() for s in supervisors), group.strip())

    th = _table(data, "themes")
    _check_keys(th, {"max_suggestions", "drop", "words"}, "themes")
    vocabulary = {t.key: t for t in d.themes.vocabulary}
    drop = th.get("drop", [])
    if not isinstance(drop, list) or any(k not in vocabulary for k in drop):
        raise _KeyError("themes.drop", f"must be a list of themes from: "
                        f"{', '.join(vocabulary)}; got {drop!r}")
    for key in drop:
        vocabulary.pop(key)
    for theme in _themes_from_toml(_table(th, "words", "themes"), "themes.words"):
        vocabulary[theme.key] = theme
    themes = ThemesPolicy(
        vocabulary=tuple(vocabulary.values()),
        max_suggestions=_int(th.get("max_suggestions", d.themes.max_suggestions),
                             "themes.max_suggestions", 1, 20),
    )

    se = _table(data, "segments")
    _check_keys(se, {"min_answers", "min_week_answers"}, "segments")
    segments = SegmentsPolicy(
        min_answers=_int(se.get("min_answers", d.segments.min_answers),
                         "segments.min_answers", 1, 100000),
        min_week_answers=_int(se.get("min_week_answers", d.segments.min_week_answers),
                              "segments.min_week_answers", 1, 100000),
    )

    le = _table(data, "letters")
    _check_keys(le, {"sender", "subject", "body"}, "letters")
    for key in ("sender", "subject", "body"):
        if key in le and not isinstance(le[key], str):
            raise _KeyError(f"letters.{key}", f"must be text, got {le[key]!r}")
    letters = LettersPolicy(
        sender=le.get("sender", d.letters.sender),
        subject=le.get("subject", d.letters.subject),
        body=le.get("body", d.letters.body),
    )
    return {"deadlines": deadlines, "themes": themes, "segments": segments, "letters": letters}


_THEME_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def _themes_from_toml(table: dict, prefix: str) -> tuple[Theme, ...]:
    """Themes from ``{key: {label, en: [...], de: [...], fr: [...], ...}}``."""
    out = []
    for key, value in table.items():
        where = f"{prefix}.{key}"
        if not key or not set(key) <= _THEME_KEY_CHARS:
            raise _KeyError(where, "a theme key is lower-case letters, digits and _")
        if not isinstance(value, dict):
            raise _KeyError(where, "must be a table with a label and keyword lists")
        label = value.get("label", key.replace("_", " ").capitalize())
        if not isinstance(label, str) or not label.strip():
            raise _KeyError(f"{where}.label", f"must be text, got {label!r}")
        words: dict[str, tuple[str, ...]] = {}
        for lang, items in value.items():
            if lang == "label":
                continue
            if len(lang) != 2 or not lang.isalpha() or not lang.islower():
                raise _KeyError(f"{where}.{lang}", "unknown key (a two-letter language "
                                "code like en, de, fr, or label)")
            if not isinstance(items, list) or not all(
                    isinstance(w, str) and w.strip() for w in items):
                raise _KeyError(f"{where}.{lang}", f"must be a list of keywords, got {items!r}")
            words[lang] = tuple(w.strip() for w in items)
        if not words:
            raise _KeyError(where, "needs keywords in at least one language (en = [...])")
        out.append(Theme(key, label.strip(), words))
    return tuple(out)


def _outcomes(table: dict, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, list(default))
    codes = {o.value for o in Outcome}
    if not isinstance(value, list) or any(v not in codes for v in value):
        raise _KeyError(f"cycle.{key}", f"must be a list of outcome codes from: "
                        f"{', '.join(sorted(codes))}")
    return tuple(value)


def _known_regions() -> frozenset[str]:
    """The ISO 3166 codes of the countries phone numbers can belong to."""
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _refuse_widening(code: str, raw: dict, rules: CountryRules,
                     hours: dict[int, DayHours]) -> None:
    """A country section may narrow the country's rule pack, never widen it.

    Checked for what the section sets: its hours (or the global hours clipped to its
    earliest / latest), and turning holidays off where the law closes them.
    """
    prefix = f"calling.countries.{code}"
    if "skip_holidays" in raw and rules.skip_holidays is False:
        found = lawrules.rules_for(code, "holidays", national=True)
        law = found[0] if found else None
        if law is not None:
            raise _KeyError(f"{prefix}.skip_holidays",
                            f"the law closes public holidays: {law.cites()}")
    for wd in range(7):
        legal, _limiting = lawrules.legal_hours(code, wd, national=True)
        if legal == lawrules.FULL_DAY:
            continue
        problem = None
        if "earliest" in raw and legal and rules.earliest < legal[0][0]:
            problem = "earliest"
        elif "latest" in raw and legal and rules.latest > legal[-1][1]:
            problem = "latest"
        elif "hours" in raw and wd in rules.hours:
            spans = rules.hours[wd]
            if rules.earliest is not None or rules.latest is not None:
                lo = rules.earliest if rules.earliest is not None else 0
                hi = rules.latest if rules.latest is not None else 24 * 60
                spans = lawrules.intersect_spans(spans, ((lo, hi),))
            if not lawrules.within(spans, legal):
                problem = "hours"
        if problem is None:
            continue
        law = next((r for r in lawrules.rules_for(code, "hours", national=True)
                    if wd in r.hours), None)
        allowed = ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"
                            for s, e in legal) or "no calls"
        cite = law.cites() if law else f"the {code} rule pack"
        raise _KeyError(f"{prefix}.{problem}",
                        f"widens the legal window on {WEEKDAYS[wd].title()} "
                        f"(the law allows {allowed}): {cite}")


def _calling(table: dict, d: CallingPolicy) -> CallingPolicy:
    _check_keys(table, {"hours", "countries", "fallback_time_zone", "skip_holidays"}, "calling")
    hours = dict(d.hours)
    hours.update(_hours_table(_table(table, "hours", "calling"), "calling.hours"))
    countries = dict(d.countries)
    for code, rules in _table(table, "countries", "calling").items():
        prefix = f"calling.countries.{code}"
        if len(code) != 2 or not code.isalpha() or not code.isupper():
            raise _KeyError(prefix, "country must be a two-letter code like US or CA")
        if code not in _known_regions():
            # A typo (UK for GB) would silently never apply: refuse it like an unknown key.
            hint = " (the United Kingdom is GB)" if code == "UK" else ""
            raise _KeyError(prefix, f"unknown country code {code!r}{hint}")
        if not isinstance(rules, dict):
            raise _KeyError(prefix, "must be a table")
        _check_keys(rules, {"hours", "earliest", "latest", "skip_holidays"}, prefix)
        base = countries.get(code, CountryRules())
        c_hours = dict(base.hours)
        c_hours.update(_hours_table(_table(rules, "hours", prefix), f"{prefix}.hours"))
        earliest = (_clock(rules["earliest"], f"{prefix}.earliest")
                    if "earliest" in rules else base.earliest)
        latest = _clock(rules["latest"], f"{prefix}.latest") if "latest" in rules else base.latest
        if earliest is not None and latest is not None and latest <= earliest:
            raise _KeyError(f"{prefix}.latest", "must be after earliest")
        skip = (_bool(rules["skip_holidays"], f"{prefix}.skip_holidays")
                if "skip_holidays" in rules else base.skip_holidays)
        countries[code] = CountryRules(c_hours, earliest, latest, skip)
        _refuse_widening(code, rules, countries[code], hours)
    fallback = _zone(table.get("fallback_time_zone", d.fallback_time_zone),
                     "calling.fallback_time_zone")
    skip = _bool(table.get("skip_holidays", d.skip_holidays), "calling.skip_holidays")
    return CallingPolicy(hours=hours, countries=countries, fallback_time_zone=fallback,
                         skip_holidays=skip)


# -- tiers --------------------------------------------------------------------------


def tier_rank(tier: str | None) -> int:
    """A 0, B 1, C 2, anything else 3 (queue order)."""
    return {"A": 0, "B": 1, "C": 2}.get(tier or "", 3)


# -- calling windows -----------------------------------------------------------------

UNKNOWN_ZONES = {"", "Etc/Unknown"}


def usable_zones(zones: tuple[str, ...] | list[str], policy: Policy) -> tuple[str, ...]:
    """The number's zones, or the policy's fallback zone when none is known."""
    good = tuple(z for z in zones if z not in UNKNOWN_ZONES)
    return good or (policy.calling.fallback_time_zone,)


@functools.lru_cache(maxsize=512)
def _zoneinfo(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def holiday_name(jurisdiction: str | None, day: date, policy: Policy) -> str | None:
    """The public holiday that closes ``day`` for numbers of ``jurisdiction``, or None.

    ``jurisdiction`` is a code from :func:`calls.rules.jurisdiction` (``"US-FL"``,
    ``"DE-BY"``, ``"FR"``); the region's own holidays count. Closed when the policy skips
    holidays there, or always where a rule pack closes them by law (France, Australia ...).
    """
    if not jurisdiction:
        return None
    country = jurisdiction[:2]
    rules = policy.calling.countries.get(country)
    skip = rules.skip_holidays if rules and rules.skip_holidays is not None else (
        policy.calling.skip_holidays)
    if not skip and lawrules.holiday_rule(jurisdiction) is None:
        return None
    return lawrules.public_holiday(jurisdiction, day)


def day_spans(jurisdiction: str | None, day: date, policy: Policy) -> DayHours:
    """Open spans (minutes of the local day) for a number of ``jurisdiction`` on ``day``.

    The policy's hours (the country's own where it sets them, clipped to its earliest and
    latest), narrowed by every rule pack of the jurisdiction; closed on public holidays.
    """
    if holiday_name(jurisdiction, day, policy):
        return ()
    country = (jurisdiction or "")[:2]
    rules = policy.calling.countries.get(country)
    wd = day.weekday()
    spans = policy.calling.hours.get(wd, ())
    if rules:
        spans = rules.hours.get(wd, spans)
        lo = rules.earliest if rules.earliest is not None else 0
        hi = rules.latest if rules.latest is not None else 24 * 60
        spans = lawrules.intersect_spans(spans, ((lo, hi),))
    if jurisdiction:
        spans = lawrules.intersect_spans(spans, lawrules.legal_hours(jurisdiction, wd)[0])
    return spans


def closing_law(jurisdiction: str | None, local: datetime, policy: Policy
                ) -> lawrules.Rule | None:
    """The pack rule that keeps the window shut at ``local`` (the customer's own time).

    None when the law allows a call then and only the policy's own hours (or its holiday
    setting) close it.
    """
    if not jurisdiction:
        return None
    day = local.date()
    if lawrules.public_holiday(jurisdiction, day):
        rule = lawrules.holiday_rule(jurisdiction)
        if rule is not None:
            return rule
    minute = local.hour * 60 + local.minute
    for rule in lawrules.rules_for(jurisdiction, "hours"):
        spans = rule.hours.get(day.weekday())
        if spans is not None and not any(s <= minute < e for s, e in spans):
            return rule
    return None


def _local_to_utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    return naive.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


def zone_intervals(country: str | None, zone: str, start: datetime, days: int,
                   policy: Policy) -> list[tuple[datetime, datetime]]:
    """Open intervals (UTC) for one zone from the local day before ``start`` for ``days``."""
    tz = _zoneinfo(zone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    out: list[tuple[datetime, datetime]] = []
    for i in range(days + 2):
        day = first + timedelta(days=i)
        for s, e in day_spans(country, day, policy):
            a, b = _local_to_utc(day, s, tz), _local_to_utc(day, e, tz)
            if b > a:
                out.append((a, b))
    return out


def _intersect(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]):
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@record(frozen=True)
class WindowState:
    """Whether a number's calling window is open at ``now``, and when that changes."""

    open: bool
    closes_at: datetime | None   # when open: the end of this open interval
    opens_at: datetime | None    # when closed: the next opening (None: not within 2 weeks)
    zones: tuple[str, ...]


# How far ahead to look for the next opening.
LOOKAHEAD_DAYS = 14


def window_state(country: str | None, zones: tuple[str, ...] | list[str], now: datetime,
                 policy: Policy = DEFAULT_POLICY) -> WindowState:
    """The calling window for a number in ``country`` mapping to ``zones`` (all must be open)."""
    now = now.astimezone(ZoneInfo("UTC"))
    use = usable_zones(tuple(zones), policy)
    for a, b in _merged_intervals(country or None, use, now.date(), policy):
        if b <= now:
            continue
        if a <= now:
            return WindowState(True, b, None, use)
        return WindowState(False, None, a, use)
    return WindowState(False, None, None, use)


@functools.lru_cache(maxsize=4096)
def _merged_intervals(country: str | None, zones: tuple[str, ...], day: date,
                      policy: Policy) -> tuple[tuple[datetime, datetime], ...]:
    """Open intervals (UTC) common to all ``zones`` from about ``day`` for two weeks.

    Cached per day, so a queue refreshed every few seconds looks the window up instead
    of working the calendar out again.
    """
    start = datetime.combine(day, time(), tzinfo=ZoneInfo("UTC"))
    merged: list[tuple[datetime, datetime]] | None = None
    for z in zones:
        iv = zone_intervals(country, z, start, LOOKAHEAD_DAYS + 1, policy)
        merged = iv if merged is None else _intersect(merged, iv)
    return tuple(merged or ())


def local_now(zones: tuple[str, ...] | list[str], now: datetime,
              policy: Policy = DEFAULT_POLICY) -> tuple[datetime, str]:
    """The customer's local time (first usable zone) and that zone's name."""
    zone = usable_zones(zones, policy)[0]
    return now.astimezone(_zoneinfo(zone)), zone


def local_date(zones: tuple[str, ...] | list[str], now: datetime,
               policy: Policy = DEFAULT_POLICY) -> date:
    """The customer's local calendar date (first usable zone)."""
    return local_now(zones, now, policy)[0].date()


def retry_after(outcome: str, now: datetime, policy: Policy = DEFAULT_POLICY) -> datetime | None:
    """When a customer may be tried again after ``outcome`` at ``now`` (None: no wait)."""
    delay = policy.retry.delay(outcome)
    return now + delay if delay else None


def next_occurrence(month_day: date, today: date) -> date:
    """The next date (today or later) with ``month_day``'s month and day.

    29 February falls on 28 February in years without it.
    """
    for year in (today.year, today.year + 1):
        try:
            d = month_day.replace(year=year)
        except ValueError:  # 29 Feb in a non-leap year
            d = date(year, 2, 28)
        if d >= today:
            return d
    raise AssertionError("unreachable")


def at_risk_date(last_purchase: date, avg_interval_days: float, policy: Policy) -> date:
    """The first day a customer counts as "buying slowed".

    At risk when the days since the last purchase exceed ``at_risk_factor`` times the
    customer's average days between orders.
    """
    return last_purchase + timedelta(days=int(policy.purchases.at_risk_factor
                                              * avg_interval_days) + 1)


def format_duration(delta: timedelta) -> str:
    """"1 h 48 min", "40 min", "3 days" for messages."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days = hours // 24
    return f"{days} days"
