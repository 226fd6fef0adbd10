"""`carecall import` through the CLI: exit codes, messages, what the database holds."""

from __future__ import annotations

import csv
import json

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
         "region, customer_type, contract, consent_calls, consent_marketing, consent_recording)"),
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
