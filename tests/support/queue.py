"""Builders shared by the queue, calling and claims tests: customers with E.164 numbers."""

from __future__ import annotations

import json

from calls.store import Store

# Numbers and the zones phonenumbers maps them to (copied here: tests do not parse).
NY = ("+12125550100", "US", ["America/New_York"])
CHICAGO = ("+13125550100", "US", ["America/Chicago"])
LA = ("+14155550100", "US", ["America/Los_Angeles"])
TORONTO = ("+14165550100", "CA", ["America/Toronto"])
LONDON = ("+442071234567", "GB", ["Europe/London"])
TOKYO = ("+81312345678", "JP", ["Asia/Tokyo"])
# A number that maps to two zones: both must be open.
TWO_ZONES = ("+18125550100", "US", ["America/Chicago", "America/New_York"])

# A toll-free number (stored with the US states' zones; no state of its own).
TOLL_FREE_US = ("+18005550100", "US", ["America/New_York", "America/Chicago",
                                       "America/North_Dakota/Center", "America/Boise",
                                       "America/Denver", "America/Phoenix",
                                       "America/Los_Angeles", "America/Anchorage",
                                       "America/Adak", "Pacific/Honolulu"])

_counter = {"n": 0}


def add_customer(store: Store, ref: str | None = None, *, where=NY, phone: str | None = None,
                 **fields) -> int:
    """Insert one customer with a number in ``where``; returns its id."""
    _counter["n"] += 1
    number, region, zones = where
    if phone is None:
        # A distinct number per customer (the DNC list is by number).
        phone = number[:-4] + f"{_counter['n'] % 10000:04d}"
    row = {
        "ref": ref or f"C{_counter['n']:05d}",
        "name": fields.pop("name", f"Customer {_counter['n']}"),
        "phone": phone,
        "phone_raw": phone,
        "phone_region": region,
        "time_zones": json.dumps(zones),
        "tier": "A",
        "revenue": 1000.0,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }
    row.update(fields)
    with store.write():
        return store.db["customers"].insert(row).last_pk


def add_followup(store: Store, customer_id: int, kind: str, due_at: str | None,
                 owner: str | None = None, status: str = "open") -> int:
    """Insert a follow-up row directly."""
    with store.write():
        return store.db["followups"].insert({
            "kind": kind, "customer_id": customer_id, "owner": owner, "due_at": due_at,
            "status": status, "details": "", "source": "hand",
            "created_at": "2025-01-01T00:00:00Z",
        }).last_pk

# Numbers whose rule packs differ (area code -> state; country packs).
PARIS = ("+33142685300", "FR", ["Europe/Paris"])
BERLIN = ("+493012345678", "DE", ["Europe/Berlin"])
MUNICH = ("+498912345678", "DE", ["Europe/Berlin"])
LOUISVILLE = ("+15025550100", "US", ["America/Kentucky/Louisville"])
MIAMI = ("+13055550100", "US", ["America/New_York"])
HOUSTON = ("+17135550100", "US", ["America/Chicago"])
BIRMINGHAM_AL = ("+12055550100", "US", ["America/Chicago"])
SYDNEY = ("+61291234567", "AU", ["Australia/Sydney"])


def utc(text: str):
    """An ISO time without an offset, in UTC."""
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def every_hour_policy():
    """A policy open every hour of every day, holidays included: what is left closed is
    closed by the law (the rule packs)."""
    from calls.policy import policy_from_dict

    return policy_from_dict({"calling": {"skip_holidays": False, "hours": {
        "weekdays": "00:00-24:00", "weekend": "00:00-24:00"}}})


def count_calls(monkeypatch, owner, name: str) -> list[int]:
    """From now on ``owner.name`` (a module's function) adds an item to the returned list
    each time it runs, and still does what it did."""
    calls: list[int] = []
    real = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def count_queue_reads(monkeypatch) -> list[int]:
    """From now on ``calls.queue.build_queue`` adds an item to the list each time it runs
    (a take that claims a customer read ahead must not read the queue again)."""
    from calls import queue

    return count_calls(monkeypatch, queue, "build_queue")
