"""The store: one SQLite database that owns the schema, its migrations and every query.

Open it with :meth:`Store.open`. Area modules beside this one (``customers``, ``calls``,
``followups`` ...) hold the queries; they take a :class:`Store` and return dataclasses.

Concurrency rules (several callers share one database file):

- WAL mode, ``synchronous=NORMAL``, a busy timeout on every connection.
- A write that depends on what it read (claiming a customer, upserting a row) runs inside
  :meth:`Store.write`, which starts with ``BEGIN IMMEDIATE`` so the write lock is taken
  before the read; a deferred transaction that upgrades to a write can fail at once with
  "database is locked" whatever the busy timeout, an immediate one waits its turn.
- One :class:`Store` (one connection) per thread. The TUI opens one per worker thread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import sqlite_utils

from calls.errors import UserError

# How long a connection waits for another writer before SQLite gives up (milliseconds).
BUSY_TIMEOUT_MS = 30_000
# Read through a memory map: the queue and the reports read rows scattered over a large
# file, and mapped pages are shared by every connection instead of copied into each one's
# small page cache (2-3x faster queue on a million customers, scripts/bench_queue.py).
MMAP_BYTES = 1 << 30
# Extra, application-level retries when SQLite still reports the database as locked
# (e.g. a checkpoint racing a writer); each retry backs off a little longer.
LOCK_RETRIES = 8

APP_NAME = "carecall"


def default_db_path() -> Path:
    """The database in the user's data directory (platformdirs), e.g. ~/.local/share/carecall."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "carecall.db"


def resolve_db_path(db: str | os.PathLike | None) -> Path:
    """``--db PATH``, else ``CARECALL_DB``, else ``[defaults] db`` in the config file,
    else the user data directory."""
    if db:
        return Path(db).expanduser()
    env = os.environ.get("CARECALL_DB")
    if env:
        return Path(env).expanduser()
    from calls.config import default_setting

    configured = default_setting("db")
    if configured:
        return Path(configured).expanduser()
    return default_db_path()


def _create_private_file(path: Path) -> None:
    """Create an empty database file readable and writable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's 'database is locked' / 'busy' errors."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


class Store:
    """An open carecall database: a sqlite-utils ``Database`` plus transaction helpers."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None):
        self.db = db
        self.path = path
        self._write_depth = 0
        self._thread = threading.get_ident()

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, migrate: bool = True) -> Store:
        """Open (creating if needed, owner-only) the database at ``path`` and migrate it.

        ``path`` goes through :func:`resolve_db_path`; ``":memory:"`` opens a private
        in-memory database (tests).
        """
        if str(path) == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            store = cls(sqlite_utils.Database(conn, execute_plugins=False), None)
        else:
            resolved = resolve_db_path(path)
            if resolved.exists() and resolved.is_dir():
                raise UserError(f"{resolved} is a directory, not a database file")
            # A new database may be created anywhere the user points, but not in a folder
            # that does not exist: that is nearly always a typo in --db / CARECALL_DB. Only
            # the user data directory (the default location) is created on first use.
            if not resolved.parent.exists() and resolved.parent != default_db_path().parent:
                raise UserError(
                    f"cannot create database {resolved}: folder {resolved.parent} does not exist"
                )
            try:
                _create_private_file(resolved)
            except OSError as exc:
                raise UserError(f"cannot create database {resolved}: {exc.strerror}") from None
            try:
                conn = sqlite3.connect(
                    str(resolved), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                )
                # No sqlite-utils plugins: finding them scans every installed package's
                # entry points at each start (tens of ms), and third-party code has no
                # business running on a connection that holds personal data.
                store = cls(sqlite_utils.Database(conn, execute_plugins=False), resolved)
                store._set_pragmas()
            except sqlite3.DatabaseError as exc:
                raise UserError(f"{resolved} is not a carecall database ({exc})") from None
        if migrate:
            try:
                store.migrate()
            except sqlite3.DatabaseError as exc:
                if is_locked_error(exc):
                    raise
                raise UserError(f"{store.path} is not a carecall database ({exc})") from None
        return store

    def _set_pragmas(self) -> None:
        conn = self.db.conn
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # journal_mode=WAL needs a brief exclusive moment on a fresh file; retry if
        # another process is creating the same database right now.
        self._retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}").fetchall()

    def migrate(self) -> None:
        """Apply pending migrations, one transaction each, safe against concurrent openers."""
        from calls.store.schema import migrations

        for _ in range(len(migrations._migrations) + 1):
            if not migrations.pending(self.db):
                return
            # Take the write lock first, then look again: another process may have
            # applied the same migration while we waited.
            with self.write():
                pending = migrations.pending(self.db)
                if not pending:
                    return
                later = [m.name for m in pending[1:]]
                migrations.apply(self.db, stop_before=later or None)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @staticmethod
    def _retry_locked(fn):
        delay = 0.01
        for attempt in range(LOCK_RETRIES + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not is_locked_error(exc) or attempt == LOCK_RETRIES:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that holds the database write lock from its first statement.

        Nested calls join the outer transaction. Commits on success, rolls back on error.
        """
        conn = self.db.conn
        if self._write_depth or conn.in_transaction:
            self._write_depth += 1
            try:
                with self.db.atomic():
                    yield self.db
            finally:
                self._write_depth -= 1
            return
        self._retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
        self._write_depth = 1
        try:
            yield self.db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            self._retry_locked(lambda: conn.execute("COMMIT"))
        finally:
            self._write_depth = 0

    # -- small helpers used by every area module ------------------------------------

    def one(self, sql: str, params: tuple | dict | list = ()) -> dict | None:
        """The first row of a read query as a dict, or None."""
        return next(iter(self.db.query(sql, params)), None)

    def all(self, sql: str, params: tuple | dict | list = ()) -> list[dict]:
        """Every row of a read query as dicts."""
        return list(self.db.query(sql, params))

    def scalar(self, sql: str, params: tuple | dict | list = ()):
        """The first column of the first row, or None."""
        row = self.db.conn.execute(sql, params).fetchone()
        return row[0] if row else None
