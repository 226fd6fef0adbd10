"""The ``carecall`` command line: thin Typer commands over the core.

Each area registers its commands from ``calls/commands/<area>.py`` (``register(app)``).
A command line imports only the area it names: ``calls/commands/catalogue.py`` says which
area holds which command (and each command's one-line help, for ``carecall --help``
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

    from calls.commands import catalogue, common

    root = _root_app()
    for area in areas if areas is not None else catalogue.AREAS:
        importlib.import_module(f"calls.commands.{area}").register(root)
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


def run_shift_app(db_path, caller: str, *, script, policy, clock, actor=None,
                  seat: str = "terminal", config=None):
    """Build the shift app with the shared factory and run it; returns the shift's figures.

    The only places the core touches the UI: Textual is imported here, inside the
    functions that launch an app, never at module level.
    """
    from tui.app import make_app

    return make_app(db_path, caller, script=script, policy=policy, clock=clock, actor=actor,
                    seat=seat, config=config).run()


def check_ui_config(config) -> None:
    """Raise ``ConfigError`` for a ``[keymap]`` id or ``[ui] theme`` the app does not have
    (before the screen is taken over, so it is one line and exit 2)."""
    from tui.keymap import check_config

    check_config(config)


def run_dashboard_app(db_path, actor=None, config=None) -> None:
    """Run the supervisor's dashboard on the database: the same app as a shift
    (``make_app``), opened on the dashboard."""
    from tui.app import make_app

    make_app(db_path, actor.name if actor is not None else "", actor=actor, config=config,
             mode="dashboard").run()


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
        areas = ("shift_cmd",)            # no command: the shift (or root --help)
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
