"""One way to write an output file: exports, the HTML report, follow-up lists, rejects.

- A regular file (or a name that does not exist yet) is written to a temporary file in
  the same folder, created readable by its owner only (0600: what we write holds personal
  data), and renamed over the target once complete. An interrupted or failed write never
  leaves half a file under the real name and never touches the old file.
- Anything else is written straight: a named pipe (its reader gets the rows), a device
  (``/dev/null``, ``/dev/full``, a terminal), ``-`` or None for standard output. Renaming a
  file over a pipe or a device would replace it with a plain file.
- A failed write (a full disk, a reader that closed the pipe, no permission) removes what
  it started and raises one :class:`UserError` that names the target and the reason.

A symbolic link to a regular file is followed: the file it points to is replaced and the
link stays.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from calls.errors import UserError

STDOUT = "-"


def describe(target: str | os.PathLike | None) -> str:
    """How a target is named in messages."""
    return "standard output" if _is_stdout(target) else str(target)


def _is_stdout(target) -> bool:
    return target is None or str(target) == STDOUT


@contextlib.contextmanager
def open_output(
    target: str | os.PathLike | None, *, binary: bool = False, label: str | None = None
) -> Iterator[IO]:
    """A stream to write ``target`` (a path, ``-`` or None for standard output).

    Text streams are UTF-8 with no newline translation (what is written is what lands:
    CSV's ``\\r\\n`` stays). ``label`` names the option in messages (``--rejects``).
    On leaving the block without an error the output is complete (renamed into place);
    an ``OSError`` inside the block becomes a :class:`UserError`, any other error is
    re-raised, and in both cases a temporary file is removed.
    """
    name = f"{describe(target)} ({label})" if label else describe(target)
    if _is_stdout(target):
        with _straight_stdout(binary, name) as fh:
            yield fh
        return
    path = Path(os.path.expanduser(os.fspath(target)))
    mode = _mode_of(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise UserError(f"cannot write {name}: it is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        with _straight(path, binary, name) as fh:
            yield fh
        return
    with _replacing(Path(os.path.realpath(path)), binary, name) as fh:
        yield fh


def _mode_of(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode       # follows a symbolic link
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


def _wrap(fd: int, binary: bool) -> IO:
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _failure(name: str, exc: OSError, left: str) -> UserError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return UserError(f"cannot write {name}: {reason}{left}")


@contextlib.contextmanager
def _replacing(path: Path, binary: bool, name: str) -> Iterator[IO]:
    """A temporary 0600 file beside ``path``, renamed over it when the block succeeds."""
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {name}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise _failure(name, exc, "") from None
    # mkstemp creates the file 0600 whatever the umask: exactly what personal data needs.
    fh = _wrap(fd, binary)
    unchanged = " (nothing written)" if not path.exists() else f" ({path.name} is unchanged)"
    try:
        try:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())      # complete on disk before it takes the real name
            fh.close()
            os.replace(tmp, path)
        finally:
            if not fh.closed:
                with contextlib.suppress(OSError):
                    fh.close()
    except OSError as exc:
        _remove(tmp)
        raise _failure(name, exc, unchanged) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


@contextlib.contextmanager
def _straight(path: Path, binary: bool, name: str) -> Iterator[IO]:
    """A pipe or a device, written in place (opening a pipe waits for its reader)."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise _failure(name, exc, "") from None
    fh = _wrap(fd, binary)
    try:
        try:
            yield fh
            fh.flush()
        finally:
            with contextlib.suppress(OSError):
                fh.close()
    except OSError as exc:
        raise _failure(name, exc, "") from None


@contextlib.contextmanager
def _straight_stdout(binary: bool, name: str) -> Iterator[IO]:
    """Standard output (as it is at the time of the call: a test runner may replace it)."""
    out = sys.stdout
    fh: IO = out.buffer if binary else out
    try:
        yield fh
        fh.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            _silence_stdout(out)
        raise _failure(name, exc, "") from None


def _silence_stdout(out: IO) -> None:
    """After the reader of stdout went away, point stdout at /dev/null so that Python's
    own flush at exit does not print a second error (as the Python docs advise)."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
