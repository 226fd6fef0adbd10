"""`carecall import` through the CLI: exit codes, messages, what the database holds."""

from __future__ import annotations

import csv
import json
import sqlite3

from typer.testing import CliRunner

from calls.cli import app
from calls.store import Store

runner = CliRunner()


def _list(tmp_path, rows, header=("Customer Id", "Name", "Phone", "Revenue"), name="list.csv"):
    path = tmp_path / name
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


ROWS = [("C1", "Ann", "(212) 555-0100", "900"), ("C2", "Bob", "(312) 555-0100", "100"),
        ("C3", "Bad", "555", "1")]


def test_import_prints_summary_and_fills_db(db_path, tmp_path):
    path = _list(tmp_path, ROWS)
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Rows read 3: 2 inserted, 0 updated, 0 unchanged, 1 rejected, 0 duplicates" in (
        " ".join(result.output.split()))
    assert "line 4:" in result.output
    with Store.open(db_path) as store:
        assert store.scalar("SELECT count(*) FROM customers") == 2
        assert store.scalar("SELECT tier FROM customers WHERE ref = 'C1'") == "A"
    assert db_path.stat().st_mode & 0o777 == 0o600


def test_the_rejected_rows_shown_are_the_ones_counted(db_path, tmp_path):
    """The heading says how many rejected rows follow: all of them, or the first 10 of N."""
    one = runner.invoke(app, ["import", str(_list(tmp_path, ROWS))])
    assert "Rejected rows (1):" in one.output and "first" not in one.output
    bad = [(f"X{i}", f"Bad {i}", "555", "1") for i in range(25)]
    many = runner.invoke(app, ["import", str(_list(tmp_path, ROWS + bad, name="many.csv"))])
    assert many.exit_code == 0, many.output
    assert "Rejected rows (first 10 of 26):" in many.output
    assert many.output.count("  line ") == 10
    assert "Write them all to a file with --rejects FILE." in many.output


def test_json_summary_and_reimport(db_path, tmp_path):
    path = _list(tmp_path, ROWS)
    first = json.loads(runner.invoke(app, ["import", str(path), "--json"]).output)
    assert (first["inserted"], first["rejected"], first["rows_read"]) == (2, 1, 3)
    assert first["tiers"] == {"A": 1, "B": 1}
    again = runner.invoke(app, ["import", str(path), "--json", "--db", str(db_path)])
    data = json.loads(again.output)
    assert (data["inserted"], data["updated"], data["unchanged"]) == (0, 0, 2)
    assert data["rejects"][0]["line"] == 4


def test_dry_run_and_rejects_file(db_path, tmp_path):
    path = _list(tmp_path, ROWS)
    out = tmp_path / "rej.csv"
    result = runner.invoke(app, ["import", str(path), "--dry-run", "--rejects", str(out)])
    assert result.exit_code == 0
    assert "Dry run" in result.output and "2 would be inserted" in " ".join(result.output.split())
    with Store.open(db_path) as store:
        assert store.scalar("SELECT count(*) FROM customers") == 0
    assert out.stat().st_mode & 0o777 == 0o600
    line, reason, *values = list(csv.reader(out.open()))[1]
    assert (line, values) == ("4", ["C3", "Bad", "555", "1"])
    assert reason.startswith("Phone: '555': too short")


def test_map_option(db_path, tmp_path):
    path = _list(tmp_path, [("C1", "Ann", "x", "(212) 555-0100")],
                 header=("Customer Id", "Name", "Phone", "Cell"))
    result = runner.invoke(app, ["import", str(path), "--map", "phone=Cell", "--json"])
    assert result.exit_code == 0, result.output
    with Store.open(db_path) as store:
        assert store.scalar("SELECT phone FROM customers") == "+12125550100"


def test_user_errors_exit_2_with_one_line(db_path, tmp_path):
    cases = [
        (["import", str(tmp_path / "missing.csv")], "no such file"),
        (["import", str(_list(tmp_path, [("1", "a", "b", "c")], header=("id", "name", "x", "y"),
                                    name="nophone.csv"))],
         "no phone column found (columns: id, name, x, y)"),
        (["import", str(_list(tmp_path, ROWS)), "--map", "fone=Phone"], "unknown field 'fone'"),
        # The law's list fields are named too (issue 14).
        (["import", str(_list(tmp_path, ROWS)), "--map", "consent_call=Phone"],
         "region, customer_type, contract, consent_calls, consent_marketing, consent_recording, consent_share)"),
        (["import", str(_list(tmp_path, ROWS)), "--map", "phone=Tel"], "no column 'Tel'"),
        (["import", str(_list(tmp_path, ROWS)), "--map", "phone"], "FIELD=Header"),
        (["import", str(_list(tmp_path, ROWS)), "--region", "ZZ"], "--region"),
        (["import", str(_list(tmp_path, ROWS)), "--sheet", "One"], "--sheet"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        text = " ".join(result.output.split())
        assert message in text, (message, text)
        assert "Traceback" not in result.output


def test_cp1252_file_is_reported(db_path, tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("Kundennummer;Name;Telefon;Land\nK1;Jürgen Groß;030 12345678;DE\n"
                     .encode("cp1252"))
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "cp1252" in result.output
    with Store.open(db_path) as store:
        assert store.scalar("SELECT name FROM customers") == "Jürgen Groß"


def test_an_import_stopped_half_way_is_one_line_and_the_next_import_says_so(
        db_path, tmp_path, monkeypatch):
    from calls.store import Pacer
    from calls.store import imports as store_imports

    first = _list(tmp_path, [(f"C{i}", f"N{i}", f"(212) 555-{i:04d}", str(i + 1))
                             for i in range(30)])
    assert runner.invoke(app, ["import", str(first)]).exit_code == 0
    with Store.open(db_path) as store, store.write():   # a caller works the floor
        store.db.execute("INSERT INTO claims (customer_id, caller, claimed_at, expires_at) "
                         "VALUES (1, 'ann', '2026-01-01T00:00:00Z', '9999-01-01T00:00:00Z')")
    second = _list(tmp_path, [(f"D{i}", f"M{i}", f"(312) 555-{i:04d}", "5")
                              for i in range(40)], name="second.csv")
    other = _list(tmp_path, [("E1", "Eve", "(415) 555-0101", "7")], name="other.csv")
    merge_chunk = store_imports.Staging._merge_chunk
    calls = []

    def full_disk_on_the_third(self, *args):
        calls.append(1)
        if len(calls) == 3:
            raise sqlite3.OperationalError("database or disk is full")
        return merge_chunk(self, *args)

    with monkeypatch.context() as mp:
        mp.setattr(store_imports, "Pacer", lambda s: Pacer(s, first=10, low=10, high=10))
        mp.setattr(store_imports.Staging, "_merge_chunk", full_disk_on_the_third)
        stopped = runner.invoke(app, ["import", str(second)])
    assert stopped.exit_code == 2
    lines = stopped.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stopped.output
    assert ("second.csv: the import stopped after 20 of the 40 new or changed rows were "
            f"merged (the disk is full: {db_path}); those are saved") in lines[0]
    assert "import the same file again to finish it" in lines[0]
    # Another import says an earlier one stopped half way, and how far it got.
    later = runner.invoke(app, ["import", str(other)])
    assert later.exit_code == 0, later.output
    said = " ".join(later.output.split())
    assert "stopped after 20 of 40 rows: import that file again to finish it" in said
    as_json = json.loads(runner.invoke(app, ["import", str(other), "--json"]).output)
    assert [(s["merged"], s["to_merge"]) for s in as_json["stopped_imports"]] == [(20, 40)]
    # The same file finishes it.
    again = runner.invoke(app, ["import", str(second)])
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert "20 inserted" in said and "which had stopped half way" in said
    assert "note:" not in said
    with Store.open(db_path) as store:
        assert store.scalar("SELECT count(*) FROM customers WHERE ref LIKE 'D%'") == 40
