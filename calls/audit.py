"""The audit trail: an append-only record of who did what and when.

Every auditable change calls :func:`record` *inside* the ``store.write()`` transaction that
makes the change, so the row and the change commit together or not at all (a failed
change leaves no audit row). Nothing in carecall updates or deletes an audit row; the
table's triggers refuse it.

The actor is the logged-in account's name; a command-line action with no account
records the OS login (:func:`os_login`).
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime
from typing import Any

from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.records import record
from calls.store import Store
from calls.store import audit as q

# Every kind of action the trail records, with what it means. A family is the part before
# the dot: ``carecall audit --action dnc`` lists both ``dnc.add`` and ``dnc.remove``.
ACTIONS: dict[str, str] = {
    "login": "signed in at a seat",
    "login.failed": "a wrong password or an unknown or disabled account at a seat",
    "login.locked": "an account locked after too many wrong passwords",
    "logout": "signed out (or the seat closed)",
    "unlock": "unlocked an idle seat with the password",
    "dnc.add": "a number put on the do-not-call list",
    "dnc.remove": "a number taken off the do-not-call list (with the reason)",
    "followup.close": "a follow-up closed (done)",
    "followup.cancel": "a follow-up cancelled",
    "followup.reassign": "a follow-up given to another owner",
    "followup.reschedule": "a follow-up's due time moved",
    "followup.contact": "the customer contacted about a follow-up (the first contact counts)",
    "customer.add": "a customer added by hand",
    "customer.edit": "customer data changed by hand",
    "customer.number": "a customer's phone number corrected",
    "consent.give": "a customer's consent recorded (calls, marketing, recording, share)",
    "consent.withdraw": "a customer's consent withdrawn (takes effect at once)",
    "import": "a customer, order or do-not-call list imported",
    "export": "data written out of carecall (what, how many rows, where)",
    "account.add": "an account created",
    "account.role": "an account's role changed",
    "account.disable": "an account disabled",
    "account.enable": "an account enabled again",
    "account.password": "an account's password set",
    "account.login": "an account mapped to (or unmapped from) a terminal seat's OS login",
    "claims.release": "a caller's claims released by a supervisor",
    "seat.pause": "a seat paused with a reason: by its caller (p) or by a supervisor",
    "policy.load": "a care policy file loaded (its hash)",
    "script.load": "a survey script version loaded",
    "upgrade": "`carecall upgrade` run: calls of an older carecall recorded for the export "
               "(how many; finished or stopped)",
}


@record(frozen=True)
class AuditEntry:
    """One row of the trail."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict) -> AuditEntry:
        return cls(
            id=row["id"],
            at=from_iso(row["at"]),
            actor=row["actor"],
            action=row["action"],
            subject=row["subject"],
            details=json.loads(row["details"]) if row["details"] else {},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": to_iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "details": self.details,
        }


def os_login() -> str:
    """The OS login of the person at this seat: the one sudo names (a per-person SSH
    seat running carecall as the service account), else the login running this process."""
    if os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def record(store: Store, actor: str, action: str, subject: str | None = None,
           details: dict[str, Any] | None = None, *, now: datetime) -> int:
    """Append one audit row and return its id.

    Call it inside the ``store.write()`` that makes the change (it joins that
    transaction, so a change that fails leaves no row). Called outside one, the row is
    written in a transaction of its own (for events that change nothing else, such as a
    failed login). ``action`` must be one of :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to calls.audit.ACTIONS")
    if not actor:
        raise ValueError("an audit row needs an actor")
    details = {k: v for k, v in (details or {}).items() if v is not None}
    text = json.dumps(details, sort_keys=True, default=str) if details else None
    with store.write():
        return q.insert_entry(store, to_iso(now), actor, action,
                              None if subject is None else str(subject), text)


def policy_version(policy: Any) -> tuple[str, dict[str, Any]]:
    """How the trail names a policy: a file by the sha256 of its text (and its path), the
    built-in defaults by the carecall version that carries them."""
    digest = getattr(policy, "source_hash", None)
    if digest:
        return digest, {"file": policy.source}
    from calls import __version__

    return f"built-in {__version__}", {"file": None}


def note_policy(store: Store, policy: Any, actor: str, *, now: datetime) -> bool:
    """Record ``policy.load`` when ``actor`` signs in at a seat or runs a command under a
    policy other than the one the trail last named for them (a file's version is its
    hash; the built-in defaults are named too); True when a row was written. So the
    policy a person's calls, claims and imports were made under is their last
    ``policy.load`` before them."""
    subject, details = policy_version(policy)
    with store.write():
        last = q.last_entry(store, "policy.load", actor)
        if last is not None and last["subject"] == subject:
            return False
        record(store, actor, "policy.load", subject, details, now=now)
    return True


def check_action(kind: str) -> str:
    """A kind or family a user typed for ``--action``, or a UserError listing the kinds."""
    kind = kind.strip().lower()
    families = {a.split(".")[0] for a in ACTIONS}
    if kind in ACTIONS or kind in families:
        return kind
    raise UserError(f"--action: unknown kind {kind!r}; known: {', '.join(sorted(ACTIONS))}")


def entries(store: Store, *, since: datetime | None = None, until: datetime | None = None,
            actor: str | None = None, action: str | None = None, subject: str | None = None,
            limit: int | None = None) -> list[AuditEntry]:
    """The trail, oldest first, filtered; ``limit`` keeps the most recent rows."""
    rows = q.select_entries(
        store,
        since=to_iso(since) if since else None,
        until=to_iso(until) if until else None,
        actor=actor, action=action, subject=subject, limit=limit,
    )
    return [AuditEntry.from_row(r) for r in rows]
