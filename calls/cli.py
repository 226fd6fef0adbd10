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

# The commands that open the app (``None``: no command, the shift). Their process is a
# seat, open all shift: it runs in an interpreter without docstrings (``python -OO``),
# ~2 MB less private memory per seat (docs/shift.md). Nothing a seat runs reads a
# docstring: their help is printed by a process that keeps them (``--help`` is not
# relaunched) and the command palette's texts are written out, not taken from ``__doc__``.
APP_COMMANDS = frozenset({"shift", "dashboard", "demo", None})
SEAT_OPTIMIZATION = 2
# "0" runs the app in the interpreter as started (with docstrings and asserts).
OPTIMIZE_VAR = "CARECALL_OPTIMIZE"
# A module of each package the seat imports most of: their optimized bytecode must be
# there or writable, or a seat would compile every module from source at each start.
_SEAT_PACKAGES = (("textual", "app.py"), ("tui", "app.py"))


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


def seat_relaunch(argv: list[str], orig_argv: list[str], executable: str, *,
                  optimized: int, environ, bytecode_ready) -> list[str] | None:
    """The command line that runs this same command in a seat's interpreter (``-OO``), or
    None when this process should go on as it is: a command that does not open the app,
    ``--help``, ``demo --no-shift``, shell completion, an interpreter already optimized,
    ``CARECALL_OPTIMIZE=0``, or no optimized bytecode to start from (``bytecode_ready()``
    False: compiling every module from source at each start would cost a second).

    ``orig_argv`` is the interpreter's own command line (``sys.orig_argv``): its options
    (``-X``, ``-c CODE``) and the script are kept, ``-OO`` put in front of them."""
    if optimized >= SEAT_OPTIMIZATION or not executable or not orig_argv:
        return None
    if environ.get(OPTIMIZE_VAR, "").strip() == "0" or environ.get(_COMPLETION_VAR):
        return None
    words = [word for word in argv if word not in _ROOT_FLAGS]
    # The first word names the command (a root option such as --install-completion is
    # none of the app's); no word at all opens the shift.
    if (words[0] if words else None) not in APP_COMMANDS:
        return None
    if any(word in ("--help", "-h", "--no-shift") for word in words):
        return None
    if not bytecode_ready():
        return None
    return [executable, "-" + "O" * SEAT_OPTIMIZATION, *orig_argv[1:]]


def seat_bytecode_ready(packages=_SEAT_PACKAGES) -> bool:
    """True when a ``-OO`` interpreter starts from compiled bytecode: each package's
    optimized ``.pyc`` is there, or Python may write it (the first start then writes it)."""
    import importlib.util
    import os

    for package, module in packages:
        spec = importlib.util.find_spec(package)  # finds a top-level package, imports nothing
        if spec is None or not spec.submodule_search_locations:
            return False
        source = os.path.join(next(iter(spec.submodule_search_locations)), module)
        try:
            cached = importlib.util.cache_from_source(source, optimization=SEAT_OPTIMIZATION)
        except NotImplementedError:
            return False
        if os.path.exists(cached):
            continue
        folder = os.path.dirname(cached)
        while folder and not os.path.isdir(folder):
            folder = os.path.dirname(folder)
        if sys.dont_write_bytecode or not folder or not os.access(folder, os.W_OK):
            return False
    return True


def _relaunch_as_seat(argv: list[str]) -> None:
    """Replace this process by the same command in a seat's interpreter, when it opens the
    app (``seat_relaunch``); returns only when it does not (or the exec fails)."""
    import os

    command = seat_relaunch(argv, list(getattr(sys, "orig_argv", ())), sys.executable,
                            optimized=sys.flags.optimize, environ=os.environ,
                            bytecode_ready=seat_bytecode_ready)
    if command is None:
        return
    try:
        os.execv(command[0], command)
    except OSError:
        return  # the app runs as it is, with docstrings: a little more memory, nothing lost


def main() -> None:
    """Console-script entry point: import only the named command's area, then run it.

    A command that opens the app first becomes a seat's interpreter (``-OO``).
    A locked database is a message, not a trace.
    """
    import os
    import sqlite3

    argv = sys.argv[1:]
    if _fast_answer(argv):
        return
    _relaunch_as_seat(argv)
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
