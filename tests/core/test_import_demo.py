"""`carecall demo`: the shipped list becomes a realistic database, and re-running is safe."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from calls.cli import app
from calls.demo import DEMO_ANCHOR, build_demo, demo_db_path, demo_list_path
from calls.store import Store

runner = CliRunner()


def test_demo_builds_once_and_never_duplicates(tmp_path, monkeypatch):
    db = tmp_path / "demo.db"
    first = runner.invoke(app, ["demo", "--db", str(db), "--no-shift", "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["customers"] >= 300
    assert summary["inserted"] == summary["customers"]
    assert 5 <= summary["rejected"] <= 10          # the deliberate bad rows
    assert set(summary["tiers"]) == {"A", "B", "C"}
    again = json.loads(runner.invoke(app, ["demo", "--db", str(db), "--no-shift", "--json"]).output)
    assert (again["inserted"], again["customers"]) == (0, summary["customers"])
    assert again["order_lines"] == 0   # loaded once
    with Store.open(db) as store:
        regions = {r["phone_region"] for r in store.all("SELECT DISTINCT phone_region FROM customers")}
        assert {"US", "CA", "GB", "DE", "FR"} <= regions
        zones = store.all("SELECT DISTINCT time_zones FROM customers WHERE phone_region = 'US'")
        assert len(zones) >= 4                      # several US time zones
        assert store.scalar("SELECT count(*) FROM customers WHERE phone_ext IS NOT NULL") > 0
        assert store.scalar("SELECT count(DISTINCT owner) FROM customers") >= 4
        # German and French customers are addressed as they expect (issue 15).
        from calls.language import address, customer_language
        from calls.store.customers import get_customer

        for ref, expected in (("CUST-0017", "Herr Schneider"), ("CUST-0003", "Frau Groß"),
                              ("CUST-0004", "Monsieur Petit"), ("CUST-0002", "Isla")):
            customer = get_customer(store, ref)
            assert address(customer, customer_language(customer)) == expected
        # Birthdays around the new year are in the list.
        assert store.scalar(
            "SELECT count(*) FROM customers WHERE strftime('%m-%d', birthday) "
            "IN ('12-30', '12-31', '01-01', '01-03')") >= 3
        # 80/20: the A tier is a minority of customers holding most of the revenue.
        # (Tiers follow the 12-month revenue from the demo's order lines where there are any.)
        basis = "max(coalesce(revenue_12m, revenue, 0), 0)"
        a_count, a_rev = store.one(
            f"SELECT count(*) AS n, sum({basis}) AS r FROM customers WHERE tier = 'A'").values()
        total = store.scalar(f"SELECT sum({basis}) FROM customers")
        assert a_count < summary["customers"] * 0.3 and a_rev >= 0.8 * total * 0.99
        # The demo's order lines: purchase figures, and both purchase reasons occur.
        assert summary["order_lines"] > 1000
        assert store.scalar("SELECT count(*) FROM customers WHERE order_count >= 2") > 200
        from calls.clock import now_utc, parse_date
        from calls.orders import purchase_reason

        reasons = [
            purchase_reason(parse_date(r["last_purchase"]), r["avg_order_interval_days"],
                            r["order_count"], now_utc())
            for r in store.all("SELECT last_purchase, avg_order_interval_days, order_count "
                               "FROM customers")
        ]
        assert reasons.count("thank_you") >= 5 and reasons.count("at_risk") >= 5
    assert db.stat().st_mode & 0o777 == 0o600


def test_demo_without_terminal_says_what_to_run(tmp_path):
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"carecall shift --db {db}" in result.output.replace("\n", "")


def test_demo_dates_follow_today(tmp_path):
    later = datetime(2027, 5, 1, 12, tzinfo=UTC)
    db = tmp_path / "d.db"
    build_demo(db, now=datetime(DEMO_ANCHOR.year, DEMO_ANCHOR.month, DEMO_ANCHOR.day,
                                tzinfo=UTC))
    with Store.open(db) as store:
        at_anchor = store.scalar("SELECT max(last_purchase) FROM customers")
    db2 = tmp_path / "d2.db"
    build_demo(db2, now=later)
    with Store.open(db2) as store:
        moved = store.scalar("SELECT max(last_purchase) FROM customers")
    assert at_anchor <= DEMO_ANCHOR.isoformat()
    shift = (later.date() - DEMO_ANCHOR).days
    from datetime import date, timedelta

    assert moved == (date.fromisoformat(at_anchor) + timedelta(days=shift)).isoformat()


def test_demo_db_path_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECALL_DB", str(tmp_path / "env.db"))
    assert demo_db_path(tmp_path / "x.db") == tmp_path / "x.db"
    assert demo_db_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("CARECALL_DB")
    assert demo_db_path(None).name == "carecall-demo.db"
    assert demo_list_path().exists()


def test_demo_shift_starts_when_the_demo_customers_can_be_called(tmp_path):
    from datetime import datetime

    from calls.demo import build_demo, demo_shift_start
    from calls.queue import build_queue
    from calls.store import Store

    path = tmp_path / "demo.db"
    sunday = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
    tuesday = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    build_demo(path, now=sunday)
    with Store.open(path) as store:
        start = demo_shift_start(store, sunday)
        assert start == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # Monday
        assert len(build_queue(store, "demo", start, limit=50)) >= 20
        assert demo_shift_start(store, tuesday) is None   # callable now: no clock shift


def test_a_new_demo_opens_without_a_backlog_of_escalations(tmp_path):
    """The shift's first planner run and escalation check on a new demo (issue 15): the
    past year's loops were closed, the last days' cards were sent; at most a few recent
    follow-ups are late, none by weeks."""
    from datetime import timedelta

    from calls.deadlines import escalate_overdue
    from calls.planner import plan
    from calls.policy import DEFAULT_POLICY

    now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    db = tmp_path / "demo.db"
    build_demo(db, now)
    with Store.open(db) as store:
        plan(store, now, DEFAULT_POLICY)
        late = escalate_overdue(store, now, DEFAULT_POLICY)
        assert len(late) <= 3, late
        assert all(e.waited <= timedelta(days=7) for e in late), late
        # No card planned for an occasion that is already here (late the moment it is made).
        assert not [e for e in late if e.kind in ("thank_you_note", "gift")], late
        assert store.scalar("SELECT count(*) FROM followups WHERE status = 'done'") > 300
