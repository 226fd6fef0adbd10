"""Every command that writes a file, on targets that are not plain files: /dev/full, a
named pipe, a full disk. One clear line and exit 2, nothing replaced, nothing left."""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from calls.cli import app
from tests.support.disk import fill, small_disk
from tests.support.followups import add_call, add_customer

AT = "2026-03-10T15:00:00Z"
PERIOD = ["--since", "2026-03-01", "--until", "2026-03-31"]

# Every command that writes a file, with "{out}" where the file name goes.
WRITERS = {
    "export csv": ["export", "calls", "-o", "{out}"],
    "export xlsx": ["export", "customers", "-f", "xlsx", "-o", "{out}"],
    "export json": ["export", "followups", "-f", "json", "-o", "{out}"],
    "report --html": ["report", *PERIOD, "--html", "{out}"],
    "followups -o": ["followups", "--status", "all", "-o", "{out}"],
    "followups --format json": ["followups", "--format", "json", "-o", "{out}"],
    "import --rejects": ["import", "{list}", "--dry-run", "--rejects", "{out}"],
    "import-orders --rejects": ["import-orders", "{orders}", "--rejects", "{out}"],
}


@pytest.fixture
def filled(store, now):
    """A few hundred calls: enough that every output is larger than a pipe's buffer."""
    for n in range(40):
        cid = add_customer(store, f"C{n:03d}", f"Customer {n}", phone="+12025550100",
                           time_zones='["America/New_York"]', company="Acme, Inc.")
        for k in range(8):
            add_call(store, cid, "ann", now - timedelta(days=k, minutes=n), "completed", nps=k)
    for n in range(5):
        r = CliRunner().invoke(app, ["followups", "add", f"C{n:03d}", "send_info", "--note",
                                     f"note {n}", "--at", AT])
        assert r.exit_code == 0, r.output
    return store


@pytest.fixture(autouse=True)
def lists(tmp_path_factory):
    """A customer list and an order file with bad rows (for --rejects), whose cells
    start like formulas."""
    folder = tmp_path_factory.mktemp("lists")
    rows = [("C1", "Ann", "(212) 555-0100")] + [
        (f"B{n}", "=HYPERLINK(\"x\")", "555") for n in range(300)]
    with open(folder / "list.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("Customer Id", "Name", "Phone"), *rows])
    with open(folder / "orders.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("Customer Id", "Order Date", "Amount"),
                                  *[("=1+1", "not a date", "x") for _ in range(300)]])
    _PATHS.update(list=str(folder / "list.csv"), orders=str(folder / "orders.csv"))


_PATHS: dict[str, str] = {}


def _run(args: list[str], out) -> object:
    return CliRunner().invoke(app, [a.replace("{out}", str(out)).replace(
        "{list}", _PATHS["list"]).replace("{orders}", _PATHS["orders"]) for a in args])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("what", WRITERS)
def test_dev_full_gives_one_line_and_stays_a_device(filled, what):
    line = _one_error_line(_run(WRITERS[what], "/dev/full"))
    assert "cannot write /dev/full" in line and "No space left on device" in line
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("what", WRITERS)
def test_a_full_disk_leaves_the_old_file_and_nothing_else(filled, tmp_path, what):
    with small_disk(tmp_path / "disk") as disk:
        target = disk / "out.file"
        target.write_text("old")
        fill(disk)
        line = _one_error_line(_run(WRITERS[what], target))
        assert "No space left on device" in line and "unchanged" in line
        assert target.read_text() == "old"
        assert sorted(p.name for p in disk.iterdir()) == [".filler", "out.file"]


@pytest.mark.parametrize("what", WRITERS)
def test_a_plain_file_is_written_private(filled, tmp_path, what):
    target = tmp_path / "out.file"
    result = _run(WRITERS[what], target)
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".db")
            and not p.name.startswith("carecall.db")] == ["out.file"]


def _through_a_pipe(tmp_path, args: list[str]) -> list[dict]:
    """Run ``args`` writing into a named pipe; the CSV rows its reader got."""
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = _run(args, fifo)
    reader.join(timeout=20)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)      # still a pipe, not a file
    return list(csv.DictReader(io.StringIO(got[0].decode())))


def test_export_into_a_named_pipe_reaches_its_reader(filled, tmp_path):
    rows = _through_a_pipe(tmp_path, ["export", "calls", "-f", "csv", "-o", "{out}"])
    assert len(rows) == 320 and {r["caller"] for r in rows} == {"ann"}


def test_rejects_file_is_safe_in_a_spreadsheet(filled, tmp_path):
    out = tmp_path / "rejects.csv"
    result = _run(WRITERS["import --rejects"], out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == ["line", "reason", "Customer Id", "Name", "Phone"]
    assert len(rows) == 301 and {r[3] for r in rows[1:]} == {'\'=HYPERLINK("x")'}


def test_mail_merge_into_a_named_pipe_reaches_its_reader(filled, tmp_path):
    rows = _through_a_pipe(tmp_path, ["followups", "--format", "csv", "-o", "{out}"])
    assert [r["note"] for r in rows] == [f"note {n}" for n in range(5)]
