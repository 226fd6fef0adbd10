import os
import sqlite3
import stat

import pytest

from calls.errors import UserError
from calls.store import Store, resolve_db_path
from calls.store.schema import migrations


def test_new_database_is_owner_only(db_path):
    Store.open(db_path).close()
    mode = stat.S_IMODE(os.stat(db_path).st_mode)
    assert mode == 0o600


def test_pragmas(store):
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrations_applied_once_and_in_order(db_path):
    Store.open(db_path).close()
    s = Store.open(db_path)
    applied = [m.name for m in migrations.applied(s.db)]
    assert applied == [m.name for m in migrations._migrations]
    assert not migrations.pending(s.db)
    for table in ("customers", "imports", "rejects", "dnc", "calls", "answers", "followups",
                  "claims", "scripts"):
        assert s.db[table].exists(), table


def test_db_path_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("CARECALL_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(tmp_path / "x.db") == tmp_path / "x.db"
    assert resolve_db_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("CARECALL_DB")
    assert resolve_db_path(None).name == "carecall.db"


def test_not_a_database_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite at all, just text" * 100)
    with pytest.raises(UserError):
        Store.open(bad)


def test_write_rolls_back_on_error(store):
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO dnc(phone, added_at) VALUES ('+12015550123', 'x')")
        raise RuntimeError("boom")
    assert store.scalar("SELECT count(*) FROM dnc") == 0
    with store.write() as db:
        db.execute("INSERT INTO dnc(phone, added_at) VALUES ('+12015550123', 'x')")
    assert store.scalar("SELECT count(*) FROM dnc") == 1


def test_foreign_keys_enforced(store):
    with pytest.raises(sqlite3.IntegrityError), store.write() as db:
        db.execute("INSERT INTO rejects(import_id, line, raw, reason) VALUES (99, 1, '{}', 'x')")


def test_database_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Store.open(tmp_path / "no-such-folder" / "x.db")
    assert not (tmp_path / "no-such-folder").exists()


def test_a_writer_waits_for_the_lock_by_polling_then_gets_it(db_path, monkeypatch):
    """A write transaction that finds the lock taken polls for it (no "database is
    locked" while the other one is short), and gives up with one clear line after
    LOCK_WAIT_SECONDS (tests/core/test_store_contention.py has the rest)."""
    import threading

    import calls.store as store_module

    Store.open(db_path).close()
    other = sqlite3.connect(db_path)
    other.execute("BEGIN IMMEDIATE")
    store = Store.open(db_path)
    done = []

    def write():
        with store.write():
            store.db.execute("INSERT INTO carecall_meta (key, value) VALUES ('k', 'v')")
        done.append(True)

    waiter = threading.Thread(target=write)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not done          # waiting for the other writer
    other.execute("COMMIT")
    waiter.join(10)
    assert done == [True]
    assert store.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == \
        store_module.BUSY_TIMEOUT_MS                   # reads keep the long timeout
    other.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store_module, "LOCK_WAIT_SECONDS", 0.1)
    with pytest.raises(store_module.DatabaseBusy, match="stayed busy .* nothing was saved"), \
            store.write():
        pass
    other.execute("ROLLBACK")
    other.close()
    store.close()
