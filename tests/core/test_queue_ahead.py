"""The next customer read ahead while a call is wrapped up (issue 18): taking them then
equals taking from the queue read at that moment, and nobody is handed twice.

``CallSession.read_next`` reads the queue's top while the wrap-up is on screen;
``wrap_up_and_take_next(..., ahead=...)`` checks that customer again inside the claim's
lock and claims them, or reads the queue as without it when another caller took them,
they are no longer callable, the customer just wrapped up is callable again, or the
reading is too old (``calls.queue.AHEAD_SECONDS``).
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from calls import queue
from calls.clock import from_iso, to_iso
from calls.outcomes import Outcome
from calls.policy import DEFAULT_POLICY
from calls.session import CallSession
from calls.store import Store
from calls.store.queue import put_claim
from tests.core.test_queue_property import _moment, _random_db
from tests.support.queue import NY, add_customer, add_followup, count_queue_reads

NOW = from_iso("2026-03-10T15:00:00Z")    # a Tuesday: New York is open
OUTCOMES = [Outcome.COMPLETED, Outcome.PARTIAL, Outcome.NO_ANSWER, Outcome.BUSY,
            Outcome.REFUSED, Outcome.OTHER_CONTACT, Outcome.WRONG_NUMBER]


def _claims(store: Store) -> dict[int, str]:
    return dict(store.db.conn.execute("SELECT customer_id, caller FROM claims"))


def _taken_and_read(store: Store, now, caller: str = "ann"):
    """``caller`` takes the top customer; the wrap-up reads the next one a moment later."""
    session = CallSession.take_next(store, caller, now, DEFAULT_POLICY, "quarterly")
    assert session is not None
    return session, session.read_next(store, now + timedelta(seconds=5))


def _wrap_up_and_next(store: Store, session: CallSession, outcome: Outcome, now, ahead):
    session.choose(outcome)
    return session.wrap_up_and_take_next(store, now, session.plan_wrap_up(now, ""),
                                         script="quarterly", ahead=ahead)


# -- the read-ahead path against the plain path, on random databases -------------------


def _weekday_afternoon(rng: random.Random):
    """A moment when the Americas' windows are open (callers have someone to take)."""
    moment = _moment(rng)
    day = moment.replace(hour=rng.choice([15, 16, 17, 18]), minute=rng.randrange(0, 60))
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def _disturb(rng: random.Random, store: Store, ahead: queue.QueueAhead, now) -> str:
    """What the floor does between the reading and the take (the same on both copies)."""
    what = rng.choice(["nothing", "nothing", "claimed", "dnc", "called", "claimed-expired"])
    top = ahead.top
    if top is None or what == "nothing":
        return "nothing"
    with store.write():
        if what == "claimed":       # another caller takes the customer read ahead
            put_claim(store, top.customer.id, "bob", to_iso(now), to_iso(now + timedelta(hours=1)))
        elif what == "claimed-expired":   # a lease that ran out does not hold them
            put_claim(store, top.customer.id, "bob", to_iso(now - timedelta(hours=2)),
                      to_iso(now - timedelta(hours=1)))
        elif what == "dnc":         # their number goes on the do-not-call list
            store.db.execute("INSERT OR REPLACE INTO dnc (phone, added_at) VALUES (?, ?)",
                             (top.customer.phone, to_iso(now)))
        elif what == "called":      # another seat called them (a retry wait now)
            store.db.execute("UPDATE customers SET retry_after = ? WHERE id = ?",
                             (to_iso(now + timedelta(hours=3)), top.customer.id))
    return what


@pytest.mark.parametrize("seed", range(30))
def test_taking_with_the_reading_ahead_equals_taking_from_the_queue_read_then(tmp_path, seed):
    """Two copies of one random database: the same call wrapped up on both, the next
    customer taken with the reading ahead on one and from the queue on the other, after
    the same thing happened on the floor in between. The same customer (or nobody) comes
    next, claimed once, never someone another caller holds."""
    rng = random.Random(seed)
    base = _weekday_afternoon(rng)
    size = rng.choice([20, 60, 120])
    stores = []
    for name in ("ahead", "plain"):
        store = Store.open(tmp_path / f"{name}.db")
        _random_db(store, random.Random(seed), base, size)
        stores.append(store)
    ahead_store, plain_store = stores
    taken = 0
    for round_ in range(4):
        now = base + timedelta(minutes=3 * round_)
        outcome = rng.choice(OUTCOMES)
        disturb_seed = rng.random()
        results = []
        for store, use_ahead in ((ahead_store, True), (plain_store, False)):
            session = CallSession.take_next(store, "ann", now, DEFAULT_POLICY, "quarterly")
            if session is None:
                results.append(None)
                continue
            read_at = now + timedelta(seconds=5)
            ahead = session.read_next(store, read_at)
            # The same disturbance on both copies (what the reading found decides whom).
            what = _disturb(random.Random(disturb_seed), store,
                            ahead, read_at + timedelta(seconds=1))
            step = _wrap_up_and_next(store, session, outcome, read_at + timedelta(seconds=10),
                                     ahead if use_ahead else None)
            assert step.refused is None
            nxt = step.next
            results.append((session.customer.id, nxt.customer.id if nxt else None, what))
            if nxt is not None:
                claims = _claims(store)
                assert claims.get(nxt.customer.id) == "ann"
                # Nobody another caller holds (a live lease) is handed to ann.
                live = store.scalar(
                    "SELECT count(*) FROM claims WHERE customer_id = ? AND caller != 'ann' "
                    "AND expires_at > ?", (nxt.customer.id, to_iso(read_at)))
                assert live == 0
                nxt.give_back(store, read_at + timedelta(seconds=11))
                taken += 1
        assert results[0] == results[1], (seed, round_, outcome, results)
    for store in stores:
        store.close()
    assert taken > 0       # customers were taken, not only "nobody" on both


# -- the cases one by one ---------------------------------------------------------------


def test_the_customer_read_ahead_is_claimed_without_reading_the_queue_again(store,
                                                                            monkeypatch):
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(4)]
    session, ahead = _taken_and_read(store, NOW)
    assert session.customer.id == ids[0]
    assert ahead.top is not None and ahead.top.customer.id == ids[1]   # not the one leaving
    reads = count_queue_reads(monkeypatch)
    step = _wrap_up_and_next(store, session, Outcome.NO_ANSWER, NOW + timedelta(seconds=20),
                             ahead)
    assert step.next.customer.id == ids[1]
    assert reads == []                       # checked and claimed; the queue not read
    assert _claims(store) == {ids[1]: "ann"}
    assert store.one("SELECT outcome FROM calls WHERE customer_id = ?",
                     [ids[0]])["outcome"] == "no_answer"


def test_a_customer_taken_by_another_caller_meanwhile_is_not_handed_again(store,
                                                                         monkeypatch):
    """On a busy floor another seat often takes the top read ahead: the next one read
    with it is checked and claimed, still without reading the queue again."""
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(4)]
    session, ahead = _taken_and_read(store, NOW)
    assert list(ahead.after) == ids[2:]
    bob = CallSession.take_next(store, "bob", NOW + timedelta(seconds=8))
    assert bob.customer.id == ahead.top.customer.id == ids[1]     # bob was quicker
    reads = count_queue_reads(monkeypatch)
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                             ahead)
    assert step.next.customer.id == ids[2]   # the next one, as the queue now has it first
    assert reads == []
    assert _claims(store) == {ids[1]: "bob", ids[2]: "ann"}


def test_every_customer_read_ahead_taken_meanwhile_makes_the_queue_read(store,
                                                                         monkeypatch):
    ids = [add_customer(store, where=NY, revenue=float(1000 - i))
           for i in range(queue.AHEAD_READ + 3)]
    session, ahead = _taken_and_read(store, NOW)
    read = [ahead.top.customer.id, *ahead.after]
    assert read == ids[1:queue.AHEAD_READ + 1]
    for i, customer_id in enumerate(read):      # the floor took all of them meanwhile
        taken = CallSession.take(store, customer_id, f"bob{i}", NOW + timedelta(seconds=8))
        assert taken.customer.id == customer_id
    reads = count_queue_reads(monkeypatch)
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                             ahead)
    assert reads and step.next.customer.id == ids[queue.AHEAD_READ + 1]
    assert _claims(store)[ids[queue.AHEAD_READ + 1]] == "ann"
    assert sorted(c for c, who in _claims(store).items() if who == "ann") == [
        ids[queue.AHEAD_READ + 1]]


def test_a_floor_taking_at_once_with_readings_ahead_hands_nobody_twice(store):
    """Seats that read ahead at the same moment (the same top, the same next ones) and
    then take one after another: each gets a different customer, in the queue's order,
    as many as were read ahead before anyone reads the queue again."""
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(12)]
    taken = {name: CallSession.take_next(store, name, NOW, DEFAULT_POLICY, "quarterly")
             for name in ("ann", "bob", "cy")}
    sessions = {name: (s, s.read_next(store, NOW + timedelta(seconds=5)))
                for name, s in taken.items()}
    # Each read ahead while the three held ids[0..2]: the same top and next ones.
    assert len({(a.top.customer.id, *a.after) for _s, a in sessions.values()}) == 1
    nexts = []
    for s, ahead in sessions.values():
        step = _wrap_up_and_next(store, s, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                                 ahead)
        nexts.append(step.next.customer.id)
    assert nexts == ids[3:6]
    assert _claims(store) == dict(zip(ids[3:6], sessions, strict=True))


def test_a_customer_no_longer_callable_is_passed_over(store):
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(3)]
    session, ahead = _taken_and_read(store, NOW)
    with store.write():   # their number went on the do-not-call list meanwhile
        store.db.execute("INSERT INTO dnc (phone, added_at) VALUES (?, ?)",
                         (ahead.top.customer.phone, to_iso(NOW)))
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                             ahead)
    assert step.next.customer.id == ids[2]
    assert _claims(store) == {ids[2]: "ann"}


def test_a_reading_too_old_is_not_used(store, monkeypatch):
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(3)]
    session, ahead = _taken_and_read(store, NOW)
    later = ahead.read_at + timedelta(seconds=queue.AHEAD_SECONDS + 1)
    # Meanwhile a callback fell due: it comes first, as the queue at that moment says.
    called_back = add_customer(store, where=NY, revenue=1.0)
    add_followup(store, called_back, "callback", to_iso(later - timedelta(seconds=1)))
    reads = count_queue_reads(monkeypatch)
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, later, ahead)
    assert reads and step.next.customer.id == called_back
    assert not ahead.usable("ann", later) and ahead.usable("ann", ahead.read_at)
    assert not ahead.usable("bob", ahead.read_at)      # another caller's reading
    assert ids[1] not in _claims(store)


def test_the_customer_just_wrapped_up_callable_again_makes_the_queue_read(store,
                                                                         monkeypatch):
    """The reading leaves out the customer whose call is being wrapped up; should they be
    callable right after it (the queue might put them first), the queue is read."""
    ids = [add_customer(store, where=NY, revenue=float(1000 - i)) for i in range(3)]
    session, ahead = _taken_and_read(store, NOW)
    assert ahead.leaving == ids[0] and ahead.top.customer.id == ids[1]
    real = queue._entry_if_callable
    asked = []

    def callable_again(store_, customer_id, *args, **kwargs):
        asked.append(customer_id)
        if customer_id == ids[0]:
            return queue.queue_entry(store_, customer_id, "ann", NOW)
        return real(store_, customer_id, *args, **kwargs)

    monkeypatch.setattr(queue, "_entry_if_callable", callable_again)
    reads = count_queue_reads(monkeypatch)
    _wrap_up_and_next(store, session, Outcome.NO_ANSWER, NOW + timedelta(seconds=20), ahead)
    assert asked[0] == ids[0] and reads


def test_a_seat_paused_by_the_wrap_up_takes_nobody(store):
    """A supervisor's pause asked during the call starts at the wrap-up: nobody is taken
    (not even the customer read ahead)."""
    from calls import floor
    from calls.accounts import get_account
    from tests.support.team import make_team

    make_team(store, NOW)
    add_customer(store, where=NY)
    add_customer(store, where=NY)
    floor.sign_on(store, "ann", now=NOW)
    session, ahead = _taken_and_read(store, NOW)
    assert ahead.top is not None
    floor.pause_caller(store, "ann", "coaching", actor=get_account(store, "sue").as_actor(),
                       now=NOW + timedelta(seconds=6))
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                             ahead)
    assert step.next is None and step.refused is None
    assert step.saved.seat.state == "paused"
    assert _claims(store) == {}


def test_a_take_refused_after_the_wrap_up_keeps_the_wrap_up(store, monkeypatch):
    from calls.errors import UserError

    ids = [add_customer(store, where=NY) for _ in range(2)]
    session, ahead = _taken_and_read(store, NOW)

    def refuse(*_args, **_kwargs):
        raise UserError("the database is busy")

    monkeypatch.setattr(queue, "_claim_candidate", refuse)
    step = _wrap_up_and_next(store, session, Outcome.COMPLETED, NOW + timedelta(seconds=20),
                             ahead)
    assert step.next is None and str(step.refused) == "the database is busy"
    assert store.one("SELECT outcome FROM calls WHERE customer_id = ?",
                     [ids[0]])["outcome"] == "completed"
