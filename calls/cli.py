"""The ``carecall`` command line: thin Typer commands over the core.

Each area registers its commands from ``calls/commands/<area>.py`` (``register(app)``).
A command line imports only the area it names: ``calls/commands/catalogue.py`` says which
area holds which command (the commands that open the app are the area ``tui.launch_cmd``) (and each command's one-line help, for ``carecall --help``
without importing any area). ``calls.cli.app`` is the whole app, every area registered
(tests and shell completion use it).
"""

from __future__ import annotations

import sys

# Root options that take no value, so the first other word is the command's name.
_ROOT_FLAGS = {"-q", "--quiet"}
_COMPLETION_VAR = "_CARECALL_COMPLETE"


def _root_app():
    """A Typer app with the root options and no command registered yet."""
    import typer

    from calls.commands import common

    root = typer.Typer(
        cls=common.CarecallGroup,
        name="carecall",
        help="Customer care-call programmes: import lists, work the call queue, report.",
        no_args_is_help=False,
        add_completion=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
    )

    root.callback(invoke_without_command=True)(common.root_callback)
    return root


def build_app(areas: tuple[str, ...] | None = None):
    """The Typer app with ``areas`` registered (all of them when None)."""
    import importlib

    from calls.commands import catalogue

    root = _root_app()
    for area in areas if areas is not None else catalogue.AREAS:
        importlib.import_module(area).register(root)
    return root


def _command_word(argv: list[str]) -> str | None:
    """The command a command line names (the first word that is not a root flag)."""
    for word in argv:
        if word in _ROOT_FLAGS:
            continue
        return None if word.startswith("-") else word
    return None


def _fast_answer(argv: list[str]) -> bool:
    """Answer ``--help`` and ``--version`` without importing Typer; True when answered."""
    if argv in (["--help"], ["-h"]):
        from calls.commands import catalogue

        sys.stdout.write(catalogue.root_help())
        return True
    if argv == ["--version"]:
        from calls import __version__

        sys.stdout.write(f"carecall {__version__}\n")
        return True
    return False


def main() -> None:
    """Console-script entry point: import only the named command's area, then run it.

    A locked database is a message, not a trace.
    """
    import os
    import sqlite3

    argv = sys.argv[1:]
    if _fast_answer(argv):
        return
    from calls.commands import catalogue, common

    word = _command_word(argv)
    area = catalogue.COMMANDS.get(word, (None,))[0] if word else None
    if os.environ.get(_COMPLETION_VAR) or (word is not None and area is None):
        areas = None                      # completion or an unknown word: everything
    elif word is None:
        areas = (catalogue.COMMANDS["shift"][0],)  # no command: the shift (or root --help)
    else:
        areas = (area,)
    try:
        build_app(areas)(prog_name="carecall")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            common.err_console.print(
                "[bold red]error:[/] the database is busy (another carecall is writing); "
                "try again in a moment"
            )
            sys.exit(2)
        raise


def __getattr__(name: str):
    # ``calls.cli.app``: the whole app, built on first use (tests, completion scripts).
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)
