"""The call session: each step, resume, and the wrap-up in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calls import session as call_session
from calls.clock import to_iso
from calls.errors import UserError
from calls.outcomes import Outcome
from calls.policy import DEFAULT_POLICY
from calls.session import CallSession, close_unfinished, unfinished
from calls.survey import AnswerError
from tests.support.queue import NY, add_customer

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # Tuesday, 11:00 in New York
LATER = NOW + timedelta(minutes=4)


def row(store, sql, params=()):
    return store.one(sql, params)


def answers(store, call_id):
    return {r["key"]: r["value"] for r in store.all(
        "SELECT key, value FROM answers WHERE call_id = ?", (call_id,))}


@pytest.fixture
def two(store):
    """Two customers due now in New York; the first has an account owner."""
    first = add_customer(store, "R1", where=NY, name="Ada", owner="Olga",
                         customer_since="2010-05-01", last_purchase="2026-02-01")
    second = add_customer(store, "R2", where=NY, name="Bob")
    return first, second


def take(store, caller="ann", now=NOW, script="quarterly"):
    session = CallSession.take_next(store, caller, now, DEFAULT_POLICY, script)
    assert session is not None
    return session


# -- taking -----------------------------------------------------------------------------


def test_take_next_claims_without_a_call_record(store, two):
    s = take(store)
    assert s.customer.id in two and s.call_id is None
    assert row(store, "SELECT caller FROM claims WHERE customer_id = ?",
               (s.customer.id,))["caller"] == "ann"
    assert store.scalar("SELECT count(*) FROM calls") == 0
    # One customer per caller: the second caller gets the other one.
    other = take(store, "bo")
    assert other.customer.id != s.customer.id


def test_take_next_picks_the_script_the_reason_calls_for(store):
    cid = add_customer(store, "R9", where=NY, name="Rec")
    with store.write():
        store.db["followups"].insert({
            "kind": "recovery_call", "customer_id": cid, "owner": None,
            "due_at": to_iso(NOW - timedelta(hours=1)), "status": "open", "details": "fixed",
            "source": "hand", "created_at": "2026-03-01T00:00:00Z"})
    s = CallSession.take_next(store, "ann", NOW, DEFAULT_POLICY)
    assert s is not None and s.reason == "recovery" and s.script.name == "recovery"
    assert call_session.pick_script(None, ["birthday"]).name == "occasion"
    assert call_session.pick_script(None, []).name == call_session.DEFAULT_SCRIPT


def test_take_a_chosen_customer_held_by_another_caller_is_refused(store, two):
    s = take(store, "bo")
    with pytest.raises(UserError, match="cannot be taken"):
        CallSession.take(store, s.customer.id, "ann", NOW, DEFAULT_POLICY)
    other = CallSession.take(store, next(c for c in two if c != s.customer.id), "ann", NOW,
                             DEFAULT_POLICY, "quarterly")
    assert other.reasons  # why now, in words


def test_nobody_to_take(store):
    assert CallSession.take_next(store, "ann", NOW, DEFAULT_POLICY) is None


def test_give_back_before_dialling_leaves_no_call(store, two):
    s = take(store)
    s.give_back(store, NOW)
    assert store.scalar("SELECT count(*) FROM calls") == 0
    assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'ann'") == 0


# -- in the call ------------------------------------------------------------------------


def test_each_answer_is_validated_and_written_at_once(store, two):
    s = take(store)
    s.connect(store, NOW)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["started_at"] == to_iso(NOW) and call["connected_at"] == to_iso(NOW)
    with pytest.raises(AnswerError, match="out of range"):
        s.answer(None, "11")
    assert answers(store, s.call_id) == {}
    s.record_answer(store, None, "9", NOW)
    assert answers(store, s.call_id) == {"nps": "9"}
    assert s.current().key == "going_well"
    s.save(store, s.skip(), NOW)
    assert answers(store, s.call_id) == {"nps": "9", "going_well": "null"}


def test_going_back_reruns_the_branching_and_drops_answers_off_the_path(store, two):
    s = take(store)
    s.connect(store, NOW)
    s.record_answer(store, "nps", "4", NOW)
    s.save(store, s.skip(), NOW)                       # going_well
    s.record_answer(store, None, "too slow", NOW)      # improve (nps <= 8)
    s.record_answer(store, None, "delivery", NOW)      # problem_area (nps <= 6)
    assert set(answers(store, s.call_id)) == {"nps", "going_well", "improve", "problem_area"}
    while s.back() is not None and s.current().key != "nps":
        pass
    assert s.current().key == "nps"
    change = s.record_answer(store, "nps", "10", NOW)
    assert set(change.dropped) == {"improve", "problem_area"}
    assert set(answers(store, s.call_id)) == {"nps", "going_well"}
    s.forward()
    assert s.current().key == "last_order_csat"


def test_notes_and_a_hand_followup_start_the_call(store, two):
    s = take(store)
    s.save_notes(store, "asked about invoices", NOW)
    assert s.call_id is not None
    assert row(store, "SELECT notes FROM calls WHERE id = ?", (s.call_id,))["notes"] == \
        "asked about invoices"
    made = s.add_followup(store, "send_info", NOW, owner="ann", due_at=NOW + timedelta(days=1),
                          note="price list")
    f = row(store, "SELECT * FROM followups WHERE id = ?", (made.id,))
    assert f["call_id"] == s.call_id and f["source"] == "hand" and f["created_by"] == "ann"
    assert s.hand_followups == [made]


def test_the_outcome_is_kept_the_moment_it_is_picked(store, two):
    s = take(store)
    with pytest.raises(UserError, match="callback needs the time"):
        s.choose(Outcome.CALLBACK)
    with pytest.raises(UserError, match="unknown outcome"):
        s.choose("maybe")
    at = NOW + timedelta(days=1)
    chosen = s.choose("callback", callback_at=at, callback_personal=False)
    s.keep_outcome(store, chosen)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["chosen_outcome"] == "callback" and call["ended_at"] is None
    assert call["callback_at"] == to_iso(at) and call["callback_personal"] == 0


def test_keep_claim_fails_when_another_caller_holds_the_customer(store, two):
    s = take(store)
    assert s.keep_claim(store, NOW)
    later = NOW + timedelta(minutes=DEFAULT_POLICY.claims.lease_minutes + 1)
    other = CallSession.take(store, s.customer.id, "bo", later, DEFAULT_POLICY, "quarterly")
    assert other.customer.id == s.customer.id
    assert not s.keep_claim(store, later)


# -- the wrap-up ------------------------------------------------------------------------


def _detractor_call(store):
    s = take(store)
    assert s.customer.name == "Ada"
    s.connect(store, NOW)
    for value in ("3", None, "slow deliveries", "delivery", "2", "y", "n", "n"):
        if value is None:
            s.save(store, s.skip(), NOW)
        else:
            s.record_answer(store, None, value, NOW)
    return s


def test_wrap_up_writes_outcome_rule_followups_and_queue_state(store, two):
    s = _detractor_call(store)
    s.choose(Outcome.COMPLETED)
    plan = s.plan_wrap_up(LATER, "unhappy with the lead times")
    assert [spec.kind for spec in plan.rule_followups] == ["fix_problem"]
    assert plan.rule_followups[0].owner == "Olga"
    result = s.wrap_up(store, LATER, plan)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["outcome"] == "completed" and call["ended_at"] == to_iso(LATER)
    assert call["notes"] == "unhappy with the lead times"
    cust = row(store, "SELECT * FROM customers WHERE id = ?", (s.customer.id,))
    assert cust["cycle_status"] == "reached" and cust["last_outcome"] == "completed"
    assert [f.kind for f in result.followups] == ["fix_problem"]
    assert result.nps == 3 and result.next_callable_at is None
    assert store.scalar("SELECT count(*) FROM claims WHERE customer_id = ?",
                        (s.customer.id,)) == 0


def test_wrap_up_works_out_theme_suggestions_before_taking_the_write_lock(store, two,
                                                                         monkeypatch):
    """Every other seat waits while a wrap-up holds the write lock: the themes suggested
    for the open answers (pure work on their words) are worked out before it, and the
    same suggestions are stored as when worked out inside it."""
    from calls import themes

    s = _detractor_call(store)
    s.choose(Outcome.COMPLETED)
    plan = s.plan_wrap_up(LATER, "")
    expected = [(i.answer_key, i.suggested) for i in themes.wrap_up_items(plan.answers)]
    assert any(suggested for _key, suggested in expected)
    real, inside = themes.suggest, []

    def suggest(*args, **kwargs):
        inside.append(store.db.conn.in_transaction)
        return real(*args, **kwargs)

    monkeypatch.setattr(themes, "suggest", suggest)
    s.wrap_up(store, LATER, plan)
    assert inside and not any(inside)
    stored = {}
    for r in store.all("SELECT answer_key, theme FROM theme_tags WHERE call_id = ? "
                       "AND source = 'suggested' ORDER BY id", (s.call_id,)):
        stored.setdefault(r["answer_key"], []).append(r["theme"])
    assert [(k, v) for k, v in expected if v] == list(stored.items())


def test_no_answer_wrap_up_sets_the_retry_and_makes_no_rule_followups(store, two):
    s = take(store)
    s.choose(Outcome.NO_ANSWER)
    result = s.wrap_up(store, NOW)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["outcome"] == "no_answer" and call["connected_at"] is None
    cust = row(store, "SELECT * FROM customers WHERE id = ?", (s.customer.id,))
    assert cust["retry_after"] == to_iso(NOW + timedelta(hours=3))
    assert cust["cycle_attempts"] == 1
    assert result.next_callable_at == NOW + timedelta(hours=3)
    assert result.followups == ()


def test_wrap_up_with_a_talk_outcome_marks_the_call_connected(store, two):
    s = take(store)
    s.choose(Outcome.DO_NOT_CALL, dnc_reason="moved abroad")
    s.wrap_up(store, NOW)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["connected_at"] == to_iso(NOW)
    assert call["notes"].endswith("Do not call: moved abroad")
    assert row(store, "SELECT do_not_call FROM customers WHERE id = ?",
               (s.customer.id,))["do_not_call"] == 1
    assert store.scalar("SELECT count(*) FROM dnc WHERE phone = ?", (s.customer.phone,)) == 1


def test_wrong_number_with_the_right_one_corrects_it_in_the_wrap_up(store, two):
    s = take(store)
    s.choose(Outcome.WRONG_NUMBER, new_number="+1 212 555 0199")
    s.wrap_up(store, NOW)
    cust = row(store, "SELECT * FROM customers WHERE id = ?", (s.customer.id,))
    assert cust["phone"] == "+12125550199" and cust["number_status"] == "ok"


def test_wrap_up_mends_an_answer_a_background_write_missed(store, two):
    s = take(store)
    s.connect(store, NOW)
    s.record_answer(store, None, "9", NOW)
    s.answer(None, "kind people")         # validated, but its write never happened
    s.choose(Outcome.PARTIAL)
    s.wrap_up(store, NOW)
    assert answers(store, s.call_id)["going_well"] == '"kind people"'


def test_a_failure_in_the_middle_of_the_wrap_up_leaves_nothing_written(store, two,
                                                                        monkeypatch):
    s = _detractor_call(store)
    s.answer(None, "thanks")              # anything_else: only written by the wrap-up
    before_answers = answers(store, s.call_id)
    before_customer = row(store, "SELECT * FROM customers WHERE id = ?", (s.customer.id,))
    s.choose(Outcome.COMPLETED)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(call_session, "apply_rule_followups", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        s.wrap_up(store, LATER)
    call = row(store, "SELECT * FROM calls WHERE id = ?", (s.call_id,))
    assert call["ended_at"] is None and call["outcome"] is None
    assert answers(store, s.call_id) == before_answers
    assert row(store, "SELECT * FROM customers WHERE id = ?", (s.customer.id,)) == \
        before_customer
    assert store.scalar("SELECT count(*) FROM followups") == 0
    assert store.scalar("SELECT count(*) FROM claims WHERE customer_id = ?",
                        (s.customer.id,)) == 1
    # Mended, the same wrap-up goes through.
    monkeypatch.undo()
    s.wrap_up(store, LATER)
    assert row(store, "SELECT outcome FROM calls WHERE id = ?", (s.call_id,))["outcome"] == \
        "completed"
    assert answers(store, s.call_id)["anything_else"] == '"thanks"'


def test_a_failed_first_write_in_the_wrap_up_leaves_no_call_row(store, two, monkeypatch):
    s = take(store)
    s.choose(Outcome.WRONG_NUMBER, new_number="not a number")
    with pytest.raises(UserError, match="not a valid phone number"):
        s.wrap_up(store, NOW)
    assert store.scalar("SELECT count(*) FROM calls") == 0 and s.call_id is None
    s.choose(Outcome.WRONG_NUMBER)
    s.wrap_up(store, NOW)
    assert store.scalar("SELECT count(*) FROM calls") == 1


# -- resume -----------------------------------------------------------------------------


def test_resume_picks_up_script_answers_notes_and_the_picked_outcome(store, two):
    s = take(store)
    s.connect(store, NOW)
    s.record_answer(store, None, "9", NOW)
    s.save_notes(store, "good mood", NOW)
    s.keep_outcome(store, s.choose(Outcome.PARTIAL))
    # The terminal dies here. Next shift:
    left = unfinished(store, "ann")
    assert [u.call.id for u in left] == [s.call_id] and left[0].answers == 1
    again = CallSession.resume(store, s.call_id, "ann", LATER, DEFAULT_POLICY)
    assert again.resumed and again.connected and again.notes == "good mood"
    assert again.value("nps") == 9 and again.current().key == "going_well"
    assert again.chosen is not None and again.chosen.outcome is Outcome.PARTIAL
    assert again.taken_at == NOW and again.script.hash == s.script.hash
    assert all(c.id != s.call_id for c in again.history)
    again.record_answer(store, None, "fast", LATER)
    again.choose(Outcome.COMPLETED)
    again.wrap_up(store, LATER)
    assert unfinished(store, "ann") == []


def test_resume_of_another_callers_call_is_refused(store, two):
    s = take(store)
    s.start(store)
    with pytest.raises(UserError, match="ann's, not bo's"):
        CallSession.resume(store, s.call_id, "bo", NOW, DEFAULT_POLICY)


def test_close_unfinished_keeps_the_picked_outcome_else_partial_or_no_answer(store, two):
    s = take(store)
    s.keep_outcome(store, s.choose(Outcome.BUSY))
    t = take(store, "ann")
    t.connect(store, NOW)
    assert close_unfinished(store, s.call_id, "ann", LATER).outcome is Outcome.BUSY
    assert close_unfinished(store, t.call_id, "ann", LATER).outcome is Outcome.PARTIAL
    u = CallSession.open(store, "R1", "ann", LATER, DEFAULT_POLICY)
    u.start(store)
    assert close_unfinished(store, u.call_id, "ann", LATER).outcome is Outcome.NO_ANSWER


def test_open_refuses_a_customer_who_must_not_be_called(store, two):
    s = CallSession.open(store, "R1", "ann", NOW, DEFAULT_POLICY)
    s.choose(Outcome.DO_NOT_CALL)
    s.wrap_up(store, NOW)
    again = CallSession.open(store, "R1", "ann", LATER, DEFAULT_POLICY)
    again.choose(Outcome.COMPLETED)
    with pytest.raises(UserError, match="asked not to be called"):
        again.wrap_up(store, LATER)
    with pytest.raises(UserError, match="no customer"):
        CallSession.open(store, "nobody", "ann", NOW, DEFAULT_POLICY)
