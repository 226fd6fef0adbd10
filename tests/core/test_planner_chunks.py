"""The planner writes in short transactions beside working seats, stops between them when
asked (the app is closing), and two runs that overlap plan each occasion once."""

from __future__ import annotations

import contextlib

import pytest

from calls import planner
from calls.planner import plan
from calls.store import Store
from tests.core.test_planner import _twin_lists, policy


def _written(store):
    """What the planner left: the follow-ups (without their ids, which depend on which
    run wrote first) and its memory of planned occasions."""
    followups = store.all("SELECT customer_id, kind, owner, due_at, status, details, occasion, "
                          "source, created_by FROM followups")
    memory = store.all("SELECT customer_id, key FROM followup_plan")
    return (sorted(followups, key=repr),
            sorted((r["customer_id"], r["key"]) for r in memory))


@pytest.fixture
def twins(tmp_path, now, monkeypatch):
    """Two databases with the same customers; chunks of 7 occasions at first."""
    from calls.store.followups import table_columns

    monkeypatch.setattr(planner, "BATCH", 7)
    whole, other = _twin_lists(tmp_path, now)
    if "cycle_status" not in table_columns(whole, "customers"):
        pytest.skip("the queue's cycle-state migration is not in this tree yet")
    yield whole, other
    whole.close()
    other.close()


def _transactions(monkeypatch, store) -> list[int]:
    """Occasions planned per write transaction of ``store`` (each outer ``write()``)."""
    counts: list[int] = []
    write = store.write

    @contextlib.contextmanager
    def counted():
        outer = not store.db.conn.in_transaction
        if outer:
            before = store.scalar("SELECT count(*) FROM followup_plan")
        with write() as db:
            yield db
            if outer:
                counts.append(store.scalar("SELECT count(*) FROM followup_plan") - before)

    monkeypatch.setattr(store, "write", counted)
    return counts


def test_a_run_writes_in_short_transactions_the_first_of_batch_occasions(twins, now,
                                                                         monkeypatch):
    whole, _other = twins
    counts = _transactions(monkeypatch, whole)
    result = plan(whole, now, policy(days_ahead=20), keep=False)
    assert result.count > 3 * planner.BATCH
    assert len(counts) >= 4 and counts[0] <= planner.BATCH
    assert sum(counts) == result.count


def test_a_run_stopped_between_transactions_loses_nothing_and_the_next_plans_the_rest(
        twins, now):
    whole, other = twins
    full = plan(whole, now, policy(days_ahead=20), keep=False)
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3         # the app closes after the run's second chunk or so

    first = plan(other, now, policy(days_ahead=20), keep=False, stop=stop)
    assert first.stopped and 0 < first.count < full.count
    # Every occasion planned so far is whole: each one's follow-up and its memory.
    assert other.scalar("SELECT count(*) FROM followup_plan p LEFT JOIN followups f "
                        "ON f.id = p.followup_id WHERE f.id IS NULL") == 0
    rest = plan(other, now, policy(days_ahead=20), keep=False)
    assert not rest.stopped and first.count + rest.count == full.count
    assert _written(other) == _written(whole)
    assert plan(other, now, policy(days_ahead=20), keep=False).count == 0


def test_a_run_that_starts_after_another_read_its_list_plans_nothing_twice(twins, now):
    """Two seats starting together: the second run plans everything between the first
    run's chunks (the first read its list before); the first plans only what is left."""
    whole, other = twins
    full = plan(whole, now, policy(days_ahead=20), keep=False)
    second: list = []

    def stop() -> bool:
        if len(second) == 0:
            second.append(None)
        elif len(second) == 1:   # after the first run's first chunk
            with Store.open(other.path) as seat:
                second[0] = plan(seat, now, policy(days_ahead=20), keep=False)
            second.append(None)
        return False

    first = plan(other, now, policy(days_ahead=20), keep=False, stop=stop)
    assert second[0] is not None and second[0].count > 0
    assert first.count + second[0].count == full.count
    assert _written(other) == _written(whole)
    assert other.scalar("SELECT count(*) FROM (SELECT customer_id, kind FROM followups "
                        "WHERE status = 'open' GROUP BY customer_id, kind "
                        "HAVING count(*) > 1)") == 0
