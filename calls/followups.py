"""Follow-ups: what a call (or the calendar) leaves for somebody to do, until it is closed.

A follow-up has a kind (``calls.models.FOLLOWUP_KINDS``), a customer, the call that made
it, an owner, a due time and a status (open, done, cancelled). The rules:

- **No duplicates.** While a follow-up of one kind is open for a customer, a new one of
  the same kind joins it (its details are appended) instead of adding a row. For a
  ``callback`` the latest request wins: its due time, owner and call replace the old ones.
- **The detractor loop.** Closing a ``fix_problem`` (saying what was done) opens a
  ``recovery_call`` for the customer, due at once (or after
  ``policy.followups.recovery_delay_hours``), carrying the detractor's NPS. The queue
  offers open, due recovery calls; when the recovery call is completed,
  :func:`on_call_ended` closes it with the NPS before and after.
- **Do-not-call.** A customer who asked not to be called (or whose number is on the DNC
  list) never gets a ``callback`` or ``recovery_call``: they are refused when added by
  hand, skipped when a rule or the loop would make them, and cancelled when the customer
  asks during a call.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from calls import audit, consent
from calls.clock import UTC, from_iso, to_iso
from calls.errors import UserError
from calls.ingest.phones import country_name
from calls.models import FOLLOWUP_KINDS
from calls.outcomes import CONTACT, LABEL, Outcome
from calls.records import record
from calls.store import Store
from calls.store import deadlines as dq
from calls.store import followups as q

# Follow-ups that put the customer back in the call queue (never for do-not-call customers).
CALL_KINDS = frozenset({"callback", "recovery_call"})
# Sources recorded on a follow-up: who or what created it.
SOURCES = ("hand", "rule", "outcome", "planner", "loop")
# An owner value in a rule or by hand that means "the customer's account owner".
ACCOUNT_OWNER = "account_owner"


@record(frozen=True)
class Followup:
    """One follow-up as the store holds it, with its customer's ref, name and company."""

    id: int
    kind: str
    customer_id: int
    customer_ref: str
    customer_name: str
    customer_company: str | None
    call_id: int | None
    owner: str | None
    due_at: datetime | None
    status: str
    details: str
    source: str | None
    created_at: datetime
    created_by: str | None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_note: str | None = None
    parent_id: int | None = None
    score_before: int | None = None
    score_after: int | None = None
    closed_call_id: int | None = None
    occasion: str | None = None
    first_contact_at: datetime | None = None
    first_contact_by: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> Followup:
        """Build from a row of :mod:`calls.store.followups` (followups + customer fields)."""
        return cls(
            id=row["id"],
            kind=row["kind"],
            customer_id=row["customer_id"],
            customer_ref=row.get("customer_ref") or "",
            customer_name=row.get("customer_name") or "",
            customer_company=row.get("customer_company"),
            call_id=row.get("call_id"),
            owner=row.get("owner"),
            due_at=from_iso(row["due_at"]) if row.get("due_at") else None,
            status=row["status"],
            details=row.get("details") or "",
            source=row.get("source"),
            created_at=from_iso(row["created_at"]),
            created_by=row.get("created_by"),
            closed_at=from_iso(row["closed_at"]) if row.get("closed_at") else None,
            closed_by=row.get("closed_by"),
            close_note=row.get("close_note"),
            parent_id=row.get("parent_id"),
            score_before=row.get("score_before"),
            score_after=row.get("score_after"),
            closed_call_id=row.get("closed_call_id"),
            occasion=row.get("occasion"),
            first_contact_at=(from_iso(row["first_contact_at"])
                              if row.get("first_contact_at") else None),
            first_contact_by=row.get("first_contact_by"),
        )

    def is_overdue(self, now: datetime) -> bool:
        """Open and past its due time."""
        return self.status == "open" and self.due_at is not None and self.due_at < now

    def is_due(self, now: datetime) -> bool:
        """Open and due now or earlier."""
        return self.status == "open" and self.due_at is not None and self.due_at <= now

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (moments as the store's UTC text)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = to_iso(value) if isinstance(value, datetime) else value
        return out


# -- small helpers ----------------------------------------------------------------------


def _policy_value(policy: Any, section: str, name: str, default: Any) -> Any:
    """``policy.<section>.<name>``, or the default while that policy key does not exist."""
    part = getattr(policy, section, None) if policy is not None else None
    if part is None:
        return default
    if isinstance(part, dict):
        return part.get(name, default)
    return getattr(part, name, default)


def check_kind(kind: str) -> str:
    """The kind, normalised, or a UserError naming the valid kinds."""
    value = (kind or "").strip().lower()
    if value not in FOLLOWUP_KINDS:
        raise UserError(f"unknown follow-up kind {kind!r}; use one of: {', '.join(FOLLOWUP_KINDS)}")
    return value


def _customer(store: Store, customer_id: int) -> dict:
    row = q.customer_brief(store, customer_id)
    if row is None:
        raise UserError(f"no customer with id {customer_id}")
    return row


def resolve_owner(owner: str | None, customer: dict, caller: str | None) -> str | None:
    """Turn a rule/hand owner into a name: ``account_owner`` is the customer's owner (the
    caller when the list named none), ``caller`` the caller; anything else stays as given
    (a person or a team queue). None means anyone."""
    if owner is None or not str(owner).strip():
        return None
    value = str(owner).strip()
    if value == ACCOUNT_OWNER:
        return customer.get("owner") or caller or None
    if value == "caller":
        return caller or None
    return value


def _join_details(old: str | None, new: str | None) -> str:
    old = (old or "").strip()
    new = (new or "").strip()
    # The same note again (a rule applied twice for one call) is not repeated; a note
    # that merely contains old words ("late" after "late delivery") is new information.
    if not new or new == old or new in old.splitlines() or old.endswith("\n" + new):
        return old
    return f"{old}\n{new}" if old else new


def _get(store: Store, followup_id: int) -> Followup:
    # Ids are 64-bit SQLite integers: a longer number is no follow-up at all.
    row = q.get_followup_row(store, followup_id) if 0 < followup_id < 2**63 else None
    if row is None:
        raise UserError(f"no follow-up #{followup_id}")
    return Followup.from_row(row)


def get_followup(store: Store, followup_id: int) -> Followup:
    """One follow-up by id; UserError if there is none."""
    return _get(store, followup_id)


def _check_actor(actor: Any, f: Followup) -> None:
    """A caller works only their own follow-ups; supervisors and admins the team's."""
    if actor is not None:
        from calls.accounts import require_owner

        require_owner(actor, f.owner, "followups.team")


def _require_open(f: Followup, action: str) -> None:
    if f.status != "open":
        when = f" on {to_iso(f.closed_at)[:10]}" if f.closed_at else ""
        who = f" by {f.closed_by}" if f.closed_by else ""
        raise UserError(f"cannot {action} follow-up #{f.id}: it is already {f.status}{when}{who}")


# -- reading a due time ---------------------------------------------------------------

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime, tz: tzinfo | None = None) -> datetime:
    """A due time a person typed: ``+30m``, ``+4h``, ``+2d``, ``+1w``, ``now``, ``today``,
    ``tomorrow``, ``YYYY-MM-DD`` (09:00 that day) or an ISO time; times without an offset
    are in ``tz`` (default UTC). UserError for anything else."""
    try:
        moment = _parse_when(text, now, tz)
    except OverflowError:  # "+99999999d", "0001-01-01" in a zone west of UTC
        moment = None
    # Years far from now overflow the date arithmetic of windows, plans and ISO text.
    if moment is None or not 1900 <= moment.year <= 9000:
        raise UserError(f"the time {text!r} is too far from today "
                        "(give a year between 1900 and 9000)")
    return moment


def _parse_when(text: str, now: datetime, tz: tzinfo | None) -> datetime:
    value = (text or "").strip().lower()
    zone = tz or UTC
    if not value:
        raise UserError("empty time; use e.g. +2d, tomorrow, 2026-03-15 or 2026-03-15T14:30")
    match = _RELATIVE.match(value)
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if value == "now":
        return now
    local_today = now.astimezone(zone).date()
    if value in ("today", "tomorrow"):
        day = local_today + timedelta(days=1 if value == "tomorrow" else 0)
        return datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(UTC)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(9, 0), tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise UserError(
            f"cannot read the time {text!r}; use e.g. +2d, +4h, tomorrow, 2026-03-15 "
            "or 2026-03-15T14:30"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


# -- creating ---------------------------------------------------------------------------


def add_followup(
    store: Store,
    *,
    kind: str,
    customer_id: int,
    owner: str | None,
    due_at: datetime | None,
    details: str | None,
    now: datetime,
    call_id: int | None = None,
    created_by: str | None = None,
    source: str = "hand",
    occasion: str | None = None,
    parent_id: int | None = None,
    score_before: int | None = None,
) -> Followup:
    """Open a follow-up, or add to the open one of the same kind for the customer.

    ``owner`` is stored as given (resolve ``account_owner`` first with
    :func:`resolve_owner`). Raises UserError for an unknown kind, an unknown customer,
    or a call follow-up (callback, recovery call) for a do-not-call customer.
    """
    kind = check_kind(kind)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    with store.write():
        customer = _customer(store, customer_id)
        if kind in CALL_KINDS and q.customer_is_dnc(store, customer_id):
            raise UserError(
                f"{customer['ref']} ({customer['name']}) is on the do-not-call list: "
                f"no {kind.replace('_', ' ')}"
            )
        against = consent.withdrawn_for(store, customer_id, kind)
        if against is not None:
            raise UserError(
                f"{customer['ref']} ({customer['name']}) withdrew consent to {against}: "
                f"no {kind.replace('_', ' ')}"
            )
        existing = q.find_open_row(store, customer_id, kind)
        if existing is not None:
            changes: dict[str, Any] = {"details": _join_details(existing["details"], details)}
            if occasion:
                changes["occasion"] = _join_details(existing.get("occasion"), occasion).replace(
                    "\n", "; "
                )
            if kind == "callback":
                # The customer's latest request is the one to honour.
                changes.update(
                    due_at=to_iso(due_at) if due_at else existing["due_at"],
                    owner=owner,
                    call_id=call_id if call_id is not None else existing["call_id"],
                )
            else:
                # Keep the earlier due time: a rule firing again must not push work back.
                if due_at is not None and (
                    existing["due_at"] is None or to_iso(due_at) < existing["due_at"]
                ):
                    changes["due_at"] = to_iso(due_at)
                if existing["owner"] is None and owner:
                    changes["owner"] = owner
            q.update_followup_row(store, existing["id"], **changes)
            return _get(store, existing["id"])
        return insert_new_followup(
            store,
            customer=customer,
            kind=kind,
            owner=owner,
            due_at=due_at,
            details=details,
            now=now,
            call_id=call_id,
            created_by=created_by,
            source=source,
            occasion=occasion,
            parent_id=parent_id,
            score_before=score_before,
        )


def insert_new_followup(
    store: Store,
    *,
    customer: dict,
    kind: str,
    owner: str | None,
    due_at: datetime | None,
    details: str | None,
    now: datetime,
    call_id: int | None = None,
    created_by: str | None = None,
    source: str = "hand",
    occasion: str | None = None,
    parent_id: int | None = None,
    score_before: int | None = None,
) -> Followup:
    """Insert a new follow-up row without the checks of :func:`add_followup`: the caller
    knows the kind is valid, no open one of the kind exists for the customer and the
    do-not-call rule does not apply (the planner, for its notes, gifts and letters).
    ``customer`` needs ``id``, ``ref``, ``name`` and ``company``."""
    values = {
        "kind": kind,
        "customer_id": customer["id"],
        "call_id": call_id,
        "owner": owner,
        "due_at": to_iso(due_at) if due_at else None,
        "status": "open",
        "details": (details or "").strip(),
        "source": source,
        "created_at": to_iso(now),
        "created_by": created_by,
        "occasion": occasion,
        "parent_id": parent_id,
        "score_before": score_before,
    }
    new_id = q.insert_followup_row(store, values)
    return Followup.from_row(
        {
            **values,
            "id": new_id,
            "customer_ref": customer.get("ref"),
            "customer_name": customer.get("name"),
            "customer_company": customer.get("company"),
        }
    )


def _spec_due(value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, str):
        return from_iso(value)
    raise TypeError(f"due_at must be a datetime, timedelta or ISO text, not {type(value)!r}")


def apply_rule_followups(
    store: Store, call_id: int, specs: Any, caller: str | None, now: datetime
) -> list[Followup]:
    """Create the follow-ups a script's rules asked for at the end of a call.

    ``specs`` are ``calls.survey.FollowupSpec`` (anything with ``kind``, ``owner``,
    ``due_at`` and ``note``). Owners ``account_owner`` / ``caller`` are resolved; a rule
    that fires again while one of its kind is open adds to it; call follow-ups for a
    do-not-call customer are skipped. Safe to call twice for the same call.
    """
    with store.write():
        call = q.call_row(store, call_id)
        if call is None:
            raise UserError(f"no call #{call_id}")
        customer = _customer(store, call["customer_id"])
        dnc = q.customer_is_dnc(store, customer["id"])
        made: list[Followup] = []
        for spec in specs or ():
            kind = check_kind(spec.kind)
            if kind in CALL_KINDS and dnc:
                continue
            if consent.withdrawn_for(store, customer["id"], kind) is not None:
                continue  # the customer withdrew the consent this follow-up needs
            note = getattr(spec, "note", None) or getattr(spec, "details", None)
            made.append(
                add_followup(
                    store,
                    kind=kind,
                    customer_id=customer["id"],
                    owner=resolve_owner(getattr(spec, "owner", None), customer, caller),
                    due_at=_spec_due(getattr(spec, "due_at", None), now),
                    details=note,
                    now=now,
                    call_id=call_id,
                    created_by=caller,
                    source="rule",
                    score_before=q.nps_answer(store, call_id) if kind == "fix_problem" else None,
                )
            )
        return made


# -- closing ----------------------------------------------------------------------------


def close_followup(
    store: Store,
    followup_id: int,
    *,
    by: str,
    note: str | None,
    now: datetime,
    policy: Any = None,
    call_id: int | None = None,
    actor: Any = None,
) -> Followup:
    """Mark a follow-up done, with a closing note saying what was done.

    ``actor`` (a :class:`calls.accounts.Actor`) is checked: a caller closes only their own
    follow-ups. The closing is an audit row by ``by``.

    Closing a ``fix_problem`` needs that note (it is what the recovery call tells the
    customer) and opens a ``recovery_call`` for the customer (not for a do-not-call
    customer); find it with ``list_followups(store, kind="recovery_call",
    customer_id=...)`` or :func:`recovery_for`. Returns the closed follow-up.
    """
    note = (note or "").strip()
    with store.write():
        f = _get(store, followup_id)
        _require_open(f, "close")
        _check_actor(actor, f)
        if f.kind == "fix_problem" and not note:
            raise UserError(
                f"say what was done to close fix_problem #{f.id} (--note): "
                "the recovery call tells the customer"
            )
        close_note = note or None
        if f.kind == "fix_problem":
            if q.customer_is_dnc(store, f.customer_id):
                close_note = f"{note} (no recovery call: customer is on the do-not-call list)"
            elif consent.withdrawn_for(store, f.customer_id, "recovery_call") is not None:
                close_note = (f"{note} (no recovery call: the customer withdrew consent to "
                              f"be called)")
            elif consent.followup_refused(store, f.call_id):
                # They said no to "may we get back to you?": the fix is done and recorded,
                # the loop closes without a call (docs/lawful.md).
                close_note = (f"{note} (no recovery call: the customer said no to being "
                              f"contacted about it)")
            else:
                delay = float(_policy_value(policy, "followups", "recovery_delay_hours", 0) or 0)
                before = f.score_before
                if before is None and f.call_id is not None:
                    before = q.nps_answer(store, f.call_id)
                add_followup(
                    store,
                    kind="recovery_call",
                    customer_id=f.customer_id,
                    owner=None,  # anyone may make it: it comes up in the queue
                    due_at=now + timedelta(hours=delay),
                    details=f"Fixed: {note}",
                    now=now,
                    call_id=f.call_id,
                    created_by=by,
                    source="loop",
                    parent_id=f.id,
                    score_before=before,
                )
        # Closing is a contact at the latest (a note posted, a fix done): the deadlines
        # measure the time to first contact of every closed follow-up.
        dq.set_first_contact(store, f.id, to_iso(now), by)
        q.update_followup_row(
            store,
            f.id,
            status="done",
            closed_at=to_iso(now),
            closed_by=by,
            close_note=close_note,
            closed_call_id=call_id,
        )
        audit.record(store, by, "followup.close", f"#{f.id}",
                     {"kind": f.kind, "customer": f.customer_ref, "owner": f.owner,
                      "note": close_note, "call_id": call_id}, now=now)
        return _get(store, f.id)


def record_contact(store: Store, followup_id: int, *, by: str, note: str | None,
                   now: datetime, actor: Any = None) -> Followup:
    """Record that the customer was contacted about an open follow-up (the first contact
    the deadlines measure: a detractor's fix within 48 hours). A later contact only adds
    its note; a call that reaches the customer records it by itself. ``actor`` is
    checked as for :func:`close_followup`; the contact is an audit row by ``by``."""
    with store.write():
        f = _get(store, followup_id)
        _require_open(f, "record a contact on")
        _check_actor(actor, f)
        dq.set_first_contact(store, f.id, to_iso(now), by)
        line = f"[{to_iso(now)} {by}] contacted the customer"
        note = (note or "").strip()
        q.update_followup_row(store, f.id,
                              details=_join_details(f.details, f"{line}: {note}" if note else line))
        audit.record(store, by, "followup.contact", f"#{f.id}",
                     {"kind": f.kind, "customer": f.customer_ref, "owner": f.owner,
                      "note": note or None}, now=now)
        return _get(store, f.id)


def recovery_for(store: Store, fix_problem_id: int) -> Followup | None:
    """The recovery call a closed fix_problem opened (or joined), if any."""
    rows = q.query_followup_rows(store, status=None, parent_id=fix_problem_id, limit=1)
    if rows:
        return Followup.from_row(rows[0])
    return None


def recovery_context(store: Store, customer_id: int) -> dict[str, Any] | None:
    """The ``fix.*`` values for the recovery script (``SurveySession(context={"fix": ...})``)
    when the customer has an open recovery call: what was fixed (``note``), the problem
    (``problem``), who fixed it (``by``), when (``date``) and the score before (``score``).
    None when there is no open recovery call."""
    rows = q.query_followup_rows(store, kind="recovery_call", customer_id=customer_id, limit=1)
    if not rows:
        return None
    recovery = rows[0]
    fix = q.get_followup_row(store, recovery["parent_id"]) if recovery["parent_id"] else None
    if fix is None:
        return {
            "note": None,
            "problem": None,
            "by": recovery["created_by"],
            "date": None,
            "score": recovery["score_before"],
        }
    return {
        "note": fix["close_note"],
        "problem": fix["details"] or None,
        "by": fix["closed_by"],
        "date": from_iso(fix["closed_at"]).date() if fix["closed_at"] else None,
        "score": recovery["score_before"],
    }


def cancel_followup(
    store: Store, followup_id: int, *, by: str, note: str | None, now: datetime,
    actor: Any = None,
) -> Followup:
    """Cancel an open follow-up (nothing more will be done); the note says why.
    ``actor`` is checked as for :func:`close_followup`; the cancelling is an audit row."""
    with store.write():
        f = _get(store, followup_id)
        _require_open(f, "cancel")
        _check_actor(actor, f)
        note = (note or "").strip() or None
        q.update_followup_row(
            store,
            f.id,
            status="cancelled",
            closed_at=to_iso(now),
            closed_by=by,
            close_note=note,
        )
        audit.record(store, by, "followup.cancel", f"#{f.id}",
                     {"kind": f.kind, "customer": f.customer_ref, "owner": f.owner,
                      "note": note}, now=now)
        return _get(store, f.id)


def reassign_followup(
    store: Store, followup_id: int, owner: str | None, *, by: str, now: datetime,
    actor: Any = None,
) -> Followup:
    """Give an open follow-up to another owner (None = anyone). Supervisors and admins
    only when ``actor`` is given; with accounts in force the new owner must be an active
    account. The change is noted in the details and is an audit row."""
    from calls.accounts import require, team_mode
    from calls.store.accounts import account_row

    owner = (owner or "").strip() or None
    with store.write():
        f = _get(store, followup_id)
        _require_open(f, "reassign")
        if actor is not None:
            require(actor, "followups.reassign")
        if owner and team_mode(store):
            row = account_row(store, owner)
            if row is None or not row["active"]:
                raise UserError(f"no active account named {owner!r} to give #{f.id} to")
            owner = row["name"]
        if owner == f.owner:
            return f
        line = f"[{to_iso(now)} {by}] reassigned from {f.owner or 'anyone'} to {owner or 'anyone'}"
        q.update_followup_row(store, f.id, owner=owner, details=_join_details(f.details, line))
        audit.record(store, by, "followup.reassign", f"#{f.id}",
                     {"kind": f.kind, "customer": f.customer_ref, "from": f.owner or "anyone",
                      "to": owner or "anyone"}, now=now)
        return _get(store, f.id)


def reschedule_followup(
    store: Store, followup_id: int, due_at: datetime, by: str, now: datetime,
    actor: Any = None,
) -> Followup:
    """Move an open follow-up's due time; the change is noted in its details."""
    with store.write():
        f = _get(store, followup_id)
        _require_open(f, "reschedule")
        _check_actor(actor, f)
        old = to_iso(f.due_at) if f.due_at else "no due time"
        line = f"[{to_iso(now)} {by}] rescheduled from {old} to {to_iso(due_at)}"
        q.update_followup_row(
            store, f.id, due_at=to_iso(due_at), details=_join_details(f.details, line)
        )
        audit.record(store, by, "followup.reschedule", f"#{f.id}",
                     {"kind": f.kind, "customer": f.customer_ref, "from": old,
                      "to": to_iso(due_at)}, now=now)
        return _get(store, f.id)


def list_followups(
    store: Store,
    *,
    owner: str | None = None,
    kind: str | None = None,
    status: str | None = "open",
    due_before: datetime | None = None,
    customer_id: int | None = None,
    limit: int | None = None,
) -> list[Followup]:
    """Follow-ups matching every filter given (``status=None``: any status), due first
    (at most ``limit``)."""
    if kind is not None:
        kind = check_kind(kind)
    if status is not None and status not in ("open", "done", "cancelled"):
        raise UserError(f"unknown status {status!r}; use open, done or cancelled")
    rows = q.query_followup_rows(
        store,
        owner=owner,
        kind=kind,
        status=status,
        due_before=to_iso(due_before) if due_before else None,
        customer_id=customer_id,
        limit=limit,
    )
    return [Followup.from_row(r) for r in rows]


@record(frozen=True)
class OpenCounts:
    """How many follow-ups are open, due now and overdue (for one owner or everybody)."""

    open: int
    due: int
    overdue: int


def count_open(store: Store, now: datetime, owner: str | None = None) -> OpenCounts:
    """Open follow-ups of ``owner`` (None: everybody's): in all, due by now, overdue."""
    total, due, overdue = q.count_open_rows(store, to_iso(now), owner)
    return OpenCounts(total, due, overdue)


def callbacks_due_soon(
    store: Store, caller: str, now: datetime, minutes: int = 10, grace_minutes: int = 5
) -> list[Followup]:
    """Open callbacks for this caller (or anyone) due from ``grace_minutes`` ago to
    ``minutes`` from now: what the shift app announces on any screen."""
    rows = q.open_callbacks_due_between(
        store,
        caller,
        to_iso(now - timedelta(minutes=grace_minutes)),
        to_iso(now + timedelta(minutes=minutes)),
    )
    return [Followup.from_row(r) for r in rows]


# -- the end of a call ------------------------------------------------------------------


def on_call_ended(store: Store, call_id: int, now: datetime) -> list[Followup]:
    """Close the follow-ups an ended call answered; returns those it closed or cancelled.

    - Reaching the customer (a contact outcome) answers their open callbacks made before
      this call (a callback requested *on* this call stays open: it is the next one).
    - A completed call closes the customer's open recovery call, recording the NPS the
      customer gave on it: the detractor loop is closed with the score before and after.
    - A do-not-call outcome cancels the customer's open callbacks and recovery calls.
    - Reaching the customer records the first contact on their open follow-ups and
      closes an open unreached letter (reached after all).

    (A call that ended the care cycle unreached plans the unreached letter at once:
    ``calls.calling.record_outcome`` asks the planner right after this, in the same
    transaction; the planner builds on this module, not the other way round.)
    """
    with store.write():
        call = q.call_row(store, call_id)
        if call is None:
            raise UserError(f"no call #{call_id}")
        try:
            outcome = Outcome(call["outcome"]) if call["outcome"] else None
        except ValueError:
            outcome = None
        if outcome is None:
            return []
        caller = call["caller"]
        started = call["started_at"]
        stamp = to_iso(now)
        touched: list[int] = []
        if outcome in CONTACT:
            # Talking to the customer is the first contact about what they had waiting.
            dq.first_contact_on_call(store, call["customer_id"], started, stamp, caller,
                                     call_id)
        open_rows = q.query_followup_rows(store, customer_id=call["customer_id"], status="open")
        for row in open_rows:
            if (row["kind"] == "unreached_letter" and outcome in CONTACT
                    and row["created_at"] <= started):
                # Reached after all: the letter asking when to call is no longer needed.
                q.update_followup_row(
                    store,
                    row["id"],
                    status="done",
                    closed_at=stamp,
                    closed_by=caller,
                    close_note=f"customer reached by phone after all: {outcome.value} "
                    f"(call #{call_id})",
                    closed_call_id=call_id,
                )
                touched.append(row["id"])
                continue
            if row["kind"] not in CALL_KINDS:
                continue
            if row["call_id"] == call_id and row["kind"] == "callback":
                continue  # requested on this very call
            if row["created_at"] > started:
                continue  # opened after this call began: not what it answered
            if outcome == Outcome.DO_NOT_CALL:
                q.update_followup_row(
                    store,
                    row["id"],
                    status="cancelled",
                    closed_at=stamp,
                    closed_by=caller,
                    close_note=f"customer asked not to be called again (call #{call_id})",
                    closed_call_id=call_id,
                )
                touched.append(row["id"])
            elif row["kind"] == "callback" and outcome in CONTACT:
                q.update_followup_row(
                    store,
                    row["id"],
                    status="done",
                    closed_at=stamp,
                    closed_by=caller,
                    close_note=f"called back: {LABEL[outcome].lower()} (call #{call_id})",
                    closed_call_id=call_id,
                )
                touched.append(row["id"])
            elif row["kind"] == "recovery_call" and outcome == Outcome.COMPLETED:
                after = q.nps_answer(store, call_id)
                before = row["score_before"]
                scores = (
                    f"NPS {before if before is not None else '?'} -> "
                    f"{after if after is not None else '?'}"
                )
                q.update_followup_row(
                    store,
                    row["id"],
                    status="done",
                    closed_at=stamp,
                    closed_by=caller,
                    close_note=f"recovery call completed (call #{call_id}): {scores}",
                    closed_call_id=call_id,
                    score_after=after,
                )
                touched.append(row["id"])
        return [_get(store, i) for i in touched]


# -- the loop, measured -----------------------------------------------------------------


@record(frozen=True)
class LoopStats:
    """The detractor loop in numbers (for reports and the dashboard)."""

    fixes_open: int
    recoveries_open: int
    closed: int
    won_back: int  # closed loops whose score after is 7 or more (no longer a detractor)
    median_days_to_close: float | None  # fix_problem opened -> recovery call made

    @property
    def won_back_share(self) -> float | None:
        """Share of closed loops (with a score after) that were won back."""
        return self.won_back / self.closed if self.closed else None


def loop_stats(store: Store) -> LoopStats:
    """Open fixes, open recovery calls, closed loops and how many detractors were won back."""
    from statistics import median

    fixes_open = len(q.query_followup_rows(store, kind="fix_problem", status="open"))
    rows = q.recovery_rows(store)
    recoveries_open = sum(1 for r in rows if r["status"] == "open")
    done = [r for r in rows if r["status"] == "done" and r["closed_call_id"] is not None]
    won = sum(1 for r in done if r["score_after"] is not None and r["score_after"] >= 7)
    days = [
        (from_iso(r["closed_at"]) - from_iso(r["fix_created_at"])).total_seconds() / 86400
        for r in done
        if r["fix_created_at"] and r["closed_at"]
    ]
    return LoopStats(
        fixes_open=fixes_open,
        recoveries_open=recoveries_open,
        closed=len(done),
        won_back=won,
        median_days_to_close=round(median(days), 2) if days else None,
    )


# -- the mail merge ---------------------------------------------------------------------

# List columns (kept in customers.extra) that are part of a postal address, by their
# normalised name (lower case, letters and digits only).
_ADDRESS_NAMES = (
    "address",
    "address1",
    "address2",
    "address3",
    "addressline1",
    "addressline2",
    "street",
    "streetaddress",
    "street1",
    "street2",
    "line1",
    "line2",
    "city",
    "town",
    "locality",
    "state",
    "province",
    "county",
    "region",
    "zip",
    "zipcode",
    "postcode",
    "postalcode",
    "postcodezip",
    "country",
)
_ADDRESS_RANK = {name: i for i, name in enumerate(_ADDRESS_NAMES)}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mail_merge_table(
    followups: list[Followup], customers: dict[int, dict]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for writing notes or a mail merge: the follow-up, the customer's
    name and company, every address column the imported list had, the occasion, the note.

    ``customers`` maps customer id to its ``customers`` row (``extra`` as JSON text).
    """
    import json

    extras: dict[int, dict] = {}
    address_keys: dict[str, str] = {}  # list column -> its normalised name
    for f in followups:
        raw = (customers.get(f.customer_id) or {}).get("extra")
        try:
            extra = json.loads(raw) if raw else {}
        except ValueError:
            extra = {}
        extras[f.customer_id] = extra if isinstance(extra, dict) else {}
        for key in extras[f.customer_id]:
            norm = _norm(str(key))
            if norm in _ADDRESS_RANK and key not in address_keys:
                address_keys[key] = norm
    columns = sorted(address_keys, key=lambda k: _ADDRESS_RANK[address_keys[k]])
    # The list's country may have been read into the customers.country column.
    use_country = "country" not in address_keys.values() and any(
        (customers.get(f.customer_id) or {}).get("country") for f in followups
    )
    headers = ["id", "kind", "ref", "name", "company", *columns]
    if use_country:
        headers.append("Country")
    headers += ["email", "occasion", "note", "due", "owner"]
    rows: list[list[str]] = []
    for f in followups:
        customer = customers.get(f.customer_id) or {}
        extra = extras.get(f.customer_id, {})
        row = [str(f.id), f.kind, f.customer_ref, f.customer_name, f.customer_company or ""]
        row += ["" if extra.get(k) is None else str(extra.get(k)) for k in columns]
        if use_country:
            # the letter goes out with the country's name ("Germany"), not its code
            row.append(country_name(customer.get("country")))
        row += [
            customer.get("email") or "",
            f.occasion or "",
            f.details,
            to_iso(f.due_at)[:10] if f.due_at else "",
            f.owner or "",
        ]
        rows.append(row)
    return headers, rows


def mail_merge(store: Store, followups: list[Followup]) -> tuple[list[str], list[list[str]]]:
    """:func:`mail_merge_table` for follow-ups read from the store."""
    customers = q.customer_rows_by_ids(store, (f.customer_id for f in followups))
    return mail_merge_table(followups, customers)
