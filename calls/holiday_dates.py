"""Public holidays by country (and region) and year, computed once and kept on disk.

The ``holidays`` package is the source. Importing it and building one country's calendar
costs about 0.3 s of CPU (its ``countries`` package loads every country), more than the
rest of a ``carecall queue`` start-up together; a caller's terminal and every CLI command
would pay it again. So each (country, region, year) is computed once, written to a small
JSON file in the user cache folder, and read from there afterwards (well under a
millisecond). The files are keyed by the installed ``holidays`` package (its file's size
and modification time), so an upgrade recomputes them; a file that cannot be read or
written is simply recomputed. ``compute_holidays`` is the plain path; a test checks that
the cached answer equals it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import tempfile
from datetime import date
from pathlib import Path

APP_NAME = "carecall"


def compute_holidays(country: str, region: str | None, year: int) -> dict[date, str] | None:
    """The holidays of ``country`` (and ``region``, a state or province code) in ``year``,
    straight from the ``holidays`` package; None when it does not know the country. An
    unknown region falls back to the country's national holidays."""
    import holidays  # large: imported only when the cache cannot answer

    if country not in holidays.list_supported_countries():
        return None
    subdivisions = holidays.list_supported_countries()[country]
    subdiv = region if region in subdivisions else None  # unknown region: national days
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return {day: str(name) for day, name in sorted(calendar.items())}


@functools.lru_cache(maxsize=1)
def _package_stamp() -> str | None:
    """What identifies the installed ``holidays`` package, without importing it."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.origin:
        return None
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return None
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _cache_file(country: str, region: str | None, year: int) -> Path | None:
    stamp = _package_stamp()
    if stamp is None:
        return None
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir(APP_NAME, appauthor=False)) / "holidays" / stamp
    safe = "".join(ch for ch in f"{country}-{region or ''}-{year}" if ch.isalnum() or ch == "-")
    return folder / f"{safe}.json"


@functools.lru_cache(maxsize=1024)
def holidays_in(country: str, region: str | None, year: int) -> dict[date, str] | None:
    """:func:`compute_holidays`, answered from the cache on disk when it can be."""
    path = _cache_file(country, region, year)
    if path is not None:
        try:
            stored = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            stored = False
        if stored is None:
            return None
        if isinstance(stored, dict):
            return {date.fromisoformat(day): name for day, name in stored.items()}
    result = compute_holidays(country, region, year)
    if path is not None:
        _write(path, None if result is None else {d.isoformat(): n for d, n in result.items()})
    return result


def _write(path: Path, data) -> None:
    """Write the cache file whole (a temporary name, then a rename); never fail a call."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except OSError:
        # A read-only or full cache folder: the next process computes again.
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
