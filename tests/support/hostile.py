"""Helpers for hostile-input tests: what a refused command must leave and say."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def db_digest(path: Path) -> str:
    """A digest of every row of every table (the database's content, not its pages)."""
    if not path.exists():
        return "absent"
    digest = hashlib.sha256()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            digest.update(name.encode())
            # rows in a fixed order without rowid (a WITHOUT ROWID table has none)
            for text in sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{name}"')):
                digest.update(text.encode())
    finally:
        conn.close()
    return digest.hexdigest()


def one_clear_line(result) -> str:
    """Assert a CliRunner result is a user error: exit 2, one line, no traceback; the line."""
    output = result.output.strip()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output, result.output
    assert output.startswith("error:"), output
    assert len(output.splitlines()) == 1, output
    return output
