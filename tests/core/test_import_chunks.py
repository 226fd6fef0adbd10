"""An import into a database in use merges in chunks: short write transactions that other
writers get in between, the same result as one transaction, and an import stopped half
way that says so and is finished by importing the file again."""

from __future__ import annotations

import json
import sqlite3
from typing import ClassVar

import pytest

from calls.errors import UserError
from calls.ingest.customers import ImportOptions, import_customers, stopped_imports
from calls.ingest.tiers import assign_tiers
from calls.store import Pacer, Store
from calls.store import imports as store_imports
from tests.support.lists import write_list

HEADER = ["Customer Id", "Name", "Phone", "Revenue"]
# As during a shift: the merge commits in chunks (an idle floor gets one transaction).
LIVE = ImportOptions(workers=1, chunked=True)
COLUMNS = "ref, name, phone, revenue, tier, row_hash, source_hash, extra, country"


def _write(path, rows):
    return write_list(path, HEADER, rows)


def _rows(start: int, n: int, revenue=lambda i: (i * 37) % 900 + 1) -> list[list[str]]:
    return [[f"C{i}", f"Name {i}", f"(212) 555-{i:04d}", str(revenue(i))]
            for i in range(start, start + n)]


def _state(store) -> list[dict]:
    return store.all(f"SELECT {COLUMNS} FROM customers ORDER BY ref")


class _TinyChunks(store_imports.Pacer):
    """Chunks of a handful of rows, no pause: many chunks from a small list. ``chunks``
    counts the pauses between chunks; ``between`` runs at each (the lock is free then)."""

    chunks = 0
    between: ClassVar[list] = []

    def __init__(self, store, *args, **kwargs):
        super().__init__(store, first=7, low=3, high=11)

    def done(self, held: float) -> None:
        _TinyChunks.chunks += 1
        for hook in _TinyChunks.between:
            hook()
        self.store.checkpoint()


@pytest.fixture
def tiny_chunks(monkeypatch):
    _TinyChunks.chunks = 0
    _TinyChunks.between = []
    monkeypatch.setattr(store_imports, "Pacer", _TinyChunks)
    return _TinyChunks


def _second_list(tmp_path):
    # 60 of the first 100 again (10 with a new revenue, 5 renamed), 80 new ones.
    rows = _rows(40, 60)
    for row in rows[:10]:
        row[3] = "5000"
    for row in rows[10:15]:
        row[1] += " renamed"
    return _write(tmp_path / "second.csv", rows + _rows(200, 80))


def test_a_chunked_merge_gives_what_one_transaction_gives(tmp_path, now, tiny_chunks):
    first = _write(tmp_path / "first.csv", _rows(0, 100))
    second = _second_list(tmp_path)
    with Store.open(tmp_path / "chunked.db") as store:
        import_customers(store, first, LIVE, now)
        result = import_customers(store, second, LIVE, now)
        chunked = _state(store)
        row = store.one("SELECT * FROM imports WHERE id = ?", (result.import_id,))
        rows = store.all("SELECT id, coalesce(revenue_12m, revenue) AS r, tier FROM customers")
    assert tiny_chunks.chunks >= 10                       # it really merged in chunks
    assert (result.inserted, result.updated, result.unchanged) == (80, 15, 45)
    assert (row["inserted"], row["updated"], row["unchanged"]) == (80, 15, 45)
    # Rows read exactly as before are never staged (their source hash): 95 to merge.
    assert (row["merged"], row["to_merge"]) == (95, 95) and row["finished_at"]
    # Tiers exact by the 80/20 rule over everyone, new customers included.
    assert {r["id"]: r["tier"] for r in rows} == assign_tiers([(r["id"], r["r"]) for r in rows])
    # The same two imports, the second in one chunk.
    with Store.open(tmp_path / "whole.db") as store, pytest.MonkeyPatch.context() as mp:
        import_customers(store, first, LIVE, now)
        mp.setattr(store_imports, "Pacer", lambda s: Pacer(s, first=10_000))
        import_customers(store, second, LIVE, now)
        whole = _state(store)
    assert chunked == whole


def test_other_writers_get_in_between_chunks(tmp_path, now, tiny_chunks):
    path = tmp_path / "floor.db"
    with Store.open(path) as store:
        import_customers(store, _write(tmp_path / "a.csv", _rows(0, 50)), ImportOptions(
            workers=1), now)
    other = sqlite3.connect(path, timeout=0)     # a writer that never waits
    got_in = []

    def caller_writes():
        other.execute("BEGIN IMMEDIATE")      # fails at once if the import held the lock
        other.execute("INSERT INTO skips (caller, customer_id, until) VALUES (?, 1, 'x') "
                      "ON CONFLICT DO NOTHING", (f"c{len(got_in)}",))
        other.execute("COMMIT")
        got_in.append(True)

    tiny_chunks.between.append(caller_writes)
    with Store.open(path) as store:
        import_customers(store, _write(tmp_path / "b.csv", _rows(100, 60)),
                         LIVE, now)
        assert store.scalar("SELECT count(*) FROM customers") == 110
    other.close()
    assert len(got_in) == tiny_chunks.chunks >= 5


def test_an_import_stopped_half_way_says_so_and_the_same_file_finishes_it(
        tmp_path, now, tiny_chunks, monkeypatch):
    first = _write(tmp_path / "first.csv", _rows(0, 100))
    second = _second_list(tmp_path)
    db = tmp_path / "stopped.db"
    merge_chunk = store_imports.Staging._merge_chunk
    calls = []

    def dies_on_the_fourth(self, *args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return merge_chunk(self, *args)

    with Store.open(db) as store:
        import_customers(store, first, LIVE, now)
        with monkeypatch.context() as mp:
            mp.setattr(store_imports.Staging, "_merge_chunk", dies_on_the_fourth)
            with pytest.raises(UserError) as stopped:
                import_customers(store, second, LIVE, now)
        message = str(stopped.value)
        assert "second.csv: the import stopped after" in message
        assert "of the 95 new or changed rows were merged (interrupted)" in message
        assert "import the same file again to finish it" in message
        [row] = stopped_imports(store)
        assert row["finished_at"] is None and 0 < row["merged"] < 140
        assert f"import #{row['id']} is marked unfinished" in message
        # What it merged is in, and nothing else: new customers of the later chunks not.
        assert store.scalar("SELECT count(*) FROM customers WHERE import_id = ?",
                            (row["id"],)) > 0
        assert store.scalar("SELECT count(*) FROM audit WHERE action = 'import'") == 1
        assert store.scalar("SELECT count(*) FROM rejects") == 0
        # Importing the same file again finishes it.
        result = import_customers(store, second, LIVE, now)
        assert result.finishes == [row["id"]]
        assert stopped_imports(store) == []
        assert result.inserted + result.updated + result.unchanged == 140
        finished = _state(store)
    with Store.open(tmp_path / "straight.db") as store:
        import_customers(store, first, LIVE, now)
        import_customers(store, second, LIVE, now)
        straight = _state(store)
    assert finished == straight


def test_a_stopped_import_of_a_running_process_is_not_reported(store, now, tmp_path,
                                                               tiny_chunks):
    import_customers(store, _write(tmp_path / "a.csv", _rows(0, 20)), LIVE, now)
    with store.write():
        store.db.conn.execute(
            "INSERT INTO imports (kind, file, file_hash, by_user, started_at, merged, to_merge,"
            " pid) VALUES ('customers', 'x.csv', 'h', 'ann', 'x', 3, 9, 1)")  # pid 1: alive
        store.db.conn.execute(
            "INSERT INTO imports (kind, file, file_hash, by_user, started_at, merged, to_merge,"
            " pid) VALUES ('customers', 'y.csv', 'h2', 'ann', 'x', 3, 9, 2147483646)")
    assert [r["file"] for r in stopped_imports(store)] == ["y.csv"]
    assert json.loads(json.dumps(stopped_imports(store)[0]))["merged"] == 3


def test_an_import_merges_in_chunks_while_callers_work_and_in_one_go_otherwise(
        store, now, tmp_path):
    from calls.clock import to_iso
    from calls.store.queue import put_claim

    import_customers(store, _write(tmp_path / "a.csv", _rows(0, 20)), LIVE, now)
    assert not store_imports.floor_is_live(store, to_iso(now))
    with store.write():
        put_claim(store, 1, "ann", to_iso(now), "2026-03-10T15:20:00Z")
    assert store_imports.floor_is_live(store, to_iso(now))
    assert not store_imports.floor_is_live(store, "2026-03-10T16:00:00Z")   # run out
    with store.write():
        store.db.execute("DELETE FROM claims")
        store.db.execute("INSERT INTO seat_states (caller, state, started_at) "
                         "VALUES ('bob', 'ready', '2026-03-10T09:00:00Z')")
    assert store_imports.floor_is_live(store, to_iso(now))
    assert not store_imports.floor_is_live(store, "2026-03-11T09:30:00Z")  # a dead seat
