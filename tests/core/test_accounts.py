"""Accounts: argon2 hashing, roles, the one-person trial, lockout and its expiry (fixed clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calls import accounts as acc
from calls import audit
from calls.errors import UserError
from calls.policy import policy_from_dict

PW = "correct horse battery"
TRIAL = acc.trial_actor("owner")


def team(store, now):
    """An admin (mapped to OS login 'boss'), a supervisor and two callers."""
    acc.add_account(store, "boss", "admin", password=PW, actor=TRIAL, now=now, os_login="boss")
    admin = acc.get_account(store, "boss").as_actor()
    acc.add_account(store, "sue", "supervisor", password=PW, actor=admin, now=now)
    acc.add_account(store, "ann", "caller", password=PW, actor=admin, now=now,
                    display="Ann Lee", os_login="ann_os")
    acc.add_account(store, "bob", "caller", password=PW, actor=admin, now=now)
    return admin


def test_hash_round_trip_and_wrong_password():
    hashed = acc.hash_password(PW)
    assert hashed.startswith("$argon2id$") and PW not in hashed
    assert acc.verify_password(hashed, PW)
    assert not acc.verify_password(hashed, PW + "!")
    assert not acc.verify_password(None, PW)
    assert not acc.verify_password("not a hash", PW)
    assert acc.hash_password(PW) != hashed  # salted


def test_password_never_stored_or_audited_in_clear(store, now):
    team(store, now)
    dump = "\n".join(store.db.conn.iterdump())
    assert PW not in dump
    assert all(PW not in str(e.details) for e in audit.entries(store))


def test_trial_until_the_first_admin(store, now):
    assert not acc.team_mode(store)
    assert acc.seat_actor(store, "anyone").solo
    acc.add_account(store, "ann", "caller", password=PW, actor=TRIAL, now=now)
    assert not acc.team_mode(store)  # callers alone do not end the trial
    acc.add_account(store, "boss", "admin", password=PW, actor=TRIAL, now=now, os_login="boss")
    assert acc.team_mode(store)
    assert acc.seat_actor(store, "stranger") is None
    assert acc.seat_actor(store, "boss").name == "boss"
    with pytest.raises(acc.Refused, match="no carecall account"):
        acc.cli_actor(store, "stranger")


def test_roles_refused_what_they_may_not(store, now):
    admin = team(store, now)
    ann = acc.get_account(store, "ann").as_actor()
    sue = acc.get_account(store, "sue").as_actor()
    with pytest.raises(acc.Refused, match="only an admin may manage accounts"):
        acc.add_account(store, "eve", "admin", password=PW, actor=sue, now=now)
    with pytest.raises(acc.Refused, match="only a supervisor or admin may open the dashboard"):
        acc.require(ann, "dashboard")
    acc.require(sue, "dashboard")
    acc.require(admin, "followups.reassign")
    with pytest.raises(acc.Refused):
        acc.require_owner(ann, "bob")
    acc.require_owner(ann, "ANN")
    acc.require_owner(sue, "bob")
    with pytest.raises(acc.Refused, match="--caller may only name your own account"):
        acc.check_caller(ann, "bob")
    assert acc.check_caller(ann, None) == "ann"
    assert acc.check_caller(TRIAL, "anyone") == "anyone"
    # Refused changes leave no account and no audit row.
    assert acc.get_account(store, "sue").role == "supervisor"
    assert [e.subject for e in audit.entries(store, action="account.add")] == [
        "boss", "sue", "ann", "bob"]


def test_role_changes_disable_and_last_admin(store, now):
    admin = team(store, now)
    acc.set_role(store, "ann", "supervisor", actor=admin, now=now)
    assert acc.get_account(store, "ann").role == "supervisor"
    with pytest.raises(UserError, match="last active admin"):
        acc.set_role(store, "boss", "caller", actor=admin, now=now)
    with pytest.raises(UserError, match="last active admin"):
        acc.set_active(store, "boss", False, actor=admin, now=now)
    assert acc.get_account(store, "boss").role == "admin"
    acc.set_active(store, "bob", False, actor=admin, now=now)
    with pytest.raises(acc.LoginRefused, match="disabled"):
        acc.login(store, "bob", PW, now=now)
    rows = [(e.action, e.subject, e.details) for e in audit.entries(store, action="account")][4:]
    assert rows == [("account.role", "ann", {"from": "caller", "to": "supervisor"}),
                    ("account.disable", "bob", {})]


def test_an_admin_demoted_since_sign_in_is_refused(store, now):
    """A seat's Actor is read at sign-in; the accounts functions check the role the
    database has now, so a demoted or disabled admin's open seat manages nothing."""
    admin = team(store, now)
    acc.set_role(store, "sue", "admin", actor=admin, now=now)
    sue = acc.get_account(store, "sue").as_actor()            # signed in as an admin
    acc.set_role(store, "sue", "supervisor", actor=admin, now=now)
    before = len(audit.entries(store))
    with pytest.raises(acc.Refused, match="only an admin may manage accounts"):
        acc.set_role(store, "ann", "admin", actor=sue, now=now)
    with pytest.raises(acc.Refused):
        acc.add_account(store, "cy", "caller", password=PW, actor=sue, now=now)
    with pytest.raises(acc.Refused):
        acc.set_password(store, "ann", "another long one", actor=sue, now=now)
    acc.set_role(store, "sue", "admin", actor=admin, now=now)
    acc.set_active(store, "sue", False, actor=admin, now=now)
    with pytest.raises(acc.Refused, match="account sue is disabled"):
        acc.set_active(store, "ann", False, actor=sue, now=now)
    assert acc.get_account(store, "ann").role == "caller" and acc.get_account(store, "ann").active
    assert len(audit.entries(store)) == before + 2   # only boss's two changes


def test_bad_names_roles_and_short_passwords(store, now):
    with pytest.raises(UserError, match="account name"):
        acc.add_account(store, "no spaces", "caller", password=PW, actor=TRIAL, now=now)
    with pytest.raises(UserError, match="unknown role"):
        acc.add_account(store, "ann", "boss", password=PW, actor=TRIAL, now=now)
    with pytest.raises(UserError, match="at least 10 characters"):
        acc.add_account(store, "ann", "caller", password="short", actor=TRIAL, now=now)
    acc.add_account(store, "ann", "caller", password=PW, actor=TRIAL, now=now)
    with pytest.raises(UserError, match="already exists"):
        acc.add_account(store, "ANN", "caller", password=PW, actor=TRIAL, now=now)
    assert len(acc.list_accounts(store)) == 1


def test_login_lockout_and_its_expiry(store, now):
    team(store, now)
    assert acc.login(store, "ann", PW, now=now, seat="web").name == "ann"
    for i in range(4):
        with pytest.raises(acc.LoginRefused, match="wrong name or password"):
            acc.login(store, "ann", "guess", now=now + timedelta(seconds=i))
    with pytest.raises(acc.LoginRefused, match="locked for 15 minutes"):
        acc.login(store, "ann", "guess", now=now + timedelta(seconds=5))
    # Locked: even the right password is refused until the lock runs out.
    with pytest.raises(acc.LoginRefused, match="locked until 15:15 UTC"):
        acc.login(store, "ann", PW, now=now + timedelta(minutes=14))
    assert acc.login(store, "ann", PW, now=now + timedelta(minutes=15, seconds=5)).name == "ann"
    a = acc.get_account(store, "ann")
    assert a.failed_logins == 0 and a.locked_until is None
    kinds = [e.action for e in audit.entries(store, actor="ann")]
    assert kinds == ["login"] + ["login.failed"] * 5 + ["login.locked", "login.failed", "login"]


def test_a_lock_that_ran_out_starts_the_count_again(store, now):
    team(store, now)
    policy = policy_from_dict({"accounts": {"max_failed_logins": 2, "lockout_minutes": 5}})
    for i in range(2):
        with pytest.raises(acc.LoginRefused):
            acc.login(store, "bob", "x", now=now, policy=policy)
    assert acc.get_account(store, "bob").locked(now)
    later = now + timedelta(minutes=6)
    with pytest.raises(acc.LoginRefused, match="wrong name or password"):
        acc.login(store, "bob", "x", now=later, policy=policy)
    assert not acc.get_account(store, "bob").locked(later)
    assert acc.get_account(store, "bob").failed_logins == 1


def test_unknown_account_is_audited_without_saying_which_part_was_wrong(store, now):
    team(store, now)
    with pytest.raises(acc.LoginRefused, match="wrong name or password"):
        acc.login(store, "nobody", PW, now=now, seat="web")
    row = audit.entries(store, action="login.failed")[-1]
    assert row.subject == "nobody" and row.details == {"reason": "unknown account",
                                                       "seat": "web"}


def test_new_password_ends_a_lockout_and_own_password_change(store, now):
    admin = team(store, now)
    for _ in range(5):
        with pytest.raises(acc.LoginRefused):
            acc.login(store, "ann", "x", now=now)
    acc.set_password(store, "ann", "a new long password", actor=admin, now=now)
    assert acc.login(store, "ann", "a new long password", now=now).name == "ann"
    ann = acc.get_account(store, "ann").as_actor()
    acc.set_password(store, "ann", "my own new password", actor=ann, now=now)
    with pytest.raises(acc.Refused):
        acc.set_password(store, "bob", "not yours at all", actor=ann, now=now)


def test_policy_accounts_and_floor_sections():
    p = policy_from_dict({"accounts": {"idle_lock_minutes": 2},
                          "floor": {"pause_reasons": ["Break", "lunch"]}})
    assert p.accounts.idle_lock_minutes == 2 and p.accounts.max_failed_logins == 5
    assert p.floor.pause_reasons == ("break", "lunch")
    from calls.policy import _KeyError
    with pytest.raises(_KeyError, match="accounts.nope"):
        policy_from_dict({"accounts": {"nope": 1}})
    with pytest.raises(_KeyError, match="floor.pause_reasons"):
        policy_from_dict({"floor": {"pause_reasons": []}})
