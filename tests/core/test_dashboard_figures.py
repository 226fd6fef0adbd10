"""``calls.dashboard.DashboardFigures`` (read again only when a write or the clock can have
changed a figure) answers what the plain functions answer, at every moment: random writes
from another connection and its own, random clock moves, and moves to exactly the moment
it names as the next change by time (and one second after)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.clock import from_iso, to_iso
from calls.dashboard import DashboardFigures, call_windows, live_figures
from calls.reports import dashboard_period
from calls.store import Store
from calls.store import reports as q
from tests.core.test_report import add_customers, call

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
OUTCOMES = ("completed", "completed", "no_answer", "busy", "refused", "partial",
            "voicemail", "callback", None)


def _write(rng: random.Random, store: Store, ids: list[int], now: datetime) -> str:
    """One random write of the kinds a floor makes (and a few an admin makes)."""
    what = rng.choice(("call", "call", "call", "followup", "close", "answer", "tier",
                       "dnc", "customer", "recaller", "end", "move", "delete"))
    if what == "call":
        back = rng.choice((timedelta(days=rng.uniform(0, 400)),
                           timedelta(minutes=rng.uniform(0, 600)),
                           -timedelta(minutes=rng.uniform(0, 120))))  # some in the future
        q.insert_calls(store, [call(rng.choice(ids), rng.choice(OUTCOMES), now - back,
                                    rng.choice(("ann", "bob", "cy")))])
    elif what == "followup":
        created = now - timedelta(hours=rng.uniform(-5, 300))
        row = {"kind": rng.choice(("fix_problem", "callback", "thank_you_note")),
               "customer_id": rng.choice(ids), "status": "open",
               "created_at": to_iso(created),
               "due_at": to_iso(created + timedelta(hours=rng.uniform(0, 100)))}
        if rng.random() < 0.3:
            row.update(status="done", closed_at=to_iso(now + timedelta(
                hours=rng.uniform(-50, 3))))
        q.insert_followups(store, [row])
    elif what == "close":
        open_ids = [r[0] for r in store.db.conn.execute(
            "SELECT id FROM followups WHERE status = 'open'")]
        if open_ids:
            q.close_followups_done(store, [(rng.choice(open_ids), to_iso(now), "sam")])
    elif what == "answer":
        done = [r[0] for r in store.db.conn.execute(
            "SELECT id FROM calls WHERE outcome = 'completed'")]
        if done:
            q.insert_answers(store, [(rng.choice(done), "nps", "nps", rng.randint(0, 10),
                                      to_iso(now - timedelta(hours=rng.uniform(0, 200))))])
    elif what == "tier":
        with store.write():
            store.db.conn.execute("UPDATE customers SET tier = ? WHERE id = ?",
                                  (rng.choice("ABC"), rng.choice(ids)))
    elif what in ("recaller", "end", "move", "delete"):
        # a call given to another caller, its end moved, its start moved, or deleted
        # (none of these is a seat's step; an admin's or an import's)
        recent = [r[0] for r in store.db.conn.execute(
            "SELECT id FROM calls ORDER BY started_at DESC LIMIT 20")]
        if recent:
            call_id = rng.choice(recent)
            with store.write():
                if what == "recaller":
                    store.db.conn.execute("UPDATE calls SET caller = ? WHERE id = ?",
                                          (rng.choice(("ann", "bob", "cy", "dee")), call_id))
                elif what == "end":
                    store.db.conn.execute(
                        "UPDATE calls SET ended_at = ? WHERE id = ?",
                        (to_iso(now + timedelta(minutes=rng.uniform(-30, 30))), call_id))
                elif what == "move":
                    store.db.conn.execute(
                        "UPDATE calls SET started_at = ? WHERE id = ?",
                        (to_iso(now - timedelta(minutes=rng.uniform(-60, 1500))), call_id))
                else:
                    store.db.conn.execute("DELETE FROM calls WHERE id = ?", (call_id,))
    elif what == "dnc":
        with store.write():
            store.db.conn.execute("UPDATE customers SET do_not_call = 1 - do_not_call "
                                  "WHERE id = ?", (rng.choice(ids),))
    else:
        ref = f"n{rng.randrange(10**9)}"
        ids.append(add_customers(store, (ref, rng.choice("ABC")))[ref])
    return what


@pytest.mark.parametrize("seed", range(10))
def test_cached_figures_equal_the_plain_ones(db_path, seed):
    rng = random.Random(seed)
    tz = rng.choice((UTC, ZoneInfo("America/New_York")))
    mine = Store.open(db_path)        # the dashboard's connection
    other = Store.open(db_path)       # the seats'
    try:
        ids = list(add_customers(mine, *[(f"c{i}", "ABC"[i % 3]) for i in range(12)]).values())
        for _ in range(15):
            _write(rng, other, ids, NOW)
        figures = DashboardFigures(None, tz, escalate_every=timedelta(0))
        now = NOW
        for step in range(80):
            roll = rng.random()
            if roll < 0.35:
                _write(rng, rng.choice((other, other, mine)), ids, now)
            elif roll < 0.55:
                until = q.period_next_change(mine, to_iso(now), call_windows(None))
                if until is not None:   # the edge the cache names, and just past it
                    now = from_iso(until) + timedelta(seconds=rng.choice((0, 1)))
            elif roll < 0.85:
                now += timedelta(seconds=rng.choice((1, 30, 600, 3600 * 7, 86400 * 3)))
            live = figures.live(mine, now)
            period = figures.period(mine, now)
            assert live == live_figures(mine, now, None, tz), (seed, step)
            assert period == dashboard_period(mine, now, None, tz), (seed, step)
        assert figures.reads["period"] < 80     # it did skip reads
        # ... and kept slots of today when it read today again
        assert figures.reads["today's slots"] < figures.reads["today"]
    finally:
        mine.close()
        other.close()


def test_a_write_elsewhere_is_read_at_the_next_refresh(db_path):
    """A call wrapped up on another connection: the very next answer has it."""
    mine, other = Store.open(db_path), Store.open(db_path)
    try:
        ids = add_customers(mine, ("a", "A"), ("b", "B"))
        figures = DashboardFigures(None, UTC)
        first = figures.period(mine, NOW)
        assert figures.period(mine, NOW) is first            # nothing written: kept
        assert first.coverage.tiers[0].covered == 0
        q.insert_calls(other, [call(ids["a"], "completed", NOW - timedelta(minutes=10))])
        after = figures.period(mine, NOW)
        assert after is not first
        assert {t.tier: t.covered for t in after.coverage.tiers}["A"] == 1
        assert [g.key for g in figures.live(mine, NOW).today.today] == ["ann"]
    finally:
        mine.close()
        other.close()


def test_time_alone_moves_a_figure_at_the_named_moment(store):
    """A completed call 90 days back leaves tier A's cadence one second after the moment
    the store names: the answer there is read again."""
    ids = add_customers(store, ("a", "A"))
    started = NOW - timedelta(days=89)
    q.insert_calls(store, [call(ids["a"], "completed", started)])
    figures = DashboardFigures(None, UTC)
    assert figures.period(store, NOW).coverage.tiers[0].covered == 1
    until = from_iso(q.period_next_change(store, to_iso(NOW), call_windows(None)))
    assert until == started + timedelta(days=90)
    assert figures.period(store, until).coverage.tiers[0].covered == 1
    reads = figures.reads["period"]
    assert figures.period(store, until + timedelta(seconds=1)).coverage.tiers[0].covered == 0
    assert figures.reads["period"] == reads + 1


def test_a_missed_deadline_is_escalated_within_the_minute(store):
    """No write: the escalation check runs again once a minute has passed."""
    ids = add_customers(store, ("a", "A"))
    figures = DashboardFigures(None, UTC)
    q.insert_followups(store, [{"kind": "fix_problem", "customer_id": ids["a"],
                                "status": "open", "created_at": to_iso(NOW),
                                "due_at": to_iso(NOW + timedelta(days=30))}])
    due = NOW + timedelta(hours=48)                   # first contact is due in 48 hours
    assert figures.live(store, due - timedelta(seconds=30)).escalations == []
    # 31 s later the deadline has passed, but the last check is not a minute old
    assert figures.live(store, due + timedelta(seconds=1)).escalations == []
    [late] = figures.live(store, due + timedelta(seconds=30)).escalations
    assert late.kind == "fix_problem" and late.deadline == "first_contact"


def test_the_backlog_is_kept_while_no_follow_up_is_written(db_path):
    """Calls wrapped up and the clock moving by seconds: the backlog is not read again
    (nor the escalation check run) until a follow-up is written (or the minute passed)."""
    mine, other = Store.open(db_path), Store.open(db_path)
    try:
        ids = list(add_customers(mine, ("a", "A"), ("b", "B")).values())
        q.insert_followups(other, [{"kind": "fix_problem", "customer_id": ids[0],
                                    "status": "open", "created_at": to_iso(NOW),
                                    "due_at": to_iso(NOW + timedelta(days=3))}])
        figures = DashboardFigures(None, UTC)
        now = NOW + timedelta(minutes=1)
        for i in range(4):
            q.insert_calls(other, [call(ids[i % 2], "completed", now, "ann")])
            assert figures.live(mine, now) == live_figures(mine, now, None, UTC)
            assert figures.period(mine, now) == dashboard_period(mine, now, None, UTC)
            now += timedelta(seconds=5)
        assert figures.reads["follow-ups"] == 1
        assert figures.reads["escalation checks"] == 1
        q.close_followups_done(other, [(1, to_iso(now), "sam")])
        assert figures.live(mine, now) == live_figures(mine, now, None, UTC)
        assert figures.period(mine, now) == dashboard_period(mine, now, None, UTC)
        assert figures.reads["follow-ups"] == 2
        assert figures.reads["escalation checks"] == 2
    finally:
        mine.close()
        other.close()


def test_after_a_follow_up_write_only_the_follow_ups_written_are_checked(store):
    """Within the minute, a follow-up written already late is escalated at the next
    refresh; one that became late by time alone waits for the minute's check of every
    follow-up (as the documentation says); so does one whose occasion moved into the past
    (the journal of follow-ups notes an occasion, an owner or a customer changed too)."""
    ids = add_customers(store, ("a", "A"), ("b", "B"), ("c", "C"), ("d", "D"))

    def add(customer, created, kind="fix_problem"):
        q.insert_followups(store, [{"kind": kind, "customer_id": ids[customer],
                                    "status": "open", "created_at": to_iso(created),
                                    "due_at": to_iso(created + timedelta(days=30))}])

    figures = DashboardFigures(None, UTC)
    add("a", NOW - timedelta(hours=47, minutes=59, seconds=50))  # late in 10 s by time
    add("d", NOW, "thank_you_note")                   # before its occasion: none named yet
    assert figures.live(store, NOW).escalations == []
    add("b", NOW - timedelta(days=3))                            # written late
    [late] = figures.live(store, NOW + timedelta(seconds=20)).escalations
    assert late.customer_ref == "b"
    assert figures.reads["escalation checks"] == 2
    with store.write():
        store.db.conn.execute("UPDATE followups SET owner = 'olga' WHERE customer_id = ?",
                              (ids["b"],))            # b checked again: nothing new
    assert [e.customer_ref for e in figures.live(
        store, NOW + timedelta(seconds=30)).escalations] == ["b"]     # a waits
    assert figures.reads["escalation checks"] == 3
    with store.write():
        store.db.conn.execute(
            "UPDATE followups SET occasion = ? WHERE customer_id = ?",
            (f"birthday {(NOW - timedelta(days=1)).date()}", ids["d"]))   # missed now
    assert {e.customer_ref for e in figures.live(
        store, NOW + timedelta(seconds=40)).escalations} == {"b", "d"}     # a still waits
    assert {e.customer_ref for e in figures.live(
        store, NOW + timedelta(seconds=61)).escalations} == {"a", "b", "d"}  # the minute's
    assert figures.reads["escalation checks"] == 5
    add("c", NOW)
    assert len(figures.live(store, NOW + timedelta(seconds=70)).escalations) == 3
    assert figures.reads["escalation checks"] == 6


def test_a_check_after_more_follow_up_writes_than_the_journal_keeps_reads_every_one(store):
    """The journal of follow-ups keeps its last 1,000 rows: past that, the check between
    minutes cannot name the follow-ups written and reads every one."""
    ids = add_customers(store, ("a", "A"), ("b", "B"))
    q.insert_followups(store, [{"kind": "fix_problem", "customer_id": ids["a"],
                                "status": "open", "created_at": to_iso(NOW),
                                "due_at": to_iso(NOW + timedelta(days=3))}])
    figures = DashboardFigures(None, UTC)
    assert figures.live(store, NOW).escalations == []
    q.insert_followups(store, [{"kind": "fix_problem", "customer_id": ids["b"],
                                "status": "open", "created_at": to_iso(NOW - timedelta(days=3)),
                                "due_at": to_iso(NOW + timedelta(days=3))}])   # written late
    with store.write():
        for i in range(1, 1001):       # then a thousand writes to a's: b's row dropped
            store.db.conn.execute("UPDATE followups SET due_at = ? WHERE customer_id = ?",
                                  (to_iso(NOW + timedelta(days=3, seconds=i)), ids["a"]))
    assert [e.customer_ref for e in figures.live(
        store, NOW + timedelta(seconds=10)).escalations] == ["b"]


def test_a_check_of_the_follow_ups_written_finds_what_the_whole_check_finds_of_them(store):
    """``escalate_overdue(..., followup_ids=)``: the escalations of those follow-ups, as a
    check of every one would make them."""
    from calls.deadlines import escalate_overdue

    ids = add_customers(store, ("a", "A"), ("b", "B"))
    q.insert_followups(store, [{"kind": "fix_problem", "customer_id": ids[c],
                                "status": "open", "created_at": to_iso(NOW - timedelta(days=3)),
                                "due_at": to_iso(NOW + timedelta(days=30))} for c in "ab"])
    assert escalate_overdue(store, NOW, followup_ids=[]) == []
    [one] = escalate_overdue(store, NOW, followup_ids=[2])
    assert one.followup_id == 2
    [other] = escalate_overdue(store, NOW)
    assert other.followup_id == 1
    assert escalate_overdue(store, NOW) == []
