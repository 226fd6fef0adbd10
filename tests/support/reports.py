"""The plain GROUP BY queries for the report's --by breakdown: what the streamed,
group-by-group queries in calls/store/reports.py must agree with."""

from __future__ import annotations

import json

from calls.outcomes import FAMILY_ORDER
from calls.store import Store
from calls.store.reports import _rank_sql

_GROUP_SQL = {
    "caller": ("c.caller", ""),
    "tier": ("coalesce(cu.tier, '?')", "JOIN customers cu ON cu.id = c.customer_id"),
    "week": ("date(c.started_at, '-6 days', 'weekday 1')", ""),
    "script": ("c.script_id", ""),      # (no scripts in the tests' histories: no labels)
    "purpose": ("c.purpose", ""),
}


def plain_figures_by(store: Store, start: str, end: str, by: str) -> tuple[dict, dict]:
    """({group: {family: cases}}, {group: {outcome: attempts}}), one GROUP BY each."""
    expr, join = _GROUP_SQL[by]
    conn = store.db.conn
    families: dict = {}
    for key, rank, n in conn.execute(
        f"SELECT g, rank, count(*) FROM (SELECT {expr} AS g, min({_rank_sql()}) AS rank "
        f"FROM calls c {join} WHERE c.started_at >= ? AND c.started_at < ? "
        "AND c.outcome IS NOT NULL GROUP BY g, c.customer_id) GROUP BY g, rank",
        (start, end),
    ):
        if rank:
            families.setdefault(key, {})[FAMILY_ORDER[rank - 1]] = n
    outcomes: dict = {}
    for key, outcome, n in conn.execute(
        f"SELECT {expr}, c.outcome, count(*) FROM calls c {join} "
        "WHERE c.started_at >= ? AND c.started_at < ? GROUP BY 1, 2",
        (start, end),
    ):
        outcomes.setdefault(key, {})[outcome] = n
    return families, outcomes


def plain_calls_by(store: Store, start: str, end: str, by: str) -> dict:
    """{group: {outcome: calls}} (a per-call breakdown), one GROUP BY."""
    return plain_figures_by(store, start, end, by)[1]


def plain_caller_time(store: Store, start: str, end: str) -> tuple[dict, dict]:
    """({caller: (attempts, active seconds)}, {caller: (handle seconds, calls with an
    end)})."""
    conn = store.db.conn
    worked = {
        caller: (n, slots * 600) for caller, n, slots in conn.execute(
            "SELECT caller, sum(outcome IS NOT NULL), count(DISTINCT substr(started_at, 1, 15)) "
            "FROM calls WHERE started_at >= ? AND started_at < ? GROUP BY caller "
            "HAVING sum(outcome IS NOT NULL) > 0", (start, end))
    }
    handle = {
        caller: (seconds or 0, n) for caller, seconds, n in conn.execute(
            "SELECT caller, sum(unixepoch(ended_at) - unixepoch(started_at)), count(*) "
            "FROM calls WHERE started_at >= ? AND started_at < ? AND ended_at IS NOT NULL "
            "GROUP BY caller", (start, end))
    }
    return worked, handle


def plain_nps_by(store: Store, start: str, end: str, by: str) -> dict:
    """{group: {score: NPS answers}}: one GROUP BY, each stored text read as the whole
    period's histogram reads it (a whole number, else left out). Per week: the week the
    answer was given in."""
    expr, join = _GROUP_SQL[by]
    if by == "week":
        expr = "date(a.answered_at, '-6 days', 'weekday 1')"
    out: dict = {}
    for key, value, n in store.db.conn.execute(
        f"SELECT {expr}, a.value, count(*) FROM answers a JOIN calls c ON c.id = a.call_id "
        f"{join} WHERE a.qtype = 'nps' AND a.answered_at >= ? AND a.answered_at < ? "
        "AND a.value IS NOT NULL GROUP BY 1, 2", (start, end)):
        try:
            score = float(json.loads(value))
        except (TypeError, ValueError):
            continue
        if score.is_integer():
            group = out.setdefault(key, {})
            group[int(score)] = group.get(int(score), 0) + n
    return out
