"""Consent records: what a customer agreed to (or withdrew), when, how, with what proof.

Each record is kept for good (evidence; UWG § 7a asks for it) with an audit row in the
same transaction; the newest record per kind is the one in force and takes effect at
once: the queue, a call in progress and the next ``explain`` all read it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from calls import audit
from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.models import Customer
from calls.records import record
from calls.store import Store
from calls.store import consent as q
from calls.store.customers import get_customer

# What a customer can consent to: being called at all, marketing on a call, the call
# being recorded, and sharing a referral's details with us (the referred person's own
# basis is separate: they are never called on the customer's word alone).
WHATS = ("calls", "marketing", "recording", "share")
HOWS = ("list", "call", "letter", "web")
STATES = ("given", "withdrawn")


@record(frozen=True)
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


# What a withdrawal stops at once: the follow-ups that would contact the customer for
# what they no longer allow (a callback or a recovery call is a call; a sales lead and a
# referral ask are marketing; a referral uses the details the customer let us share).
CANCELLED_BY_WITHDRAWAL = {
    "calls": ("callback", "recovery_call"),
    "marketing": ("sales_lead", "referral"),
    "share": ("referral",),
    "recording": (),
}
WITHDRAWAL_WORDS = {
    "calls": "no more calls",
    "marketing": "no marketing",
    "share": "no sharing of a referral's details",
    "recording": "no recording",
}


@record(frozen=True)
class ConsentChange:
    """A consent recorded, and the follow-ups its withdrawal cancelled (id, kind)."""

    id: int
    what: str
    given: bool
    cancelled: tuple[tuple[int, str], ...] = ()


def record(store: Store, customer_id: int, what: str, given: bool, *, how: str,
           actor: str, now: datetime, at: datetime | None = None, proof: str | None = None,
           call_id: int | None = None) -> int:
    """Record a consent given (``given``) or withdrawn, with an audit row; returns its id.

    See :func:`record_change` (which also says which follow-ups a withdrawal cancelled).
    """
    return record_change(store, customer_id, what, given, how=how, actor=actor, now=now,
                         at=at, proof=proof, call_id=call_id).id


def record_change(store: Store, customer_id: int, what: str, given: bool, *, how: str,
                  actor: str, now: datetime, at: datetime | None = None,
                  proof: str | None = None, call_id: int | None = None) -> ConsentChange:
    """Record a consent given (``given``) or withdrawn, with an audit row.

    ``at`` is when the customer gave it (default ``now``). A withdrawal that is now in
    force cancels the customer's open follow-ups that would go against it
    (:data:`CANCELLED_BY_WITHDRAWAL`), each with an audit row. Joins an open
    ``store.write()`` (a call's own transaction) or opens one.
    """
    from calls.store import followups as fq

    _check(what, how)
    if at is not None and at > now:
        raise UserError("a consent cannot be dated in the future")
    state = "given" if given else "withdrawn"
    cancelled: list[dict] = []
    with store.write():
        rid = q.insert_consent(store, customer_id, what, state, to_iso(at or now), how, proof,
                               call_id, actor, to_iso(now))
        ref = store.scalar("SELECT ref FROM customers WHERE id = ?", (customer_id,))
        if not given and q.state_in_force(store, customer_id, what) == "withdrawn":
            why = (f"customer withdrew consent to {what} ({how}, "
                   f"{(at or now):%Y-%m-%d}): {WITHDRAWAL_WORDS[what]}")
            cancelled = fq.cancel_open_of_customer(
                store, customer_id, CANCELLED_BY_WITHDRAWAL[what], to_iso(now), actor, why)
            for row in cancelled:
                audit.record(store, actor, "followup.cancel", f"#{row['id']}",
                             {"kind": row["kind"], "customer": ref, "owner": row["owner"],
                              "note": why}, now=now)
        audit.record(store, actor, "consent.give" if given else "consent.withdraw", ref,
                     {"what": what, "how": how, "at": to_iso(at or now),
                      **({"call_id": call_id} if call_id else {}),
                      **({"proof": proof} if proof else {}),
                      **({"followups_cancelled": [r["id"] for r in cancelled]}
                         if cancelled else {})}, now=now)
    return ConsentChange(rid, what, given, tuple((r["id"], r["kind"]) for r in cancelled))


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


def withdrawn_for(store: Store, customer_id: int, kind: str) -> str | None:
    """The consent (calls, marketing, share) the customer withdrew that a follow-up of
    ``kind`` would go against, or None when it may be opened."""
    for what, kinds in CANCELLED_BY_WITHDRAWAL.items():
        if kind in kinds and q.state_in_force(store, customer_id, what) == "withdrawn":
            return what
    return None


# -- from a customer list ---------------------------------------------------------------------

_YES = {"yes", "y", "true", "1", "x", "given", "ja", "j", "oui", "optin", "opt-in", "granted"}
_NO = {"no", "n", "false", "0", "withdrawn", "nein", "non", "optout", "opt-out", "refused"}
_BUSINESS = {"business", "b2b", "company", "firm", "corporate", "gewerblich", "firma",
             "professionnel", "pro", "entreprise"}
_CONSUMER = {"consumer", "b2c", "private", "privat", "individual", "particulier", "person"}


def _day(text: str) -> date | None:
    """A consent column holding the day it was given (ISO date), else None."""
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _yes_no(text: str) -> bool | None:
    word = text.strip().lower().replace(" ", "")
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def apply_list(store: Store, columns: dict[str, str], *, file: str, actor: str,
               now: datetime) -> dict[str, int]:
    """Apply the lawful columns of an imported list to its customers; counts per field.

    The values were kept in each customer's extra data by the import. A consent column
    records a consent (how ``list``, the proof naming the file and column) only when it
    changes what is in force; a date in it is when the consent was given.
    """
    if not columns:
        return {}
    counts = {field: 0 for field in columns}
    headers = list(columns.values())
    rows = list(q.customers_with_extra(store, headers))
    with store.write():
        for row, values in rows:
            for field, header in columns.items():
                text = values.get(header)
                if text is None or not str(text).strip():
                    continue
                text = str(text).strip()
                if field == "region":
                    if row["region"] != text.upper():
                        q.set_region(store, row["id"], text.upper())
                        counts[field] += 1
                elif field == "customer_type":
                    word = text.lower().replace(" ", "")
                    kind = ("business" if word in _BUSINESS else
                            "consumer" if word in _CONSUMER else None)
                    if kind and row["customer_type"] != kind:
                        q.set_customer_basis(store, row["id"], customer_type=kind)
                        counts[field] += 1
                elif field == "contract":
                    flag = _yes_no(text)
                    if flag is not None and bool(row["contract"]) != flag:
                        q.set_customer_basis(store, row["id"], contract=flag)
                        counts[field] += 1
                else:
                    what = field.removeprefix("consent_")
                    day = _day(text)
                    given = True if day is not None else _yes_no(text)
                    if given is None:
                        continue
                    state = "given" if given else "withdrawn"
                    current = (row[field] if field in row
                               else q.state_in_force(store, row["id"], what))
                    if current == state:
                        continue
                    at = (datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
                          if day is not None and day <= now.date() else now)
                    record(store, row["id"], what, given, how="list", actor=actor, now=now,
                           at=at, proof=f"{file}: column {header!r} = {text!r}")
                    counts[field] += 1
    return counts


# -- permissions asked in a call ---------------------------------------------------------------


def followup_refused(store: Store, call_id: int | None) -> bool:
    """True when the customer answered "no" in this call to a question asking permission
    to get back to them (``permission = "followup"`` in the script)."""
    from calls.store.scripts import answers_for_call
    from calls.survey.stored import stored_script

    if call_id is None:
        return False
    script_id = store.scalar("SELECT script_id FROM calls WHERE id = ?", (call_id,))
    if script_id is None:
        return False
    try:
        script = stored_script(store, script_id)
    except UserError:
        return False
    keys = {q.key for q in script.questions if q.permission == "followup"}
    answers = answers_for_call(store, call_id)
    return any(answers.get(k) is False for k in keys)
