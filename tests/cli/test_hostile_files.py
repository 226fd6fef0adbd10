"""A corpus of hostile files through every command that reads a file: each is refused with
exit 2 and one line naming the file, no traceback, and the database unchanged."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calls.cli import app
from tests.support.hostile import db_digest, one_clear_line

runner = CliRunner()
CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile"
LIST = "Customer Id,Name,Phone,Revenue\nC1,Ann,(212) 555-0100,900\nC2,Bob,(312) 555-0101,100\n"


def _written(folder: Path) -> dict[str, Path]:
    """The hostile files too big, too binary or too odd to keep in the repository."""
    rng = random.Random(16)
    files = {
        "random.csv": rng.randbytes(6000),
        "random.txt": rng.randbytes(300) + b"\x00" * 300,
        "empty.csv": b"",
        "blank_lines.csv": b"\n\n   \n",
        "nul_header.csv": b"Na\x00me,Phone\nAnn,+12125550100\n",
        "utf16_truncated.csv": "Name\tPhone\nAnn\t+12125550100\n".encode("utf-16") + b"\xd8",
        "deep_arrays.toml": ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "deep_tables.toml": ("name = 'a'\nx = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n").encode(),
    }
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    (folder / "a_folder.csv").mkdir()
    out["a_folder.csv"] = folder / "a_folder.csv"
    out["missing.csv"] = folder / "missing.csv"
    for kept in sorted(CORPUS.iterdir()):
        out[kept.name] = kept
    return out


COMMANDS = {
    "import": lambda f: ["import", str(f)],
    "import-orders": lambda f: ["import-orders", str(f)],
    "dnc import": lambda f: ["dnc", "import", str(f)],
    "script check": lambda f: ["script", "check", str(f)],
    "--policy": lambda f: ["queue", "--policy", str(f)],
}
# Files a command may accept: an empty policy file is the defaults; a DNC list is any
# one-column text (its lines that are not numbers are rejected one by one, as for
# no_phone.csv's "ann@example.com").
ACCEPTED = {("dnc import", "no_phone.csv"), ("dnc import", "deep_arrays.toml"),
            ("dnc import", "deep_tables.toml"), ("dnc import", "unclosed.toml"),
            ("--policy", "empty.csv"), ("--policy", "blank_lines.csv")}
NAMES = sorted([
    "random.csv", "random.txt", "empty.csv", "blank_lines.csv", "nul_header.csv",
    "utf16_truncated.csv", "deep_arrays.toml", "deep_tables.toml", "a_folder.csv",
    "missing.csv", "unclosed.toml", "no_phone.csv", "not_a_list.json", "broken.ndjson",
    "fake.xlsx", "old.xls", "unbalanced_quote.csv",
])


@pytest.fixture
def filled(db_path, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(LIST)
    assert runner.invoke(app, ["import", str(listing)]).exit_code == 0
    return db_path


def test_the_corpus_is_all_named():
    assert {p.name for p in CORPUS.iterdir()} <= set(NAMES)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_hostile_file_is_refused_in_one_line(command, filled, tmp_path):
    files = _written(tmp_path)
    before = db_digest(filled)
    failures = []
    for name in NAMES:
        if (command, name) in ACCEPTED:
            continue
        result = runner.invoke(app, COMMANDS[command](files[name]))
        try:
            line = one_clear_line(result)
            assert name in line, line
        except AssertionError as exc:
            failures.append(f"{name}: {str(exc)[:300]}")
        assert db_digest(filled) == before, (command, name)
    assert not failures, "\n".join(failures)


def test_random_bytes_are_called_binary_not_empty(filled, tmp_path):
    files = _written(tmp_path)
    for command in ("import", "import-orders", "dnc import"):
        line = one_clear_line(runner.invoke(app, COMMANDS[command](files["random.csv"])))
        assert "binary data" in line and "empty" not in line


def test_a_deep_toml_file_is_a_clear_error(filled, tmp_path):
    files = _written(tmp_path)
    for name in ("deep_arrays.toml", "deep_tables.toml"):
        for command in ("script check", "--policy"):
            line = one_clear_line(runner.invoke(app, COMMANDS[command](files[name])))
            assert "nested too deeply" in line


def test_malformed_customer_rows_are_each_accounted_for(db_path, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(
        b"Customer Id,Name,Phone,Revenue,Birthday\n"
        b"C1,Ann,(212) 555-0100,900,1980-05-01\n"
        b"C2,Bob\n"                                          # short: no phone
        b"C3,Cid,(212) 555-0102,5,1970-01-01,extra,cells\n"   # long: kept as extra
        b"\n"
        b"C4,Da\x00n,(212) 555-0103,5,\n"                      # NUL in a name
        b"C5,B\"ob,(212) 555-0104,5,\n"                        # a stray quote inside
        b"C6,Eve,(212) 555-0105,NaN,\n"
        b"C7,Fay,(212) 555-0106,-300,\n"
        b"C8,Gus,(212) 555-0107,1e999,\n"
        b"C9,Hal,(212) 555-0108,5,2099-01-01\n"
        b"C1,Ann again,(212) 555-0100,950,\n"                  # a duplicate key
        b"C10,Ivy,(212) 555-0109,5,\n")
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    import json

    r = json.loads(result.output)
    assert r["rows_read"] == 11
    assert r["rows_read"] == (r["inserted"] + r["updated"] + r["unchanged"] + r["rejected"]
                              + r["duplicates"])
    reasons = {x["line"]: x["reason"] for x in r["rejects"]}
    assert set(reasons) == {3, 6, 8, 9, 10, 11}
    assert "no phone" in reasons[3]
    assert "control character (U+0000)" in reasons[6]
    assert "finite" in reasons[8] or "amount" in reasons[8]
    assert "negative" in reasons[9]
    assert "in the future" in reasons[11]
    assert (r["inserted"], r["duplicates"]) == (4, 1)


def test_malformed_order_lines_are_each_accounted_for(db_path, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(LIST)
    assert runner.invoke(app, ["import", str(listing)]).exit_code == 0
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,C1,2026-01-05,2,10\n"
        "2,C1,2026-01-06,NaN,10\n"
        "3,C2,2026-01-07,1,inf\n"
        "4,C2,2099-01-01,1,5\n"
        "5,C2,2026-01-08,1,-5\n"
        "6,,2026-01-08,1,5\n"
        "1,C1,2026-01-05,2,10\n"
        "7,C9,2026-01-09,1,5\n"
        "8,C1\n")
    import json

    result = runner.invoke(app, ["import-orders", str(path), "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["rows_read"] == 9
    assert r["rows_read"] == (r["added"] + r["pending"] + r["existing"] + r["duplicates"]
                              + r["no_customer"] + r["rejected"])
    reasons = {x["line"]: x["reason"] for x in r["rejects"]}
    assert "finite" in reasons[3] and "finite" in reasons[4]
    assert "in the future" in reasons[5]
    assert "negative price" in reasons[6]
    assert "no date" in reasons[10]
    assert (r["added"], r["pending"], r["duplicates"], r["no_customer"]) == (1, 1, 1, 1)
    with __import__("calls.store", fromlist=["Store"]).Store.open(db_path) as store:
        assert store.scalar("SELECT max(revenue_lifetime) FROM customers") == 20
