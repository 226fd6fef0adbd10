"""Script versions stored once; answers stored per (call, key) as they are given."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from calls.clock import to_iso
from calls.errors import UserError
from calls.models import Customer
from calls.store.scripts import (
    answer_rows,
    answers_for_call,
    delete_answer,
    get_stored_script,
    list_scripts,
    save_answer,
    store_script,
)
from calls.survey import SurveySession, load_script, parse_script, stored_script


def _call(store, now, script_id=None) -> int:
    """A customer and a call row (the calls area owns the real API; a row is all we need)."""
    stamp = to_iso(now)
    with store.write() as db:
        if not store.scalar("SELECT count(*) FROM customers WHERE ref = 'C1'"):
            db.execute("INSERT INTO customers (ref, name, created_at, updated_at) "
                       "VALUES ('C1', 'Ada', ?, ?)", (stamp, stamp))
        customer_id = store.scalar("SELECT id FROM customers WHERE ref = 'C1'")
        cursor = db.execute(
            "INSERT INTO calls (customer_id, caller, script_id, started_at) VALUES (?, ?, ?, ?)",
            (customer_id, "Sam", script_id, stamp))
        return cursor.lastrowid


def test_store_script_once_by_hash(store, now):
    script = load_script("quarterly")
    first = store_script(store, script, now, by="test")
    assert store_script(store, load_script("quarterly"), now + timedelta(days=1), by="test") == first
    assert store.scalar("SELECT count(*) FROM scripts") == 1
    stored = get_stored_script(store, first)
    assert (stored.name, stored.version, stored.purpose) == ("quarterly", "4", "care")
    assert stored.hash == script.hash and stored.text == script.text
    assert stored.stored_at == "2026-03-10T15:00:00Z"


def test_a_stored_script_without_its_call_count_is_the_same_version(store, now):
    script_id = store_script(store, load_script("quarterly"), now, by="test")
    _call(store, now, script_id=script_id)
    _call(store, now, script_id=script_id)
    counted = get_stored_script(store, script_id)
    plain = get_stored_script(store, script_id, count_calls=False)
    assert counted.calls == 2 and plain.calls == 0
    assert replace(plain, calls=2) == counted
    assert get_stored_script(store, script_id + 1, count_calls=False) is None


def test_a_changed_text_is_a_new_version(store, now):
    script = load_script("occasion")
    changed = parse_script(script.text.replace('version = "3"', 'version = "4"'), "x.toml")
    a = store_script(store, script, now, by="test")
    b = store_script(store, changed, now, by="test")
    assert a != b
    _call(store, now, script_id=b)
    listed = list_scripts(store)
    assert [(s.name, s.version, s.calls) for s in listed] == [
        ("occasion", "4", 1), ("occasion", "3", 0)]


def test_script_from_store_reads_the_version_a_call_used(store, now):
    script_id = store_script(store, load_script("recovery"), now, by="test")
    again = stored_script(store, script_id)
    assert again.keys == load_script("recovery").keys
    with pytest.raises(UserError, match="no stored script with id 99"):
        stored_script(store, 99)


def test_save_answer_upserts_and_keeps_types(store, now):
    call_id = _call(store, now)
    save_answer(store, call_id, "nps", "nps", 3, now)
    save_answer(store, call_id, "nps", "nps", 9, now + timedelta(seconds=5))
    save_answer(store, call_id, "topics", "multi_choice", ["a", "b"], now)
    save_answer(store, call_id, "visit", "date", date(2026, 4, 1), now)
    save_answer(store, call_id, "why", "text", "naïve café", now)
    save_answer(store, call_id, "extra", "text", None, now)          # a skip
    rows = store.all("SELECT key, value, answered_at FROM answers WHERE call_id = ? "
                     "ORDER BY key", (call_id,))
    assert {r["key"]: r["value"] for r in rows} == {
        "nps": "9", "topics": '["a", "b"]', "visit": '"2026-04-01"', "why": '"naïve café"',
        "extra": "null"}
    assert next(r for r in rows if r["key"] == "nps")["answered_at"] == "2026-03-10T15:00:05Z"
    answers = answers_for_call(store, call_id)
    assert answers == {"topics": ["a", "b"], "visit": "2026-04-01", "why": "naïve café",
                       "extra": None, "nps": 9}
    assert {r.key: r.qtype for r in answer_rows(store, call_id)}["visit"] == "date"


def test_delete_answer(store, now):
    call_id = _call(store, now)
    save_answer(store, call_id, "improve", "text", "x", now)
    delete_answer(store, call_id, "improve")
    delete_answer(store, call_id, "never-there")
    assert answers_for_call(store, call_id) == {}


def test_answers_go_with_their_call(store, now):
    one, two = _call(store, now), _call(store, now)
    save_answer(store, one, "nps", "nps", 1, now)
    save_answer(store, two, "nps", "nps", 10, now)
    assert answers_for_call(store, one) == {"nps": 1}
    assert answers_for_call(store, two) == {"nps": 10}


def test_resume_a_call_from_the_store(store, now):
    """What the TUI does: save each answer, drop what leaves the path, resume later."""
    script = load_script("quarterly")
    call_id = _call(store, now, store_script(store, script, now, by="test"))
    ada = Customer(id=1, ref="C1", name="Ada", owner="Dana", last_purchase=date(2026, 1, 5))
    s = SurveySession(script, ada, "Sam", now=now)
    for key, raw in (("nps", "2"), ("going_well", "nothing"), ("improve", "all of it"),
                     ("problem_area", "2")):
        change = s.answer(key, raw)
        save_answer(store, call_id, key, change.qtype, change.stored, now)
    s.go_to("nps")
    change = s.answer("nps", "10")
    for key in change.dropped:
        delete_answer(store, call_id, key)
    save_answer(store, call_id, "nps", change.qtype, change.stored, now)
    assert set(change.dropped) == {"improve", "problem_area"}

    resumed = SurveySession(script, ada, "Sam", answers_for_call(store, call_id), now=now)
    assert resumed.answers() == {"nps": 10, "going_well": "nothing"}
    assert resumed.current().key == "last_order_csat"
    assert resumed.ignored == {} and resumed.dropped_on_resume == ()
