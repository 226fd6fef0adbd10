"""What every command shares: the ``--db`` option, opening the store, user errors."""

from __future__ import annotations

import contextlib
import copy
import getpass
import inspect
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, NoReturn

import typer
from typer.core import TyperGroup, TyperOption

from calls.errors import UserError
from calls.store import Store

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="CARECALL_DB",
        help="Database file (default: carecall.db in the user data dir).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CallerOption = Annotated[
    str | None,
    typer.Option("--caller", envvar="CARECALL_CALLER",
                 help="Caller name (default: your login name)."),
]

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        envvar="CARECALL_POLICY",
        help="Care policy TOML file (default: the built-in defaults).",
        show_default=False,
    ),
]


def choices(name: str, values) -> type[StrEnum]:
    """An enum of the words an option accepts, so ``--help`` lists them and Typer refuses
    anything else (exit 2); members are ``str``, so the core receives plain words."""
    return StrEnum(name, {v: v for v in values})


def _print_version(value: bool) -> None:
    if value:
        from calls import __version__

        print(f"carecall {__version__}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True,
                 help="Show carecall's version and exit."),
]
QuietOption = Annotated[
    bool,
    typer.Option("-q", "--quiet",
                 help="Print only what was asked for and errors: no progress bars or summaries."),
]

_quiet = {"on": False}


def set_quiet(on: bool) -> None:
    """``carecall -q``: no progress bars, no summary lines (results and errors still shown)."""
    _quiet["on"] = bool(on)


def quiet() -> bool:
    """True under ``carecall -q``."""
    return _quiet["on"]


def note(message: str) -> None:
    """A line on stderr about what was done (e.g. "N rows written"); silent under ``-q``."""
    if not _quiet["on"]:
        err_console.print(message, highlight=False, markup=False)


# Commands whose standard output is only a summary of what they changed: ``-q`` silences
# it (errors still go to stderr; ``--json`` output is still printed, it was asked for).
SUMMARY_COMMANDS = frozenset({
    ("import",), ("import-orders",), ("demo",), ("plan",), ("release",), ("log-call",),
    ("dnc", "add"), ("dnc", "import"), ("dnc", "remove"),
    ("followups", "add"), ("followups", "done"), ("followups", "cancel"),
    ("followups", "reschedule"), ("followups", "reassign"),
    ("customers", "add"), ("customers", "edit"), ("consent", "add"), ("consent", "withdraw"),
    ("users", "add"), ("users", "disable"), ("users", "passwd"), ("users", "role"),
    ("upgrade",),
})


def command_words(argv: list[str]) -> list[str]:
    """The command (and subcommand) a command line names: its first words after root flags."""
    words: list[str] = []
    for word in argv:
        if word.startswith("-"):
            if words:
                break
            continue
        words.append(word)
        if len(words) == 2:
            break
    return words


def _quiet_summary(argv: list[str]) -> bool:
    words = command_words(argv)
    if not words or ("-q" not in argv and "--quiet" not in argv) or "--json" in argv:
        return False
    return tuple(words[:1]) in SUMMARY_COMMANDS or tuple(words[:2]) in SUMMARY_COMMANDS


def root_callback(
    ctx: typer.Context,
    version: VersionOption = False,
    quiet: QuietOption = False,
) -> None:
    """Customer care-call programmes. With no command: open your call shift."""
    set_quiet(quiet)
    if ctx.invoked_subcommand is None:
        # The command that opens the shift is an area of the UI package (the core never
        # names it): run it as registered, as if `carecall shift` had been typed.
        shift = ctx.command.get_command(ctx, "shift")
        with shift.make_context("shift", [], parent=ctx) as shift_ctx:
            shift.invoke(shift_ctx)


class CarecallGroup(TyperGroup):
    """The root command group: every option's help shows a word for its value (FILE, N,
    DATE, the choices) and flags show none, instead of Typer's ``<str>``/``<bool>`` tags."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _name_values(self)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        """Run the command line; a usage error (a missing argument, a word not among the
        choices) is one line on stderr and exit 2, like every other user error."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        console.quiet = _quiet_summary(argv)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            err_console.print("Aborted.", highlight=False)
            sys.exit(1)
        except Exception as exc:
            # Typer's usage errors (its own copy of Click's ClickException, not exported)
            # carry a message and an exit code; anything else is a bug and propagates.
            if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
                raise
            hint = ""
            command = getattr(getattr(exc, "ctx", None), "command_path", None)
            if command:
                hint = f" (see {command} --help)"
            # Click lists a missing choice argument's words one a line: one line here.
            message = " ".join(exc.format_message().split())
            err_console.print(f"[bold red]error:[/] {escape(message)}{escape(hint)}",
                              highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        finally:
            console.quiet = False
            set_quiet(False)
        sys.exit(code if isinstance(code, int) else 0)


def _value_word(param) -> str:
    """What a reader should type for a parameter's value."""
    if not isinstance(param, TyperOption):
        return param.name.upper().replace("_", "-")
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:  # Typer 0.29 (a venv made before the pin below 0.29)
        if desc.is_choice:
            return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
        name = ("path" if desc.is_path else
                {int: "integer", float: "float"}.get(desc.annotation, "text"))
        info = desc.parameter_info
        dir_only = name == "path" and info.dir_okay and not info.file_okay
    else:                 # Typer 0.26-0.28: its own copy of Click's parameter types
        kind = param.type
        choices = getattr(kind, "choices", None)
        if choices:
            return "|".join(str(getattr(c, "value", c)) for c in choices)
        # IntRange / FloatRange (an option with min= or max=) are "int range" and
        # "float range": they take the same words as their plain types
        name = getattr(kind, "name", "").removesuffix(" range")
        name = "integer" if name == "int" else name
        dir_only = name == "path" and kind.dir_okay and not kind.file_okay
    if name == "path":
        return "DIR" if dir_only else "FILE"
    return {"integer": "N", "float": "NUMBER", "datetime": "DATE"}.get(name, "TEXT")


def _no_tag(param=None, ctx=None) -> str:
    return ""


def _name_values(command, depth: int = 0) -> None:
    # A group's --help lists its commands by their first paragraph, and in rich markup
    # Typer keeps that paragraph's line breaks ("closes now and" / "the customers..."):
    # a sub-command's line is the paragraph joined (the root's list is the catalogue's).
    if depth >= 2 and command.help and not command.short_help:
        first = inspect.cleandoc(command.help).split("\n\n")[0]
        if "\n" in first:
            command.short_help = " ".join(first.split())
    # The help option is made on first use and then kept: make it now, and show no tag.
    helper = command.get_help_option(SimpleNamespace(help_option_names=["--help"]))
    if helper is not None:
        helper.metavar = ""
    for param in command.params:
        is_option = isinstance(param, TyperOption)
        if param.metavar is None:
            flag = is_option and (param.is_flag or param.count)
            param.metavar = "" if flag else _value_word(param)
        if is_option and param.envvar:
            param.show_envvar = True
        if not is_option:
            # An argument's name already says what to type (REF, FILE): no second tag.
            param.display_type_rich = _no_tag           # Typer 0.29
            if hasattr(param, "type"):                  # Typer 0.26-0.28
                param.type = copy.copy(param.type)
                param.type.get_metavar = _no_tag
    for sub in getattr(command, "commands", {}).values():
        _name_values(sub, depth + 1)


def load_policy_option(path: Path | None):
    """The policy from ``--policy`` / ``$CARECALL_POLICY``, or fail with the file and key."""
    from calls.policy import load_policy

    with user_errors():
        return load_policy(path)


def escape(text: str) -> str:
    """``rich.markup.escape``: text typed by people (names, notes) printed as written."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class LazyConsole:
    """A Rich Console made on first use: a command that prints JSON or nothing (``queue
    --json``, ``-q``) never imports Rich (a third of ``carecall queue``'s start-up).
    Emoji codes off: Rich would print a customer's ``:smile:`` as an emoji (``escape``
    leaves emoji codes alone), not as on file."""

    def __init__(self, **options) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def _real(self):
        if self._console is None:
            from rich.console import Console

            object.__setattr__(self, "_console", Console(**{"emoji": False, **self._options}))
        return self._console

    def rich(self):
        """The Rich Console itself (for Rich objects that take one, e.g. a Progress)."""
        return self._real()

    def __getattr__(self, name: str):
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value) -> None:
        if self._console is None:       # e.g. quiet: kept until the console is made
            self._options[name] = value
        else:
            setattr(self._console, name, value)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


def fail(message: str) -> NoReturn:
    """Print one clear line on stderr and exit with code 2 (a user error)."""
    # The message may quote user input ("[x]", "a[/]"): never read it as Rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`UserError` into :func:`fail`."""
    try:
        yield
    except UserError as exc:
        fail(str(exc))


def check_at(text: str | None) -> str | None:
    """``--at`` as given (None when left out); a blank value is refused: it would quietly
    mean "now" to a script that meant to give a moment."""
    if text is not None and not text.strip():
        fail("--at is empty: give a moment such as 2026-03-10T15:00:00Z, or leave --at out "
             "for now")
    return text


def parse_at(text: str | None) -> datetime:
    """``--at``: an ISO 8601 moment (UTC when it has no offset), now when left out; a
    blank or unreadable value is refused with one line."""
    from calls.clock import now_utc, parse_user_moment

    if check_at(text) is None:
        return now_utc()
    with user_errors():
        return parse_user_moment(text)


def open_store(db: Path | None, *, create: bool = False) -> Store:
    """Open the database for a command, or fail with a clear message.

    Only commands that put something in (``create``: import, adding customers, numbers
    to the DNC list, accounts, a seat) start a new database; any other command on a
    path with no database says so, since a typo in ``--db`` must not show an empty
    report as if nothing had happened."""
    from calls.store import resolve_db_path

    with user_errors():
        if not create:
            path = resolve_db_path(db)
            if not path.exists():
                fail(f"no database at {path}: start one with `carecall import FILE` "
                     "(or try `carecall demo`), or name yours with --db or CARECALL_DB")
        return Store.open(db)


def resolve_caller(caller: str | None) -> str:
    """``--caller``, else ``CARECALL_CALLER``, else the login name."""
    if caller is not None and not caller.strip():
        # A blank name would own claims and follow-ups nobody can ask for by name.
        fail("--caller: give a name (or leave the option out)")
    if caller:
        return caller.strip()
    env = os.environ.get("CARECALL_CALLER")
    if env:
        return env
    from calls.config import default_setting

    configured = default_setting("caller")
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "caller"


def shared_ssh_login() -> bool:
    """True for a seat that came in over SSH as the service account itself (no sudo
    naming the person): everyone who connects with a forced command arrives as that one
    login, so it says nothing about who sits there, even though the first admin's
    account maps to it for the command line."""
    return bool(os.environ.get("SSH_CONNECTION")) and not os.environ.get("SUDO_USER")


def screen_actor(store: Store):
    """Who a terminal app (the dashboard) opens for without a password: the trial's
    person, or the account the OS login maps to; None for the login screen (an unmapped
    login, a disabled account, an SSH seat on the shared login)."""
    from calls.accounts import seat_actor, team_mode
    from calls.audit import os_login

    if team_mode(store) and shared_ssh_login():
        return None
    return seat_actor(store, os_login())


def cli_actor(store: Store):
    """Who runs this command: the account the OS login maps to once accounts are in force,
    else (the one-person trial) the OS login with every right. Refused: one line, exit 2."""
    from calls.accounts import cli_actor as actor_of
    from calls.audit import os_login

    with user_errors():
        return actor_of(store, os_login())


def note_policy(store: Store, policy, who: str | None = None) -> None:
    """Name the policy this command works under in the audit trail, when it is not the
    one last named for ``who`` (default: the command's actor); see
    :func:`calls.audit.note_policy`."""
    from calls.audit import note_policy as note
    from calls.clock import now_utc

    note(store, policy, who or cli_actor(store).name, now=now_utc())


def import_policy(store: Store, policy, who: str):
    """A block in which an import names the policy it tiers by (``policy.load``, when it
    is not the one last named for ``who``) in the transaction of the import's own audit
    row: an import that fails, is refused or is a dry run names nothing."""
    from calls.audit import note_policy as note
    from calls.clock import now_utc

    return store.with_import_audit(lambda s: note(s, policy, who, now=now_utc()))


def output_where(path: Path | str | None) -> str:
    """Where an export went, as the audit trail names it: the absolute path (a relative
    one says nothing once the shell that ran it is gone), or ``stdout``."""
    if path is None or str(path) == "-":
        return "stdout"
    return os.path.abspath(path)


def audit_rejects(store: Store, by: str, path: Path | None, rows: int, source: Path) -> None:
    """An import's rejected rows written to ``--rejects``: personal data leaving the
    database, so an ``export`` row (what, how many, where), like any other file written."""
    if path is None or not rows or str(path) == "-":
        return
    from calls import audit
    from calls.clock import now_utc

    audit.record(store, by, "export", "rejected rows",
                 {"rows": rows, "to": output_where(path), "from": output_where(source)}, now=now_utc())


def require(store: Store, permission: str):
    """The command's actor, after checking their role may ``permission`` (else exit 2)."""
    from calls.accounts import require as check

    actor = cli_actor(store)
    with user_errors():
        check(actor, permission)
    return actor


def caller_for(store: Store, caller: str | None) -> str:
    """The caller a command works as. In the trial: ``--caller``, ``$CARECALL_CALLER``, else
    the login name; with accounts: the OS login's account (``--caller`` may name only it)."""
    from calls.accounts import check_caller

    actor = cli_actor(store)
    if actor.solo:
        return resolve_caller(caller)
    with user_errors():
        return check_caller(actor, caller)


def stdout_is_terminal() -> bool:
    """True when a person is watching stdout (progress bars only then, never under -q)."""
    return sys.stdout.isatty() and not _quiet["on"]
