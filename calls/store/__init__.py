"""The store: one SQLite database that owns the schema, its migrations and every query.

Open it with :meth:`Store.open`. Area modules beside this one (``customers``, ``calls``,
``followups`` ...) hold the queries; they take a :class:`Store` and return dataclasses.

Concurrency rules (several callers share one database file):

- WAL mode, ``synchronous=NORMAL``, a busy timeout on every connection.
- A write that depends on what it read (claiming a customer, upserting a row) runs inside
  :meth:`Store.write`, which starts with ``BEGIN IMMEDIATE`` so the write lock is taken
  before the read; a deferred transaction that upgrades to a write can fail at once with
  "database is locked" whatever the busy timeout, an immediate one waits its turn (one
  writer per process and database at a time, the others block without spinning; it polls
  for the lock with short jittered sleeps, see ``BEGIN_POLL_FIRST_S``).
- Waiting is a latency, never an error: a write waits up to ``LOCK_WAIT_SECONDS`` (two
  minutes) for the write lock, then gives up with :class:`DatabaseBusy`, one clear line
  (nothing was saved); SQLite's raw "database is locked" never reaches a caller.
- Every caller waits for every write transaction: keep them short. Read and decide before
  the lock (the queue, a merge's matching, the tier ranking), then check and write in it.
- One :class:`Store` (one connection) per thread. The TUI opens one per worker thread.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self
from urllib.parse import quote

from calls.errors import UserError
from calls.store.database import Database

# How long anything waits for a lock before giving up: a write for the write lock (the
# process's writer gate, then SQLite's lock), a read or a commit for SQLite's rare locks
# in WAL mode (SQLite's busy timeout). Only a transaction held this long (an order import
# in one transaction, a migration) makes a caller's step fail, with DatabaseBusy.
LOCK_WAIT_SECONDS = 120.0
BUSY_TIMEOUT_MS = int(LOCK_WAIT_SECONDS * 1000)
# Read through a memory map: the queue and the reports read rows scattered over a large
# file, and mapped pages are shared by every connection instead of copied into each one's
# small page cache (2-3x faster queue on a million customers, scripts/bench_queue.py).
MMAP_BYTES = 1 << 30
# Prepared statements a connection keeps for the next time the same SQL runs (Python's
# sqlite3 default): a seat's own connection runs ~80 statements again and again over a
# call, so it keeps them all; short-lived connections may keep fewer (``Store.open``).
STATEMENTS_KEPT = 128
# Extra, application-level retries when SQLite still reports the database as locked
# (e.g. a checkpoint racing a writer); each retry backs off a little longer.
LOCK_RETRIES = 8
# A writer that finds the write lock taken polls for it itself, with short jittered
# sleeps (first ~0.5 ms, doubling to ~8 ms), instead of SQLite's busy handler, whose
# sleeps grow to 100 ms: a caller's write that queues behind another short write gets in
# within a millisecond or two of the lock coming free, not up to 100 ms later
# (scripts/bench_floor.py). A writer that has waited BEGIN_POLL_OLD_AFTER_S polls every
# ~2 ms: with growing sleeps the longest waiters would lose to every newcomer, again and
# again, on a busy floor. Only one thread per process and database polls (the writer
# gate, _writer_gate): the others wait on a lock, without using a CPU, and a thread that
# holds the write lock does not queue for the GIL behind dozens of polling threads.
# Waiting ends after LOCK_WAIT_SECONDS, with DatabaseBusy.
BEGIN_POLL_FIRST_S = 0.0005
BEGIN_POLL_MAX_S = 0.008
BEGIN_POLL_OLD_AFTER_S = 0.1
BEGIN_POLL_OLD_S = 0.002

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
    """Create an empty database file readable and writable by its owner only (0600), and
    a missing data folder for it readable by its owner only (0700), whatever the umask."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask; the folder holds personal data.
        os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _read_only_reason(path: Path) -> str | None:
    """Why the database at ``path`` can only be read (None when it can be written).

    SQLite writes beside the file (the ``-wal`` and ``-shm`` files of WAL mode), so a
    read-only folder makes the database read-only too.
    """
    if not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        for side in ("-wal", "-shm"):
            beside = path.with_name(path.name + side)
            if not (beside.exists() and os.access(beside, os.W_OK)):
                return f"its folder {path.parent} is read-only"
    return None


# Bulk work on a database in use (an import's merge, re-tiering everyone) is split into
# write transactions that each hold the lock about this long, with a pause between them
# as long as the chunk held it (at least a waiting writer's longest poll, jittered up to
# 1.5 x BEGIN_POLL_MAX_S): callers' writes that queued behind a chunk get in before the
# next one, and bulk work never holds the lock more than about half the time.
CHUNK_SECONDS = 0.015
CHUNK_PAUSE_SECONDS = 1.5 * BEGIN_POLL_MAX_S


class Pacer:
    """Sizes the chunks of bulk work to hold the write lock about ``CHUNK_SECONDS`` each.

    ``size`` rows go in the next chunk; :meth:`done` takes how long the chunk's write
    transaction took, aims the next size at the target (smoothed: a chunk that waited for
    a busy CPU should not halve the next one at once), copies the pages of the chunks
    before from the write-ahead log into the database file every ``CHECKPOINT_FRAMES`` or
    so (a passive checkpoint, which takes no write lock; :class:`CheckpointCadence`) and
    pauses as long as the chunk held the lock (at least ``CHUNK_PAUSE_SECONDS``, at most
    four targets) so that waiting writers get in. Checkpointing here keeps the log short:
    otherwise the next caller whose commit finds it over SQLite's threshold (1,000 pages)
    would copy the bulk work's pages, and wait for the disk, within their step.
    """

    def __init__(self, store: Store, first: int = 500, low: int = 50, high: int = 20_000,
                 seconds: float = CHUNK_SECONDS):
        self.store = store
        self.size, self.low, self.high, self.seconds = first, low, high, seconds
        self.cadence = CheckpointCadence()

    def done(self, held: float) -> None:
        aimed = self.size * self.seconds / max(held, 1e-4)
        self.size = max(self.low, min(self.high, int((self.size + aimed) / 2)))
        # About every CHECKPOINT_FRAMES pages, not after every chunk: the chunk after a
        # checkpoint that copied the whole log syncs the log's new header inside its
        # transaction (see CHECKPOINT_FRAMES).
        now = time.monotonic()
        if self.cadence.due(now):
            self.cadence.ran(now, self.store.checkpoint())
        time.sleep(max(CHUNK_PAUSE_SECONDS, min(held, 4 * self.seconds)))


def _translated(path: Path | None, exc: sqlite3.Error) -> UserError | None:
    """The one line a user should see for a storage failure SQLite reports, or None."""
    text = str(exc).lower()
    where = path or "the database"
    if "disk is full" in text or "database or disk is full" in text:
        return UserError(f"{where}: the disk is full; nothing was saved (free some space "
                         "and run the command again)")
    if "readonly" in text or "read-only" in text:
        return UserError(f"{where} is read-only: this command changes the database "
                         "(reading commands still work)")
    if "disk i/o error" in text:
        return UserError(f"{where}: the disk reported an error while writing; nothing was "
                         "saved")
    return None


class DatabaseBusy(UserError):
    """A write that waited ``LOCK_WAIT_SECONDS`` for the write lock and gave up: another
    program held it all that time. Nothing was saved; the same step can be tried again."""

    def __init__(self, path: Path | None, waited: float):
        where = path or "the database"
        super().__init__(f"{where} stayed busy for {waited:.0f} s (another program held "
                         "its write lock all that time); nothing was saved: try again")
        self.waited = waited


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's 'database is locked' / 'busy' errors and :class:`DatabaseBusy`."""
    return isinstance(exc, DatabaseBusy) or isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


# Copying the write-ahead log into the database file (a checkpoint) is SQLite's job at
# the commit that finds the log over 1,000 pages: that caller's step then waits for the
# copy and two fsyncs (tens to hundreds of ms on a busy disk), and in a process hosting
# many seats every seat behind it waits too (scripts/bench_floor.py). A long-running
# process (a shift, a server's seats) turns that off on its connections and copies from a
# thread of its own instead: `checkpoint_in_background()`.
#
# How often: about every CHECKPOINT_FRAMES pages written (SQLite's own threshold), not
# after every commit. The first write after a checkpoint that copied the whole log starts
# the log again from its beginning, and SQLite syncs the log's new header to disk right
# then (synchronous=NORMAL; without it a power cut could corrupt the file), inside that
# writer's transaction: every other writer waits for the disk. On this machine's shared
# disk such a sync takes 2-6 ms typically and 150-570 ms at times; checkpointing every
# 0.5 s after a commit made a writer pay it up to twice a second in every process, and an
# import chunked for a live floor paid it at every chunk: its 15 ms chunks held the lock
# 240-530 ms while using 5-10 ms of CPU (scripts/bench_floor.py, "the longest write-lock
# holds"). ``CheckpointCadence`` spaces the checkpoints from the log's own size, and at
# most CHECKPOINT_MAX_S apart: a checkpoint is also when the log is synced to disk
# (synchronous=NORMAL syncs no commit), so a power cut loses at most the commits since the
# last one (a program that crashes loses nothing: the log is in the system's cache).
CHECKPOINT_EVERY_S = 0.5
CHECKPOINT_FRAMES = 1000
CHECKPOINT_MAX_S = 5.0
_background_checkpoints = False
# One writer gate (see _begin_immediate) and one checkpointer per database file in this
# process.
_gates: dict[str, threading.RLock] = {}
_gates_guard = threading.Lock()
_checkpointers: dict[str, _Checkpointer] = {}


def checkpoint_in_background(on: bool = True) -> None:
    """From now on, databases this process opens copy their write-ahead log into the
    database file from a background thread (at most every ``CHECKPOINT_EVERY_S``, after a
    commit), not within a caller's commit. For long-running processes: a shift, a
    server; a one-off command keeps SQLite's own checkpoints (it may exit at once)."""
    global _background_checkpoints
    _background_checkpoints = on


class CheckpointCadence:
    """When the next checkpoint is due: about every ``CHECKPOINT_FRAMES`` pages written,
    judged from how many the log held at the last checkpoint and how long they took to
    come (SQLite's own autocheckpoint threshold, without a caller's commit doing the copy),
    never sooner than ``CHECKPOINT_EVERY_S`` nor later than ``CHECKPOINT_MAX_S`` after the
    last one. Pure: it takes the moments (monotonic seconds) it is told."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.wait = CHECKPOINT_EVERY_S

    def due(self, now: float) -> bool:
        """Whether a checkpoint is due at ``now`` (the first one always is)."""
        return self.last is None or now - self.last >= self.wait

    def ran(self, now: float, frames: int | None) -> None:
        """A checkpoint ran at ``now`` and found ``frames`` pages in the log (SQLite's
        ``wal_checkpoint`` answer; None when it could not say): space the next one so
        that the log holds about ``CHECKPOINT_FRAMES`` by then. (A log that could not be
        copied whole still counts its old pages: the next try comes sooner.)"""
        since = CHECKPOINT_EVERY_S if self.last is None else now - self.last
        self.last = now
        if frames is None:
            self.wait = CHECKPOINT_EVERY_S
            return
        self.wait = min(CHECKPOINT_MAX_S, max(
            CHECKPOINT_EVERY_S, since * CHECKPOINT_FRAMES / max(frames, 1)))


class _Checkpointer:
    """A daemon thread with its own connection that runs a ``PASSIVE`` checkpoint (no
    lock taken, nobody waits for it) after commits, at most every ``CHECKPOINT_EVERY_S``."""

    def __init__(self, path: str):
        self.path = path
        self._poked = threading.Event()
        self.runs = 0
        self.cadence = CheckpointCadence()
        self._thread = threading.Thread(target=self._loop, name="carecall-checkpoint",
                                        daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Something was committed: checkpoint soon."""
        self._poked.set()

    def _loop(self) -> None:
        while True:
            self._poked.wait()
            self._poked.clear()
            now = time.monotonic()
            if not self.cadence.due(now):
                # Not yet: look again when it is (a commit meanwhile pokes again).
                time.sleep(min(self.cadence.wait - (now - self.cadence.last),
                               CHECKPOINT_EVERY_S))
                self._poked.set()
                continue
            frames = None
            # A connection per run, closed after it: between runs this thread holds nothing
            # open (the last seat to close the database still cleans its log up).
            with contextlib.suppress(sqlite3.Error):
                # Busy (another checkpoint runs) or the file went away: the next commit
                # pokes again.
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
                try:
                    _busy, frames, _copied = conn.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                finally:
                    conn.close()
            self.cadence.ran(time.monotonic(), frames if frames and frames > 0 else None)
            time.sleep(CHECKPOINT_EVERY_S)


def _checkpointer(path: Path) -> _Checkpointer:
    key = os.path.realpath(path)
    with _gates_guard:
        if key not in _checkpointers:
            _checkpointers[key] = _Checkpointer(key)
        return _checkpointers[key]




def _writer_gate(path: Path | None) -> threading.RLock | None:
    """The lock this process's writers of the database at ``path`` take before asking
    SQLite for the write lock (None for a private in-memory database).

    Re-entrant: a thread that writes through a second connection while its first holds a
    transaction waits for SQLite as before (and gets DatabaseBusy), not for itself forever.
    """
    if path is None:
        return None
    key = os.path.realpath(path)
    with _gates_guard:
        return _gates.setdefault(key, threading.RLock())


def _connect(path: Path, read_only: bool, statements: int = STATEMENTS_KEPT
             ) -> sqlite3.Connection:
    """A connection to ``path``; read-only ones through SQLite's ``mode=ro``. It keeps up
    to ``statements`` prepared statements for the next time the same SQL runs.

    A WAL database in a read-only folder cannot get its ``-shm`` index: SQLite then needs
    ``immutable=1`` to read it at all (nobody can write there either).
    """
    timeout = BUSY_TIMEOUT_MS / 1000
    if not read_only:
        return sqlite3.connect(str(path), timeout=timeout, check_same_thread=False,
                               cached_statements=statements)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False,
                           cached_statements=statements)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=timeout,
                               check_same_thread=False, cached_statements=statements)
    return conn


class Store:
    """An open carecall database: a :class:`~calls.store.database.Database` (sqlite-utils'
    API, imported when first used) plus transaction helpers."""

    def __init__(self, db: Database, path: Path | None, read_only: str | None = None):
        self.db = db
        self.path = path
        # Why this database can only be read (the file or its folder), or None.
        self.read_only = read_only
        self._write_depth = 0
        self._thread = threading.get_ident()
        # What must be written with an import's audit row, in its transaction (see
        # :meth:`with_import_audit`).
        self._import_audit_also: list[Callable[[Store], None]] = []
        self._gate = _writer_gate(path) if read_only is None else None
        self._checkpointer: _Checkpointer | None = None

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, migrate: bool = True,
             statements: int = STATEMENTS_KEPT) -> Store:
        """Open (creating if needed, owner-only) the database at ``path`` and migrate it.

        ``path`` goes through :func:`resolve_db_path`; ``":memory:"`` opens a private
        in-memory database (tests). The connection keeps up to ``statements`` prepared
        statements (each a few KB of SQLite's heap, up to ~50 KB for a big query): a
        connection that runs few statements, or rarely, may keep fewer.
        """
        if str(path) == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False,
                                   cached_statements=statements)
            store = cls(Database(conn), None)
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
            read_only = _read_only_reason(resolved)
            try:
                conn = _connect(resolved, read_only is not None, statements)
                store = cls(Database(conn), resolved, read_only)
                store._set_pragmas()
                if _background_checkpoints and read_only is None:
                    conn.execute("PRAGMA wal_autocheckpoint=0")
                    store._checkpointer = _checkpointer(resolved)
            except sqlite3.DatabaseError as exc:
                if (error := _translated(resolved, exc)) is not None:
                    raise error from None
                if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
                    raise UserError(f"cannot open database {resolved}: "
                                    f"{read_only or 'unable to open it'}") from None
                raise UserError(f"{resolved} is not a carecall database ({exc})") from None
        if migrate:
            try:
                store.migrate()
            except sqlite3.DatabaseError as exc:
                if is_locked_error(exc):
                    raise
                store.close()
                if (error := _translated(store.path, exc)) is not None:
                    raise error from None
                raise UserError(f"{store.path} is not a carecall database ({exc})") from None
            except UserError:
                store.close()
                raise
        return store

    def _set_pragmas(self) -> None:
        conn = self.db.conn
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if self.read_only is None:
            # journal_mode=WAL needs a brief exclusive moment on a fresh file; retry if
            # another process is creating the same database right now.
            self._retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}").fetchall()

    def migrate(self) -> None:
        """Apply pending migrations, one transaction each, safe against concurrent openers.

        Refuses (:class:`UserError`) a database written by a newer carecall (it has
        migrations this one does not know: writing to it could break it), and a read-only
        database that would need migrating. An up-to-date database costs two queries (the
        migrations, and the outcome table the kept coverage marks follow).
        """
        from calls import __version__
        from calls.store.schema import migrations

        conn = self.db.conn
        self._refuse_newer_schema(migrations, __version__)
        applied = False
        for _ in range(len(migrations._migrations) + 1):
            if not migrations.pending_names(conn):
                break
            if self.read_only is not None:
                raise UserError(
                    f"{self.path} needs upgrading to this carecall's schema, but "
                    f"{self.read_only}; open it once with write access")
            # Take the write lock first, then look again: another process may have
            # applied the same migration while we waited.
            with self.write():
                pending = migrations.pending_names(conn)
                if not pending:
                    break
                migrations.apply(self.db, stop_before=pending[1:] or None)
                applied = True
        if applied:
            with self.write():
                conn.execute(
                    "INSERT INTO carecall_meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [__version__])
        # Which outcomes reach a customer is the code's outcome table; the kept coverage
        # marks follow it (a recompute only when this code's table differs).
        from calls.store.coverage import keep_in_step

        keep_in_step(self)

    def _refuse_newer_schema(self, migrations, version: str) -> None:
        known = set(migrations.names())
        unknown = [n for n in migrations.applied_names(self.db.conn) if n not in known]
        if not unknown:
            return
        needs = None
        if self.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'carecall_meta'"):
            needs = self.scalar(
                "SELECT value FROM carecall_meta WHERE key = 'schema_version'")
        needs_text = f"carecall {needs} or newer" if needs and needs != version else (
            "a newer carecall")
        shown = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3
                                          else "")
        raise UserError(
            f"{self.path or 'the database'} was written by a newer carecall: it needs "
            f"{needs_text} (this is carecall {version}, which does not know its schema "
            f"changes {shown}); upgrade carecall to use it")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @contextlib.contextmanager
    def with_import_audit(self, also: Callable[[Store], None]) -> Iterator[None]:
        """While the block runs, ``also(store)`` is written in the transaction of the
        next import's audit row, just before it (e.g. the ``policy.load`` row of the
        policy the import tiers by): an import that fails, is refused or is a dry run
        writes no audit row, so it leaves neither. The store does not know what ``also``
        records (it imports nothing above it)."""
        self._import_audit_also.append(also)
        try:
            yield
        finally:
            if also in self._import_audit_also:
                self._import_audit_also.remove(also)

    def run_import_audit_also(self) -> None:
        """Write what :meth:`with_import_audit` asked for (once); inside the import's
        last transaction, before its audit row."""
        pending, self._import_audit_also = self._import_audit_also, []
        for also in pending:
            also(self)


    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """One read snapshot for the queries run in the block: they agree with each other
        even while callers write (WAL: writers are not held up). Inside a transaction
        already, that one is the snapshot."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

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
    def write(self) -> Iterator[Database]:
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
        self.require_writable()
        try:
            self._begin_immediate()
        except sqlite3.OperationalError as exc:
            if (error := _translated(self.path, exc)) is not None:
                raise error from None
            raise
        self._write_depth = 1
        try:
            yield self.db
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and (error := _translated(self.path, exc)):
                raise error from None
            raise
        else:
            try:
                self._retry_locked(lambda: conn.execute("COMMIT"))
                if self._checkpointer is not None:
                    self._checkpointer.poke()
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if (error := _translated(self.path, exc)) is not None:
                    raise error from None
                if is_locked_error(exc):
                    raise DatabaseBusy(self.path, LOCK_WAIT_SECONDS) from None
                raise
        finally:
            self._write_depth = 0
            if self._gate is not None:
                self._gate.release()

    def _begin_immediate(self) -> None:
        """Take this process's writer gate, then ``BEGIN IMMEDIATE``, polling for SQLite's
        write lock (see ``BEGIN_POLL_FIRST_S``); :class:`DatabaseBusy` after
        ``LOCK_WAIT_SECONDS`` in all. On return the gate is held (``write`` releases it)."""
        started = time.monotonic()
        deadline = started + LOCK_WAIT_SECONDS
        gate = self._gate
        if gate is not None and not gate.acquire(timeout=LOCK_WAIT_SECONDS):
            raise DatabaseBusy(self.path, time.monotonic() - started)
        try:
            self._poll_begin(started, deadline)
        except BaseException:
            if gate is not None:
                gate.release()
            raise

    def _poll_begin(self, started: float, deadline: float) -> None:
        conn = self.db.conn
        # Only this statement tries without SQLite's own waiting: reads and the commit
        # keep the busy timeout (a WAL reader waits only in rare recovery moments).
        conn.execute("PRAGMA busy_timeout=0")
        try:
            delay = BEGIN_POLL_FIRST_S
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not is_locked_error(exc):
                        raise
                now = time.monotonic()
                if now >= deadline:
                    raise DatabaseBusy(self.path, now - started)
                cap = (BEGIN_POLL_MAX_S if now - started < BEGIN_POLL_OLD_AFTER_S
                       else BEGIN_POLL_OLD_S)
                delay = min(delay, cap)
                time.sleep(min(random.uniform(0.5, 1.5) * delay, deadline - now))
                delay = min(delay * 2, cap)
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def checkpoint(self) -> int | None:
        """Copy what the write-ahead log holds into the database file as far as readers
        allow (``PASSIVE``: waits for no lock; a checkpoint already running elsewhere
        wins). Returns how many pages the log held (None: no checkpoint was made)."""
        if self.path is None or self.read_only is not None or self.db.conn.in_transaction:
            return None
        with contextlib.suppress(sqlite3.OperationalError):
            _busy, frames, _copied = self.db.conn.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return frames if frames >= 0 else None
        return None

    def shrink_memory(self) -> None:
        """Give back what this connection's SQLite holds and does not need now (its page
        cache: up to 2 MB a connection, re-read through the memory map when next needed).
        For a long-lived connection after a large read, when nothing else waits for it;
        not inside a transaction (the pages in use stay)."""
        if not self.db.conn.in_transaction:
            self.db.conn.execute("PRAGMA shrink_memory")

    def require_writable(self) -> None:
        """Refuse with one line when this database can only be read."""
        if self.read_only is not None:
            raise UserError(f"{self.path} is read-only ({self.read_only}): this command "
                            "changes the database (reading commands still work)")

    @contextlib.contextmanager
    def storage_errors(self) -> Iterator[None]:
        """Turn a full disk, a read-only file or an I/O error from SQLite into one
        :class:`UserError` naming this database (for writes outside :meth:`write`)."""
        try:
            yield
        except sqlite3.Error as exc:
            if (error := _translated(self.path, exc)) is not None:
                raise error from None
            raise

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
