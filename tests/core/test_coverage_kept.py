"""Coverage from the kept per-customer marks (``calls.store.coverage``) answers what the
plain walk over every customer's calls answers: random writes from two connections (calls
written with and without an outcome, outcomes given and corrected, calls moved in time or
to another customer, deleted; tiers, do-not-call, new customers), random cadences, moments
before, at and after the calls, and the outcome table changing what counts as a contact
while the database is open."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from calls import outcomes
from calls.clock import to_iso
from calls.outcomes import OutcomeSpec
from calls.reports import NOT_REACHED_DAYS, cadence_days, coverage_as_of
from calls.store import Store, coverage
from calls.store import reports as q
from tests.core.test_report import add_customers, call

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
OUTCOMES = ("completed", "completed", "no_answer", "busy", "refused", "partial",
            "voicemail", "callback", "do_not_call", "other_contact", None)
# A contact outcome a later carecall might add (the table changes with the code).
CHAT = OutcomeSpec("chat", "Chatted", "R", contact=True, retry_minutes=60)


def _moment(rng: random.Random) -> datetime:
    return NOW - rng.choice((timedelta(days=rng.uniform(0, 420)),
                             timedelta(minutes=rng.uniform(0, 600)),
                             -timedelta(minutes=rng.uniform(0, 300))))   # some later


def _write(rng: random.Random, store: Store, ids: list[int]) -> str:
    what = rng.choice(("call", "call", "call", "outcome", "outcome", "move", "customer_id",
                       "delete", "tier", "dnc", "customer"))
    conn = store.db.conn
    call_ids = [r[0] for r in conn.execute("SELECT id FROM calls")]
    codes = [o for o in OUTCOMES] + (["chat"] if "chat" in outcomes.Outcome else [])
    if what == "call" or not call_ids and what in ("outcome", "move", "customer_id",
                                                    "delete"):
        q.insert_calls(store, [call(rng.choice(ids), rng.choice(codes), _moment(rng))])
        return "call"
    with store.write():
        if what == "outcome":       # wrap-up (NULL to an outcome) or a correction
            conn.execute("UPDATE calls SET outcome = ? WHERE id = ?",
                         (rng.choice(codes), rng.choice(call_ids)))
        elif what == "move":
            conn.execute("UPDATE calls SET started_at = ? WHERE id = ?",
                         (to_iso(_moment(rng)), rng.choice(call_ids)))
        elif what == "customer_id":
            conn.execute("UPDATE calls SET customer_id = ? WHERE id = ?",
                         (rng.choice(ids), rng.choice(call_ids)))
        elif what == "delete":
            conn.execute("DELETE FROM answers WHERE call_id = ?", (call_id := rng.choice(
                call_ids),))
            conn.execute("DELETE FROM calls WHERE id = ?", (call_id,))
        elif what == "tier":
            conn.execute("UPDATE customers SET tier = ? WHERE id = ?",
                         (rng.choice(("A", "B", "C", "D", None)), rng.choice(ids)))
        elif what == "dnc":
            conn.execute("UPDATE customers SET do_not_call = 1 - do_not_call WHERE id = ?",
                         (rng.choice(ids),))
    if what == "customer":
        ref = f"n{rng.randrange(10**9)}"
        ids.append(add_customers(store, (ref, rng.choice(("A", "B", "C", None))))[ref])
    return what


def _cutoffs(rng: random.Random, at: datetime) -> tuple[dict, str]:
    cadence = rng.choice(({"A": 90, "B": 180, "C": 365}, {"A": 30, "B": 60},
                          {"A": 7, "B": 365, "C": 200, "D": 14}))
    return ({t: to_iso(at - timedelta(days=d)) for t, d in cadence.items()},
            to_iso(at - timedelta(days=NOT_REACHED_DAYS)))


def _check(rng: random.Random, store: Store, seed, step) -> None:
    kept_at = [r[0] for r in store.db.conn.execute(
        "SELECT started_at FROM calls ORDER BY random() LIMIT 2")]
    moments = [to_iso(NOW), to_iso(_moment(rng)), *kept_at]   # exactly a call's start too
    for as_of in moments:
        at = datetime.strptime(as_of, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        cutoffs, unreached = _cutoffs(rng, at)
        plain = q.coverage_counts(store, as_of, cutoffs, unreached, plain=True)
        assert q.coverage_counts(store, as_of, cutoffs, unreached) == plain, (seed, step)
        if coverage.in_step(store):
            kept = coverage.counts(store, as_of, cutoffs, unreached)
            assert kept in (None, plain), (seed, step, as_of)


@pytest.fixture
def chat_outcome():
    yield
    if "chat" in outcomes.Outcome:
        outcomes.remove("chat")


@pytest.mark.parametrize("seed", range(8))
def test_kept_coverage_equals_the_walk(db_path, seed, chat_outcome):
    rng = random.Random(seed)
    one, two = Store.open(db_path), Store.open(db_path)
    try:
        ids = list(add_customers(one, *[(f"c{i}", ("A", "B", "C", None)[i % 4], i % 7 == 0)
                                        for i in range(14)]).values())
        for step in range(120):
            _write(rng, rng.choice((one, two)), ids)
            if rng.random() < 0.04:
                # The outcome table changes under an open database: the kept marks no
                # longer mean "a contact" and the plain walk answers until a store is
                # opened by this code, which recomputes them.
                if "chat" in outcomes.Outcome:
                    outcomes.remove("chat")
                else:
                    outcomes.add(CHAT)
                assert not coverage.in_step(one)
                _check(rng, one, seed, step)
                two.close()
                two = Store.open(db_path)
                assert coverage.in_step(one) and coverage.in_step(two)
            _check(rng, rng.choice((one, two)), seed, step)
    finally:
        one.close()
        two.close()


def test_the_marks_follow_the_calls(store):
    """What a call session writes: the call first without an outcome, then its outcome at
    wrap-up; a correction moves the marks back."""
    ids = add_customers(store, ("a", "A"))
    [cid] = q.insert_calls(store, [call(ids["a"], None, NOW - timedelta(days=3))])

    def marks():
        return store.one("SELECT last_completed_at, last_contact_at FROM customers")

    assert marks() == {"last_completed_at": None, "last_contact_at": None}
    with store.write():
        store.db.conn.execute("UPDATE calls SET outcome = 'completed' WHERE id = ?", (cid,))
    three_days = to_iso(NOW - timedelta(days=3))
    assert marks() == {"last_completed_at": three_days, "last_contact_at": three_days}
    q.insert_calls(store, [call(ids["a"], "refused", NOW - timedelta(days=1))])
    assert marks() == {"last_completed_at": three_days,
                       "last_contact_at": to_iso(NOW - timedelta(days=1))}
    with store.write():
        store.db.conn.execute("UPDATE calls SET outcome = 'no_answer' WHERE id = ?", (cid,))
    assert marks() == {"last_completed_at": None,
                       "last_contact_at": to_iso(NOW - timedelta(days=1))}


def test_a_new_contact_outcome_counts_once_a_store_is_opened(db_path, chat_outcome):
    store = Store.open(db_path)
    try:
        ids = add_customers(store, ("a", "A"))
        outcomes.add(CHAT)
        q.insert_calls(store, [call(ids["a"], "chat", NOW - timedelta(days=2))])
        as_of = to_iso(NOW)
        # Out of step: the plain walk answers, and it counts the new contact.
        assert not coverage.in_step(store)
        assert coverage_as_of(store, as_of).not_reached == 0
    finally:
        store.close()
    with Store.open(db_path) as store:
        assert coverage.in_step(store)
        assert store.scalar("SELECT last_contact_at FROM customers") == to_iso(
            NOW - timedelta(days=2))
        cutoffs = {t: to_iso(NOW - timedelta(days=d)) for t, d in cadence_days().items()}
        unreached = to_iso(NOW - timedelta(days=NOT_REACHED_DAYS))
        assert coverage.counts(store, as_of, cutoffs, unreached)["not_reached"] == 0


def test_the_migration_fills_the_marks_of_an_older_database(db_path):
    """A database from before the marks: its history is read into them on upgrade."""
    from calls.store.schema import migrations

    names = migrations.names()
    before = names[names.index("coverage_0001_last_calls")]
    store = Store.open(db_path, migrate=False)
    try:
        migrations.apply(store.db, stop_before=before)
        store.db.conn.commit()
        ids = add_customers(store, ("a", "A"), ("b", "C"))
        q.insert_calls(store, [call(ids["a"], "completed", NOW - timedelta(days=10)),
                               call(ids["a"], "no_answer", NOW - timedelta(days=1)),
                               call(ids["b"], "refused", NOW - timedelta(days=5))])
    finally:
        store.close()
    with Store.open(db_path) as store:
        rows = store.all("SELECT ref, last_completed_at, last_contact_at FROM customers "
                         "ORDER BY ref")
        assert rows == [
            {"ref": "a", "last_completed_at": to_iso(NOW - timedelta(days=10)),
             "last_contact_at": to_iso(NOW - timedelta(days=10))},
            {"ref": "b", "last_completed_at": None,
             "last_contact_at": to_iso(NOW - timedelta(days=5))}]
