"""The fast, index-driven queue equals a slow, obviously-correct evaluation of everybody.

Random small databases (tiers, zones, purchases, occasions, cycle states, retry delays,
callbacks personal and shared, recovery calls, claims, skips, the DNC list) and random
moments across a year (DST changes, weekends, year ends, 29 February); the reference
looks at every customer one by one.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from calls.clock import to_iso
from calls.policy import (
    DEFAULT_POLICY,
    REASONS,
    CallbacksPolicy,
    OccasionsPolicy,
    PurchasesPolicy,
    QueuePolicy,
)
from calls.queue import build_queue, claim_next, customer_reasons, priority_key, row_window
from calls.store import Store

ZONES = [
    ("US", ["America/New_York"]),
    ("US", ["America/Chicago"]),
    ("US", ["America/Los_Angeles"]),
    ("US", ["America/Chicago", "America/New_York"]),
    ("US", ["America/Denver", "America/Phoenix"]),
    ("CA", ["America/Toronto"]),
    ("CA", ["America/Vancouver"]),
    ("GB", ["Europe/London"]),
    ("DE", ["Europe/Berlin"]),
    ("AU", ["Australia/Sydney"]),
    ("JP", ["Asia/Tokyo"]),
    ("US", []),            # no known zone: the policy's fallback zone
    ("", ["Etc/Unknown"]),
]
CALLERS = ["ann", "bob", "cy"]


def _moment(rng: random.Random) -> datetime:
    # Anywhere in 2025-2028, biased to the hours when the Americas and Europe are open.
    base = datetime(2025, 1, 1, tzinfo=UTC)
    day = rng.randrange(0, 4 * 365)
    hour = rng.choice([rng.randrange(0, 24), 13, 14, 15, 16, 17, 18, 19, 20])
    return base + timedelta(days=day, hours=hour, minutes=rng.randrange(0, 60))


def _date_near(rng: random.Random, now: datetime, spread: int) -> str:
    return (now.date() + timedelta(days=rng.randrange(-spread, spread + 1))).isoformat()


def _random_db(store: Store, rng: random.Random, now: datetime, n: int) -> None:
    rows = []
    for i in range(1, n + 1):
        region, zones = rng.choice(ZONES)
        phone = f"+1202555{i:04d}"
        ended = None
        if rng.random() < 0.6:
            ended = to_iso(now - timedelta(days=rng.randrange(0, 500),
                                           minutes=rng.randrange(0, 1440)))
        bday = None
        if rng.random() < 0.4:
            b = now.date() + timedelta(days=rng.randrange(-3, 12))
            try:
                bday = date(rng.choice([1900, 1970, 1984]), b.month, b.day).isoformat()
            except ValueError:
                bday = "1984-02-29"
            if rng.random() < 0.05:
                bday = "1984-02-29"
        since = None
        if rng.random() < 0.4:
            s = now.date() + timedelta(days=rng.randrange(-3, 12))
            try:
                since = date(rng.choice([2015, 2020, now.year]), s.month, s.day).isoformat()
            except ValueError:
                since = "2016-02-29"
        lp = _date_near(rng, now, 30) if rng.random() < 0.5 else None
        rows.append({
            "id": i,
            "ref": f"R{i}",
            "name": f"N{i}",
            "phone": phone if rng.random() > 0.03 else None,
            "phone_region": region or None,
            "time_zones": json.dumps(zones) if rng.random() > 0.05 else None,
            "tier": rng.choice(["A", "B", "C", None, "A", "B", "C", "X"]),
            "revenue": rng.choice([None, 0.0, 100.0, 250.0, 250.0, 999.5, 10000.0]),
            "do_not_call": 1 if rng.random() < 0.05 else 0,
            "number_status": rng.choice(["ok"] * 18 + ["wrong_number", "disconnected"]),
            "birthday": bday,
            "customer_since": since,
            "last_purchase": lp,
            "order_count": rng.choice([None, 0, 1, 2, 5, 12]),
            "avg_order_interval_days": rng.choice([None, 0.0, 3.5, 7.0, 10.2, 30.0]),
            "cycle_ended_at": ended,
            "cycle_status": (rng.choice(["reached", "unreached"]) if ended else None),
            "cycle_attempts": rng.choice([None, 0, 1, 3]),
            "retry_after": (to_iso(now + timedelta(minutes=rng.randrange(-600, 600)))
                            if rng.random() < 0.2 else None),
            "customer_type": rng.choice([None, None, "consumer", "business"]),
            "consent_calls": rng.choice([None, None, "given", "withdrawn"]),
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        })
    with store.write():
        store.db["customers"].insert_all(rows)
        fus = []
        for _ in range(n // 3):
            cid = rng.randrange(1, n + 1)
            kind = rng.choice(["callback", "callback", "recovery_call", "fix_problem"])
            due = (to_iso(now + timedelta(minutes=rng.randrange(-3000, 3000)))
                   if rng.random() > 0.05 else None)
            fus.append({
                "kind": kind, "customer_id": cid,
                "owner": rng.choice([None, None, *CALLERS]),
                "due_at": due, "status": rng.choice(["open", "open", "open", "done"]),
                "details": "", "source": "hand", "created_at": "2024-01-01T00:00:00Z",
            })
        if fus:
            store.db["followups"].insert_all(fus)
        claimed = rng.sample(range(1, n + 1), k=min(n, n // 8))
        for cid in claimed:
            store.db["claims"].insert({
                "customer_id": cid, "caller": rng.choice(CALLERS),
                "claimed_at": to_iso(now - timedelta(minutes=40)),
                "expires_at": to_iso(now + timedelta(minutes=rng.randrange(-30, 30))),
            })
        for cid in rng.sample(range(1, n + 1), k=min(n, n // 10)):
            store.db["skips"].insert({
                "caller": rng.choice(CALLERS), "customer_id": cid,
                "until": to_iso(now + timedelta(minutes=rng.randrange(-30, 30))),
            }, replace=True)
        for cid in rng.sample(range(1, n + 1), k=min(n, n // 12)):
            store.db["dnc"].insert({"phone": f"+1202555{cid:04d}", "added_at": to_iso(now)},
                                   replace=True)


def reference_queue(store: Store, caller: str, now: datetime, policy) -> list[tuple]:
    """Every customer, one at a time, by the rules in words (docs/queue.md)."""
    nowt = to_iso(now)
    grace_cut = to_iso(now - timedelta(minutes=policy.callbacks.personal_grace_minutes))
    followups: dict[int, list[dict]] = {}
    for f in store.all("SELECT * FROM followups WHERE status = 'open' "
                       "AND kind IN ('callback', 'recovery_call')"):
        followups.setdefault(f["customer_id"], []).append(f)
    claims = {c["customer_id"]: c for c in store.all("SELECT * FROM claims")}
    skips = {s["customer_id"]: s for s in store.all("SELECT * FROM skips WHERE caller = ?",
                                                      (caller,))}
    dnc = {d["phone"] for d in store.all("SELECT phone FROM dnc")}
    out = []
    for row in store.all("SELECT * FROM customers"):
        cid = row["id"]
        if row["do_not_call"] or row["number_status"] != "ok" or not row["phone"]:
            continue
        if row["phone"] in dnc:
            continue
        if row.get("consent_calls") == "withdrawn":
            continue   # withdrawn consent to calls: nobody calls, anywhere
        # German consumers (the default type) only with recorded consent (UWG § 7).
        if (row["phone_region"] == "DE" and (row.get("customer_type") or "consumer")
                == "consumer" and row.get("consent_calls") != "given"):
            continue
        if row["retry_after"] and row["retry_after"] > nowt:
            continue
        claim = claims.get(cid)
        if claim and claim["caller"] != caller and claim["expires_at"] > nowt:
            continue
        skip = skips.get(cid)
        if skip and skip["until"] > nowt:
            continue
        fus = followups.get(cid, [])
        callbacks = [f for f in fus if f["kind"] == "callback"]
        if callbacks:
            mine_now = [f for f in callbacks
                        if (f["due_at"] or "") <= nowt
                        and (f["owner"] is None or f["owner"] == caller
                             or (f["due_at"] or "") <= grace_cut)]
            if not mine_now:
                continue   # they asked to be called later, or by someone else first
        if not row_window(row, now, policy).open:
            continue
        reasons = customer_reasons(row, fus, caller, now, policy)
        if not reasons:
            continue
        out.append((priority_key(reasons[0], cid, policy), cid, [r.text for r in reasons]))
    out.sort()
    return [(cid, texts) for _, cid, texts in out]


def _policies(rng: random.Random):
    yield DEFAULT_POLICY
    order = list(REASONS)
    rng.shuffle(order)
    yield replace(
        DEFAULT_POLICY,
        queue=QueuePolicy(tuple(order)),
        occasions=OccasionsPolicy(days_ahead=rng.choice([0, 3, 14]),
                                  birthday=rng.random() < 0.8,
                                  anniversary=rng.random() < 0.8),
        purchases=PurchasesPolicy(thank_you_days=rng.choice([0, 5, 30]),
                                  at_risk_factor=rng.choice([1.5, 2.0, 3.25])),
        cadence_days={"A": rng.choice([30, 90]), "B": 180, "C": rng.choice([200, 365])},
        callbacks=CallbacksPolicy(personal_grace_minutes=rng.choice([0, 15, 240])),
    )


@pytest.mark.parametrize("seed", range(40))
def test_fast_queue_equals_reference(tmp_path, seed):
    rng = random.Random(seed)
    store = Store.open(tmp_path / "q.db")
    base = _moment(rng)
    _random_db(store, rng, base, rng.choice([20, 60, 150]))
    for policy in _policies(rng):
        for _ in range(4):
            now = base + timedelta(minutes=rng.randrange(-720, 720))
            caller = rng.choice(CALLERS)
            want = reference_queue(store, caller, now, policy)
            got = [(e.customer.id, e.reasons)
                   for e in build_queue(store, caller, now, policy, limit=10_000)]
            assert got == want, (seed, to_iso(now), caller)
            # A short page is the head of the full queue.
            k = rng.choice([1, 3, 7])
            short = [(e.customer.id, e.reasons)
                     for e in build_queue(store, caller, now, policy, limit=k)]
            assert short == want[:k]
    store.close()


@pytest.mark.parametrize("seed", range(10))
def test_claim_next_takes_the_reference_top_and_never_twice(tmp_path, seed):
    rng = random.Random(1000 + seed)
    store = Store.open(tmp_path / "q.db")
    now = _moment(rng)
    _random_db(store, rng, now, 40)
    handed: set[int] = set()
    for i in range(60):
        caller = f"x{i}"  # a new caller each time: nobody holds a claim yet
        want = reference_queue(store, caller, now, DEFAULT_POLICY)
        entry = claim_next(store, caller, now)
        if not want:
            assert entry is None
            break
        assert entry is not None and entry.customer.id == want[0][0]
        assert entry.customer.id not in handed
        handed.add(entry.customer.id)
    store.close()



def test_a_customer_checked_again_in_the_claims_lock_is_the_row_the_queue_showed(tmp_path):
    """A claim checks its customer again inside the write lock and builds their queue row
    from that one reading (``_entry_if_callable``): the row equals the queue's own row for
    them, field by field (reasons, local time, window, priority, claimed by the caller),
    on random databases, policies and moments."""
    from calls.queue import _entry_if_callable

    checked = mine = 0
    for seed in range(12):
        rng = random.Random(2000 + seed)
        store = Store.open(tmp_path / f"q{seed}.db")
        base = _moment(rng)
        _random_db(store, rng, base, rng.choice([40, 120]))
        for policy in _policies(rng):
            for _ in range(3):
                now = base + timedelta(minutes=rng.randrange(-720, 720))
                caller = rng.choice(CALLERS)
                for entry in build_queue(store, caller, now, policy, limit=10_000):
                    again = _entry_if_callable(store, entry.customer.id, caller, now, policy)
                    assert again == entry, (seed, to_iso(now), caller, entry.customer.id)
                    checked += 1
                    mine += entry.claimed_by_me
        store.close()
    # Rows were compared, the caller's own claims among them (that field too is checked).
    assert checked > 100 and mine > 0, (checked, mine)
