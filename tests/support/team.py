"""Test helpers for accounts: a team in a database, and acting as an OS login."""

from __future__ import annotations

from calls import accounts as acc

PW = "correct horse battery"


def as_os_login(monkeypatch, login: str) -> None:
    """Run the next commands as if ``login`` were the OS user (getpass reads LOGNAME first)."""
    monkeypatch.delenv("SUDO_USER", raising=False)
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, login)


def make_team(store, now) -> None:
    """boss (admin, OS login boss), sue (supervisor, OS login sue), ann and bob (callers,
    OS logins ann and bob); every password is PW."""
    trial = acc.trial_actor("setup")
    acc.add_account(store, "boss", "admin", password=PW, actor=trial, now=now, os_login="boss")
    admin = acc.get_account(store, "boss").as_actor()
    for name, role in (("sue", "supervisor"), ("ann", "caller"), ("bob", "caller")):
        acc.add_account(store, name, role, password=PW, actor=admin, now=now, os_login=name,
                        display=f"{name.title()} Lee")
