"""Several shifts starting at once all run the planner: nothing is planned twice."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime, timedelta

from tests.support.followups import add_customer

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def _run_plan(path: str) -> int:
    """One shift start: open the database and plan (an error re-raises in the parent)."""
    from calls.planner import plan
    from calls.store import Store

    with Store.open(path) as store:
        return len(plan(store, NOW).planned)


def test_concurrent_plans_plan_each_occasion_once(store, db_path):
    for i in range(240):
        birthday = date(1970, 3, 10) + timedelta(days=i % 9)
        add_customer(
            store,
            f"P{i:03d}",
            f"Person {i}",
            birthday=birthday.isoformat(),
            customer_since=(date(2010, 3, 12) + timedelta(days=i % 5)).isoformat(),
            tier="ABC"[i % 3],
        )
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_run_plan, [str(db_path)] * 4)
    planned_rows = store.scalar("SELECT count(*) FROM followup_plan")
    assert planned_rows == 480  # a birthday and an anniversary for each of 240
    assert sum(results) == 480  # each occasion planned by exactly one run
    assert store.scalar("SELECT count(*) FROM followups") == 240  # both share one open row
    assert (
        store.scalar(
            "SELECT count(*) FROM (SELECT customer_id, kind FROM followups "
            "WHERE status = 'open' GROUP BY customer_id, kind HAVING count(*) > 1)"
        )
        == 0
    )
