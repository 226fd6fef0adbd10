"""A tiny full disk for tests: a small tmpfs where the tests run as root, else nothing."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "64k") -> Iterator[Path]:
    """Mount a ``size`` tmpfs on ``folder`` for the block; skip the test where that is
    not allowed (not root, or no mount in this container)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def fill(folder: Path, leave: int = 0) -> None:
    """Fill the disk under ``folder`` so that fewer than ``leave`` bytes stay free."""
    with open(folder / ".filler", "wb") as fh:
        chunk = b"x" * 1024
        with contextlib.suppress(OSError):
            while True:
                st = os.statvfs(folder)
                if st.f_bavail * st.f_frsize <= leave:
                    break
                fh.write(chunk)
                fh.flush()
