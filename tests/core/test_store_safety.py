"""The store against hostile surroundings: a newer schema, a read-only file or folder, a
full disk, a loose umask."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from typer.testing import CliRunner

import calls.store as store_module
from calls.cli import app
from calls.errors import UserError
from calls.store import Store
from tests.support.hostile import db_digest, one_clear_line

runner = CliRunner()
LIST = "Customer Id,Name,Phone,Revenue\nC1,Ann,(212) 555-0100,900\nC2,Bob,(312) 555-0101,100\n"


def _filled(db_path, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(LIST)
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    return path


def test_a_newer_schema_is_refused_with_the_version_it_needs(db_path):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('carecall', 'team_0042_from_the_future', '2027-01-01')")
    conn.execute("UPDATE carecall_meta SET value = '9.1.0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = db_digest(db_path)
    with pytest.raises(UserError, match=r"needs carecall 9\.1\.0 or newer.*"
                                        r"team_0042_from_the_future"):
        Store.open(db_path)
    line = one_clear_line(runner.invoke(app, ["queue"]))
    assert "newer carecall" in line
    assert db_digest(db_path) == before


def test_the_schema_records_which_carecall_wrote_it(store):
    from calls import __version__

    assert store.scalar("SELECT value FROM carecall_meta WHERE key = 'schema_version'") == (
        __version__)


def _pretend_read_only(monkeypatch, denied):
    """os.access says no for writing to ``denied`` paths (root may write anywhere, so the
    permission bits alone cannot make a file read-only in a test run as root)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.abspath(path) in {str(d) for d in denied}:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "access", access)


def test_a_read_only_database_reads_and_refuses_writes_in_one_line(db_path, tmp_path,
                                                                  monkeypatch):
    path = _filled(db_path, tmp_path)
    before = db_digest(db_path)
    _pretend_read_only(monkeypatch, [db_path])
    # A fixed moment inside New York's calling hours: the run's clock must not decide.
    queue = runner.invoke(app, ["queue", "--at", "2026-12-02T15:00Z"])
    assert queue.exit_code == 0, queue.output
    assert "Ann" in queue.output
    assert runner.invoke(app, ["report"]).exit_code == 0
    for args in (["import", str(path)], ["next"], ["dnc", "add", "+12125550100"]):
        line = one_clear_line(runner.invoke(app, args))
        assert "read-only" in line and "not a carecall database" not in line, args
    with Store.open(db_path) as store:
        assert store.read_only == "the file is read-only"
        with pytest.raises(UserError, match="read-only"), store.write():
            pass
    assert db_digest(db_path) == before


def test_a_database_in_a_read_only_folder_is_not_called_foreign(db_path, tmp_path,
                                                                monkeypatch):
    path = _filled(db_path, tmp_path)
    before = db_digest(db_path)
    # Nothing can be written there: neither new files nor the -wal / -shm beside it.
    _pretend_read_only(monkeypatch, [db_path.parent, *(db_path.with_name(db_path.name + s)
                                                       for s in ("-wal", "-shm"))])
    assert runner.invoke(app, ["queue"]).exit_code == 0
    line = one_clear_line(runner.invoke(app, ["import", str(path)]))
    assert f"its folder {db_path.parent} is read-only" in line
    assert "not a carecall database" not in line
    assert db_digest(db_path) == before


def test_an_import_into_a_full_disk_is_one_line_and_changes_nothing(db_path, tmp_path,
                                                                   monkeypatch):
    _filled(db_path, tmp_path)
    before = db_digest(db_path)
    big = tmp_path / "big.csv"
    big.write_text("Customer Id,Name,Phone,Revenue,Notes\n" + "".join(
        f"N{i},Name {i},(212) 555-{i % 10000:04d},{i},{'x' * 200}\n" for i in range(3000)))
    set_pragmas = Store._set_pragmas

    def small_disk(self):
        set_pragmas(self)
        # SQLite reports SQLITE_FULL, as on a full disk, beyond this many pages.
        pages = self.db.conn.execute("PRAGMA page_count").fetchone()[0]
        self.db.conn.execute(f"PRAGMA max_page_count = {pages + 20}").fetchone()

    monkeypatch.setattr(Store, "_set_pragmas", small_disk)
    rejects = tmp_path / "rejects.csv"
    line = one_clear_line(runner.invoke(app, ["import", str(big), "--rejects", str(rejects)]))
    assert "disk is full" in line and str(db_path) in line
    assert not rejects.exists()
    monkeypatch.setattr(Store, "_set_pragmas", set_pragmas)
    assert db_digest(db_path) == before


def test_a_real_read_only_filesystem_and_a_real_full_one(tmp_path, monkeypatch):
    """The same on real small filesystems where this run may mount them (root in CI)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # 4 MB: a new database's migrations alone write about 1.3 MB of write-ahead log
    # (1.5 MB was too small once the schema grew: the first, small import failed).
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=4m tmpfs {mnt} "
                                      "2>/dev/null") != 0:
        pytest.skip("cannot mount a small filesystem here")
    try:
        db = mnt / "c.db"
        monkeypatch.setenv("CARECALL_DB", str(db))
        listing = tmp_path / "list.csv"
        listing.write_text(LIST)
        assert runner.invoke(app, ["import", str(listing)]).exit_code == 0
        big = tmp_path / "big.csv"
        big.write_text("Customer Id,Name,Phone,Notes\n" + "".join(
            f"N{i},Name {i},(212) 555-{i % 10000:04d},{'x' * 300}\n" for i in range(20000)))
        before = db_digest(db)
        line = one_clear_line(runner.invoke(app, ["import", str(big)]))
        assert "disk is full" in line
        assert db_digest(db) == before
        assert os.system(f"mount -o remount,ro {mnt}") == 0
        assert runner.invoke(app, ["queue"]).exit_code == 0
        line = one_clear_line(runner.invoke(app, ["import", str(listing)]))
        assert "read-only" in line
    finally:
        # Lazily: a connection of this process may still hold the file open.
        os.system(f"umount -l {mnt}")


def test_the_data_folder_is_private_whatever_the_umask(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    old = os.umask(0)
    try:
        with Store.open(None) as store:
            store.db.execute("CREATE TABLE t (x)")   # a write: the -wal file exists now
            path = store.path
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
