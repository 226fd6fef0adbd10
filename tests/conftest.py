"""Shared fixtures: a fresh database file per test, and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calls.store import Store

# A fixed "now" for tests: a Tuesday afternoon in UTC (morning in the Americas).
FIXED_NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own data, config and cache folders: nothing a test does may touch
    the user's real ~/.local/share/carecall or ~/.config/carecall, and a developer's own
    environment (CARECALL_* variables, a config file) must not change a test's result."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
        (home / sub).mkdir()
        monkeypatch.setenv(var, str(home / sub))
    import os

    for var in [v for v in os.environ if v.startswith("CARECALL_")]:
        monkeypatch.delenv(var, raising=False)
    # Who sits at a seat is read from these (sudo's user, an SSH seat on the shared login):
    # a test run through sudo or over SSH must not change whose seat a test opens.
    for var in ("SUDO_USER", "SSH_CONNECTION"):
        monkeypatch.delenv(var, raising=False)


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


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """argon2 with the production cost takes a good part of a second per hash on a busy
    machine; tests hash with the same algorithm at its smallest cost."""
    from argon2 import PasswordHasher

    import calls.accounts

    monkeypatch.setattr(calls.accounts, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
