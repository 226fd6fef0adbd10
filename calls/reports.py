"""Supervisor figures: AAPOR outcome rates, NPS, CSAT, coverage and the follow-up loop.

The pure functions at the top compute figures from counts (no database, no clock); the
:func:`build_report` at the bottom asks the store for those counts (all aggregation runs
in SQLite, see ``calls/store/reports.py``) and assembles a :class:`Report`.

Rates follow the AAPOR Standard Definitions over *cases* (DESIGN.md "Call outcomes"): a
customer with at least one attempt in the period counts once, with the best disposition
of its attempts (I > P > R > O > NC > UO). Every customer is a known customer, so UH = 0
unless the caller passes counts that say otherwise, and e defaults to 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from calls.clock import UTC, to_iso
from calls.errors import UserError
from calls.outcomes import CONTACT, FAMILY, Outcome
from calls.records import record

# Disposition codes, in the order AAPOR lists them; NE (not eligible) is kept for the
# record but enters no formula.
DISPOSITIONS = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")
RATE_NAMES = (
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6",
    "COOP1", "COOP2", "COOP3", "COOP4",
    "REF1", "REF2", "REF3",
    "CON1", "CON2", "CON3",
)
GROUPINGS = ("caller", "tier", "script", "week", "purpose")
# Groupings by something each call has: one customer's calls may fall in several groups, so
# a row counts calls (each call is a case, with its own outcome's disposition); a tier is
# the customer's, and a tier row counts customers (cases) as the whole report does.
PER_CALL = ("caller", "script", "week", "purpose")
DEFAULT_CADENCE_DAYS = {"A": 90, "B": 180, "C": 365}
# "Not reached": no contact with the customer within this many days.
NOT_REACHED_DAYS = 365
DEFAULT_PERIOD_DAYS = 30


# -- AAPOR rates ----------------------------------------------------------------------


def _div(num: float, den: float) -> float | None:
    return num / den if den else None


def count_text(n: int, noun: str) -> str:
    """``1 detractor`` / ``1,204 detractors``: a count and its noun, singular for one."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def nps_text(score: float | None) -> str:
    """An NPS figure, or a change of one, as every screen, report and file writes it:
    whole points, signed when above zero (``+40``, ``0``, ``-12``, ``+100``); ``–``
    when there are no answers. Halves round away from zero (12.5 reads ``+13``)."""
    if score is None:
        return "–"
    points = int(abs(score) + 0.5) * (1 if score >= 0 else -1)
    return f"{points:+d}" if points else "0"


def percent_text(value: float | None, places: int = 1) -> str:
    """A share (0..1) as a percentage to ``places`` decimals; ``–`` when there is none.

    A share above 0 that would round to 0 reads ``<0.1%`` (3 of 7,368 is not nothing),
    and one below 1 that would round to 100 reads ``>99.9%`` (one customer is still left).
    """
    if value is None:
        return "–"
    pct = 100 * value
    text = f"{pct:.{places}f}"
    step = 10 ** -places
    if pct > 0 and float(text) == 0:
        return f"<{step:.{places}f}%"
    if pct < 100 and float(text) >= 100:
        return f">{100 - step:.{places}f}%"
    return f"{text}%"


def aapor_rates(counts: Mapping[str, int | float], e: float = 1.0) -> dict[str, float | None]:
    """RR1–RR6, COOP1–COOP4, REF1–REF3 and CON1–CON3 from disposition counts.

    ``counts`` holds I, P, R, NC, O, UH, UO (missing keys are 0); ``e`` is the estimated
    share of unknown-eligibility cases that are eligible. A rate whose denominator is 0
    is None (there is nothing to divide), never a made-up 0.
    """
    if not 0 <= e <= 1:
        raise UserError(f"e must be between 0 and 1, got {e}")
    c = {k: float(counts.get(k, 0) or 0) for k in DISPOSITIONS}
    i, p, r, nc, o, uh, uo = c["I"], c["P"], c["R"], c["NC"], c["O"], c["UH"], c["UO"]
    interviews = i + p
    known = interviews + r + nc + o          # eligible cases
    unknown = uh + uo                        # cases of unknown eligibility
    contacted = interviews + r + o
    all_unknown = known + unknown            # every unknown counted eligible
    est_unknown = known + e * unknown        # a share e of them eligible
    return {
        "RR1": _div(i, all_unknown),
        "RR2": _div(interviews, all_unknown),
        "RR3": _div(i, est_unknown),
        "RR4": _div(interviews, est_unknown),
        "RR5": _div(i, known),
        "RR6": _div(interviews, known),
        "COOP1": _div(i, interviews + r + o),
        "COOP2": _div(interviews, interviews + r + o),
        "COOP3": _div(i, interviews + r),
        "COOP4": _div(interviews, interviews + r),
        "REF1": _div(r, all_unknown),
        "REF2": _div(r, est_unknown),
        "REF3": _div(r, known),
        "CON1": _div(contacted, all_unknown),
        "CON2": _div(contacted, est_unknown),
        "CON3": _div(contacted, known),
    }


def family_counts(by_family: Mapping[str, int]) -> dict[str, int]:
    """Disposition counts with every code present (UH and NE 0 unless given)."""
    return {k: int(by_family.get(k, 0) or 0) for k in DISPOSITIONS}


def best_family(outcomes: Iterable[str]) -> str | None:
    """The best AAPOR family among a case's attempts (I > P > R > O > NC > UO), or None."""
    from calls.outcomes import FAMILY_ORDER

    families = {FAMILY[Outcome(o)] for o in outcomes}
    for fam in FAMILY_ORDER:
        if fam in families:
            return fam
    return None


# -- NPS and CSAT ---------------------------------------------------------------------


@record(frozen=True)
class NPS:
    """Net Promoter figures: 9–10 promoters, 7–8 passives, 0–6 detractors."""

    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    score: float | None = None      # % promoters − % detractors, one decimal; None if empty


def nps_from_histogram(histogram: Mapping[int, int]) -> NPS:
    """NPS from {score 0..10: count}; values outside 0..10 are ignored (not an NPS answer)."""
    promoters = passives = detractors = 0
    for score, n in histogram.items():
        if score is None or not 0 <= int(score) <= 10:
            continue
        if score >= 9:
            promoters += n
        elif score >= 7:
            passives += n
        else:
            detractors += n
    responses = promoters + passives + detractors
    score = (
        round(100.0 * (promoters - detractors) / responses, 1) if responses else None
    )
    return NPS(responses, promoters, passives, detractors, score)


@record(frozen=True)
class CSAT:
    """Customer satisfaction: the share (%) of 4–5 answers on a 1–5 scale."""

    responses: int = 0
    satisfied: int = 0
    score: float | None = None


def csat_from_histogram(histogram: Mapping[int, int]) -> CSAT:
    """CSAT from {rating 1..5: count}; values outside 1..5 are ignored."""
    responses = sum(n for r, n in histogram.items() if r is not None and 1 <= r <= 5)
    satisfied = sum(n for r, n in histogram.items() if r is not None and 4 <= r <= 5)
    score = round(100.0 * satisfied / responses, 1) if responses else None
    return CSAT(responses, satisfied, score)


def median_from_histogram(histogram: Mapping[float, int]) -> float | None:
    """The median of values given as {value: count} (the mean of the two middle ones)."""
    total = sum(histogram.values())
    if not total:
        return None
    items = sorted((v, n) for v, n in histogram.items() if n)
    lo_rank, hi_rank = (total - 1) // 2, total // 2
    seen = 0
    lo = hi = None
    for value, n in items:
        if lo is None and seen + n > lo_rank:
            lo = value
        if seen + n > hi_rank:
            hi = value
            break
        seen += n
    return (lo + hi) / 2


# -- coverage -------------------------------------------------------------------------


def cadence_days(policy: Any = None) -> dict[str, int]:
    """Days between care calls per tier, from the policy (defaults A 90, B 180, C 365)."""
    if policy is None:
        from calls.policy import load_policy

        policy = load_policy(None)
    cadence = getattr(policy, "cadence_days", None)
    if isinstance(policy, Mapping):
        cadence = policy.get("cadence_days", policy)
    if not cadence:
        return dict(DEFAULT_CADENCE_DAYS)
    out = dict(DEFAULT_CADENCE_DAYS)
    for tier, days in dict(cadence).items():
        out[str(tier).upper()] = int(days)
    return out


@record(frozen=True)
class TierCoverage:
    """One tier's promise: customers with a completed call within their cadence."""

    tier: str
    cadence_days: int
    customers: int
    covered: int
    share: float | None      # % of customers covered, one decimal

    def share_text(self, places: int = 1) -> str:
        """The share as people read it (:func:`percent_text`: 3 of 7,368 is ``<0.1%``)."""
        return percent_text(self.covered / self.customers if self.customers else None, places)


@record
class Coverage:
    """Coverage per tier as of a moment, and the customers not reached in a year."""

    as_of: str
    tiers: list[TierCoverage]
    not_reached: int
    do_not_call: int          # left out of every figure: they must not be called
    not_reached_customers: list[dict] | None = None


def tier_coverage(tier: str, cadence: int, customers: int, covered: int) -> TierCoverage:
    """A :class:`TierCoverage` with its share."""
    share = round(100.0 * covered / customers, 1) if customers else None
    return TierCoverage(tier, cadence, customers, covered, share)


# -- follow-ups and the loop -----------------------------------------------------------


@record(frozen=True)
class FollowupFigures:
    """The backlog and throughput of one follow-up kind."""

    kind: str
    open: int
    overdue: int
    done: int                 # closed as done within the period
    cancelled: int            # cancelled within the period
    median_days_to_close: float | None


@record(frozen=True)
class LoopFigures:
    """The detractor loop: detractors heard, loops closed, scores before and after."""

    detractors: int           # detractor answers (0–6) heard in the period
    loops_closed: int         # recovery calls made in the period with a score after
    won_back: int             # of those, score after >= 7 (no longer a detractor)
    avg_score_change: float | None


# -- the report -----------------------------------------------------------------------


@record
class Activity:
    """What the callers did: attempts, cases (customers tried), contacts, completes."""

    attempts: int = 0
    cases: int = 0
    contacts: int = 0
    completes: int = 0
    in_progress: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@record
class GroupRow:
    """One line of a ``--by`` breakdown."""

    key: str
    activity: Activity
    counts: dict[str, int]
    rates: dict[str, float | None]
    nps: NPS
    calls_per_hour: float | None = None
    aht_seconds: float | None = None        # average handle time (per caller)


@record
class Report:
    """Everything ``carecall report`` shows for one period."""

    since: str                 # first day, inclusive (YYYY-MM-DD)
    until: str                 # last day, inclusive
    generated_at: str
    e: float
    activity: Activity
    counts: dict[str, int]
    rates: dict[str, float | None]
    nps: NPS
    nps_previous: NPS
    nps_change: float | None
    csat: CSAT
    coverage: Coverage
    followups: list[FollowupFigures]
    loop: LoopFigures
    by: str | None = None
    groups: list[GroupRow] = field(default_factory=list)
    weekly: list[GroupRow] = field(default_factory=list)
    # Weeks with fewer NPS answers are gaps in the weekly chart (policy segments).
    min_week_answers: int = 5
    # Sections other areas add (name -> object with to_json()): deadlines, themes,
    # segments (calls/loop_sections.py).
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when nobody was called in the period."""
        return self.activity.attempts == 0 and self.activity.in_progress == 0

    def to_json(self) -> dict:
        """The report as plain JSON data (``--json``)."""
        followup_totals = {
            "open": sum(f.open for f in self.followups),
            "overdue": sum(f.overdue for f in self.followups),
            "done": sum(f.done for f in self.followups),
            "cancelled": sum(f.cancelled for f in self.followups),
        }
        coverage = {
            "as_of": self.coverage.as_of,
            "tiers": [asdict(t) for t in self.coverage.tiers],
            "not_reached": self.coverage.not_reached,
            "not_reached_days": NOT_REACHED_DAYS,
            "do_not_call": self.coverage.do_not_call,
        }
        if self.coverage.not_reached_customers is not None:
            coverage["not_reached_customers"] = self.coverage.not_reached_customers
        data: dict[str, Any] = {
            "period": {"since": self.since, "until": self.until},
            "generated_at": self.generated_at,
            "empty": self.empty,
            "activity": asdict(self.activity),
            "aapor": {**self.rates, "counts": dict(self.counts), "e": self.e},
            "nps": {**asdict(self.nps), "previous": asdict(self.nps_previous),
                    "change": self.nps_change},
            "csat": asdict(self.csat),
            "coverage": coverage,
            "followups": {
                **followup_totals,
                "by_kind": [asdict(f) for f in self.followups],
                "loop": asdict(self.loop),
            },
        }
        if self.by:
            data["by"] = self.by
            # what a group's cases (and so its rates) count: calls, or customers
            data["group_case"] = "call" if self.by in PER_CALL else "customer"
            data["groups"] = [_group_json(g) for g in self.groups]
        for name, section in self.sections.items():
            data[name] = section.to_json()
        return data


def _group_json(g: GroupRow) -> dict:
    return {
        "key": g.key,
        "activity": asdict(g.activity),
        "aapor": {**g.rates, "counts": dict(g.counts)},
        "nps": asdict(g.nps),
        "calls_per_hour": g.calls_per_hour,
        "aht_seconds": g.aht_seconds,
    }


def activity_from_outcomes(outcomes: Mapping[str | None, int], cases: int) -> Activity:
    """Activity figures from {outcome code (None = in progress): attempts}."""
    act = Activity(cases=cases)
    for code, n in outcomes.items():
        if code is None:
            act.in_progress += n
            continue
        act.attempts += n
        act.outcomes[code] = act.outcomes.get(code, 0) + n
        try:
            outcome = Outcome(code)
        except ValueError:
            continue
        if outcome in CONTACT:
            act.contacts += n
        if outcome is Outcome.COMPLETED:
            act.completes += n
    return act


# -- periods --------------------------------------------------------------------------


def parse_day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` (or ISO moment) from the command line; UserError otherwise."""
    value = text.strip()
    try:
        day = (date.fromisoformat(value) if len(value) <= 10
               else datetime.fromisoformat(value).date())
    except ValueError:
        raise UserError(f"{option}: {text!r} is not a date (use YYYY-MM-DD)") from None
    # The previous period (for the NPS change) and the week buckets reach back and ahead
    # of the period: far years would overflow the calendar.
    if not 1900 <= day.year <= 2999:
        raise UserError(f"{option}: {text!r} is too far from today "
                        "(give a year between 1900 and 2999)")
    return day


def period_bounds(
    since: date | None, until: date | None, now: datetime, default_days: int = DEFAULT_PERIOD_DAYS
) -> tuple[date, date]:
    """The inclusive first and last day of the period (defaults: the last 30 days to today)."""
    last = until or now.astimezone(UTC).date()
    first = since or last - timedelta(days=default_days - 1)
    if first > last:
        raise UserError(f"--since {first} is after --until {last}")
    return first, last


def day_start(day: date) -> str:
    """The store's UTC text for 00:00 of a day."""
    return to_iso(datetime.combine(day, time(0), tzinfo=UTC))


# -- assembling a report from the store ------------------------------------------------


def build_report(
    store,
    now: datetime,
    since: date | None = None,
    until: date | None = None,
    *,
    by: str | None = None,
    e: float = 1.0,
    policy: Any = None,
    include_not_reached: bool = False,
    weekly: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Compute the report for the days ``since``..``until`` (inclusive, UTC).

    Coverage and the follow-up backlog are measured as of the end of the period (or
    ``now`` if that is earlier). ``progress`` is called with a label before each step.
    """
    if by is not None and by not in GROUPINGS:
        raise UserError(f"--by {by!r}: use one of {', '.join(GROUPINGS)}")
    if not 0 <= e <= 1:
        raise UserError(f"--e must be between 0 and 1, got {e}")
    step = progress or (lambda _label: None)
    first, last = period_bounds(since, until, now)
    # one read snapshot: every figure of the report counts the same calls
    with store.reading():
        return _build_report(store, now, first, last, by=by, e=e, policy=policy,
                             include_not_reached=include_not_reached, weekly=weekly,
                             step=step)


def _build_report(store, now: datetime, first: date, last: date, *, by: str | None,
                  e: float, policy: Any, include_not_reached: bool, weekly: bool,
                  step: Callable[[str], None]) -> Report:
    from calls.store import reports as q

    start, end = day_start(first), day_start(last + timedelta(days=1))
    as_of = min(end, to_iso(now))

    step("outcomes")
    outcomes = q.outcome_counts(store, start, end)
    fams = q.case_families(store, start, end)
    counts = family_counts(fams)
    activity = activity_from_outcomes(outcomes, sum(fams.values()))
    rates = aapor_rates(counts, e)

    step("NPS and CSAT")
    nps_hist = q.nps_histogram(store, start, end)
    nps = nps_from_histogram(nps_hist)
    length = (last - first).days + 1
    prev_start = day_start(first - timedelta(days=length))
    nps_prev = nps_from_histogram(q.nps_histogram(store, prev_start, start))
    change = (
        round(nps.score - nps_prev.score, 1)
        if nps.score is not None and nps_prev.score is not None
        else None
    )
    csat = csat_from_histogram(q.rating_histogram(store, start, end))

    step("coverage")
    coverage = coverage_as_of(store, as_of, policy, include_list=include_not_reached)

    step("follow-ups")
    followups = followup_figures(store, start, end, as_of)
    loop = LoopFigures(detractors=nps.detractors, **q.loop_figures(store, start, end))

    groups: list[GroupRow] = []
    if by:
        step(f"by {by}")
        # the tiers split the period's own figures (a case is a customer)
        totals = (q.PeriodTotals(fams, outcomes, nps_hist) if by == "tier" else None)
        rest = max(coverage.tiers, key=lambda t: t.customers).tier if coverage.tiers else None
        groups = group_rows(store, start, end, by, e, totals=totals, largest_tier=rest)
    weeks: list[GroupRow] = []
    if weekly:
        step("weekly series")
        weeks = groups if by == "week" else group_rows(store, start, end, "week", e)

    return Report(
        since=first.isoformat(), until=last.isoformat(), generated_at=to_iso(now), e=e,
        activity=activity, counts=counts, rates=rates, nps=nps, nps_previous=nps_prev,
        nps_change=change, csat=csat, coverage=coverage, followups=followups, loop=loop,
        by=by, groups=groups, weekly=weeks,
        min_week_answers=int(getattr(getattr(policy, "segments", None), "min_week_answers",
                                     5)),
    )


def coverage_as_of(store, as_of: str, policy: Any = None, *, include_list: bool = False,
                   kept: Any = None) -> Coverage:
    """Coverage per tier at the moment ``as_of`` (store text) and the customers not reached.
    ``kept``: counts kept between reads (``calls.store.coverage.KeptCounts``)."""
    from calls.clock import from_iso
    from calls.store import reports as q

    cadence = cadence_days(policy)
    moment = from_iso(as_of)
    cutoffs = {t: to_iso(moment - timedelta(days=d)) for t, d in cadence.items()}
    unreached_cutoff = to_iso(moment - timedelta(days=NOT_REACHED_DAYS))
    rows = q.coverage_counts(store, as_of, cutoffs, unreached_cutoff, kept=kept)
    tiers = []
    for tier in sorted(set(cadence) | set(rows["tiers"])):
        customers, covered = rows["tiers"].get(tier, (0, 0))
        if tier not in cadence and not customers:
            continue
        days = cadence.get(tier, cadence.get("C", NOT_REACHED_DAYS))
        tiers.append(tier_coverage(tier, days, customers, covered))
    listing = (
        list(q.iter_not_reached(store, as_of, unreached_cutoff)) if include_list else None
    )
    return Coverage(as_of, tiers, rows["not_reached"], rows["do_not_call"], listing)


# The report's follow-up table counts as "due" the open follow-ups whose due time has come
# (``FollowupFigures.overdue``, ``overdue`` in --json): to be done from then on, not late. A
# recovery call is due at once. Late is past a deadline (calls.deadlines): the dashboard's
# "late" column. Said under the table (CLI and HTML) so that the two read apart.
DUE_WORD = "due"
DUE_NOTE = ("due = open, their due time come: to be done (a recovery call is due at once); "
            "late = past a deadline (the deadlines' table, the dashboard's late column)")


def followup_figures(store, start: str, end: str, as_of: str, *,
                     state: Mapping[str, Mapping[str, int]] | None = None
                     ) -> list[FollowupFigures]:
    """Per kind: open and overdue now, done and cancelled in the period, median days to
    close. ``state``: ``followup_state``'s answer, when read already (the dashboard keeps
    it: ``calls.store.dashboard.KeptBacklog``)."""
    from calls.store import reports as q

    if state is None:
        state = q.followup_state(store, start, end, as_of)
    hist = q.followup_close_histogram(store, start, end)
    out = []
    for kind in sorted(set(state) | set(hist)):
        s = state.get(kind, {})
        med = median_from_histogram(hist.get(kind, {}))
        out.append(FollowupFigures(
            kind=kind, open=s.get("open", 0), overdue=s.get("overdue", 0),
            done=s.get("done", 0), cancelled=s.get("cancelled", 0),
            median_days_to_close=round(med, 1) if med is not None else None,
        ))
    return out


def call_families(outcomes: Mapping[str | None, int]) -> dict[str, int]:
    """{family: calls} when each call counts as its own case (a per-call breakdown): every
    call with an outcome carecall knows, in its outcome's AAPOR family."""
    out: dict[str, int] = {}
    for code, n in outcomes.items():
        try:
            family = FAMILY[Outcome(code)]
        except ValueError:      # in progress (None), or a code carecall does not know
            continue
        out[family] = out.get(family, 0) + n
    return out


def average_handle_seconds(seconds: float, calls: int) -> float | None:
    """Average handle time (AHT): the seconds handling calls over the calls handled (None
    when there were none). The report and the dashboard both show this figure."""
    return seconds / calls if calls else None


def group_rows(store, start: str, end: str, by: str, e: float = 1.0, *,
               totals=None, largest_tier: str | None = None) -> list[GroupRow]:
    """The ``--by`` breakdown: activity, rates and NPS per caller / tier / script / week.

    Per tier a case is a customer, as in the whole report; per caller, week, script or
    purpose every call is its own case (:data:`PER_CALL`, :func:`call_families`).
    ``totals`` (:class:`calls.store.reports.PeriodTotals`, read in the same snapshot) lets
    a long period's tiers be split off the whole period's figures, with ``largest_tier``
    the one left to subtract (``calls.store.reports.tier_breakdown``)."""
    from calls.store import reports as q

    if by == "caller":
        outcomes, handled = q.caller_calls(store, start, end)
        return caller_rows(outcomes, handled, q.caller_worked_seconds(store, start, end),
                           q.nps_histogram_by(store, start, end, by), e)
    if by not in PER_CALL:
        if totals is not None and q.holds_most_calls(store, start, end):
            families, outcomes, nps_hist = q.tier_breakdown(store, start, end, totals,
                                                            largest_tier)
        else:
            families, outcomes = q.tier_figures(store, start, end)
            nps_hist = q.nps_histogram_by(store, start, end, by)
    else:
        outcomes = q.calls_by(store, start, end, by)
        families = {key: call_families(calls) for key, calls in outcomes.items()}
        nps_hist = q.nps_histogram_by(store, start, end, by)
    return _group_rows(outcomes, families, nps_hist, e)


def caller_rows(outcomes: Mapping, handled: Mapping[str, tuple[float, int]],
                worked: Mapping[str, tuple[int, int]], nps_hist: Mapping, e: float = 1.0
                ) -> list[GroupRow]:
    """The ``--by caller`` rows from their parts as the store counts them: {caller:
    {outcome: calls}}, {caller: (handle seconds, calls with an end)}, {caller: (attempts,
    seconds active)} and {caller: {score: answers}} (the dashboard keeps the parts of
    today's shift between refreshes: ``calls.dashboard``)."""
    handle = {caller: average_handle_seconds(seconds, calls)
              for caller, (seconds, calls) in handled.items()}
    per_hour = {caller: round(attempts * 3600.0 / seconds, 1) if seconds else None
                for caller, (attempts, seconds) in worked.items()}
    families = {key: call_families(calls) for key, calls in outcomes.items()}
    return _group_rows(outcomes, families, nps_hist, e, per_hour, handle)


def _group_rows(outcomes: Mapping, families: Mapping, nps_hist: Mapping, e: float,
                per_hour: Mapping | None = None, handle: Mapping | None = None
                ) -> list[GroupRow]:
    per_hour = per_hour or {}
    handle = handle or {}
    rows = []
    for key in sorted(set(outcomes) | set(families), key=lambda k: (k is None, str(k))):
        fams = family_counts(families.get(key, {}))
        label = "(none)" if key is None else str(key)
        rows.append(GroupRow(
            key=label,
            activity=activity_from_outcomes(outcomes.get(key, {}), sum(fams.values())),
            counts=fams,
            rates=aapor_rates(fams, e),
            nps=nps_from_histogram(nps_hist.get(key, {})),
            calls_per_hour=per_hour.get(key),
            aht_seconds=handle.get(key),
        ))
    return rows


# -- the dashboard's figures -------------------------------------------------------------


@record
class DashboardToday:
    """The dashboard's live part: today's shift per caller and in all."""

    now: str
    today: list[GroupRow]             # today's shift, per caller
    today_total: Activity


@record
class DashboardPeriod:
    """The dashboard's longer view: the last 7 and 30 days, coverage and the backlog."""

    week_counts: dict[str, int]
    week_rates: dict[str, float | None]
    week_nps: NPS
    daily_nps: list[tuple[str, float | None]]       # last 30 days
    daily_attempts: list[tuple[str, int]]
    coverage: Coverage
    followups: list[FollowupFigures]


@record
class Dashboard(DashboardPeriod, DashboardToday):
    """What the supervisor's live screen shows: both parts."""


def _day_starts(now: datetime, tz: tzinfo) -> tuple[date, Callable[[date], str]]:
    """Today in ``tz`` and a function giving the store text of a day's start there."""
    local_now = now.astimezone(tz)

    def start_of(day: date) -> str:
        return to_iso(datetime.combine(day, time(0), tzinfo=tz))

    return local_now.date(), start_of


def dashboard_today(store, now: datetime, tz: tzinfo = UTC) -> DashboardToday:
    """Today's shift per caller and in all ("today" in ``tz``, the supervisor's zone)."""
    from calls.store import reports as q

    today, start_of = _day_starts(now, tz)
    start_today = start_of(today)
    end = start_of(today + timedelta(days=1))
    return DashboardToday(
        now=to_iso(now),
        today=group_rows(store, start_today, end, "caller"),
        today_total=activity_from_outcomes(
            q.outcome_counts(store, start_today, end),
            sum(q.case_families(store, start_today, end).values()),
        ),
    )


@record(frozen=True)
class DashboardDays:
    """The store-text bounds of the dashboard's days in a time zone: today from
    ``today_start`` to ``end``, the last 7 days from ``week_start``, the last 30 from
    ``month_start``; ``shift`` is today's UTC offset as an SQLite modifier (the 30-day
    lines' days)."""

    today: date
    today_start: str
    end: str
    week_start: str
    month_start: str
    shift: str


def dashboard_days(now: datetime, tz: tzinfo = UTC) -> DashboardDays:
    """The dashboard's days at ``now`` in ``tz``."""
    today, start_of = _day_starts(now, tz)
    offset = now.astimezone(tz).utcoffset() or timedelta(0)
    return DashboardDays(
        today=today,
        today_start=start_of(today),
        end=start_of(today + timedelta(days=1)),
        week_start=start_of(today - timedelta(days=6)),
        month_start=start_of(today - timedelta(days=29)),
        shift=f"{int(offset.total_seconds() // 60):+d} minutes",
    )


def dashboard_period(store, now: datetime, policy: Any = None,
                     tz: tzinfo = UTC, *, week_families: Mapping[str, int] | None = None,
                     attempts_by_day: Mapping[str, int] | None = None,
                     kept_coverage: Any = None,
                     followups: list[FollowupFigures] | None = None) -> DashboardPeriod:
    """The last 7 days' rates and NPS, the 30-day lines, coverage and the backlog.

    The days of the 30-day lines are days in ``tz`` at today's UTC offset, so around a
    DST change a call within an hour of midnight may land on the neighbouring day.
    ``week_families`` (the 7 days' cases per family) and ``attempts_by_day`` (the 30
    days' attempts per day) and ``followups`` (the backlog, :func:`followup_figures`),
    when given, are used as read (``calls.dashboard`` keeps the days before today's and
    the backlog); ``kept_coverage``: coverage's counts kept between reads
    (``calls.store.coverage.KeptCounts``).
    """
    from calls.store import reports as q

    days_of = dashboard_days(now, tz)
    end, week_start, month_start = days_of.end, days_of.week_start, days_of.month_start
    if week_families is None:
        week_families = q.case_families(store, week_start, end)
    week_counts = family_counts(week_families)
    daily_nps_hist = q.daily_nps_histogram(store, month_start, end, days_of.shift)
    if attempts_by_day is None:
        attempts_by_day = q.daily_attempts(store, month_start, end, days_of.shift)
    days = [(days_of.today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    as_of = to_iso(now)
    return DashboardPeriod(
        week_counts=week_counts,
        week_rates=aapor_rates(week_counts),
        week_nps=nps_from_histogram(q.nps_histogram(store, week_start, end)),
        daily_nps=[(d, nps_from_histogram(daily_nps_hist.get(d, {})).score) for d in days],
        daily_attempts=[(d, attempts_by_day.get(d, 0)) for d in days],
        coverage=coverage_as_of(store, as_of, policy, kept=kept_coverage),
        followups=(followup_figures(store, week_start, end, as_of) if followups is None
                   else followups),
    )


def build_dashboard(store, now: datetime, policy: Any = None, tz: tzinfo = UTC) -> Dashboard:
    """Today's shift per caller, the last 7 days' rates and NPS, coverage and the backlog
    (:func:`dashboard_today` and :func:`dashboard_period` in one)."""
    today = dashboard_today(store, now, tz)
    period = dashboard_period(store, now, policy, tz)
    return Dashboard(**vars(today), **vars(period))


# -- JSON output -------------------------------------------------------------------------------

_LIST_MARK = "__carecall_not_reached_customers__"


def write_report_json(store, report: Report, fh, *, with_list: bool = True) -> None:
    """Write the report as JSON to ``fh``. The not-reached customers (possibly hundreds of
    thousands) are streamed from the database into the output, never held in memory."""
    import json

    from calls.clock import from_iso
    from calls.store import reports as q

    data = report.to_json()
    if not with_list:
        fh.write(json.dumps(data, indent=2) + "\n")
        return
    data["coverage"]["not_reached_customers"] = _LIST_MARK
    head, tail = json.dumps(data, indent=2).split(f'"{_LIST_MARK}"')
    fh.write(head + "[")
    cutoff = to_iso(from_iso(report.coverage.as_of) - timedelta(days=NOT_REACHED_DAYS))
    first = True
    for row in q.iter_not_reached(store, report.coverage.as_of, cutoff):
        fh.write(("\n" if first else ",\n") + "      " + json.dumps(row, ensure_ascii=False))
        first = False
    fh.write("]" if first else "\n    ]")
    fh.write(tail + "\n")
