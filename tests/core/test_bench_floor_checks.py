"""The floor benchmark's own checks are real: a customer held by two seats at once and a
wrap-up the database does not hold are counted (scripts/bench_floor.py)."""

from __future__ import annotations

import importlib.util
import random
import sqlite3
from pathlib import Path

from tests.support.tui import NOW, make_db

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_floor.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_floor_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_customer_held_by_two_seats_at_once_is_counted():
    bench = _bench()
    one_after_another = [(7, "a", 1.0), (7, "b", 3.0)], [(7, "a", 2.0), (7, "b", 4.0)]
    assert bench._handed_twice(*one_after_another) == 0
    overlapping = [(7, "a", 1.0), (7, "b", 1.5)], [(7, "a", 2.0), (7, "b", 4.0)]
    assert bench._handed_twice(*overlapping) == 1


def test_calls_the_seats_wrapped_up_are_checked_against_the_database(tmp_path):
    bench = _bench()
    db = make_db(tmp_path / "floor.db")
    logs = [bench._new_log() for _ in range(2)]
    seats = [bench.Seat(f"s{i}", db, lambda: NOW, random.Random(i), logs[i])
             for i in range(2)]
    for _ in range(40):
        for seat in seats:
            seat.step()
    for seat in seats:
        seat.close()
    calls = logs[0]["calls"] + logs[1]["calls"]
    assert calls and not logs[0]["errors"] and not logs[1]["errors"]
    assert bench._handed_twice(logs[0]["taken"] + logs[1]["taken"],
                               logs[0]["released"] + logs[1]["released"]) == 0
    assert bench._lost_writes(db, calls) == 0
    answered = next(c for c in calls if c[4] > 0)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM answers WHERE call_id = ? AND rowid = "
                     "(SELECT min(rowid) FROM answers WHERE call_id = ?)",
                     (answered[0], answered[0]))
        conn.execute("UPDATE calls SET outcome = 'busy' WHERE id = ?", (calls[-1][0],))
    conn.close()
    assert bench._lost_writes(db, calls) == (2 if calls[-1][0] != answered[0] else 1)


def test_a_pause_of_the_whole_machine_is_seen_and_its_steps_told_apart():
    """The parent's idle ticker comes 12 s late: no process ran (the virtual machine was
    stopped). Steps that overlap that time are the machine's, not carecall's."""
    watch = _bench().MachineWatch(every=0.02, threshold=1.0)
    for mono, wall in [(100.0, 5000.0), (100.02, 5000.02), (112.5, 5012.5),
                       (112.52, 5012.52)]:
        watch.tick(mono, wall)
    assert watch.pauses == [(100.02, 112.5)]
    assert watch.clock_steps == []
    assert watch.touches(99.5, 0.6)          # running when the machine stopped
    assert watch.touches(105.0, 7.6)         # due while it was stopped
    assert not watch.touches(99.0, 0.5)      # done before
    assert not watch.touches(112.6, 0.05)    # due after


def test_a_step_of_the_wall_clock_is_not_a_pause():
    watch = _bench().MachineWatch(every=0.02, threshold=1.0)
    for mono, wall in [(100.0, 5000.0), (100.02, 5012.02), (100.04, 5012.04)]:
        watch.tick(mono, wall)
    assert watch.pauses == []
    assert [(at, round(by, 3)) for at, by in watch.clock_steps] == [(100.02, 12.0)]
    assert not watch.touches(99.9, 0.2)


def test_takes_and_releases_are_stamped_while_the_seat_holds_the_write_lock(tmp_path,
                                                                          monkeypatch):
    """A process that loses its CPU between a wrap-up's commit and the stamp must not
    make the release look later than another seat's claim of the same customer: the
    stamps are taken inside the claim's and the wrap-up's transactions."""
    bench = _bench()
    holds: list = []
    monkeypatch.setattr(bench.Store, "write", bench.Store.write)   # restored after
    bench._measure_lock_holds(holds, label=True)
    wrap_up, take_next = bench.CallSession.wrap_up, bench.CallSession.take_next

    def slow_wrap_up(self, *args, **kwargs):
        result = wrap_up(self, *args, **kwargs)
        bench.time.sleep(0.05)           # the process lost its CPU after the commit
        return result

    def slow_take_next(*args, **kwargs):
        session = take_next(*args, **kwargs)
        bench.time.sleep(0.05)
        return session

    monkeypatch.setattr(bench.CallSession, "wrap_up", slow_wrap_up)
    monkeypatch.setattr(bench.CallSession, "take_next", staticmethod(slow_take_next))
    db = make_db(tmp_path / "floor.db")
    log = bench._new_log()
    seat = bench.Seat("s0", db, lambda: NOW, random.Random(3), log)
    while not log["released"]:
        seat.step()
    seat.close()
    spans = {name: (began, began + held) for held, name, _cpu, began, *_ in holds}
    claim_began, claim_ended = spans["_claim_candidate"]
    wrap_began, wrap_ended = spans["wrap_up"]
    taken_at, released_at = log["taken"][0][2], log["released"][0][2]
    assert claim_began - 0.001 <= taken_at <= claim_ended
    assert wrap_began - 0.001 <= released_at <= wrap_ended


def test_the_app_flow_stamps_the_wrap_up_and_the_claim_of_one_step_apart(tmp_path,
                                                                       monkeypatch):
    """``--flow app``: the wrap-up and the take of the next customer are one step
    (``wrap_up_and_take_next`` with the customer read ahead); the release is stamped in
    the wrap-up's transaction and the take in the claim's, not both at the step's end;
    the reading ahead is used (the queue is not read again for the take)."""
    bench = _bench()
    holds: list = []
    monkeypatch.setattr(bench.Store, "write", bench.Store.write)   # restored after
    bench._measure_lock_holds(holds, label=True)
    db = make_db(tmp_path / "floor.db")
    logs = [bench._new_log() for _ in range(2)]
    seats = [bench.Seat(f"s{i}", db, lambda: NOW, random.Random(i), logs[i], "app")
             for i in range(2)]
    for _ in range(40):       # five customers: each is called once (the clock stands)
        for seat in seats:
            seat.step()
    for seat in seats:
        seat.close()
    spans = [(name, began, began + held) for held, name, _cpu, began, *_ in holds]

    def inside(moment, name):
        return any(n == name and b - 0.001 <= moment <= e for n, b, e in spans)

    for log in logs:
        assert not log["errors"]
        assert all(inside(at, "wrap_up") for _c, _s, at in log["released"])
        assert all(inside(at, "_claim_candidate") for _c, _s, at in log["taken"])
    # Takes came with a wrap-up (after a seat's first), with the customer read ahead.
    assert any(len(log["taken"]) >= 2 and log["steps"]["read_ahead"] for log in logs)
    taken = logs[0]["taken"] + logs[1]["taken"]
    released = logs[0]["released"] + logs[1]["released"]
    assert bench._handed_twice(taken, released) == 0
    assert bench._lost_writes(db, logs[0]["calls"] + logs[1]["calls"]) == 0
