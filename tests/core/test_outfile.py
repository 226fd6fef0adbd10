"""calls.outfile: regular files replaced whole and private, pipes and devices written
straight, a failed write leaves nothing behind and says so once."""

from __future__ import annotations

import errno
import os
import stat
import threading

import pytest

from calls.errors import UserError
from calls.outfile import open_output
from tests.support.disk import fill, small_disk


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_is_private_and_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.csv"
    with open_output(target) as fh:
        fh.write("a,b\r\n")
        # while writing, the real name does not exist yet: only a temporary beside it
        assert not target.exists()
        [part] = list(tmp_path.iterdir())
        assert part.name.startswith(".out.csv.") and part.name.endswith(".part")
        assert _mode(part) == 0o600
    assert target.read_bytes() == b"a,b\r\n"          # no newline translation
    assert _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_an_existing_file_is_replaced_and_becomes_private(tmp_path):
    target = tmp_path / "old.csv"
    target.write_text("old")
    os.chmod(target, 0o644)
    with open_output(target, binary=True) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"new" and _mode(target) == 0o600


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "old.csv"
    target.write_text("old")
    with pytest.raises(UserError) as err, open_output(target) as fh:
        fh.write("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(err.value) == (f"cannot write {target}: No space left on device "
                              "(old.csv is unchanged)")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["old.csv"]


def test_any_other_error_removes_the_temporary_and_passes_through(tmp_path):
    with pytest.raises(KeyError), open_output(tmp_path / "x.csv") as fh:
        fh.write("half")
        raise KeyError("stop")
    assert list(tmp_path.iterdir()) == []


def test_the_label_names_the_option(tmp_path):
    with (pytest.raises(UserError, match=r"\(--rejects\): it is a directory"),
          open_output(tmp_path, label="--rejects")):
        pass


def test_a_missing_folder_and_a_folder_without_permission(tmp_path):
    with pytest.raises(UserError, match="does not exist"), open_output(tmp_path / "no" / "x.csv"):
        pass
    if os.geteuid() == 0:
        return      # root writes anywhere
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UserError, match="Permission denied"), open_output(locked / "x.csv"):
        pass


def test_dev_full_is_written_straight_and_fails_with_one_error():
    with (pytest.raises(UserError, match="cannot write /dev/full: No space left on device"),
          open_output("/dev/full") as fh):
        fh.write("x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)     # still the device


def test_dev_null_is_written_straight():
    with open_output("/dev/null", binary=True) as fh:
        fh.write(b"gone")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_named_pipe_is_written_straight_and_its_reader_gets_everything(tmp_path):
    fifo = tmp_path / "rows"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with open_output(fifo) as fh:
        for i in range(10_000):
            fh.write(f"{i}\r\n")
    reader.join(timeout=10)
    assert got and got[0].count(b"\r\n") == 10_000
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)           # the pipe is still a pipe


def test_a_pipe_whose_reader_left_gives_one_error(tmp_path):
    fifo = tmp_path / "rows"
    os.mkfifo(fifo)

    def read_a_little() -> None:
        with open(fifo, "rb") as fh:
            fh.read(10)

    reader = threading.Thread(target=read_a_little)
    reader.start()
    with pytest.raises(UserError, match="Broken pipe"), open_output(fifo) as fh:
        reader.join(timeout=10)
        for _ in range(100):
            fh.write("x" * 65536)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symbolic_link_is_followed_and_stays(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with open_output(link) as fh:
        fh.write("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_full_disk_leaves_nothing_behind(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        (disk / "keep.csv").write_text("old")
        fill(disk)
        with (pytest.raises(UserError, match="No space left on device"),
              open_output(disk / "keep.csv") as fh):
            for _ in range(100):
                fh.write("y" * 4096)
        assert (disk / "keep.csv").read_text() == "old"
        assert sorted(p.name for p in disk.iterdir()) == [".filler", "keep.csv"]
