"""Customer lists written by the tests themselves."""

from __future__ import annotations

import csv
from pathlib import Path


def write_list(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A CSV list with ``header`` and ``rows`` at ``path``; returns the path."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
