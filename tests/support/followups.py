"""Small builders shared by the follow-up tests: customers, calls and answers in a store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from calls.clock import to_iso
from calls.store import Store


@dataclass(frozen=True)
class Spec:
    """Stands in for calls.survey.FollowupSpec: what a script rule asks for."""

    kind: str
    owner: str | None
    due_at: datetime | None
    note: str


def add_customer(store: Store, ref: str, name: str, **fields) -> int:
    """Insert one customer; returns its id."""
    row = {
        "ref": ref,
        "name": name,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }
    if "extra" in fields and isinstance(fields["extra"], dict):
        fields["extra"] = json.dumps(fields["extra"])
    row.update(fields)
    with store.write():
        return store.db["customers"].insert(row).last_pk


def add_call(
    store: Store,
    customer_id: int,
    caller: str,
    started: datetime,
    outcome: str,
    nps: int | None = None,
    minutes: int = 8,
) -> int:
    """Insert one ended call (and its NPS answer); returns the call id."""
    with store.write():
        call_id = (
            store.db["calls"]
            .insert(
                {
                    "customer_id": customer_id,
                    "caller": caller,
                    "started_at": to_iso(started),
                    "connected_at": to_iso(started),
                    "ended_at": to_iso(started + timedelta(minutes=minutes)),
                    "outcome": outcome,
                }
            )
            .last_pk
        )
        if nps is not None:
            store.db["answers"].insert(
                {
                    "call_id": call_id,
                    "key": "nps",
                    "qtype": "nps",
                    "value": json.dumps(nps),
                    "answered_at": to_iso(started + timedelta(minutes=2)),
                }
            )
    return call_id
