"""Builders for the loop's tests: survey answers from a CSV fixture as calls in a store."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

from calls.clock import to_iso
from calls.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of a CSV file in tests/data."""
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def add_answered_call(store: Store, ref: str, when: datetime, answers: dict[str, tuple],
                      **customer) -> int:
    """A customer (created when new) with one completed call holding ``answers``
    ({key: (qtype, value)}); returns the call id."""
    with store.write():
        row = store.one("SELECT id FROM customers WHERE ref = ?", (ref,))
        if row is None:
            fields = {"ref": ref, "name": customer.pop("name", ref),
                      "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z"}
            if isinstance(customer.get("extra"), dict):
                customer["extra"] = json.dumps(customer["extra"])
            fields.update(customer)
            customer_id = store.db["customers"].insert(fields).last_pk
        else:
            customer_id = row["id"]
        call_id = store.db["calls"].insert({
            "customer_id": customer_id, "caller": "kim", "started_at": to_iso(when),
            "connected_at": to_iso(when), "ended_at": to_iso(when + timedelta(minutes=6)),
            "outcome": "completed"}).last_pk
        for i, (key, (qtype, value)) in enumerate(answers.items()):
            if value is None or value == "":
                continue
            store.db["answers"].insert({
                "call_id": call_id, "key": key, "qtype": qtype, "value": json.dumps(value),
                "answered_at": to_iso(when + timedelta(minutes=1, seconds=i))})
    return call_id
