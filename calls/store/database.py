"""The store's connection and migration set, without importing sqlite-utils until needed.

Importing sqlite-utils costs a command about as much CPU as starting Python twice (it
brings click, pluggy, dateutil and its own regular expressions): most of what a reading
command such as ``carecall queue`` spent before its first query. A reading command needs
none of it, so:

- :class:`Database` holds the ``sqlite3`` connection (``.conn``) and answers the plain
  reads (:meth:`Database.query` of a ``SELECT``) and, inside a transaction, ``execute``
  and ``atomic`` itself (a shift app's writes: the app starts without sqlite-utils);
  everything else (``db["table"]``, ...) is sqlite-utils' own ``Database`` on the same
  connection, created on first use (:attr:`Database.full`);
- :class:`Migrations` registers the schema's migrations and says which are applied with
  one plain query; sqlite-utils' ``Migrations`` is built only to apply pending ones.

Both give the same answers as sqlite-utils (tests/core/test_store_database.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from calls.records import record

if TYPE_CHECKING:
    import sqlite_utils
    import sqlite_utils.migrations


def _first_keyword(sql: str) -> str:
    """The statement's first keyword, upper-cased ('' when it starts with a comment)."""
    head = sql.lstrip()
    end = 0
    while end < len(head) and (head[end].isalpha() or head[end] == "_"):
        end += 1
    return head[:end].upper()


class Database:
    """A carecall connection: plain ``SELECT`` reads here, the rest by sqlite-utils."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._full: sqlite_utils.Database | None = None
        self._savepoint_depth = 0
        # sqlite-utils' Database sets this on every connection it wraps; carecall's
        # triggers were written (and tested) with it on.
        conn.execute("PRAGMA recursive_triggers=on")

    @property
    def full(self) -> sqlite_utils.Database:
        """sqlite-utils' ``Database`` on this connection (imported on first use)."""
        if self._full is None:
            import sqlite_utils

            # No plugins: finding them scans every installed package's entry points at
            # each start, and third-party code has no business running on a connection
            # that holds personal data.
            self._full = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._full

    def query(self, sql: str, params: Sequence | dict[str, Any] | None = None
              ) -> Iterator[dict]:
        """Rows of a query as dicts, as sqlite-utils' ``query`` gives them.

        A ``SELECT`` whose column names are distinct is read here; anything else (a
        write with ``RETURNING``, duplicate column names to rename, a statement that
        returns no rows and must be refused) goes to sqlite-utils.
        """
        if _first_keyword(sql) != "SELECT":
            return self.full.query(sql, params)
        cursor = self.conn.execute(sql, params if params is not None else ())
        keys = [d[0] for d in cursor.description]
        if len(set(keys)) != len(keys):
            return self.full.query(sql, params)
        return (dict(zip(keys, row)) for row in cursor)

    # Inside a transaction (every ``store.write()``) sqlite-utils' ``execute`` and
    # ``atomic`` are a plain statement and a savepoint: done here without importing it
    # (sqlite-utils with click is ~100 ms of a shift app's start, and a seat writes at
    # every step). Outside one, sqlite-utils decides (it commits a lone write itself).

    def execute(self, sql: str, parameters: Sequence | dict[str, Any] | None = None
                ) -> sqlite3.Cursor:
        """Run one statement, as sqlite-utils' ``execute``."""
        if not self.conn.in_transaction:
            return self.full.execute(sql, parameters)
        if parameters is not None:
            return self.conn.execute(sql, parameters)
        return self.conn.execute(sql)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction, or a savepoint inside one, as sqlite-utils' ``atomic``."""
        if not self.conn.in_transaction:
            with self.full.atomic():
                yield self
            return
        # One name per depth, not sqlite-utils' random one: each statement text is
        # prepared once and kept in the connection's statement cache (128 texts); a seat
        # opens ~20 savepoints a call, and random names filled the cache with texts used
        # once, pushing out the seat's own ~70 statements, which were then prepared again
        # inside the write lock (a wrap-up's UPDATE of calls compiles its 8 triggers):
        # +0.6 ms of lock a wrap-up (scripts/bench_floor.py). Savepoints of one name nest:
        # ROLLBACK TO / RELEASE act on the innermost of that name, which is this depth's.
        self._savepoint_depth += 1
        savepoint = f"carecall_{self._savepoint_depth}"
        try:
            self.conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                # a RAISE(ROLLBACK) trigger can end the whole transaction, savepoints too
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
        finally:
            self._savepoint_depth -= 1

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __getattr__(self, name: str):
        # Only called for what this class does not define: sqlite-utils' API. (Never for
        # its own fields: an instance half made, e.g. by copy, must not recurse.)
        if name.startswith("__") or name in ("conn", "_full", "_savepoint_depth"):
            raise AttributeError(name)
        return getattr(self.full, name)

    def __getitem__(self, table: str):
        return self.full[table]


@record
class Migration:
    """One registered migration (as sqlite-utils' ``Migrations._Migration``)."""

    name: str
    fn: Callable
    transactional: bool = True


class Migrations:
    """A named migration set, registered like sqlite-utils' ``Migrations`` (the same
    decorator, the same ``_sqlite_migrations`` table) but able to say what is applied
    without importing sqlite-utils."""

    migrations_table = "_sqlite_migrations"

    def __init__(self, name: str):
        self.name = name
        self._migrations: list[Migration] = []
        self._full: sqlite_utils.migrations.Migrations | None = None

    def __call__(self, *, name: str | None = None, transactional: bool = True):
        """Register the decorated function as the next migration."""

        def inner(func):
            migration_name = name or func.__name__
            if any(m.name == migration_name for m in self._migrations):
                raise ValueError(f"Migration '{migration_name}' is already registered in "
                                 f"set '{self.name}'")
            self._migrations.append(Migration(migration_name, func, transactional))
            self._full = None
            return func

        return inner

    def names(self) -> list[str]:
        """Every registered migration's name, in order."""
        return [m.name for m in self._migrations]

    def applied_names(self, conn: sqlite3.Connection) -> list[str]:
        """The names this set has applied to the database, in the order applied."""
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self.migrations_table,)).fetchone()
        if not exists:
            return []
        return [r[0] for r in conn.execute(
            f"SELECT name FROM [{self.migrations_table}] WHERE migration_set = ? "
            "ORDER BY rowid", (self.name,))]

    def pending_names(self, conn: sqlite3.Connection) -> list[str]:
        """Registered migrations not yet applied, in order."""
        applied = set(self.applied_names(conn))
        return [m.name for m in self._migrations if m.name not in applied]

    # -- sqlite-utils' API, for applying -------------------------------------------

    @property
    def full(self) -> sqlite_utils.migrations.Migrations:
        """sqlite-utils' ``Migrations`` with the same migrations registered."""
        if self._full is None:
            from sqlite_utils.migrations import Migrations as Full

            full = Full(self.name)
            for m in self._migrations:
                full(name=m.name, transactional=m.transactional)(m.fn)
            self._full = full
        return self._full

    def pending(self, db):
        """sqlite-utils' ``pending``."""
        return self.full.pending(_full_db(db))

    def applied(self, db):
        """sqlite-utils' ``applied``."""
        return self.full.applied(_full_db(db))

    def apply(self, db, *, stop_before=None) -> None:
        """sqlite-utils' ``apply``: each pending migration in its own transaction."""
        self.full.apply(_full_db(db), stop_before=stop_before)


def _full_db(db):
    return db.full if isinstance(db, Database) else db
