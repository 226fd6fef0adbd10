"""carecall users: add / list / passwd / role / disable, the first admin, refusals exit 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from calls import accounts as acc
from calls import audit
from calls.cli import app
from tests.support.team import PW, as_os_login, make_team

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def test_first_admin_maps_to_the_os_login_and_starts_the_team(store, monkeypatch):
    as_os_login(monkeypatch, "carecall")
    assert "one-person trial" in run("users", "list").stdout
    added = run("users", "add", "boss", "--role", "admin", "--password-stdin", input=PW + "\n")
    assert added.exit_code == 0, added.output
    assert "OS login carecall" in added.stdout and "accounts are now in force" in added.stdout
    out = run("users", "add", "ann", "--role", "caller", "--display", "Ann Lee",
              "--login", "ann", "--password-stdin", input=PW + "\n")
    assert out.exit_code == 0, out.output
    data = json.loads(run("users", "list", "--json").stdout)
    assert [(d["name"], d["role"], d["login"]) for d in data] == [
        ("ann", "caller", "ann"), ("boss", "admin", "carecall")]
    assert "password_hash" not in data[0] and all(PW not in json.dumps(d) for d in data)
    assert acc.verify_password(store.scalar("SELECT password_hash FROM accounts "
                                            "WHERE name='ann'"), PW)
    rows = [(e.actor, e.action, e.subject) for e in audit.entries(store)]
    assert rows == [("carecall", "account.add", "boss"), ("boss", "account.add", "ann")]


def test_role_passwd_disable(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "boss")
    assert run("users", "role", "ann", "supervisor").exit_code == 0
    assert acc.get_account(store, "ann").role == "supervisor"
    out = run("users", "passwd", "bob", "--password-stdin", input="another long one\n")
    assert out.exit_code == 0, out.output
    assert acc.login(store, "bob", "another long one", now=now).name == "bob"
    assert run("users", "disable", "bob").exit_code == 0
    assert not acc.get_account(store, "bob").active
    assert run("users", "enable", "bob").exit_code == 0
    kinds = [e.action for e in audit.entries(store, actor="boss")][3:]
    assert kinds == ["account.role", "account.password", "account.disable", "account.enable"]


def test_callers_and_strangers_are_refused_in_one_line(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "ann")
    out = run("users", "add", "eve", "--role", "admin", "--password-stdin", input=PW + "\n")
    assert out.exit_code == 2 and "only an admin may manage accounts" in out.stderr
    assert out.stderr.count("\n") == 1
    out = run("users", "list")
    assert out.exit_code == 2 and "only a supervisor or admin may list the accounts" in out.stderr
    out = run("audit")
    assert out.exit_code == 2 and "refused" in out.stderr
    as_os_login(monkeypatch, "sue")  # a supervisor lists accounts but does not manage them
    assert run("users", "list").exit_code == 0 and run("audit").exit_code == 0
    out = run("users", "role", "ann", "admin")
    assert out.exit_code == 2 and "only an admin may manage accounts (sue is a supervisor)" \
        in out.stderr
    assert run("users", "disable", "bob").exit_code == 2
    as_os_login(monkeypatch, "stranger")
    out = run("users", "list")
    assert out.exit_code == 2 and "OS login 'stranger' has no carecall account" in out.stderr
    assert [a.name for a in acc.list_accounts(store)] == ["ann", "bob", "boss", "sue"]


def test_a_sudo_seat_is_the_person_sudo_names(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "carecall")
    monkeypatch.setenv("SUDO_USER", "sue")
    assert run("users", "list").exit_code == 0  # sue is a supervisor
    monkeypatch.setenv("SUDO_USER", "ann")
    assert run("users", "list").exit_code == 2


def test_an_ssh_seat_on_the_shared_login_signs_in(store, now, monkeypatch):
    """Seats that SSH in as the service account (a forced command) all arrive as one OS
    login, which the first admin's account maps to for the command line: such a seat
    opens on the login screen, never as the admin. Through sudo it is the person sudo
    names; at the server's own console, the mapped account."""
    from calls.commands.app_start import seat_for

    make_team(store, now)
    as_os_login(monkeypatch, "boss")   # the service account's login: boss's for the CLI
    assert seat_for(store, None, served=False).name == "boss"
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 52144 192.0.2.1 22")
    assert seat_for(store, None, served=False) is None
    assert seat_for(store, "boss", served=False) is None   # --caller proves nothing either
    monkeypatch.setenv("SUDO_USER", "ann")
    assert seat_for(store, None, served=False).name == "ann"
    monkeypatch.delenv("SUDO_USER")
    assert run("users", "list").exit_code == 0   # the command line stays the admin's


def test_an_existing_account_is_mapped_to_an_os_login_and_back(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "ann")
    refused = run("users", "login", "bob", "bob_unix")
    assert refused.exit_code == 2 and "only an admin may manage accounts" in refused.stderr
    as_os_login(monkeypatch, "boss")
    out = run("users", "login", "ann", "ann_unix")
    assert out.exit_code == 0 and "ann: OS login ann_unix" in out.stdout
    taken = run("users", "login", "bob", "ann_unix")
    assert taken.exit_code == 2 and "already maps to account ann" in taken.stderr
    assert run("users", "login", "ann").exit_code == 2           # neither a login nor --none
    assert run("users", "login", "ann", "x", "--none").exit_code == 2
    assert "no OS login" in run("users", "login", "ann", "--none").stdout
    assert acc.get_account(store, "ann").os_login is None
    assert [(e.actor, e.subject, e.details) for e in audit.entries(
        store, action="account.login")] == [
        ("boss", "ann", {"from": "ann", "to": "ann_unix"}), ("boss", "ann", {"from": "ann_unix"})]


def test_bad_input_exit_2(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "boss")
    out = run("users", "add", "x", "--role", "caller")  # no terminal for the prompt
    assert out.exit_code == 2 and "--password-stdin" in out.stderr
    out = run("users", "add", "x", "--role", "caller", "--password-stdin", input="short\n")
    assert out.exit_code == 2 and "at least 10 characters" in out.stderr
    out = run("users", "role", "ann", "king")
    assert out.exit_code == 2 and "unknown role" in out.stderr
    out = run("users", "passwd", "nobody", "--password-stdin", input=PW + "\n")
    assert out.exit_code == 2 and "no account named 'nobody'" in out.stderr
    out = run("users", "add", "ann", "--role", "caller", "--password-stdin", input=PW + "\n")
    assert out.exit_code == 2 and "already exists" in out.stderr


def test_a_terminal_seat_may_name_only_its_own_account(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "ann")
    out = run("shift", "--caller", "bob")
    assert out.exit_code == 2 and "--caller may only name your own account (ann)" in out.stderr
    out = run("queue", "--caller", "bob")
    assert out.exit_code == 2 and "your own account" in out.stderr
    assert run("queue", "--caller", "ann", "--json").exit_code == 0


def test_the_dashboard_command_signs_in_an_unmapped_login(store, now, monkeypatch):
    """An OS login with no account is not refused by carecall dashboard: the app opens
    on its login screen (here there is no terminal to draw on); a mapped caller is
    refused in one line before anything is drawn."""
    make_team(store, now)
    as_os_login(monkeypatch, "carecall")
    out = run("dashboard")
    assert out.exit_code == 2 and "the dashboard needs a terminal" in out.stderr
    as_os_login(monkeypatch, "ann")
    out = run("dashboard")
    assert out.exit_code == 2 and (
        "only a supervisor or admin may open the dashboard (ann is a caller)" in out.stderr)


def test_the_command_lines_own_os_login_is_not_taken_from_it(store, now, monkeypatch):
    # A user's trial: `users login root --none` by the admin mapped to root left every
    # command on that login refused, `users login` included: no way back but the file.
    make_team(store, now)
    as_os_login(monkeypatch, "boss")
    boss = acc.get_account(store, "boss")
    assert boss.os_login == "boss"
    for args in (("boss", "--none"), ("boss", "elsewhere")):
        refused = run("users", "login", *args)
        assert refused.exit_code == 2, refused.output
        assert ("refused: boss is the OS login this command line runs as, and it maps to "
                "boss") in " ".join(refused.stderr.split())
        assert refused.stderr.count("\n") == 1
    assert acc.get_account(store, "boss").os_login == "boss"
    assert run("users", "list").exit_code == 0       # the command line still knows boss
    assert run("users", "login", "boss", "boss").exit_code == 0   # the same: nothing taken
