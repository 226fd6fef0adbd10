"""Shared fixtures: a fresh database file per test, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calls.store import Store

# A fixed "now" for tests: a Tuesday afternoon in UTC (morning in the Americas).
FIXED_NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    """A database path in a temp dir; CARECALL_DB points at it for CLI tests."""
    path = tmp_path / "carecall.db"
    monkeypatch.setenv("CARECALL_DB", str(path))
    return path


@pytest.fixture
def store(db_path):
    """An open, migrated store on a fresh file."""
    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture
def now():
    return FIXED_NOW
