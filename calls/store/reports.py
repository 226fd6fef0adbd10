"""Report queries: every figure is aggregated inside SQLite, never row by row in Python.

Periods are half-open ranges of store text ``[start, end)``; the text form is fixed
(``YYYY-MM-DDTHH:MM:SSZ``) so comparing text compares time. Functions return small dicts
of counts; ``calls/reports.py`` turns them into figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from calls.clock import to_iso
from calls.outcomes import CONTACT, FAMILY, FAMILY_ORDER, Outcome
from calls.records import record
from calls.store import Store

# The rank of each outcome's AAPOR family (1 = best), as one SQL CASE so that SQLite can
# take the best disposition of a case with min(). Built from the outcome table on each
# query (a few microseconds), so a new entry counts at once.
# The WHENs come in the order outcomes are most common, so that the typical row matches early.
_BY_FREQUENCY = ("no_answer", "completed", "voicemail", "busy", "refused", "callback",
                 "partial", "other_contact", "wrong_number", "disconnected", "do_not_call")


def _rank_sql() -> str:
    known = [o for o in _BY_FREQUENCY if o in Outcome]
    order = [Outcome(o) for o in known] + [o for o in Outcome if o.value not in known]
    return ("CASE c.outcome "
            + " ".join(f"WHEN '{o.value}' THEN {FAMILY_ORDER.index(FAMILY[o]) + 1}"
                       for o in order)
            + " END")


def _contact_sql() -> str:
    return "(" + ", ".join(f"'{o.value}'" for o in sorted(CONTACT)) + ")"


# The --by groupings: a fixed set of SQL expressions over ``calls c`` (never user text).
_GROUP_SQL = {
    "caller": ("c.caller", ""),
    "tier": ("coalesce(cu.tier, '?')", "JOIN customers cu ON cu.id = c.customer_id"),
    "script": ("c.script_id", ""),
    "week": ("date(c.started_at, '-6 days', 'weekday 1')", ""),
    # care / survey / marketing (docs/lawful.md); calls from before it was recorded: NULL
    "purpose": ("c.purpose", ""),
}

# An NPS or rating answer is stored as JSON ("9"); json_extract also reads "\"9\"".
_SCORE_SQL = "CAST(json_extract(a.value, '$') AS INTEGER)"


def _group(by: str) -> tuple[str, str]:
    try:
        return _GROUP_SQL[by]
    except KeyError:
        raise ValueError(f"unknown grouping {by!r}") from None


def _script_labels(store: Store) -> dict[int, str]:
    return {
        r["id"]: f"{r['name']} v{r['version']}"
        for r in store.all("SELECT id, name, version FROM scripts")
    }


def _relabel(store: Store, by: str, data: dict) -> dict:
    """Script ids become "name vX" labels (two ids of one version add up)."""
    if by != "script":
        return data
    labels = _script_labels(store)
    out: dict = {}
    for key, inner in data.items():
        label = labels.get(key, f"script #{key}") if key is not None else None
        target = out.setdefault(label, {})
        for k, n in inner.items():
            target[k] = target.get(k, 0) + n
    return out


# -- attempts and cases --------------------------------------------------------------------


def outcome_counts(store: Store, start: str, end: str) -> dict[str | None, int]:
    """Attempts started in ``[start, end)`` per outcome code (None: still in progress).

    One index range count per outcome (index on outcome, started_at) instead of a GROUP
    BY that would sort every call of the period; a code carecall does not know (an old
    or hand-edited row) is counted under its own name from the remainder.
    """
    conn = store.db.conn
    out: dict[str | None, int] = {}
    for outcome in Outcome:
        n = conn.execute(
            "SELECT count(*) FROM calls WHERE outcome = ? AND started_at >= ? "
            "AND started_at < ?", (outcome.value, start, end),
        ).fetchone()[0]
        if n:
            out[outcome.value] = n
    pending = conn.execute(
        "SELECT count(*) FROM calls WHERE outcome IS NULL AND started_at >= ? "
        "AND started_at < ?", (start, end),
    ).fetchone()[0]
    if pending:
        out[None] = pending
    total = conn.execute(
        "SELECT count(*) FROM calls WHERE started_at >= ? AND started_at < ?", (start, end)
    ).fetchone()[0]
    if total != sum(out.values()):
        known = tuple(o.value for o in Outcome)
        marks = ", ".join("?" for _ in known)
        for code, n in conn.execute(
            f"SELECT outcome, count(*) FROM calls WHERE started_at >= ? AND started_at < ? "
            f"AND outcome NOT IN ({marks}) GROUP BY outcome", (start, end, *known),
        ):
            out[code] = n
    return out


def outcome_counts_by(store: Store, start: str, end: str, by: str) -> dict:
    """{group key: {outcome: attempts}} for the ``--by`` breakdown."""
    expr, join = _group(by)
    rows = store.db.conn.execute(
        f"SELECT {expr}, c.outcome, count(*) FROM calls c {_scan_hint(store, start, end)} "
        f"{join} WHERE c.started_at >= ? AND c.started_at < ? GROUP BY 1, 2",
        (start, end),
    )
    out: dict = {}
    for key, outcome, n in rows:
        out.setdefault(key, {})[outcome] = n
    return _relabel(store, by, out)


def _holds_most_calls(store: Store, start: str, end: str) -> bool:
    """True when ``[start, end)`` holds a large share (over a fifth) of many calls: reading
    the period through the time index (one table lookup per call) then costs more than
    reading the calls in another order."""
    total = store.scalar("SELECT max(id) FROM calls") or 0
    return total >= 50_000 and _calls_in(store, start, end, total // 5 + 1) * 5 > total


def _calls_in(store: Store, start: str, end: str, up_to: int) -> int:
    """How many calls started in ``[start, end)``, counted up to ``up_to`` at most: enough
    to compare the period with a share of all calls without counting a whole year (a year
    of 3,000,000 calls: 0.25 s for each such question)."""
    return store.scalar(
        "SELECT count(*) FROM (SELECT 1 FROM calls INDEXED BY idx_calls_started "
        "WHERE started_at >= ? AND started_at < ? LIMIT ?)", (start, end, up_to)) or 0


def _scan_hint(store: Store, start: str, end: str) -> str:
    """``NOT INDEXED`` for a long period: a breakdown that sorts the period's calls anyway
    reads them faster straight from the table (a year of 3,000,000 calls by caller
    2.9 -> 2.0 s)."""
    return "NOT INDEXED" if _holds_most_calls(store, start, end) else ""


def _by_customer_index(store: Store, start: str, end: str) -> str:
    """``INDEXED BY`` the (customer, time, outcome) index for a long period: reading that
    index in customer order needs no sort and no table lookups."""
    if _holds_most_calls(store, start, end):
        return "INDEXED BY idx_calls_customer_time_outcome"
    return ""


def case_families(store: Store, start: str, end: str) -> dict[str, int]:
    """Cases (customers attempted in the period) per best AAPOR family of their attempts."""
    hint = _by_customer_index(store, start, end)
    rows = store.db.conn.execute(
        f"SELECT rank, count(*) FROM (SELECT min({_rank_sql()}) AS rank FROM calls c {hint} "
        "WHERE c.started_at >= ? AND c.started_at < ? AND c.outcome IS NOT NULL "
        "GROUP BY c.customer_id) GROUP BY rank",
        (start, end),
    )
    return {FAMILY_ORDER[rank - 1]: n for rank, n in rows if rank}


_FAMILY_SUMS = ", ".join(f"sum(r = {i + 1})" for i in range(len(FAMILY_ORDER)))

# -- the --by breakdown ------------------------------------------------------------------------
#
# A breakdown by something each call has (caller, week, script, purpose) counts calls: a
# call is its own case, with its own outcome's disposition (one customer's calls may fall
# in several groups; docs/reports.md "--by"). A breakdown by something the customer has
# (tier) splits the period's cases. The plain GROUP BY queries these stand for are kept in
# tests/support/reports.py, which checks both agree.


def calls_by(store: Store, start: str, end: str, by: str) -> dict:
    """{group key: {outcome (None: in progress): calls}} in ``[start, end)`` for a
    per-call breakdown (``caller``, ``week``, ``script``, ``purpose``; groups without
    calls left out)."""
    if by == "caller":
        return caller_calls(store, start, end)[0]
    if by == "week":
        if _whole_days(start, end) and not _few_calls(store, start, end):
            # summed from the callers' days (kept by triggers), a few hundred rows a week
            out: dict = {}
            for week, outcome, n in store.db.conn.execute(
                    "SELECT date(day, '-6 days', 'weekday 1'), nullif(outcome, ''), "
                    "sum(calls) FROM caller_days WHERE day >= ? AND day < ? GROUP BY 1, 2",
                    (start[:10], end[:10])):
                out.setdefault(week, {})[outcome] = n
            return out
        # a week's calls per outcome are counts of index ranges, as the whole period's
        return _week_by_week(store, start, end, outcome_counts)
    return outcome_counts_by(store, start, end, by)


def caller_calls(store: Store, start: str, end: str) -> tuple[dict, dict]:
    """({caller: {outcome (None: in progress): calls}}, {caller: (handle seconds, calls
    with an end)}) for calls started in ``[start, end)``; a call's handle seconds are from
    its start to its end (the outcome recorded).

    A period of whole UTC days (every report) is summed from the callers' days
    (``caller_days``, kept by triggers: migration reports_0003); a short period (a day's
    shift on the dashboard, in the supervisor's zone) is counted from its calls through
    the time index."""
    if _whole_days(start, end) and not _few_calls(store, start, end):
        rows = store.db.conn.execute(
            "SELECT caller, nullif(outcome, ''), sum(calls), sum(handle_seconds), sum(ended) "
            "FROM caller_days WHERE day >= ? AND day < ? GROUP BY caller, outcome",
            (start[:10], end[:10]))
    else:
        rows = store.db.conn.execute(
            "SELECT caller, outcome, count(*), "
            "sum(unixepoch(ended_at) - unixepoch(started_at)), count(ended_at) "
            f"FROM calls {_period_index(store, start, end)} "
            "WHERE started_at >= ? AND started_at < ? GROUP BY caller, outcome", (start, end))
    outcomes: dict = {}
    handle: dict = {}
    for caller, outcome, n, seconds, ended in rows:
        outcomes.setdefault(caller, {})[outcome] = n
        if ended:
            total, calls = handle.get(caller, (0, 0))
            handle[caller] = (total + (seconds or 0), calls + ended)
    return outcomes, handle


def _whole_days(start: str, end: str) -> bool:
    """True when ``start`` and ``end`` are UTC midnights in the store's text (every
    report's period): the callers' day tables then hold exactly the period's calls."""
    return all(len(t) == 20 and t.endswith("T00:00:00Z") for t in (start, end))


def _period_index(store: Store, start: str, end: str) -> str:
    """The time index for a period with few of the calls, else the table in its order."""
    return ("INDEXED BY idx_calls_started" if _few_calls(store, start, end)
            else "NOT INDEXED")


def tier_figures(store: Store, start: str, end: str) -> tuple[dict, dict]:
    """({tier: {family: cases}}, {tier: {outcome: attempts}}) in ``[start, end)``: a case
    is a customer, counted in the customer's tier ("?": none)."""
    return _figures_by_tier(store, start, end)


def _week_by_week(store: Store, start: str, end: str, figures) -> dict:
    """{Monday as YYYY-MM-DD: ``figures(store, lo, hi)``} for the part ``[lo, hi)`` of the
    period in each week it touches (weeks whose figures are empty left out), as the
    ``week`` grouping names them."""
    out = {}
    for week, first, last in _weeks(store.db.conn, start, end):
        got = figures(store, max(first, start), min(last, end))
        if got:
            out[week] = got
    return out


def _weeks(conn, start: str, end: str) -> list[tuple[str, str, str]]:
    """(Monday as YYYY-MM-DD, its start, the next Monday's start) for each week touching
    ``[start, end)``, as the ``week`` grouping names them."""
    first = conn.execute("SELECT date(?, '-6 days', 'weekday 1')", (start,)).fetchone()[0]
    weeks = []
    day = first
    while f"{day}T00:00:00Z" < end:
        after = conn.execute("SELECT date(?, '+7 days')", (day,)).fetchone()[0]
        weeks.append((day, f"{day}T00:00:00Z", f"{after}T00:00:00Z"))
        day = after
    return weeks


def _figures_by_tier(store: Store, start: str, end: str) -> tuple[dict, dict]:
    """:func:`figures_by` for tiers: a case is a customer (its tier is the customer's), so
    the period's calls are read once in customer order from the (customer, time, outcome)
    index and only the cases are grouped by tier."""
    conn = store.db.conn
    known = tuple(o.value for o in Outcome)
    totals = ", ".join(f"sum(o{i})" for i in range(len(known)))
    rows = conn.execute(
        f"SELECT coalesce(cu.tier, '?'), x.r, count(*), sum(x.n), sum(x.pending), {totals} "
        f"FROM (SELECT c.customer_id, min({_rank_sql()}) AS r, count(*) AS n, "
        f"sum(c.outcome IS NULL) AS pending, "
        + ", ".join(f"sum(c.outcome IS '{code}') AS o{i}" for i, code in enumerate(known))
        + " FROM calls c INDEXED BY idx_calls_customer_time_outcome "
        "WHERE c.started_at >= ? AND c.started_at < ? GROUP BY c.customer_id) x "
        "JOIN customers cu ON cu.id = x.customer_id GROUP BY 1, 2",
        (start, end),
    ).fetchall()
    families: dict = {}
    outcomes: dict = {}
    unknown = False
    for tier, rank, cases, attempts, pending, *counts in rows:
        if rank:
            families.setdefault(tier, {})[FAMILY_ORDER[rank - 1]] = cases
        tier_outcomes = outcomes.setdefault(tier, {})
        for code, n in zip(known, counts):
            if n:
                tier_outcomes[code] = tier_outcomes.get(code, 0) + n
        if pending:
            tier_outcomes[None] = tier_outcomes.get(None, 0) + pending
        unknown = unknown or attempts != pending + sum(counts)
    if unknown:
        # a code carecall does not know (an old or hand-edited row): counted as it is named
        outcomes = outcome_counts_by(store, start, end, "tier")
    return families, outcomes


@record(frozen=True)
class PeriodTotals:
    """The whole period's figures the plain report reads anyway: {family: cases}
    (:func:`case_families`), {outcome: attempts} (:func:`outcome_counts`) and
    {score: NPS answers} (:func:`nps_histogram`)."""

    families: dict
    outcomes: dict
    nps: dict


def holds_most_calls(store: Store, start: str, end: str) -> bool:
    """True when ``[start, end)`` holds over a fifth of many calls (a long period)."""
    return _holds_most_calls(store, start, end)


def tier_values(store: Store) -> list[str | None]:
    """Every tier on the customer list as stored (None: customers without one), one
    index step each."""
    conn = store.db.conn
    tiers: list[str | None] = [r[0] for r in conn.execute(
        "WITH RECURSIVE next(tier) AS ("
        " SELECT min(tier) FROM customers"
        " UNION ALL SELECT (SELECT min(tier) FROM customers WHERE tier > next.tier)"
        " FROM next WHERE next.tier IS NOT NULL)"
        " SELECT tier FROM next WHERE tier IS NOT NULL")]
    if conn.execute("SELECT EXISTS (SELECT 1 FROM customers WHERE tier IS NULL)").fetchone()[0]:
        tiers.append(None)
    return tiers


def tier_breakdown(store: Store, start: str, end: str, totals: PeriodTotals,
                   rest: str | None) -> tuple[dict, dict, dict]:
    """``--by tier`` from the whole period's figures: ({tier: {family: cases}},
    {tier: {outcome: attempts}}, {tier: {score: NPS answers}}), as
    :func:`figures_by` and :func:`nps_histogram_by` give them.

    A case is a customer, and each customer has one tier, so the tiers split the period's
    figures. Every tier but ``rest`` (as the ``--by`` key names it: "?" for none; the
    tier with the most customers is fastest) is read through its customers (the tier
    index, then each one's calls in the customer index and NPS answers in the kept
    ``customer_nps_answers``), and ``rest`` is what the
    ``totals`` leave: the tier most customers are in (C, four in five of an 80/20 list)
    is never read. ``totals`` must come from the same read snapshot
    (:meth:`calls.store.Store.reading`)."""
    conn = store.db.conn
    families: dict = {}
    outcomes: dict = {}
    nps: dict = {}
    tiers = tier_values(store)
    skip = next((t for t in tiers if (t if t is not None else "?") == rest), rest)
    left_families = dict(totals.families)
    left_outcomes = dict(totals.outcomes)
    left_nps = dict(totals.nps)

    def take(into: dict, left: dict, key: str, counts: dict) -> None:
        group = into.setdefault(key, {})
        for k, n in counts.items():
            if n:
                group[k] = group.get(k, 0) + n
                left[k] = left.get(k, 0) - n

    # One walk per tier (its customers in the tier index, each one's calls in the
    # customer index) gives both its cases (the best family per customer) and its
    # attempts per outcome: a sum per outcome the period holds, bound as parameters.
    codes = list(totals.outcomes)
    per_code = ", ".join(f"sum(c.outcome IS :o{i}) AS o{i}" for i in range(len(codes)))
    code_sums = "".join(f", sum(o{i})" for i in range(len(codes)))
    figures = (
        f"SELECT {_FAMILY_SUMS}{code_sums} FROM (SELECT min({_rank_sql()}) AS r"
        f"{', ' if codes else ''}{per_code} "
        "FROM customers cu INDEXED BY idx_customers_tier_purchase "
        "JOIN calls c INDEXED BY idx_calls_customer_time_outcome ON c.customer_id = cu.id "
        "WHERE cu.tier IS :tier AND c.started_at >= :start AND c.started_at < :end "
        "GROUP BY cu.id)")
    # NPS answers of the tier's customers: one seek per customer in the kept
    # customer_nps_answers (migration reports_0005), not one per call in answers.
    answers = ("SELECT n.value, count(*) FROM customers cu INDEXED BY "
               "idx_customers_tier_purchase JOIN customer_nps_answers n "
               "ON n.customer_id = cu.id WHERE cu.tier IS :tier "
               "AND n.answered_at >= :start AND n.answered_at < :end GROUP BY n.value")
    for tier in tiers:
        if tier == skip:
            continue
        key = "?" if tier is None else tier
        params = {"tier": tier, "start": start, "end": end,
                  **{f"o{i}": code for i, code in enumerate(codes)}}
        sums = conn.execute(figures, params).fetchone()
        ranks, counts = sums[:len(FAMILY_ORDER)], sums[len(FAMILY_ORDER):]
        take(families, left_families, key,
             {FAMILY_ORDER[i]: n for i, n in enumerate(ranks) if n})
        take(outcomes, left_outcomes, key, dict(zip(codes, counts)))
        scores: dict = {}
        for value, n in conn.execute(answers, params):
            score = _score(value)
            if score is not None:
                scores[score] = scores.get(score, 0) + n
        take(nps, left_nps, key, scores)
    key = "?" if skip is None else skip
    for into, left in ((families, left_families), (outcomes, left_outcomes), (nps, left_nps)):
        if any(n < 0 for n in left.values()):
            raise ValueError("tier_breakdown: totals from another snapshot")
        take(into, {}, key, left)
    return ({k: v for k, v in families.items() if v},
            {k: v for k, v in outcomes.items() if v},
            {k: v for k, v in nps.items() if v})


def _few_calls(store: Store, start: str, end: str) -> bool:
    """True when ``[start, end)`` holds few of the calls (under 1 in 20: a day's shift
    out of a year's calls): the per-caller figures are then counted from the period's
    calls through the time index (the dashboard's "today", a few ms) rather than summed
    from the callers' days."""
    total = store.scalar("SELECT max(id) FROM calls") or 0
    return _calls_in(store, start, end, (total + 19) // 20) * 20 < total


def caller_worked_seconds(store: Store, start: str, end: str) -> dict[str, tuple[int, int]]:
    """{caller: (attempts, seconds active)} for callers with an attempt in ``[start, end)``:
    the active time counts every 10-minute slot in which the caller started a call (a
    cheap, honest stand-in for logged-in time, which the seat log has only for calls made
    at a seat). Whole UTC days from ``caller_days`` and ``caller_slots`` (kept by
    triggers), a short period from its calls through the time index."""
    conn = store.db.conn
    if _whole_days(start, end) and not _few_calls(store, start, end):
        attempts = dict(conn.execute(
            "SELECT caller, sum(calls) FROM caller_days WHERE outcome != '' AND day >= ? "
            "AND day < ? GROUP BY caller", (start[:10], end[:10])).fetchall())
        slots = dict(conn.execute(
            "SELECT caller, count(*) FROM caller_slots WHERE slot >= ? AND slot < ? "
            "GROUP BY caller", (start[:15], end[:15])).fetchall())
        return {caller: (n, slots.get(caller, 0) * 600)
                for caller, n in attempts.items() if n}
    return {caller: (n, slots * 600) for caller, n, slots in conn.execute(
        "SELECT caller, sum(outcome IS NOT NULL), count(DISTINCT substr(started_at, 1, 15)) "
        f"FROM calls {_period_index(store, start, end)} "
        "WHERE started_at >= ? AND started_at < ? GROUP BY caller", (start, end)) if n}


def daily_attempts(store: Store, start: str, end: str, shift: str = "+0 minutes"
                   ) -> dict[str, int]:
    """{YYYY-MM-DD: attempts}, days shifted from UTC by ``shift`` (an SQLite modifier
    such as "-300 minutes")."""
    rows = store.db.conn.execute(
        "SELECT date(started_at, ?), count(*) FROM calls "
        "WHERE started_at >= ? AND started_at < ? GROUP BY 1",
        (shift, start, end),
    )
    return dict(rows.fetchall())


# -- answers ---------------------------------------------------------------------------------


def _score(value: str | None) -> int | None:
    """A stored JSON answer as an integer score, or None when it is not a whole number."""
    try:
        decoded = json.loads(value) if value is not None else None
        return int(decoded) if decoded is not None and float(decoded).is_integer() else None
    except (TypeError, ValueError):
        return None


def _histogram(store: Store, qtype: str, start: str, end: str) -> dict[int, int]:
    # Grouped on the stored text (the index on qtype, value, answered_at gives it in order,
    # no sort); the handful of distinct texts are decoded here.
    rows = store.db.conn.execute(
        "SELECT value, count(*) FROM answers WHERE qtype = ? AND answered_at >= ? "
        "AND answered_at < ? AND value IS NOT NULL GROUP BY value",
        (qtype, start, end),
    )
    out: dict[int, int] = {}
    for value, n in rows:
        score = _score(value)
        if score is not None:
            out[score] = out.get(score, 0) + n
    return out


def nps_histogram(store: Store, start: str, end: str) -> dict[int, int]:
    """{score 0..10: answers} of NPS questions answered in the period."""
    return _histogram(store, "nps", start, end)


def rating_histogram(store: Store, start: str, end: str) -> dict[int, int]:
    """{rating: answers} of 1–5 rating questions answered in the period (CSAT)."""
    return _histogram(store, "rating", start, end)


def nps_histogram_by(store: Store, start: str, end: str, by: str) -> dict:
    """{group key: {score: answers}} of the NPS answers given in ``[start, end)``: per
    week, the week the answer was given in (each week as the whole period's histogram
    counts it); otherwise the group of the call the answer belongs to."""
    if by == "week":
        return _week_by_week(store, start, end, nps_histogram)
    expr, join = _group(by)
    period = ("a.qtype = 'nps' AND a.answered_at >= ? AND a.answered_at < ? "
              "AND a.value IS NOT NULL")
    if by == "caller" and _whole_days(start, end) and not _few_calls(store, start, end):
        # summed from the callers' NPS days (kept by triggers: migration reports_0004)
        rows = store.db.conn.execute(
            "SELECT caller, value, sum(answers) FROM caller_nps_days "
            "WHERE day >= ? AND day < ? GROUP BY caller, value", (start[:10], end[:10]))
    else:
        rows = store.db.conn.execute(
            f"SELECT {expr}, a.value, count(*) FROM answers a "
            f"JOIN calls c ON c.id = a.call_id {join} WHERE {period} GROUP BY 1, 2",
            (start, end))
    # grouped on the stored text and read by _score, as the whole period's histogram is
    out: dict = {}
    for key, value, n in rows:
        score = _score(value)
        if score is not None:
            group = out.setdefault(key, {})
            group[score] = group.get(score, 0) + n
    return _relabel(store, by, out)


def daily_nps_histogram(store: Store, start: str, end: str, shift: str = "+0 minutes"
                        ) -> dict[str, dict[int, int]]:
    """{YYYY-MM-DD: {score: answers}} for the dashboard's NPS line (days as in
    :func:`daily_attempts`)."""
    rows = store.db.conn.execute(
        f"SELECT date(a.answered_at, ?), {_SCORE_SQL} AS s, count(*) FROM answers a "
        "WHERE a.qtype = 'nps' AND a.answered_at >= ? AND a.answered_at < ? "
        "AND a.value IS NOT NULL GROUP BY 1, 2",
        (shift, start, end),
    )
    out: dict[str, dict[int, int]] = {}
    for day, score, n in rows:
        if score is not None:
            out.setdefault(day, {})[score] = n
    return out


# -- coverage --------------------------------------------------------------------------------


def _tier_cutoff_sql(cutoffs: Mapping[str, str]) -> tuple[str, dict]:
    # A customer without a tier (or with one the policy does not name) is held to C's
    # cadence, as the queue treats them.
    params = {}
    whens = []
    for i, (tier, cutoff) in enumerate(sorted(cutoffs.items())):
        params[f"t{i}"] = tier
        params[f"c{i}"] = cutoff
        whens.append(f"WHEN :t{i} THEN :c{i}")
    params["default_cutoff"] = cutoffs.get("C", min(cutoffs.values()))
    return f"CASE cu.tier {' '.join(whens)} ELSE :default_cutoff END", params


# Two counts travel in one integer so that the per-customer subquery runs once: a customer
# covered within their cadence adds 2**32 + 1 (covered, and therefore reached), one only
# reached (a contact in the last year) adds 1.
_PACK = 2**32


def coverage_counts(
    store: Store, as_of: str, cutoffs: Mapping[str, str], unreached_cutoff: str, *,
    plain: bool = False, kept: Any = None,
) -> dict:
    """Per tier (NULL tier is "?"): callable customers and those with a completed call
    since their tier's cutoff; customers with no contact since ``unreached_cutoff``;
    and how many are on do-not-call (left out of both).

    Every customer on the list counts, whenever it was imported (a list imported today
    holds customers who existed before); do-not-call is the flag as it is now.

    Read from each customer's kept last completed call and last contact
    (:mod:`calls.store.coverage`) while those mean what the outcome table says; else
    (or with ``plain=True``, the reference) every customer's calls are walked:
    customers in id order, each one's calls found in the (customer, time, outcome)
    index, so both sides are walked in the same order. Every cutoff must be at or after
    ``unreached_cutoff`` (cadences are at most a year; the policy checks this).
    ``kept``: a :class:`calls.store.coverage.KeptCounts` that answers for the kept
    columns (a reader asking again and again: the dashboard).
    """
    from calls.store import coverage

    if not plain and coverage.in_step(store):
        answer = (kept or coverage).counts(store, as_of, cutoffs, unreached_cutoff)
        if answer is not None:
            return answer
    case_sql, params = _tier_cutoff_sql(cutoffs)
    params.update(as_of=as_of, unreached=unreached_cutoff)
    window = min([unreached_cutoff, *cutoffs.values()])
    params["window"] = window
    rows = store.db.conn.execute(
        f"""
        SELECT coalesce(cu.tier, '?') AS tier, count(*), sum(
            (SELECT max(CASE
                        WHEN c.outcome = 'completed' AND c.started_at >= {case_sql}
                            THEN {_PACK + 1}
                        WHEN c.outcome IN {_contact_sql()} AND c.started_at >= :unreached
                            THEN 1
                        ELSE 0 END)
             FROM calls c WHERE c.customer_id = cu.id
             AND c.started_at >= :window AND c.started_at < :as_of))
        FROM customers cu WHERE cu.do_not_call = 0
        GROUP BY 1
        """,
        params,
    ).fetchall()
    dnc = store.scalar(
        "SELECT count(*) FROM customers WHERE do_not_call != 0"
    )
    tiers = {}
    not_reached = 0
    for tier, n, packed in rows:
        covered, reached = divmod(packed or 0, _PACK)
        tiers[tier] = (n, covered)
        not_reached += n - reached
    return {"tiers": tiers, "not_reached": not_reached, "do_not_call": dnc or 0}


def change_stamp(store: Store) -> tuple[int, int]:
    """What this connection has seen written so far: ``PRAGMA data_version`` (moves when
    another connection commits) and the connection's own ``total_changes`` (its own
    writes, which data_version does not count). Equal stamps: nothing was written."""
    conn = store.db.conn
    return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes


def period_next_change(store: Store, as_of: str, call_windows: Mapping[str, Iterable[int]],
                       *, followups: Iterable[str | None] | None = None) -> str | None:
    """The first moment after ``as_of`` at which the dashboard's period figures can change
    by time alone, with no write (None: never): a call leaving a window (``call_windows``:
    {outcome: window lengths in days}: a call with that outcome counts while it started
    within the window before ``as_of``), a call or follow-up dated after ``as_of``
    starting to count, a follow-up falling due or its recorded closing passing.

    The figures at any moment in ``[as_of, returned]`` equal those at ``as_of``. Each
    bound is an index lookup (the follow-ups: one pass, as their figures take anyway;
    ``followups``: :func:`followups_next_change` at ``as_of``, when read already)."""
    from calls.clock import from_iso

    conn = store.db.conn
    moment = from_iso(as_of)
    bounds: list[str] = []
    for outcome, windows in sorted(call_windows.items()):
        for days in sorted(set(windows)):
            first = conn.execute(
                "SELECT min(started_at) FROM calls WHERE outcome = ? AND started_at >= ?",
                (outcome, to_iso(moment - timedelta(days=days))),
            ).fetchone()[0]
            if first is not None:
                bounds.append(to_iso(from_iso(first) + timedelta(days=days)))
    later = conn.execute(
        "SELECT min(started_at) FROM calls WHERE started_at >= ?", (as_of,)).fetchone()[0]
    bounds.append(later)
    bounds.extend(followups_next_change(store, as_of) if followups is None else followups)
    found = [b for b in bounds if b is not None]
    return min(found) if found else None


def followups_next_change(store: Store, as_of: str) -> list[str | None]:
    """The first follow-up moments at or after ``as_of``: one opened, one closed, one
    falling due while open (or closed only later): the follow-up figures
    (:func:`followup_state`) at any moment up to the earliest of them equal those at
    ``as_of``. Seeks in the (status, kind, created / due) and closing-time indexes,
    status and kind by status and kind, not a walk of every follow-up
    (``plain_followups_next_change`` is the reading they replace)."""
    conn = store.db.conn
    created: list[str] = []
    due: list[str] = []
    for status, kind in _followup_status_kinds(conn):
        first = conn.execute(
            "SELECT min(created_at) FROM followups WHERE status = ? AND kind = ? "
            "AND created_at >= ?", (status, kind, as_of)).fetchone()[0]
        if first is not None:
            created.append(first)
        if status == "open":
            first = conn.execute(
                "SELECT min(due_at) FROM followups WHERE status = 'open' AND kind = ? "
                "AND due_at >= ?", (kind, as_of)).fetchone()[0]
            if first is not None:
                due.append(first)
    closed, closed_due = conn.execute(
        "SELECT min(closed_at), min(CASE WHEN due_at >= :as_of AND status != 'open' "
        "THEN due_at END) FROM followups INDEXED BY idx_followups_closed "
        "WHERE closed_at >= :as_of", {"as_of": as_of}).fetchone()
    if closed_due is not None:
        due.append(closed_due)
    return [min(created, default=None), closed, min(due, default=None)]


def plain_followups_next_change(conn, as_of: str) -> list[str | None]:
    """:func:`followups_next_change` read from every follow-up (the tests' reference)."""
    return list(conn.execute(
        """
        SELECT min(CASE WHEN created_at >= :as_of THEN created_at END),
               min(CASE WHEN closed_at >= :as_of THEN closed_at END),
               min(CASE WHEN due_at >= :as_of
                        AND (status = 'open' OR closed_at >= :as_of) THEN due_at END)
        FROM followups
        """, {"as_of": as_of}).fetchone())


def iter_not_reached(store: Store, as_of: str, unreached_cutoff: str) -> Iterator[dict]:
    """Callable customers with no contact since ``unreached_cutoff``, tier then ref order,
    with their last contact and last attempt (None if never)."""
    cursor = store.db.conn.execute(
        f"""
        SELECT cu.ref, cu.name, cu.company, cu.phone, cu.tier, cu.owner,
            (SELECT max(c.started_at) FROM calls c WHERE c.customer_id = cu.id
             AND c.started_at < :as_of AND c.outcome IN {_contact_sql()}) AS last_contact,
            (SELECT max(c.started_at) FROM calls c WHERE c.customer_id = cu.id
             AND c.started_at < :as_of) AS last_attempt
        FROM customers cu
        WHERE cu.do_not_call = 0 AND NOT EXISTS (
            SELECT 1 FROM calls c WHERE c.customer_id = cu.id
            AND c.started_at >= :unreached AND c.started_at < :as_of
            AND c.outcome IN {_contact_sql()})
        ORDER BY coalesce(cu.tier, '~'), cu.ref
        """,
        {"as_of": as_of, "unreached": unreached_cutoff},
    )
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


# -- follow-ups -------------------------------------------------------------------------------


def followup_state(store: Store, start: str, end: str, as_of: str, *, plain: bool = False
                   ) -> dict[str, dict[str, int]]:
    """Per kind (every kind the table holds): open and overdue at ``as_of``; done and
    cancelled within ``[start, end)``.

    Counted from index ranges (:func:`_followup_state_ranges`); ``plain=True`` reads
    every follow-up, the tests' reference."""
    if not plain:
        return _followup_state_ranges(store, start, end, as_of)
    rows = store.db.conn.execute(
        """
        SELECT kind,
            sum(created_at < :as_of AND (status = 'open' OR closed_at >= :as_of)),
            sum(created_at < :as_of AND (status = 'open' OR closed_at >= :as_of)
                AND due_at IS NOT NULL AND due_at < :as_of),
            sum(status = 'done' AND closed_at >= :start AND closed_at < :end),
            sum(status = 'cancelled' AND closed_at >= :start AND closed_at < :end)
        FROM followups GROUP BY kind
        """,
        {"start": start, "end": end, "as_of": as_of},
    )
    return {
        kind: {"open": o or 0, "overdue": od or 0, "done": d or 0, "cancelled": x or 0}
        for kind, o, od, d, x in rows
    }


def _followup_status_kinds(conn) -> list[tuple[str, str]]:
    """Every (status, kind) pair in the follow-ups table: a skip over the (status, kind)
    index (a few seeks a pair, not a walk of the table)."""
    pairs: list[tuple[str, str]] = []
    status = conn.execute("SELECT min(status) FROM followups").fetchone()[0]
    while status is not None:
        kind = conn.execute("SELECT min(kind) FROM followups WHERE status = ?",
                            (status,)).fetchone()[0]
        while kind is not None:
            pairs.append((status, kind))
            kind = conn.execute("SELECT min(kind) FROM followups WHERE status = ? AND kind > ?",
                                (status, kind)).fetchone()[0]
        status = conn.execute("SELECT min(status) FROM followups WHERE status > ?",
                              (status,)).fetchone()[0]
    return pairs


def _followup_kinds(conn) -> list[str]:
    """Every kind in the follow-ups table."""
    return sorted({kind for _status, kind in _followup_status_kinds(conn)})


def _followup_state_ranges(store: Store, start: str, end: str, as_of: str
                           ) -> dict[str, dict[str, int]]:
    """:func:`followup_state` from index ranges: the open follow-ups per kind opened
    before ``as_of`` and those due before it (the (status, kind, created / due) indexes);
    the few opened at or after ``as_of`` taken back off; those closed at or after it (still
    open then) and those closed within the period from the index on the closing time."""
    conn = store.db.conn
    out = {kind: {"open": 0, "overdue": 0, "done": 0, "cancelled": 0}
           for kind in _followup_kinds(conn)}
    for kind, figures in out.items():
        figures["open"] = conn.execute(
            "SELECT count(*) FROM followups WHERE status = 'open' AND kind = ? "
            "AND created_at < ?", (kind, as_of)).fetchone()[0]
        # Due before as_of, less those opened at or after it (not open yet then).
        figures["overdue"] = conn.execute(
            "SELECT count(*) FROM followups WHERE status = 'open' AND kind = ? "
            "AND due_at < ?", (kind, as_of)).fetchone()[0] - conn.execute(
            "SELECT count(*) FROM followups INDEXED BY idx_followups_open_created "
            "WHERE status = 'open' AND kind = ? AND created_at >= ? AND due_at < ?",
            (kind, as_of, as_of)).fetchone()[0]
    # Closed at or after as_of: still open at as_of (if opened before it).
    for kind, n, overdue in conn.execute(
            "SELECT kind, count(*), count(CASE WHEN due_at < :as_of THEN 1 END) "
            "FROM followups INDEXED BY idx_followups_closed WHERE closed_at >= :as_of "
            "AND status != 'open' AND created_at < :as_of GROUP BY kind", {"as_of": as_of}):
        out[kind]["open"] += n
        out[kind]["overdue"] += overdue
    for kind, status, n in conn.execute(
            "SELECT kind, status, count(*) FROM followups INDEXED BY idx_followups_closed "
            "WHERE closed_at >= ? AND closed_at < ? AND status IN ('done', 'cancelled') "
            "GROUP BY kind, status", (start, end)):
        out[kind][status] = n
    return out


def followup_close_histogram(store: Store, start: str, end: str) -> dict[str, dict[float, int]]:
    """{kind: {days from creation to done (to the hour): follow-ups}} closed in the period."""
    rows = store.db.conn.execute(
        "SELECT kind, round((julianday(closed_at) - julianday(created_at)) * 24) AS h, "
        "count(*) FROM followups WHERE status = 'done' AND closed_at >= ? AND closed_at < ? "
        "GROUP BY kind, h",
        (start, end),
    )
    out: dict[str, dict[float, int]] = {}
    for kind, hours, n in rows:
        if hours is not None:
            out.setdefault(kind, {})[max(hours, 0) / 24] = n
    return out


def _columns(store: Store, table: str) -> set[str]:
    return {r[1] for r in store.db.conn.execute(f"PRAGMA table_info({table})")}


def loop_figures(store: Store, start: str, end: str) -> dict:
    """The detractor loop in the period: recovery calls done with a score after, how many
    of those scored 7 or more, and the mean change of score (after − before)."""
    if not {"score_before", "score_after"} <= _columns(store, "followups"):
        return {"loops_closed": 0, "won_back": 0, "avg_score_change": None}
    row = store.db.conn.execute(
        "SELECT count(*), sum(score_after >= 7), avg(score_after - score_before) "
        "FROM followups WHERE kind = 'recovery_call' AND status = 'done' "
        "AND closed_at >= ? AND closed_at < ? AND score_after IS NOT NULL",
        (start, end),
    ).fetchone()
    closed, won, change = row
    return {
        "loops_closed": closed or 0,
        "won_back": won or 0,
        "avg_score_change": round(change, 1) if change is not None else None,
    }


# -- writing history (demo data, tests) ---------------------------------------------------------


def insert_calls(store: Store, rows: list[dict]) -> list[int]:
    """Insert call rows (keys as the ``calls`` columns) in one transaction; their ids.
    What a call row records for the export (calls.store.calls) is filled in unless a row
    gives its ``time_zone``."""
    from calls.localtime import LocalTimes
    from calls.store.calls import MOMENTS, RECORDED, customer_recorded, recorded_values

    ids = []
    local = LocalTimes()   # history in bulk: not kept in the process's cache (fill_recorded)
    # (a database before migration calls_0003 has no such columns: the migration tests')
    record = "time_zone" in _columns(store, "calls")
    with store.write() as db:
        for row in rows:
            if record and "time_zone" not in row:
                ref, zone = customer_recorded(store, row["customer_id"])
                moments = (row.get(m) for m in MOMENTS)
                row = {**row, **dict(zip(RECORDED, recorded_values(ref, zone, moments,
                                                                    local)))}
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cur = db.conn.execute(f"INSERT INTO calls ({cols}) VALUES ({marks})",
                                  tuple(row.values()))
            ids.append(cur.lastrowid)
    return ids


def insert_answers(store: Store, rows: list[tuple[int, str, str, object, str]]) -> None:
    """Insert (call_id, key, qtype, value, answered_at) answers; the value is JSON-encoded."""
    with store.write() as db:
        db.conn.executemany(
            # an upsert, not INSERT OR REPLACE: the replaced row's delete trigger must run
            "INSERT INTO answers (call_id, key, qtype, value, answered_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (call_id, key) DO UPDATE SET "
            "qtype = excluded.qtype, value = excluded.value, "
            "answered_at = excluded.answered_at",
            [(c, k, t, json.dumps(v), at) for c, k, t, v, at in rows],
        )


def insert_followups(store: Store, rows: list[dict]) -> list[int]:
    """Insert follow-up rows (keys as the ``followups`` columns present); their ids."""
    have = _columns(store, "followups")
    ids = []
    with store.write() as db:
        for row in rows:
            row = {k: v for k, v in row.items() if k in have}
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cur = db.conn.execute(f"INSERT INTO followups ({cols}) VALUES ({marks})",
                                  tuple(row.values()))
            ids.append(cur.lastrowid)
    return ids


def close_followups_done(store: Store, closes: list[tuple[int, str, str]]) -> None:
    """Mark follow-ups done (the demo's past): ``(id, closed_at, closed_by)`` each."""
    with store.write() as db:
        for followup_id, closed_at, closed_by in closes:
            db.conn.execute("UPDATE followups SET status = 'done', closed_at = ?, closed_by = ? "
                            "WHERE id = ? AND status = 'open'",
                            (closed_at, closed_by, followup_id))


def demo_customers(store: Store) -> list[dict]:
    """Customers a simulated history may call (not on do-not-call, number in order)."""
    return store.all(
        "SELECT id, tier, owner, time_zones, last_purchase FROM customers "
        "WHERE do_not_call = 0 AND coalesce(number_status, 'ok') = 'ok' ORDER BY id"
    )


_CARE_STATE = ("cycle_status", "cycle_ended_at", "cycle_attempts", "retry_after",
               "last_outcome", "last_call_at")


def set_care_state(store: Store, customer_id: int, state: dict) -> None:
    """Write the queue-state columns a replayed history ends with (those the schema has)."""
    have = _columns(store, "customers")
    values = {k: state.get(k) for k in _CARE_STATE if k in have}
    if not values:
        return
    sets = ", ".join(f"{k} = ?" for k in values)
    with store.write() as db:
        db.conn.execute(f"UPDATE customers SET {sets} WHERE id = ?",
                        (*values.values(), customer_id))


def count_calls(store: Store) -> int:
    """How many calls the database holds."""
    return store.scalar("SELECT count(*) FROM calls") or 0
