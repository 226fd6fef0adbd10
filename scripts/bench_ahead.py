"""A busy floor's takes with the next customer read ahead: the top only, or the next ones too.

While a call is wrapped up, a seat reads the top of its queue ahead
(``CallSession.read_next``, ``calls.queue.read_ahead``); the take after the wrap-up then
checks that customer again in the claim's lock and claims them without reading the
queue. On a busy floor every seat that reads ahead at the same moment reads the same
top, so all but one find them taken. A reading now keeps the next few too
(``QueueAhead.after``) and tries them in order before reading the queue again.

Each round copies the floor database (100,000 customers, the queue benchmark's generator,
built once in bench-out/) and lets ``--seats`` seats take a customer; then, one after
another, each seat reads ahead (its wrap-up screen is up) and, after up to ``--between``
other seats' takes (a random number; 0: every seat reads before anyone takes), wraps up
(no answer) and takes. The same round
is run twice, interleaved: with the readings as they are (the top and the next ones), and
with the same readings cut to their top (``after=()``: the path before, the reference in
the same run). Printed: the takes that read the queue again, and a take's CPU (p50 / p90).

    python scripts/bench_ahead.py [--seats 50] [--rounds 4] [--between 8] [--customers 100000]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import statistics
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from calls import queue
from calls.outcomes import Outcome
from calls.policy import DEFAULT_POLICY
from calls.session import CallSession
from calls.store import Store

OUT = HERE.parent / "bench-out"


def _bench_queue():
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_round(db: Path, work: Path, seats: int, base, top_only: bool, seed: int,
              between: int) -> dict:
    """One busy moment: every seat takes, reads ahead, and after up to ``between`` other
    seats' takes wraps up and takes again."""
    copy = work / "ahead.db"
    for extra in ("", "-wal", "-shm"):
        Path(str(copy) + extra).unlink(missing_ok=True)
    shutil.copy(db, copy)
    stores = [Store.open(copy) for _ in range(seats)]
    names = [f"s{i}" for i in range(seats)]
    sessions = [CallSession.take_next(st, name, base, DEFAULT_POLICY, "quarterly")
                for st, name in zip(stores, names, strict=True)]
    read_at = base + timedelta(seconds=30)
    rng = random.Random(seed)
    order = list(range(seats))
    rng.shuffle(order)
    events = []         # (position, 0: read ahead / 1: wrap up and take, seat)
    for pos, i in enumerate(order):
        events.append((pos, 0, i))
        events.append((pos + (rng.randint(0, between) if between else seats), 1, i))
    events.sort()
    aheads: dict[int, queue.QueueAhead] = {}
    reads = []
    real = queue.build_queue

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    cpu, fell_back, empty = [], 0, 0
    try:
        for _pos, kind, i in events:
            s, st = sessions[i], stores[i]
            if kind == 0:
                ahead = s.read_next(st, read_at)
                aheads[i] = replace(ahead, after=()) if top_only else ahead
                continue
            queue.build_queue = counted
            now = read_at + timedelta(seconds=10)
            s.choose(Outcome.NO_ANSWER)
            s.wrap_up(st, now)
            before = len(reads)
            c0 = time.thread_time()
            nxt = CallSession.take_next(st, names[i], now, DEFAULT_POLICY, "quarterly",
                                        ahead=aheads[i])
            cpu.append(time.thread_time() - c0)
            fell_back += len(reads) > before
            empty += nxt is None
            queue.build_queue = real
    finally:
        queue.build_queue = real
    claimed = stores[0].all("SELECT customer_id, count(*) AS n FROM claims "
                            "GROUP BY customer_id HAVING n > 1")
    for st in stores:
        st.close()
    return {"cpu": cpu, "fell_back": fell_back, "empty": empty, "twice": len(claimed)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seats", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--between", type=int, default=8,
                    help="up to this many other seats' takes between a seat's reading ahead "
                         "and its own take (0: every seat reads before anyone takes)")
    ap.add_argument("--customers", type=int, default=100_000)
    args = ap.parse_args(argv)
    bq = _bench_queue()
    OUT.mkdir(exist_ok=True)
    db = OUT / f"floor_{args.customers}.db"
    if not db.exists():
        print(f"building {db} ...", flush=True)
        bq.build(db, args.customers)
    Store.open(db).close()
    work = OUT / "ahead-run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    load0 = os.getloadavg()[0]
    print(f"{args.seats} seats each read ahead, then wrap up and take "
          + (f"after up to {args.between} other seats' takes" if args.between
             else "once every seat has read")
          + f"; {args.rounds} rounds of each, interleaved; load average {load0:.1f}")
    got = {False: [], True: []}
    for r in range(args.rounds):
        for top_only in ((False, True) if r % 2 == 0 else (True, False)):
            got[top_only].append(one_round(db, work, args.seats, bq.BASE, top_only, r,
                                              args.between))
    shutil.rmtree(work, ignore_errors=True)
    for top_only, label in ((True, "the top only (before)"), (False, "the top and the next ones")):
        rounds = got[top_only]
        cpu = sorted(c for x in rounds for c in x["cpu"])
        n = len(cpu)
        print(f"  {label:<26} takes that read the queue again: "
              f"{sum(x['fell_back'] for x in rounds)} of {n}; a take's CPU p50 "
              f"{statistics.median(cpu) * 1000:.2f} ms, p90 {cpu[int(0.9 * (n - 1))] * 1000:.2f}"
              f" ms; nobody to take {sum(x['empty'] for x in rounds)}; "
              f"claimed twice {sum(x['twice'] for x in rounds)}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
