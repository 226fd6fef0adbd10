"""Whether a journal kept by triggers still reaches back to a reader's last row
(``calls.store.journals.reach``), on each journal's own triggers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.store import reports as q
from calls.store.journals import JOURNAL_ROWS, JOURNALS, reach
from tests.core.test_report import add_customers, call

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
TIERS = (f"t{i}" for i in itertools.count())     # each write a tier not had before


def _write(store, journal: str, cid: int, n: int) -> None:
    """``n`` writes that each add one row to ``journal``."""
    conn = store.db.conn
    if journal == "calls_written":
        q.insert_calls(store, [call(cid, "busy", NOW - timedelta(minutes=i)) for i in range(n)])
    elif journal == "coverage_changes":
        with store.write():
            for _ in range(n):
                conn.execute("UPDATE customers SET tier = ? WHERE id = ?", (next(TIERS), cid))
    else:
        q.insert_followups(store, [{"kind": "callback", "customer_id": cid, "status": "open",
                                    "created_at": to_iso(NOW)} for _ in range(n)])


@pytest.mark.parametrize("journal", sorted(JOURNALS))
def test_a_journal_reaches_back_until_it_dropped_a_row_after_the_last_read(store, journal):
    [cid] = add_customers(store, ("a", "A")).values()
    conn = store.db.conn
    newest, reaches = reach(conn, journal, None)
    assert reaches is False                      # nothing read before
    assert reach(conn, journal, newest) == (newest, True)     # nothing written since
    _write(store, journal, cid, 3)
    assert reach(conn, journal, newest) == (newest + 3, True)
    assert reach(conn, journal, newest + 4) == (newest + 3, False)   # not a row of it
    last = newest + 3
    _write(store, journal, cid, JOURNAL_ROWS - 1)
    assert store.scalar(f"SELECT count(*) FROM {journal}") == JOURNAL_ROWS
    assert reach(conn, journal, last) == (last + JOURNAL_ROWS - 1, True)   # just still
    _write(store, journal, cid, 1)
    assert reach(conn, journal, last) == (last + JOURNAL_ROWS, True)       # holds last+1..
    _write(store, journal, cid, 1)
    assert reach(conn, journal, last) == (last + JOURNAL_ROWS + 1, False)  # last+1 dropped


def test_only_a_journal_is_asked(store):
    with pytest.raises(ValueError):
        reach(store.db.conn, "customers", 0)


def test_one_journal_of_follow_up_writes_after_the_upgrade(db_path):
    """dashboard_0005: a database with the counter of follow-up writes loses it and its
    triggers, keeps the journal's rows, and the journal then notes an owner, an occasion
    or a customer changed (nothing else it did not note before)."""
    from calls.store import Store
    from calls.store.schema import migrations

    names = migrations.names()
    store = Store.open(db_path, migrate=False)
    try:
        migrations.apply(store.db, stop_before=names[names.index(
            "dashboard_0005_one_followups_journal")])
        store.db.conn.commit()
        ids = list(add_customers(store, ("a", "A"), ("b", "B")).values())
        q.insert_followups(store, [{"kind": "callback", "customer_id": ids[0],
                                    "status": "open", "created_at": to_iso(NOW)}])
        assert store.scalar("SELECT n FROM followups_written") == 1
    finally:
        store.close()
    with Store.open(db_path) as store:
        conn = store.db.conn
        assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE "
                            "'followups_written%'").fetchall() == []
        assert store.scalar("SELECT count(*) FROM followups_changes") == 1
        for change in ("owner = 'olga'", "occasion = 'birthday 2026-04-01'",
                       f"customer_id = {ids[1]}", "first_contact_at = '2026-03-10T15:00:00Z'",
                       "owner = 'olga'"):
            with store.write():
                conn.execute(f"UPDATE followups SET {change}")
        rows = conn.execute("SELECT followup_id, old_kind, new_kind, old_status, new_status "
                            "FROM followups_changes ORDER BY seq").fetchall()
        assert rows == [(1, None, "callback", None, "open")] + [
            (1, "callback", "callback", "open", "open")] * 3
