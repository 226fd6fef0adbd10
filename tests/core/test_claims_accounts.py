"""Two seats signed in as different accounts claim from one database at once: each customer
goes to one seat only, and the calls carry the account names (the claim tests, with
accounts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from calls.store import Store
from tests.support.queue import CHICAGO, NY, add_customer
from tests.support.team import make_team

SEAT = textwrap.dedent(
    """
    import json, pathlib, sys, time
    from calls.accounts import cli_actor
    from calls.audit import os_login
    from calls.calling import record_outcome, start_call
    from calls.clock import from_iso
    from calls.queue import claim_next
    from calls.store import Store

    db, now_text = sys.argv[1:3]
    now = from_iso(now_text)
    store = Store.open(db)
    caller = cli_actor(store, os_login()).name   # the seat's account, from its OS login
    folder = pathlib.Path(db).parent
    (folder / f"ready-{caller}").touch()
    while not (folder / "go").exists():
        time.sleep(0.005)
    got = []
    while (entry := claim_next(store, caller, now)) is not None:
        got.append(entry.customer.id)
        call_id = start_call(store, entry.customer.id, caller, now)
        record_outcome(store, call_id, "completed", now)
    print(json.dumps({"caller": caller, "got": got}))
    """
)
NOW = "2026-03-10T15:00:00Z"


def test_two_account_seats_never_get_the_same_customer(db_path, now):
    store = Store.open(db_path)
    make_team(store, now)
    n = 80
    for i in range(n):
        add_customer(store, where=NY if i % 2 else CHICAGO, revenue=float(i))
    store.close()
    procs = []
    for login in ("ann", "bob"):
        env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
        env.update(LOGNAME=login, USER=login)
        procs.append(subprocess.Popen([sys.executable, "-c", SEAT, str(db_path), NOW], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((db_path.parent / f"ready-{a}").exists() for a in ("ann", "bob")):
        assert time.monotonic() < deadline, "seats did not start"
        assert all(p.poll() is None for p in procs), procs[0].communicate()[1]
        time.sleep(0.01)
    (db_path.parent / "go").touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "locked" not in err, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["caller"] for r in results] == ["ann", "bob"]
    handed = [cid for r in results for cid in r["got"]]
    assert len(handed) == len(set(handed)) == n
    with Store.open(db_path) as store:
        rows = store.all("SELECT customer_id, caller FROM calls")
        assert len(rows) == n and {r["caller"] for r in rows} <= {"ann", "bob"}
        by_seat = {r["caller"]: set(r["got"]) for r in results}
        assert all(r["customer_id"] in by_seat[r["caller"]] for r in rows)
