"""Consent records: what a customer agreed to (or withdrew), when, how, with what proof.

Each record is kept for good (evidence; UWG § 7a asks for it) with an audit row in the
same transaction; the newest record per kind is the one in force and takes effect at
once: the queue, a call in progress and the next ``explain`` all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calls import audit
from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.models import Customer
from calls.store import Store
from calls.store import consent as q
from calls.store.customers import get_customer

# What a customer can consent to: being called at all, marketing on a call, the call
# being recorded, and sharing a referral's details with us (the referred person's own
# basis is separate: they are never called on the customer's word alone).
WHATS = ("calls", "marketing", "recording", "share")
HOWS = ("list", "call", "letter", "web")
STATES = ("given", "withdrawn")


@dataclass(frozen=True)
class ConsentRecord:
    """One consent given or withdrawn."""

    id: int
    customer_id: int
    what: str
    state: str
    at: datetime
    how: str
    proof: str | None
    call_id: int | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def from_row(cls, row: dict) -> ConsentRecord:
        return cls(row["id"], row["customer_id"], row["what"], row["state"],
                   from_iso(row["at"]), row["how"], row.get("proof"), row.get("call_id"),
                   row["recorded_by"], from_iso(row["recorded_at"]))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"id": self.id, "what": self.what, "state": self.state, "at": to_iso(self.at),
                "how": self.how, "proof": self.proof, "call_id": self.call_id,
                "recorded_by": self.recorded_by, "recorded_at": to_iso(self.recorded_at)}


def _check(what: str, how: str) -> None:
    if what not in WHATS:
        raise UserError(f"unknown consent {what!r}: one of {', '.join(WHATS)}")
    if how not in HOWS:
        raise UserError(f"unknown way {how!r}: one of {', '.join(HOWS)}")


def resolve(store: Store, ref: str | int) -> Customer:
    """The customer by ref (or id), or a UserError."""
    found = get_customer(store, ref)
    if found is None and isinstance(ref, str) and ref.isdigit() and int(ref) < 2**63:
        found = get_customer(store, int(ref))
    if found is None:
        raise UserError(f"no customer {ref!r} (give a ref or an id)")
    return found


def record(store: Store, customer_id: int, what: str, given: bool, *, how: str,
           actor: str, now: datetime, at: datetime | None = None, proof: str | None = None,
           call_id: int | None = None) -> int:
    """Record a consent given (``given``) or withdrawn, with an audit row; returns its id.

    ``at`` is when the customer gave it (default ``now``). Joins an open ``store.write()``
    (a call's own transaction) or opens one.
    """
    _check(what, how)
    if at is not None and at > now:
        raise UserError("a consent cannot be dated in the future")
    state = "given" if given else "withdrawn"
    with store.write():
        rid = q.insert_consent(store, customer_id, what, state, to_iso(at or now), how, proof,
                               call_id, actor, to_iso(now))
        ref = store.scalar("SELECT ref FROM customers WHERE id = ?", (customer_id,))
        audit.record(store, actor, "consent.give" if given else "consent.withdraw", ref,
                     {"what": what, "how": how, "at": to_iso(at or now),
                      **({"call_id": call_id} if call_id else {}),
                      **({"proof": proof} if proof else {})}, now=now)
    return rid


def history(store: Store, customer_id: int) -> list[ConsentRecord]:
    """Every consent record of a customer, oldest first."""
    return [ConsentRecord.from_row(r) for r in q.consents_of(store, customer_id)]


def current(records: list[ConsentRecord]) -> dict[str, ConsentRecord]:
    """The record in force per kind (the newest by the customer's date)."""
    out: dict[str, ConsentRecord] = {}
    for r in sorted(records, key=lambda r: (r.at, r.id)):
        out[r.what] = r
    return out


def set_type(store: Store, customer_id: int, *, customer_type: str | None = None,
             contract: bool | None = None, actor: str, now: datetime) -> None:
    """Set whether the customer is a consumer or a business, and the contract flag."""
    if customer_type is not None and customer_type not in ("consumer", "business"):
        raise UserError(f"customer type must be consumer or business, got {customer_type!r}")
    with store.write():
        q.set_customer_basis(store, customer_id, customer_type=customer_type, contract=contract)
        ref = store.scalar("SELECT ref FROM customers WHERE id = ?", (customer_id,))
        details = {k: v for k, v in (("customer_type", customer_type), ("contract", contract))
                   if v is not None}
        audit.record(store, actor, "customer.edit", ref, details, now=now)
