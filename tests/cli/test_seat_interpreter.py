"""The commands that open the app run in a seat's interpreter, ``python -OO`` (issue 18: a
seat's private memory; docstrings are ~2 MB of it): who is relaunched, how, and a real
shift in a terminal that runs that way from its first key to "Shift ended"."""

from __future__ import annotations

import importlib.util
import os
import re
import select
import sys
import time

import pytest

from calls import cli
from tests.support.tui import make_db
from tui.typeahead import LOOK_SECONDS

PYTHON = "/venv/bin/python3"
SCRIPT = "/venv/bin/carecall"


def relaunch(argv, *, orig=None, optimized=0, environ=None, ready=True):
    orig = [PYTHON, SCRIPT, *argv] if orig is None else orig
    return cli.seat_relaunch(argv, orig, PYTHON, optimized=optimized,
                             environ={} if environ is None else environ,
                             bytecode_ready=lambda: ready)


@pytest.mark.parametrize("argv", [
    [], ["-q"], ["shift"], ["shift", "--caller", "ann", "--db", "x.db"],
    ["-q", "shift", "--at", "2026-03-10T15:00"], ["dashboard"], ["demo"],
    ["demo", "--db", "demo.db"],
])
def test_the_commands_that_open_the_app_run_again_without_docstrings(argv):
    assert relaunch(argv) == [PYTHON, "-OO", SCRIPT, *argv]


@pytest.mark.parametrize("argv", [
    ["import", "list.csv"], ["report"], ["export", "calls", "-o", "c.csv"], ["serve"],
    ["users", "add", "ann"], ["queue", "--json"],
    ["shift", "--help"], ["-q", "dashboard", "-h"], ["demo", "--no-shift"],
    ["--install-completion"], ["--show-completion"], ["--version"], ["nonsense"],
])
def test_help_and_every_other_command_run_as_started(argv):
    """Help texts are docstrings (Typer's): a ``--help`` is answered with them; the other
    commands are short-lived and keep the interpreter they were started in."""
    assert relaunch(argv) is None


def test_the_interpreters_own_options_and_a_c_command_are_kept():
    """``carecall serve`` starts each browser seat as ``python -c "…main()" shift …``;
    options such as ``-X importtime`` stay where they were, after ``-OO``."""
    orig = [PYTHON, "-X", "importtime", "-c", "from calls.cli import main; main()", "shift",
            "--db", "x.db"]
    assert relaunch(["shift", "--db", "x.db"], orig=orig) == [PYTHON, "-OO", *orig[1:]]


@pytest.mark.parametrize("why", ["already -OO", "CARECALL_OPTIMIZE=0", "completion",
                                 "no optimized bytecode", "no interpreter line"])
def test_no_relaunch_when_it_would_loop_is_turned_off_or_would_compile_everything(why):
    kwargs = {
        "already -OO": {"optimized": 2},
        "CARECALL_OPTIMIZE=0": {"environ": {"CARECALL_OPTIMIZE": "0"}},
        "completion": {"environ": {"_CARECALL_COMPLETE": "bash_complete"}},
        "no optimized bytecode": {"ready": False},
        "no interpreter line": {"orig": []},
    }[why]
    assert relaunch(["shift"], **kwargs) is None
    # -O alone (asserts dropped, docstrings kept) still becomes -OO.
    assert relaunch(["shift"], optimized=1) is not None


def _package(tmp_path, monkeypatch, name="seatpkg"):
    folder = tmp_path / "lib" / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "app.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    monkeypatch.setattr(sys, "pycache_prefix", None)
    return folder


def test_optimized_bytecode_is_ready_when_compiled_or_writable(tmp_path, monkeypatch):
    folder = _package(tmp_path, monkeypatch)
    packages = (("seatpkg", "app.py"),)
    compiled = importlib.util.cache_from_source(str(folder / "app.py"), optimization=2)

    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert cli.seat_bytecode_ready(packages) is False          # none, and none written
    os.makedirs(os.path.dirname(compiled))
    open(compiled, "wb").close()
    assert cli.seat_bytecode_ready(packages) is True           # compiled (compileall -o 2)
    os.remove(compiled)

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert cli.seat_bytecode_ready(packages) is True           # the first start writes it
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert cli.seat_bytecode_ready(packages) is False          # a read-only install
    assert cli.seat_bytecode_ready((("no_such_package_here", "app.py"),)) is False


def _screen_text(raw: bytes) -> str:
    """What a terminal shows, roughly: the bytes without escape sequences."""
    text = raw.decode("utf-8", "replace")
    return re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*"
                  r"\x1b\\|.)", "", text)


def _read_until(fd: int, wanted: str, seen: bytearray, limit: float = 120.0) -> str:
    """Read the terminal until ``wanted`` shows (the limit only stops a hung test)."""
    end = time.monotonic() + limit
    while wanted not in _screen_text(bytes(seen)):
        if time.monotonic() > end:
            raise AssertionError(f"{wanted!r} never showed:\n{_screen_text(bytes(seen))[-3000:]}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:          # the seat ended and closed the terminal
                break
            if not chunk:
                break
            seen.extend(chunk)
    return _screen_text(bytes(seen))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and a pty")
def test_a_shift_in_a_terminal_runs_without_docstrings_and_works_a_call(tmp_path):
    """``carecall shift`` in a real terminal: the same process (one pid, as ssh and
    textual-serve see it) becomes ``python -OO …``, draws the queue, works a call (no
    answer, wrap-up) and ends the shift with its summary, exit 0."""
    import fcntl
    import pty
    import struct
    import termios

    db = make_db(tmp_path / "shift.db")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", cli.OPTIMIZE_VAR, "PYTHONOPTIMIZE")}
    # Compiled bytecode goes to a folder of the test's own (written on this first start).
    env.update(PYTHONPYCACHEPREFIX=str(tmp_path / "pyc"), TERM="xterm-256color",
               COLUMNS="80", LINES="24")
    argv = [sys.executable, "-c", "from calls.cli import main; main()", "shift", "--db",
            str(db), "--caller", "ann", "--at", "2026-03-10T15:00:00+00:00"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the seat
        try:
            os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = bytearray()
    try:
        _read_until(fd, "to call now", seen)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().split(b"\0")
        assert command[:2] == [sys.executable.encode(), b"-OO"], command
        assert b"shift" in command
        os.write(fd, b"n")                                  # take the top customer
        _read_until(fd, "Dial (312) 555-0101", seen)
        # A key typed before anyone could read the new card is not taken (the type-ahead
        # guard, tui/typeahead.py): look at it first, as a caller does.
        time.sleep(LOOK_SECONDS + 0.2)
        os.write(fd, b"n")                                  # no answer: the wrap-up
        _read_until(fd, "Save & next", seen)
        os.write(fd, b"\r")                                 # saved, the next customer
        _read_until(fd, "Bob Smith · Beta LLC", seen)
        time.sleep(LOOK_SECONDS + 0.2)
        os.write(fd, b"\x11")                               # ctrl+q: the shift's summary
        _read_until(fd, "Shift summary", seen)
        os.write(fd, b"q")
        shown = _read_until(fd, "Shift ended for ann", seen)
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "Shift ended for ann: 1 call, 0 contacts, 0 completes." in shown
    assert "Traceback" not in shown and "Error" not in shown
