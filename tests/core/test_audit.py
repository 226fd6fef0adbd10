"""The audit trail: append-only, written in the change's own transaction, filtered reads."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from calls import audit
from calls.errors import UserError


def test_record_and_read_back(store, now):
    with store.write():
        audit.record(store, "ann", "dnc.add", "+12125550101", {"reason": "asked"}, now=now)
    audit.record(store, "bob", "login.failed", "bob", now=now + timedelta(minutes=1))
    rows = audit.entries(store)
    assert [(r.actor, r.action, r.subject) for r in rows] == [
        ("ann", "dnc.add", "+12125550101"), ("bob", "login.failed", "bob")]
    assert rows[0].details == {"reason": "asked"} and rows[0].at == now
    assert rows[1].details == {}


def test_filters_by_user_action_family_and_since(store, now):
    audit.record(store, "ann", "dnc.add", "1", now=now)
    audit.record(store, "ann", "dnc.remove", "1", {"reason": "x"}, now=now + timedelta(days=1))
    audit.record(store, "bob", "login", "bob", now=now + timedelta(days=2))
    assert [r.action for r in audit.entries(store, action="dnc")] == ["dnc.add", "dnc.remove"]
    assert [r.action for r in audit.entries(store, action="dnc.remove")] == ["dnc.remove"]
    assert [r.actor for r in audit.entries(store, actor="bob")] == ["bob"]
    assert len(audit.entries(store, since=now + timedelta(hours=1))) == 2
    assert [r.action for r in audit.entries(store, limit=1)] == ["login"]


def test_rows_cannot_be_changed_or_deleted(store, now):
    audit.record(store, "ann", "dnc.add", "1", now=now)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write():
        store.db.execute("UPDATE audit SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write():
        store.db.execute("DELETE FROM audit")
    assert [r.actor for r in audit.entries(store)] == ["ann"]


def test_a_failed_change_leaves_no_row(store, now):
    with pytest.raises(RuntimeError), store.write():
        audit.record(store, "ann", "customer.edit", "R1", now=now)
        raise RuntimeError("the change failed after the row was written")
    assert audit.entries(store) == []


def test_unknown_action_and_kind_are_refused(store, now):
    with pytest.raises(ValueError):
        audit.record(store, "ann", "made.up", now=now)
    with pytest.raises(UserError, match="unknown kind"):
        audit.check_action("nonsense")
    assert audit.check_action("DNC") == "dnc"
