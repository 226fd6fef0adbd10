"""``carecall shift`` and ``carecall`` alone: what a user can get wrong is one line and exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from calls.cli import app
from calls.commands.app_start import parse_at
from calls.errors import UserError
from tests.support.tui import NOW, make_db

runner = CliRunner()


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _fails(args, needle):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    return result


def test_shift_needs_a_terminal(shift_db):
    _fails(["shift", "--db", str(shift_db)], "needs a terminal")


def test_no_command_opens_the_shift_and_needs_a_terminal(shift_db):
    _fails([], "needs a terminal")


def test_help_still_works():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "shift" in result.output
    result = runner.invoke(app, ["shift", "--help"])
    assert result.exit_code == 0 and "--at" in result.output


def test_bad_at_time(shift_db):
    _fails(["shift", "--db", str(shift_db), "--at", "tuesday-ish"], "--at")


def test_unknown_script(shift_db):
    _fails(["shift", "--db", str(shift_db), "--script", "no_such_script"], "no_such_script")


def test_missing_policy_file(shift_db, tmp_path):
    _fails(["shift", "--db", str(shift_db), "--policy", str(tmp_path / "nope.toml")],
           "nope.toml")


def test_database_path_is_a_directory(tmp_path):
    _fails(["shift", "--db", str(tmp_path)], "directory")


def test_parse_at():
    assert parse_at("2026-03-10T15:00:00Z") == NOW
    assert parse_at("2026-03-10T15:00") == NOW            # no offset: UTC
    assert parse_at("2026-03-10T10:00-05:00") == NOW
    assert parse_at(None) is None
    with pytest.raises(UserError):
        parse_at("10/03/2026")


def test_shift_at_far_year_is_one_line(db_path):
    from typer.testing import CliRunner

    from calls.cli import app

    result = CliRunner().invoke(app, ["shift", "--at", "0001-01-01T00:00Z"])
    assert result.exit_code == 2
    assert "too far from today" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("text", "needle"), [
    ('[ui]\ntheme = "no-such-look"\n', "[ui] theme: no theme 'no-such-look'"),
    ('[ui]\ntheme = 7\n', "[ui] theme must be text in quotes, not 7"),
    ('[keymap]\ncall-teleport = "t"\n', "[keymap] call-teleport: no such binding"),
    ('[keymap\n', "not valid TOML"),
])
def test_a_bad_config_file_is_one_line_naming_file_and_key(shift_db, tmp_path, monkeypatch,
                                                           text, needle):
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("CARECALL_CONFIG", str(config))
    result = _fails(["shift", "--db", str(shift_db)], needle)
    assert f"config file {config}" in result.output
    assert "needs a terminal" not in result.output   # found before anything else


def test_a_good_config_file_passes_on_to_the_terminal_check(shift_db, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\ncall-no-answer = "u"\n\n[ui]\ntheme = "nord"\n')
    monkeypatch.setenv("CARECALL_CONFIG", str(config))
    _fails(["shift", "--db", str(shift_db)], "needs a terminal")


def test_the_shift_end_line_counts_in_words(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from calls.commands import app_start, common

    said = []
    monkeypatch.setattr(common.console, "print", lambda text, **kw: said.append(text))
    start = app_start.ShiftStart(path=tmp_path / "x.db", caller="ann", actor=None,
                                 seat="terminal", script=None, policy=None, clock=None,
                                 config=None)
    app_start.say_shift_ended(start, SimpleNamespace(calls=1, contacts=0, completes=2))
    assert said == ["Shift ended for ann: 1 call, 0 contacts, 2 completes."]
    app_start.say_shift_ended(start, None)                       # never signed in
    app_start.say_shift_ended(
        app_start.ShiftStart(**{**start.__dict__, "seat": "web"}),  # a browser tab: no line
        SimpleNamespace(calls=1, contacts=1, completes=1))
    assert len(said) == 1


def test_a_shift_signed_in_on_the_login_screen_says_whose_shift_ended(monkeypatch, tmp_path):
    # A user's trial: a seat that opened on the login screen ended without the line.
    from types import SimpleNamespace

    import tui.app
    from calls.commands import app_start, common
    from tui import launch_cmd

    said = []
    monkeypatch.setattr(common.console, "print", lambda text, **kw: said.append(text))
    start = app_start.ShiftStart(path=tmp_path / "x.db", caller="", actor=None,
                                 seat="terminal", script=None, policy=None, clock=None,
                                 config=None)
    monkeypatch.setattr(app_start, "prepare_shift", lambda *a, **kw: start)

    class SignedInAtTheLoginScreen:
        signed_in, caller = True, "ann"

        def run(self):
            return SimpleNamespace(calls=2, contacts=1, completes=1)

    monkeypatch.setattr(tui.app, "make_app", lambda *a, **kw: SignedInAtTheLoginScreen())
    launch_cmd.open_shift(tmp_path / "x.db", None)
    assert said == ["Shift ended for ann: 2 calls, 1 contact, 1 complete."]


@pytest.mark.parametrize(("text", "needle"), [
    (None, "nope.toml"),
    ("[accounts]\ndashboard_idle_lock_minutes = 0\n", "accounts.dashboard_idle_lock_minutes"),
    ("[accounts\n", "not valid TOML"),
])
def test_the_dashboard_takes_policy_like_the_shift(shift_db, tmp_path, text, needle):
    """``carecall dashboard --policy FILE``: the same checks and the same one line (exit
    2) as ``carecall shift --policy FILE``, before anything else."""
    policy = tmp_path / "nope.toml"
    if text is not None:
        policy.write_text(text)
    said = [_fails([command, "--db", str(shift_db), "--policy", str(policy)], needle).output
            for command in ("shift", "dashboard")]
    assert said[0] == said[1] and len(said[0].strip().splitlines()) == 1
    assert "needs a terminal" not in said[1]


def test_the_dashboard_opens_with_the_policy_given(shift_db, tmp_path, monkeypatch):
    """The policy named reaches the dashboard's app (its idle lock's time), not
    ``CARECALL_POLICY``'s."""
    from types import SimpleNamespace

    import tui.app
    from calls.commands import app_start

    tty = SimpleNamespace(isatty=lambda: True)
    monkeypatch.setattr(app_start, "sys", SimpleNamespace(stdin=tty, stdout=tty))
    opened = {}

    def fake_app(path, caller, **kw):
        opened.update(kw)
        return SimpleNamespace(run=lambda: None, refusal=None)

    monkeypatch.setattr(tui.app, "make_app", fake_app)
    elsewhere = tmp_path / "env.toml"
    elsewhere.write_text("[accounts]\ndashboard_idle_lock_minutes = 99\n")
    monkeypatch.setenv("CARECALL_POLICY", str(elsewhere))
    given = tmp_path / "given.toml"
    given.write_text("[accounts]\ndashboard_idle_lock_minutes = 30\n")
    result = runner.invoke(app, ["dashboard", "--db", str(shift_db), "--policy", str(given)])
    assert result.exit_code == 0, result.output
    assert opened["mode"] == "dashboard"
    assert opened["policy"].accounts.dashboard_idle_lock_minutes == 30
    result = runner.invoke(app, ["dashboard", "--db", str(shift_db)])
    assert opened["policy"].accounts.dashboard_idle_lock_minutes == 99
