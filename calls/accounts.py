"""Accounts and roles: who sits in a seat, what they may do, and how they log in.

A database without accounts (or without an active admin) is the one-person trial: the
person at the keyboard may do everything and is named by ``--caller`` or the OS login.
Once an active admin exists every seat needs a known, active account:

- a terminal seat (SSH with ``carecall shift`` as forced command, or the CLI) is the
  account whose ``os_login`` is the OS login running carecall (:func:`seat_actor`);
- a browser seat (``carecall serve``) and an unmapped terminal seat log in with a name
  and password (:func:`login`).

Roles are ranked: a supervisor may do all a caller may, an admin all a supervisor may.
:func:`require` is the one role check, used by the CLI and the TUI alike; a refusal is a
:class:`Refused` (a ``UserError``: one line, exit code 2, a notice in the app).

Passwords are argon2id hashes (argon2-cffi); the clear text is never stored or logged.
Wrong passwords count towards a lockout (policy ``[accounts]``), and every login, failed
login, lockout and logout is an audit row.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from calls import audit
from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.policy import DEFAULT_POLICY, Policy
from calls.records import record
from calls.store import Store
from calls.store import accounts as q

ROLES = ("caller", "supervisor", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}

# What each role may do: permission -> (the lowest role that may, what it is in words).
PERMISSIONS: dict[str, tuple[str, str]] = {
    "queue.work": ("caller", "work the call queue"),
    "followups.own": ("caller", "work their own follow-ups"),
    "followups.team": ("supervisor", "work other callers' follow-ups"),
    "followups.reassign": ("supervisor", "reassign follow-ups"),
    "dashboard": ("supervisor", "open the dashboard"),
    "floor.manage": ("supervisor", "pause a caller or release their claims"),
    "reports": ("supervisor", "run reports and exports"),
    "import": ("supervisor", "import lists"),
    "dnc.manage": ("supervisor", "change the do-not-call list by hand"),
    "customers.edit": ("supervisor", "add or correct customers"),
    "audit.read": ("supervisor", "read the audit trail"),
    "accounts.read": ("supervisor", "list the accounts"),
    "accounts.manage": ("admin", "manage accounts"),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
# The argon2 hasher, made on first use: a command that checks no password (most do: the
# terminal seat is the OS login) does not import argon2 (scripts/bench_cli.py).
_hasher = None
# Checked against when the account does not exist, so that an unknown name takes as long
# to refuse as a wrong password (no way to probe for names by timing); made on first use.
_dummy_hashes: dict[int, str] = {}


def _password_hasher():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def _dummy_hash() -> str:
    hasher = _password_hasher()
    key = id(hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash("not a password of anyone")
    return _dummy_hashes[key]


class Refused(UserError):
    """An action the acting account's role may not take."""


class LoginRefused(UserError):
    """A login that failed: wrong name or password, disabled or locked account."""


@record(frozen=True)
class Account:
    """One person's account (never carries the password hash out of this module)."""

    id: int
    name: str
    display: str | None
    role: str
    os_login: str | None
    active: bool
    has_password: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict) -> Account:
        return cls(
            id=row["id"], name=row["name"], display=row["display"], role=row["role"],
            os_login=row["os_login"], active=bool(row["active"]),
            has_password=bool(row["password_hash"]), failed_logins=row["failed_logins"],
            locked_until=from_iso(row["locked_until"]) if row["locked_until"] else None,
            last_login_at=from_iso(row["last_login_at"]) if row["last_login_at"] else None,
            created_at=from_iso(row["created_at"]),
        )

    @property
    def label(self) -> str:
        """The name people see: the display name, else the account name."""
        return self.display or self.name

    def locked(self, now: datetime) -> bool:
        """True while a lockout runs."""
        return self.locked_until is not None and now < self.locked_until

    def to_dict(self) -> dict:
        return {
            "name": self.name, "display": self.display, "role": self.role,
            "login": self.os_login, "active": self.active, "password_set": self.has_password,
            "locked_until": to_iso(self.locked_until) if self.locked_until else None,
            "last_login_at": to_iso(self.last_login_at) if self.last_login_at else None,
            "created_at": to_iso(self.created_at),
        }

    def as_actor(self) -> Actor:
        return Actor(self.name, self.role, self.id, self.display)


@record(frozen=True)
class Actor:
    """Who is acting now: an account, or in the one-person trial a name with every right."""

    name: str
    role: str
    account_id: int | None = None
    display: str | None = None

    @property
    def solo(self) -> bool:
        """True in the one-person trial (no accounts in force)."""
        return self.account_id is None

    @property
    def label(self) -> str:
        return self.display or self.name


def trial_actor(name: str) -> Actor:
    """The person at the keyboard of a database with no accounts in force."""
    return Actor(name, "admin")


# -- roles -----------------------------------------------------------------------------


def can(actor: Actor, permission: str) -> bool:
    """Whether ``actor``'s role allows ``permission`` (one of :data:`PERMISSIONS`)."""
    role, _ = PERMISSIONS[permission]
    return _RANK[actor.role] >= _RANK[role]


def who_may(permission: str) -> str:
    """``only a supervisor or admin may open the dashboard`` (what a refusal says)."""
    role, what = PERMISSIONS[permission]
    who = "an admin" if role == "admin" else f"a {role} or admin"
    return f"only {who} may {what}"


def require(actor: Actor, permission: str) -> None:
    """Raise :class:`Refused` (one clear line) unless ``actor`` may do ``permission``."""
    if not can(actor, permission):
        raise Refused(f"refused: {who_may(permission)} ({actor.name} is a {actor.role})")


def require_current(store: Store, actor: Actor, permission: str) -> None:
    """:func:`require` against the account as the database has it now (inside the
    change's transaction): a seat signed in as an admin who has since been demoted or
    disabled is refused, though its ``Actor`` was read at sign-in."""
    if not actor.solo:
        row = q.account_row(store, actor.name)
        if row is None or not row["active"]:
            raise Refused(f"refused: account {actor.name} is disabled")
        actor = Account.from_row(row).as_actor()
    require(actor, permission)


def require_owner(actor: Actor, owner: str | None, permission: str = "followups.team") -> None:
    """A caller acts on what is theirs; anything else needs ``permission``."""
    if owner is not None and owner.lower() == actor.name.lower():
        return
    require(actor, permission)


def check_caller(actor: Actor, caller: str | None) -> str:
    """The caller name a seat works as: ``--caller`` may only name the acting account."""
    if caller is None or not caller.strip():
        return actor.name
    if actor.solo:
        return caller.strip()
    if caller.strip().lower() != actor.name.lower():
        raise Refused(f"refused: --caller may only name your own account ({actor.name})")
    return actor.name


# -- who is at the seat -----------------------------------------------------------------


def team_mode(store: Store) -> bool:
    """True once an active admin exists: from then on every seat needs an account."""
    return q.count_active_admins(store) > 0


def account_for_login(store: Store, os_login: str) -> Account | None:
    """The account an OS login maps to (``users add --login``), or None."""
    row = q.account_by_login(store, os_login)
    return Account.from_row(row) if row else None


def seat_actor(store: Store, os_login: str, *, trial_name: str | None = None) -> Actor | None:
    """Who a terminal seat is without a password: the trial's person, or the account the
    OS login maps to. None when accounts are in force and the login maps to no active
    account (the seat must log in with a name and password, or is refused)."""
    if not team_mode(store):
        return trial_actor(trial_name or os_login)
    account = account_for_login(store, os_login)
    if account is None or not account.active:
        return None
    return account.as_actor()


def cli_actor(store: Store, os_login: str, *, trial_name: str | None = None) -> Actor:
    """The command line's actor; a UserError when accounts are in force and the OS login
    has no active account (the CLI has no password prompt: the OS login is the proof)."""
    actor = seat_actor(store, os_login, trial_name=trial_name)
    if actor is None:
        account = account_for_login(store, os_login)
        if account is not None:
            raise Refused(f"refused: account {account.name} (OS login {os_login}) is disabled")
        raise Refused(f"refused: OS login {os_login!r} has no carecall account; an admin "
                      f"adds one with: carecall users add NAME --role ROLE --login {os_login}")
    return actor


# -- passwords ---------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; parameters kept in the hash)."""
    return _password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches the hash (constant time; False for no hash)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return (_password_hasher().verify(password_hash or _dummy_hash(), password)
                and bool(password_hash))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password(password: str, policy: Policy = DEFAULT_POLICY) -> str:
    """A new password, or a UserError saying what is wrong with it."""
    least = policy.accounts.min_password_length
    if len(password) < least:
        raise UserError(f"the password must have at least {least} characters")
    if password.strip() != password:
        raise UserError("the password must not start or end with a space")
    return password


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise UserError(f"account name {name!r}: use 1-32 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")
    return name


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


# -- managing accounts -------------------------------------------------------------------


def get_account(store: Store, name: str) -> Account:
    """One account, or a UserError."""
    row = q.account_row(store, name.strip())
    if row is None:
        raise UserError(f"no account named {name!r}")
    return Account.from_row(row)


def list_accounts(store: Store) -> list[Account]:
    """Every account, by name."""
    return [Account.from_row(r) for r in q.account_rows(store)]


def add_account(store: Store, name: str, role: str, *, password: str | None, actor: Actor,
                now: datetime, display: str | None = None, os_login: str | None = None,
                policy: Policy = DEFAULT_POLICY) -> Account:
    """Create an account (audited). Until the first admin exists anyone may add one."""
    name, role = check_name(name), check_role(role)
    hashed = hash_password(check_password(password, policy)) if password is not None else None
    os_login = os_login.strip() if os_login and os_login.strip() else None
    with store.write():
        if team_mode(store):
            require_current(store, actor, "accounts.manage")
        if q.account_row(store, name):
            raise UserError(f"an account named {name!r} already exists")
        if os_login and q.account_by_login(store, os_login):
            taken = q.account_by_login(store, os_login)["name"]
            raise UserError(f"OS login {os_login!r} already maps to account {taken}")
        q.insert_account(store, name=name, display=(display or "").strip() or None, role=role,
                         os_login=os_login, password_hash=hashed, now=to_iso(now))
        audit.record(store, actor.name, "account.add", name,
                     {"role": role, "login": os_login, "display": display,
                      "password_set": hashed is not None}, now=now)
        return get_account(store, name)


def _change(store: Store, name: str, actor: Actor, now: datetime, action: str,
            details: dict, **fields) -> Account:
    with store.write():
        was_team = team_mode(store)
        if was_team:
            require_current(store, actor, "accounts.manage")
        account = get_account(store, name)
        q.update_account(store, account.id, to_iso(now), **fields)
        audit.record(store, actor.name, action, account.name, details or None, now=now)
        if was_team and not team_mode(store):
            # Taking away the last admin would silently turn the team back into a trial
            # where anyone may do anything.
            raise UserError(f"{account.name} is the last active admin; add or promote "
                            "another admin first")
        return get_account(store, account.name)


def set_password(store: Store, name: str, password: str, *, actor: Actor, now: datetime,
                 policy: Policy = DEFAULT_POLICY) -> Account:
    """Set an account's password (admins for anyone; everyone for their own). Clears a
    lockout."""
    hashed = hash_password(check_password(password, policy))
    own = not actor.solo and actor.name.lower() == name.strip().lower()
    with store.write():
        if not own and team_mode(store):
            require_current(store, actor, "accounts.manage")
        account = get_account(store, name)
        q.update_account(store, account.id, to_iso(now), password_hash=hashed,
                         failed_logins=0, locked_until=None)
        audit.record(store, actor.name, "account.password", account.name, now=now)
        return get_account(store, account.name)


def set_role(store: Store, name: str, role: str, *, actor: Actor, now: datetime) -> Account:
    """Change an account's role (admins only; never the last admin's)."""
    role = check_role(role)
    before = get_account(store, name)
    return _change(store, name, actor, now, "account.role", {"from": before.role, "to": role},
                   role=role)


def set_active(store: Store, name: str, active: bool, *, actor: Actor,
               now: datetime) -> Account:
    """Disable (or enable again) an account; a disabled account cannot log in. Disabling
    takes effect at once: in the same transaction its seat is signed off (the seat app
    closes at its next look) and the customers it had claimed go back to the queue; a
    call it left unfinished stays, for resuming when the account is enabled again."""
    from calls.store import floor as seats
    from calls.store import queue as claims

    with store.write():
        account = _change(store, name, actor, now,
                          "account.enable" if active else "account.disable", {},
                          active=int(active))
        if not active:
            seats.end_seat(store, account.name, to_iso(now))
            claims.delete_claims(store, account.name, None)
        return account


def set_login(store: Store, name: str, os_login: str | None, *, actor: Actor,
              now: datetime, runs_as: str | None = None) -> Account:
    """Map an account to the OS login of its terminal seat (a person's own Unix user that
    runs carecall through sudo: the seat opens without the login screen), or unmap it
    (None). Admins only; one login, one account. ``runs_as``: the OS login the command
    line asking runs as; taking it from its account is refused (every command there,
    this one included, would be refused from then on)."""
    os_login = os_login.strip() if os_login and os_login.strip() else None
    with store.write():
        before = get_account(store, name)
        if runs_as is not None and before.os_login == runs_as and os_login != runs_as:
            raise UserError(
                f"refused: {runs_as} is the OS login this command line runs as, and it maps "
                f"to {before.name}: without it no carecall command here would know you "
                "(nor could map it back)")
        if os_login is not None:
            taken = q.account_by_login(store, os_login)
            if taken is not None and taken["id"] != before.id:
                raise UserError(f"OS login {os_login!r} already maps to account {taken['name']}")
        return _change(store, name, actor, now, "account.login",
                       {"from": before.os_login, "to": os_login}, os_login=os_login)


# -- logging in --------------------------------------------------------------------------


def login(store: Store, name: str, password: str, *, now: datetime, seat: str = "terminal",
          policy: Policy = DEFAULT_POLICY, unlock: bool = False) -> Account:
    """Check a name and password at a seat; the account, or :class:`LoginRefused`.

    Every attempt is an audit row (``login`` / ``unlock``, ``login.failed``,
    ``login.locked``). ``policy.accounts.max_failed_logins`` wrong passwords in a row lock
    the account for ``lockout_minutes``; the lock ends by itself (or with a new password).
    """
    name = name.strip()
    row = q.account_row(store, name) if name else None
    # Verify outside the write lock: argon2 takes tens of milliseconds on purpose.
    matches = verify_password(row["password_hash"] if row else None, password)
    rules = policy.accounts
    refusal: str | None = None
    with store.write():
        row = q.account_row(store, name) if name else None
        if row is None or not row["active"] or not row["password_hash"]:
            why = ("unknown account" if row is None else
                   "disabled" if not row["active"] else "no password set")
            audit.record(store, name or "?", "login.failed", name or None,
                         {"reason": why, "seat": seat}, now=now)
            refusal = ("this account is disabled" if row is not None and not row["active"]
                       else "wrong name or password")
        else:
            account = Account.from_row(row)
            if account.locked(now):
                audit.record(store, account.name, "login.failed", account.name,
                             {"reason": "locked", "seat": seat}, now=now)
                refusal = (f"account locked until {account.locked_until:%H:%M} UTC "
                           "(too many wrong passwords); try later or ask an admin")
            elif not matches:
                expired = account.locked_until is not None  # an earlier lock has run out
                failed = (0 if expired else account.failed_logins) + 1
                fields: dict = {"failed_logins": failed, "locked_until": None}
                audit.record(store, account.name, "login.failed", account.name,
                             {"reason": "wrong password", "seat": seat, "in_a_row": failed},
                             now=now)
                # At a locked seat the name is on the screen: only the password was wrong.
                refusal = "wrong password" if unlock else "wrong name or password"
                if failed >= rules.max_failed_logins:
                    until = now + timedelta(minutes=rules.lockout_minutes)
                    fields["locked_until"] = to_iso(until)
                    audit.record(store, account.name, "login.locked", account.name,
                                 {"until": to_iso(until), "seat": seat}, now=now)
                    refusal = (f"wrong password; account locked for {rules.lockout_minutes} "
                               "minutes")
                q.update_account(store, account.id, to_iso(now), **fields)
            else:
                fields = {"failed_logins": 0, "locked_until": None, "last_login_at": to_iso(now)}
                if _password_hasher().check_needs_rehash(row["password_hash"]):
                    fields["password_hash"] = hash_password(password)
                q.update_account(store, account.id, to_iso(now), **fields)
                audit.record(store, account.name, "unlock" if unlock else "login", account.name,
                             {"seat": seat}, now=now)
    # Raised after the transaction: the failed attempt and the lockout must be kept.
    if refusal:
        raise LoginRefused(refusal)
    return get_account(store, name)


def record_login(store: Store, actor: Actor, *, now: datetime, seat: str) -> None:
    """A seat opened without a password (an OS login mapped to the account)."""
    if actor.solo:
        return
    with store.write():
        store_row = q.account_row(store, actor.name)
        if store_row:
            q.update_account(store, store_row["id"], to_iso(now), last_login_at=to_iso(now))
        audit.record(store, actor.name, "login", actor.name, {"seat": seat, "by": "os login"},
                     now=now)


def logout(store: Store, actor: Actor, *, now: datetime, seat: str,
           why: str | None = None) -> None:
    """A seat signed out (ctrl+q, or the seat closed; ``why``: e.g. signed in elsewhere)."""
    if actor.solo:
        return
    audit.record(store, actor.name, "logout", actor.name, {"seat": seat, "why": why}, now=now)
