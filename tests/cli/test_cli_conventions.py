"""CLI conventions: --version, the fast --help, one-line usage errors, -q, choices, help
without type tags, environment variables declared on the options."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from calls import __version__
from calls.cli import _command_word, app, build_app
from calls.commands import catalogue

runner = CliRunner()


def _all_commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _all_commands(command, (*path, name))


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.output.strip() == f"carecall {__version__}"


def test_catalogue_matches_the_live_commands():
    """The fast --help and the lazy import read the catalogue: it must say what the app has.
    After adding or re-wording a command: python scripts/update_cli_catalogue.py"""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
    try:
        from update_cli_catalogue import live_commands
    finally:
        sys.path.pop(0)
    assert catalogue.COMMANDS == live_commands(), (
        "calls/commands/catalogue.py is out of date: run python scripts/update_cli_catalogue.py")


def test_fast_help_lists_every_command_with_its_help():
    text = catalogue.root_help(width=100)
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        if not command.hidden:
            assert re.search(rf"^  {re.escape(name)}\s", text, re.MULTILINE), name
    assert "--version" in text and "--quiet" in text


def test_help_from_a_real_process_imports_no_typer():
    code = ("import sys; sys.argv = ['carecall', '--help']; import calls.cli as c; c.main(); "
            "print('typer' in sys.modules, 'calls.commands.queue_cmd' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "Commands:" in out
    assert out.strip().splitlines()[-1] == "False False"


def test_a_command_imports_only_its_area():
    code = ("import sys; sys.argv = ['carecall', 'script', 'list']\n"
            "import calls.cli as c\n"
            "try:\n    c.main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('calls.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = out.strip().splitlines()[-1]
    assert "script_cmd" in loaded
    for other in ("import_cmd", "queue_cmd", "report_cmd", "followups_cmd", "orders_cmd"):
        assert other not in loaded


@pytest.mark.parametrize(("argv", "word"), [
    (["queue", "--json"], "queue"), (["-q", "import", "x.csv"], "import"), (["--help"], None),
    ([], None),
])
def test_command_word(argv, word):
    assert _command_word(argv) == word


def test_no_type_tags_in_any_help():
    group = typer.main.get_command(app)
    for path, _command in _all_commands(group):
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert r.exit_code == 0, (path, r.output)
        tags = re.findall(r"<(?:str|bool|int|float|path|datetime)[^>]*>", r.output)
        assert not tags, (path, tags)


def test_numbers_are_named_as_numbers_in_every_help():
    """An option that takes a whole number says N (also with min=/max=, `[1<=x<=10000]`),
    a decimal NUMBER; never TEXT."""
    group = typer.main.get_command(app)
    checked = 0
    for path, command in _all_commands(group):
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        for param in command.params:
            kind = getattr(param.type, "name", "")
            word = {"integer": "N", "int": "N", "float": "NUMBER"}.get(kind.removesuffix(" range"))
            if word is None or not param.opts:
                continue
            # the option's own row (its name first, maybe after a short alias)
            row = re.search(rf"^\W*(?:-\w,?\s+)?{re.escape(param.opts[-1])}\s.*$",
                            r.output, re.MULTILINE)
            if row is None:         # a hidden option
                continue
            assert re.search(rf"{re.escape(param.opts[-1])}\s+(?:-\w\s+)?{word}\b",
                             row[0]), (path, row[0])
            checked += 1
    assert checked >= 5


def test_environment_variables_shown_on_their_options():
    r = runner.invoke(app, ["queue", "--help"], env={"COLUMNS": "120"})
    for var in ("CARECALL_DB", "CARECALL_CALLER"):
        assert f"env var: {var}" in r.output


def test_usage_errors_are_one_line_exit_2():
    for args in (["report", "--by", "planet"], ["followups", "--kind", "cake"],
                 ["export"], ["no-such-command"], ["consent", "add", "C1"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert len(lines) == 1, (args, r.output)
        assert lines[0].startswith("error:"), r.output
        assert "╭" not in r.output
    r = runner.invoke(app, ["consent", "add", "C1"])
    assert r.output.startswith("error: Missing argument 'WHAT'. Choose from: calls, marketing, "
                               "recording, share (see carecall consent add --help)"), r.output


def test_choices_are_listed_and_case_insensitive(store):
    r = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "120"})
    assert "caller|tier|script|week" in r.output
    r = runner.invoke(app, ["report", "--by", "TIER", "--json"])
    assert r.exit_code == 0, r.output


def test_old_e_option_still_works_hidden(store):
    r = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "120"})
    assert "--eligible-share" in r.output and "--e " not in r.output
    old = runner.invoke(app, ["report", "--e", "0.5", "--json"])
    new = runner.invoke(app, ["report", "--eligible-share", "0.5", "--json"])
    assert old.exit_code == new.exit_code == 0
    assert json.loads(old.output)["aapor"] == json.loads(new.output)["aapor"]


def test_quiet_silences_summaries_not_results_or_errors(db_path, tmp_path):
    listing = tmp_path / "c.csv"
    listing.write_text("id,name,phone,country\nC1,Ann,+12125550100,US\n")
    loud = runner.invoke(app, ["import", str(listing)])
    assert loud.exit_code == 0 and "Imported" in loud.output
    quiet = runner.invoke(app, ["-q", "import", str(listing)])
    assert quiet.exit_code == 0 and quiet.output.strip() == ""
    data = runner.invoke(app, ["-q", "import", str(listing), "--json"])
    assert data.output.strip().startswith("{")
    bad = runner.invoke(app, ["-q", "import", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2 and "error:" in bad.output
    listed = runner.invoke(app, ["-q", "customers", "show", "C1"])
    assert "Ann" in listed.output


def test_build_app_registers_only_what_it_is_given():
    group = typer.main.get_command(build_app(("calls.commands.script_cmd",)))
    assert set(group.commands) == {"script"}


@pytest.mark.parametrize("command", [["report"], ["queue"], ["export", "calls"], ["audit"],
                                     ["followups"], ["users", "list"], ["dnc", "list"]])
def test_a_command_on_a_database_that_is_not_there_says_so_and_creates_nothing(
        tmp_path, command):
    typo = tmp_path / "carecal.db"
    r = runner.invoke(app, [*command, "--db", str(typo)])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        (f"error: no database at {typo}: start one with `carecall import FILE` (or try "
         "`carecall demo`), or name yours with --db or CARECALL_DB")]
    assert not typo.exists()


def test_import_starts_a_new_database(tmp_path):
    listing = tmp_path / "c.csv"
    listing.write_text("id,name,phone,country\nC1,Ann,+12125550100,US\n")
    fresh = tmp_path / "new.db"
    assert runner.invoke(app, ["import", str(listing), "--db", str(fresh)]).exit_code == 0
    assert runner.invoke(app, ["report", "--db", str(fresh)]).exit_code == 0


def test_a_group_lists_each_command_on_one_line_however_its_docstring_is_wrapped():
    """``users --help`` listed ``disable`` as "... closes now and" / "the customers it
    claimed ...": the docstring's line break kept in the middle of a sentence."""
    group = typer.main.get_command(app)
    checked = 0
    for path, command in _all_commands(group):
        if len(path) != 2 or command.hidden:
            continue
        first = " ".join(command.help.split("\n\n")[0].split())
        if len(first) > 150:
            continue
        r = runner.invoke(app, [path[0], "--help"], env={"COLUMNS": "250"})
        assert any(path[1] in line and line.strip(" │").endswith(first)
                   for line in r.output.splitlines()), (path, r.output)
        checked += 1
    assert checked >= 30
