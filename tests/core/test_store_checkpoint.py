"""Checkpoints in the background (`calls.store.checkpoint_in_background`): a long-running
process copies the write-ahead log into the database file from a thread of its own, so no
caller's commit waits for the copy. The plain path is SQLite's own checkpoint at commit;
both leave the same database."""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import quote

import pytest

import calls.store as store_module
from calls.store import Store


@pytest.fixture
def background(monkeypatch):
    """Background checkpoints on for this test only, with fresh checkpointer threads."""
    monkeypatch.setattr(store_module, "_background_checkpoints", False)
    monkeypatch.setattr(store_module, "_checkpointers", {})
    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY_S", 0.01)
    monkeypatch.setattr(store_module, "CHECKPOINT_FRAMES", 1)     # after every commit
    store_module.checkpoint_in_background()
    return store_module


def _file_only(db_path) -> list[str]:
    """The keys the database *file* holds, ignoring the write-ahead log (what a checkpoint
    has copied so far)."""
    conn = sqlite3.connect(f"file:{quote(str(db_path))}?immutable=1", uri=True)
    try:
        return sorted(r[0] for r in conn.execute(
            "SELECT key FROM carecall_meta WHERE key LIKE 'row%'"))
    except sqlite3.DatabaseError:
        return []                               # not even the schema copied yet
    finally:
        conn.close()


def _write_rows(store: Store, n: int) -> None:
    for i in range(n):
        with store.write() as db:
            db.execute("INSERT INTO carecall_meta (key, value) VALUES (?, 'v')", [f"row{i:03d}"])


def test_commits_do_not_checkpoint_and_the_background_thread_does(db_path, background):
    Store.open(db_path).close()
    store = Store.open(db_path)
    assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    _write_rows(store, 20)
    deadline = time.monotonic() + 10
    while len(_file_only(db_path)) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _file_only(db_path) == [f"row{i:03d}" for i in range(20)]
    assert background._checkpointers[str(db_path.resolve())].runs >= 1
    store.close()


def test_same_database_as_sqlites_own_checkpoints(tmp_path, monkeypatch):
    """The same writes with background checkpoints and with SQLite's own leave the same
    rows (read through SQLite, log included)."""
    results = []
    for on in (False, True):
        monkeypatch.setattr(store_module, "_background_checkpoints", on)
        monkeypatch.setattr(store_module, "_checkpointers", {})
        path = tmp_path / f"db-{on}.db"
        store = Store.open(path)
        assert store.db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == \
            (0 if on else 1000)
        _write_rows(store, 30)
        results.append(store.all("SELECT key, value FROM carecall_meta WHERE key LIKE 'row%' "
                                 "ORDER BY key"))
        store.close()
    assert results[0] == results[1] and len(results[0]) == 30


def test_a_memory_database_has_no_checkpointer(background):
    memory = Store.open(":memory:")
    assert memory._checkpointer is None
    with memory.write() as db:                  # a commit without a checkpointer is fine
        db.execute("INSERT INTO carecall_meta (key, value) VALUES ('row', 'v')")
    memory.close()


def test_a_shift_checkpoints_in_the_background(monkeypatch, tmp_path):
    from calls.commands.app_start import prepare_shift

    monkeypatch.setattr(store_module, "_background_checkpoints", False)
    # A browser seat: no terminal needed to get through the checks.
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    start = prepare_shift(tmp_path / "shift.db", None)
    assert start.seat == "web" and start.path == tmp_path / "shift.db"
    assert store_module._background_checkpoints is True


def test_checkpoints_are_spaced_to_about_a_thousand_pages(monkeypatch):
    """The cadence: the first checkpoint at once, then spaced so that the log holds about
    CHECKPOINT_FRAMES pages at each (each one after a whole copy makes the next writer
    sync the log inside its transaction), within CHECKPOINT_EVERY_S..CHECKPOINT_MAX_S."""
    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY_S", 0.5)
    monkeypatch.setattr(store_module, "CHECKPOINT_FRAMES", 1000)
    monkeypatch.setattr(store_module, "CHECKPOINT_MAX_S", 30.0)
    cadence = store_module.CheckpointCadence()
    assert cadence.due(100.0)
    cadence.ran(100.0, 50)                 # 50 pages in 0.5 s: 1,000 in 10 s
    assert cadence.wait == pytest.approx(10.0)
    assert not cadence.due(109.9) and cadence.due(110.0)
    cadence.ran(110.0, 4000)               # a busy floor: 4,000 pages in 10 s
    assert cadence.wait == pytest.approx(2.5)
    cadence.ran(112.5, 100_000)            # an import: never sooner than every 0.5 s
    assert cadence.wait == 0.5
    cadence.ran(113.0, 1)                  # nearly idle: at most 30 s later
    assert cadence.wait == 30.0
    cadence.ran(143.0, None)               # no answer (not a log database): 0.5 s
    assert cadence.wait == 0.5 and cadence.due(143.5)


def test_a_quiet_log_is_copied_later_not_after_every_commit(db_path, background,
                                                            monkeypatch):
    """With the real threshold, a few commits after the first checkpoint wait in the log
    (SQLite reads them from there) instead of restarting it at every commit."""
    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY_S", 0.5)
    monkeypatch.setattr(store_module, "CHECKPOINT_FRAMES", 1000)
    monkeypatch.setattr(store_module, "CHECKPOINT_MAX_S", 30.0)
    Store.open(db_path).close()
    store = Store.open(db_path)
    _write_rows(store, 1)
    checkpointer = background._checkpointers[str(db_path.resolve())]
    deadline = time.monotonic() + 10
    while checkpointer.runs < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.runs == 1 and checkpointer.cadence.wait > 1.0
    for i in range(20):
        with store.write() as db:
            db.execute("INSERT INTO carecall_meta (key, value) VALUES (?, 'v')", [f"more{i}"])
    time.sleep(0.3)
    assert checkpointer.runs == 1
    assert len(store.all("SELECT key FROM carecall_meta WHERE key LIKE 'more%'")) == 20
    store.close()


def _sqlite_heap():
    """Bytes the SQLite library in use holds in its heap, or None where it cannot be asked
    (SQLite linked into Python itself)."""
    import ctypes

    try:
        used = ctypes.CDLL("libsqlite3.so.0").sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return used()


def test_shrink_memory_gives_the_page_cache_back(tmp_path):
    """``Store.shrink_memory``: what a connection cached of a large read goes back (the
    shift app's lanes call it when they run dry); in a transaction it leaves it be."""
    path = tmp_path / "big.db"
    with Store.open(path) as writer, Store.open(path) as reader:
        writer.db.execute("CREATE TABLE big (v TEXT)")
        with writer.write():      # ~1.7 MB, left in the write-ahead log (not checkpointed)
            writer.db.conn.executemany("INSERT INTO big VALUES (?)",
                                       ((f"{n:08d}" * 50,) for n in range(4000)))
        before = _sqlite_heap()
        if before is None:
            pytest.skip("SQLite's heap cannot be read here")
        assert reader.one("SELECT count(*) AS n, sum(length(v)) AS size FROM big") == {
            "n": 4000, "size": 4000 * 400}                   # the log's pages: cached
        held = _sqlite_heap()
        if held - before < 2**20:
            pytest.skip("not the SQLite library Python uses (its heap did not grow)")
        reader.db.conn.execute("BEGIN")
        reader.shrink_memory()                                   # in a transaction: kept
        reader.db.conn.execute("COMMIT")
        reader.shrink_memory()
        assert _sqlite_heap() < held - 2**20
        assert reader.one("SELECT count(*) AS n FROM big")["n"] == 4000
