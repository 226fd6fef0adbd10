"""Writers under contention: waiting for the write lock is a latency, never an error.

Whatever holds the write lock (another process's long transaction, dozens of threads of
one process writing at once), a write waits its turn and succeeds; only after
``LOCK_WAIT_SECONDS`` does it give up, with one clear line (``DatabaseBusy``), never
SQLite's raw "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

import calls.store as store_module
from calls.errors import UserError
from calls.store import DatabaseBusy, Store, is_locked_error


def _insert(store: Store, key: str) -> None:
    with store.write() as db:
        db.execute("INSERT INTO carecall_meta (key, value) VALUES (?, 'v')", [key])


def _hold_lock(db_path, seconds: float, started: threading.Event) -> threading.Thread:
    """Another connection that holds the write lock for ``seconds`` (a long transaction
    of another program), then commits a row of its own."""

    def hold():
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO carecall_meta (key, value) VALUES ('holder', 'v')")
        started.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_writer_waits_longer_than_sqlites_busy_timeout_and_succeeds(db_path, monkeypatch):
    """The old limit was SQLite's busy timeout: a writer behind a transaction held longer
    than it got "database is locked". Now the busy timeout does not end a writer's wait."""
    Store.open(db_path).close()
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)     # the old limit, shrunk
    store = Store.open(db_path)
    started = threading.Event()
    holder = _hold_lock(db_path, 0.6, started)                     # 6x that limit
    started.wait(5)
    t0 = time.monotonic()
    _insert(store, "waiter")
    waited = time.monotonic() - t0
    holder.join()
    assert waited >= 0.4                                            # it did wait
    keys = {r["key"] for r in store.all("SELECT key FROM carecall_meta")}
    assert {"holder", "waiter"} <= keys                             # both writes kept
    store.close()


def test_the_wait_is_bounded_and_ends_in_one_clear_line(db_path, monkeypatch):
    Store.open(db_path).close()
    monkeypatch.setattr(store_module, "LOCK_WAIT_SECONDS", 0.3)
    store = Store.open(db_path)
    started = threading.Event()
    holder = _hold_lock(db_path, 1.0, started)
    started.wait(5)
    t0 = time.monotonic()
    with pytest.raises(DatabaseBusy) as caught:
        _insert(store, "waiter")
    assert 0.25 <= time.monotonic() - t0 < 0.9
    assert isinstance(caught.value, UserError)                      # one line, exit 2
    assert "locked" not in str(caught.value)
    assert str(db_path) in str(caught.value) and "nothing was saved" in str(caught.value)
    assert is_locked_error(caught.value)
    holder.join()
    assert store.scalar("SELECT count(*) FROM carecall_meta WHERE key = 'waiter'") == 0
    _insert(store, "waiter")                                        # the gate was given back
    assert store.scalar("SELECT count(*) FROM carecall_meta WHERE key = 'waiter'") == 1
    store.close()


def test_a_failed_write_gives_the_gate_back(store):
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO carecall_meta (key, value) VALUES ('x', 'v')")
        raise RuntimeError("a step failed half way")
    done = []
    thread = threading.Thread(target=lambda: (_insert(Store.open(store.path), "t"),
                                              done.append(1)))
    thread.start()
    thread.join(5)
    assert done == [1]


@pytest.mark.parametrize("gate", [True, False], ids=["writer gate", "plain polling"])
def test_many_threads_and_a_long_holder_all_writes_land(db_path, monkeypatch, gate):
    """Forty threads of one process write while another connection holds the lock longer
    than SQLite's (shrunk) busy timeout: every write lands, none sees "locked"; with the
    writer gate and without it (the plain path) the database ends the same."""
    Store.open(db_path).close()
    if not gate:
        monkeypatch.setattr(store_module, "_writer_gate", lambda path: None)
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    started = threading.Event()
    holder = _hold_lock(db_path, 0.4, started)
    started.wait(5)
    errors: list[BaseException] = []

    def seat(i: int) -> None:
        store = Store.open(db_path, migrate=False)
        try:
            for k in range(5):
                _insert(store, f"t{i}-{k}")
        except BaseException as exc:   # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=seat, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    holder.join()
    assert errors == []
    check = Store.open(db_path)
    keys = {r["key"] for r in check.all("SELECT key FROM carecall_meta")}
    assert {f"t{i}-{k}" for i in range(40) for k in range(5)} | {"holder"} <= keys
    check.close()


def test_one_thread_per_process_polls_for_the_lock(db_path):
    """Threads of one process queue on the writer gate: while another program holds the
    write lock, only one of them asks SQLite for it (the rest use no CPU)."""
    Store.open(db_path).close()
    started = threading.Event()
    holder = _hold_lock(db_path, 0.5, started)
    started.wait(5)
    asking = 0
    most = 0
    guard = threading.Lock()
    poll = Store._poll_begin

    def counted(self, *args):
        nonlocal asking, most
        with guard:
            asking += 1
            most = max(most, asking)
        try:
            return poll(self, *args)
        finally:
            with guard:
                asking -= 1

    stores = [Store.open(db_path, migrate=False) for _ in range(10)]
    Store._poll_begin = counted
    try:
        threads = [threading.Thread(target=_insert, args=(s, f"k{i}"))
                   for i, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        Store._poll_begin = poll
    holder.join()
    assert most == 1
    assert stores[0].scalar("SELECT count(*) FROM carecall_meta WHERE key LIKE 'k%'") == 10
    for s in stores:
        s.close()
