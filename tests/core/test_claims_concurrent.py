"""Several processes claim from one database file at once: nobody is handed out twice and
no "database is locked" escapes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from calls.store import Store
from tests.support.queue import CHICAGO, NY, add_customer

WORKER = textwrap.dedent(
    """
    import json, pathlib, sys, time
    from calls.clock import from_iso
    from calls.calling import record_outcome, start_call
    from calls.queue import claim_next
    from calls.store import Store

    db, name, now_text, mode = sys.argv[1:5]
    now = from_iso(now_text)
    store = Store.open(db)
    # Start together: say we are ready, wait for the go.
    folder = pathlib.Path(db).parent
    (folder / f"ready-{name}").touch()
    while not (folder / "go").exists():
        time.sleep(0.005)
    got = []
    i = 0
    while True:
        i += 1
        # "hold": a new caller name per claim, so every claim stays held (nobody
        # releases); "call": one caller who calls each customer and records the outcome.
        caller = f"{name}-{i}" if mode == "hold" else name
        entry = claim_next(store, caller, now)
        if entry is None:
            break
        got.append(entry.customer.id)
        time.sleep(0.003)  # a caller does something between claims; lets others in
        if mode == "call":
            call_id = start_call(store, entry.customer.id, caller, now)
            record_outcome(store, call_id, "completed", now)
    print(json.dumps(got))
    """
)

NOW = "2026-03-10T15:00:00Z"   # a Tuesday: New York and Chicago are open


def _run_workers(db_path, mode: str, processes: int) -> list[list[int]]:
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(db_path), f"p{i}", NOW, mode],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    ready = [db_path.parent / f"ready-p{i}" for i in range(processes)]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), procs[0].communicate()[1]
        time.sleep(0.01)
    (db_path.parent / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("mode", ["hold", "call"])
def test_concurrent_claims_hand_out_each_customer_once(db_path, mode):
    store = Store.open(db_path)
    n = 200
    for i in range(n):
        add_customer(store, where=NY if i % 2 else CHICAGO, revenue=float(i))
    store.close()

    results = _run_workers(db_path, mode, processes=4)

    handed = [cid for got in results for cid in got]
    assert len(handed) == len(set(handed)), "a customer was handed to two callers"
    assert sorted(handed) == list(range(1, n + 1))
    # More than one process did real work (they did run at the same time).
    assert sum(1 for got in results if got) >= 2
    store = Store.open(db_path)
    if mode == "hold":
        claims = store.all("SELECT customer_id, caller FROM claims")
        assert len(claims) == n
    else:
        per_customer = store.all("SELECT customer_id, count(*) AS n FROM calls "
                                 "GROUP BY customer_id")
        assert len(per_customer) == n and all(r["n"] == 1 for r in per_customer)
        assert store.scalar("SELECT count(*) FROM claims") == 0
        assert store.scalar(
            "SELECT count(*) FROM customers WHERE cycle_status = 'reached'") == n
    store.close()


def test_a_claim_passes_over_a_customer_taken_after_the_queue_was_read(store, monkeypatch):
    """The queue is read before the write lock: a customer another caller claimed (or
    called) in between is checked again inside the lock and passed over."""
    from calls import queue
    from calls.clock import from_iso
    from calls.store.queue import put_claim

    now = from_iso(NOW)
    for i in range(3):
        add_customer(store, where=NY, revenue=float(100 - i))
    read = queue.build_queue(store, "ann", now, limit=5)
    top = read[0].customer.id
    # Bob claims the top customer after ann's queue was read, before her claim.
    with store.write():
        put_claim(store, top, "bob", NOW, "2026-03-10T16:00:00Z")
    monkeypatch.setattr(queue, "build_queue", lambda *a, **k: read)
    # Bob's claim is not seen before the lock either (it lands just after that look).
    monkeypatch.setattr(queue.q, "claim_row", lambda store, customer_id: None)
    entry = queue.claim_next(store, "ann", now)
    others = {e.customer.id for e in read[1:]}
    assert entry is not None and entry.customer.id in others
    assert entry.claimed_by_me
    holders = dict(store.db.conn.execute("SELECT customer_id, caller FROM claims"))
    assert holders == {top: "bob", entry.customer.id: "ann"}


def test_a_floor_taking_at_once_spreads_over_the_next_customers(store, monkeypatch):
    """The top customer first; when it is gone, the next ones in a random order."""
    from calls import queue
    from calls.clock import from_iso
    from calls.store.queue import put_claim

    now = from_iso(NOW)
    for i in range(6):
        add_customer(store, where=NY, revenue=float(100 - i))
    read = queue.build_queue(store, "ann", now, limit=5)
    assert queue.claim_next(store, "ann", now).customer.id == read[0].customer.id
    with store.write():
        store.db.execute("DELETE FROM claims")
        put_claim(store, read[0].customer.id, "bob", NOW, "2026-03-10T16:00:00Z")
    monkeypatch.setattr(queue, "build_queue", lambda *a, **k: read)
    got = set()
    for i in range(40):
        entry = queue.claim_next(store, f"c{i}", now)
        got.add(entry.customer.id)
        with store.write():
            store.db.execute("DELETE FROM claims WHERE caller = ?", (f"c{i}",))
    assert read[0].customer.id not in got and len(got) >= 3


def test_a_claim_reads_the_queue_again_when_every_candidate_was_taken(store, monkeypatch):
    from calls import queue
    from calls.clock import from_iso
    from calls.store.queue import put_claim

    now = from_iso(NOW)
    for i in range(3):
        add_customer(store, where=NY, revenue=float(100 - i))
    stale = queue.build_queue(store, "ann", now, limit=2)
    with store.write():
        for e in stale:
            put_claim(store, e.customer.id, "bob", NOW, "2026-03-10T16:00:00Z")
    real = queue.build_queue
    reads = []

    def first_stale(*args, **kwargs):
        reads.append(1)
        return stale if len(reads) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(queue, "build_queue", first_stale)
    entry = queue.claim_next(store, "ann", now)
    assert len(reads) == 2
    assert entry is not None and entry.customer.id not in {e.customer.id for e in stale}


def test_taking_the_next_customer_reads_the_queue_without_the_write_lock(store, monkeypatch):
    """The call session's take: the queue is read outside any write transaction; the seat
    state goes in the claim's own transaction (a paused seat still takes nobody)."""
    from calls import floor, queue
    from calls.clock import from_iso
    from calls.session import CallSession

    now = from_iso(NOW)
    for i in range(3):
        add_customer(store, where=NY, revenue=float(100 - i))
    real = queue.build_queue
    seen = []

    def watch(s, *args, **kwargs):
        seen.append(s.db.conn.in_transaction)
        return real(s, *args, **kwargs)

    monkeypatch.setattr(queue, "build_queue", watch)
    floor.sign_on(store, "ann", now=now)
    session = CallSession.take_next(store, "ann", now)
    assert session is not None and seen and not any(seen)
    assert store.scalar("SELECT caller FROM claims WHERE customer_id = ?",
                        (session.customer.id,)) == "ann"
    assert floor.current_state(store, "ann").state == "dialling"
