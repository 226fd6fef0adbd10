"""The do-not-call list: CLI add / import / list / remove, and the queue never offering it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from calls.cli import app
from tests.support.queue import NY, add_customer

runner = CliRunner()
AT = "2026-03-10T15:00:00Z"


def run(*args):
    return runner.invoke(app, list(args))


def queued(at=AT):
    return [r["ref"] for r in json.loads(run("queue", "--at", at, "--json").stdout)]


def test_add_any_format_list_and_remove(store):
    add_customer(store, "R1", where=NY, phone="+12125550101")
    add_customer(store, "R2", where=NY, phone="+12125550102")
    assert queued() == ["R1", "R2"]
    result = run("dnc", "add", "(212) 555-0101", "--reason", "asked by letter")
    assert result.exit_code == 0 and "+12125550101" in result.stdout
    row = store.one("SELECT * FROM dnc")
    assert row["phone"] == "+12125550101" and row["reason"] == "asked by letter"
    assert queued() == ["R2"]
    again = run("dnc", "add", "+1 212-555-0101")
    assert again.exit_code == 0 and "already" in again.stdout
    assert store.scalar("SELECT count(*) FROM dnc") == 1
    listed = json.loads(run("dnc", "list", "--json").stdout)
    assert listed[0]["phone"] == "+12125550101" and listed[0]["customers"] == 1
    assert "+12125550101" in run("dnc", "list").stdout
    no_reason = run("dnc", "remove", "212.555.0101")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr
    blank = run("dnc", "remove", "212.555.0101", "--reason", "  ")
    assert blank.exit_code == 2 and "say why" in blank.stderr
    assert store.scalar("SELECT count(*) FROM dnc") == 1
    removed = run("dnc", "remove", "212.555.0101", "--reason", "listed by mistake")
    assert removed.exit_code == 0
    assert store.scalar("SELECT count(*) FROM dnc") == 0
    assert queued() == ["R1", "R2"]
    not_there = run("dnc", "remove", "212.555.0101", "--reason", "again")
    assert not_there.exit_code == 2 and "not on the do-not-call list" in not_there.stderr


def test_bad_number_is_refused(store):
    result = run("dnc", "add", "12")
    assert result.exit_code == 2 and "not a valid phone number" in result.stderr
    assert store.scalar("SELECT count(*) FROM dnc") == 0


def test_import_a_list_with_rejects(store, tmp_path):
    add_customer(store, "R1", where=NY, phone="+12125550101")
    f = tmp_path / "dnc.csv"
    f.write_text("Name,Phone Number\nA,212-555-0101\nB,not a number\nC,+44 20 7946 0105\n"
                 "D,(212) 555-0101\n", encoding="utf-8")
    result = run("dnc", "import", str(f), "--reason", "national list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["column"] == "Phone Number"
    assert (data["rows_read"], data["added"], data["already"]) == (4, 2, 1)
    assert [r["line"] for r in data["rejected"]] == [3]
    phones = {r["phone"] for r in store.all("SELECT phone FROM dnc")}
    assert phones == {"+12125550101", "+442079460105"}
    imp = store.one("SELECT * FROM imports WHERE kind = 'dnc'")
    assert imp["inserted"] == 2 and imp["rejected"] == 1
    assert store.scalar("SELECT count(*) FROM rejects WHERE import_id = ?", (imp["id"],)) == 1
    assert queued() == []


def test_import_a_bare_list_without_header(store, tmp_path):
    f = tmp_path / "numbers.txt"
    f.write_text("2125550101\n2125550102\n", encoding="utf-8")
    result = run("dnc", "import", str(f))
    assert result.exit_code == 0, result.output
    assert store.scalar("SELECT count(*) FROM dnc") == 2


def test_import_errors(store, tmp_path):
    missing = run("dnc", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    f = tmp_path / "two.csv"
    f.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run("dnc", "import", str(f))
    assert result.exit_code == 2 and "--column" in result.stderr
    wrong = run("dnc", "import", str(f), "--column", "zzz")
    assert wrong.exit_code == 2 and "no column 'zzz'" in wrong.stderr


def test_list_shows_100_and_says_how_many_more(store):
    with store.write():
        store.db["dnc"].insert_all(
            {"phone": f"+1212555{i:04d}", "added_at": "2026-01-01T00:00:00Z"} for i in range(150)
        )
    result = run("dnc", "list")
    assert result.exit_code == 0 and "100 of 150 numbers shown" in result.stdout
    assert len(json.loads(run("dnc", "list", "--json").stdout)) == 150
    assert len(json.loads(run("dnc", "list", "--json", "--limit", "7").stdout)) == 7


def test_unknown_region_is_refused(store, tmp_path):
    result = run("dnc", "add", "020 7946 0958", "--region", "ZZ")
    assert result.exit_code == 2 and "region 'ZZ'" in result.stderr
    f = tmp_path / "n.txt"
    f.write_text("020 7946 0958\n", encoding="utf-8")
    imported = run("dnc", "import", str(f), "--region", "XX")
    assert imported.exit_code == 2 and "region 'XX'" in imported.stderr
    assert store.scalar("SELECT count(*) FROM dnc") == 0
    assert run("dnc", "add", "020 7946 0958", "--region", "gb").exit_code == 0
    assert store.scalar("SELECT phone FROM dnc") == "+442079460958"


def test_headerless_list_says_so_and_rejects_name_the_number_once(store, tmp_path):
    f = tmp_path / "numbers.txt"
    f.write_text("+1 212 555 0199\nfoo\n", encoding="utf-8")
    result = run("dnc", "import", str(f))
    assert result.exit_code == 0, result.output
    assert "(no header)" in result.stdout and "column '+1 212" not in result.stdout
    assert "line 2: 'foo' has no digits" in result.stdout
    assert store.scalar("SELECT phone FROM dnc") == "+12125550199"
    as_json = json.loads(run("dnc", "import", str(f), "--json").stdout)
    assert as_json["column"] is None


def test_import_of_a_binary_file_is_one_line(store, tmp_path):
    f = tmp_path / "junk.csv"
    f.write_bytes(b"\x7fELF\x02\x01\x01\x00\r\x00phone\nx\r\x00y\n" * 50)
    result = run("dnc", "import", str(f))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1


def test_the_column_guess_prefers_the_one_holding_numbers(store, tmp_path):
    """Regression: a file with "number_type" before "expected_e164" had every line rejected."""
    f = tmp_path / "numbers.csv"
    f.write_text("region,number_type,expected_e164\nUS,MOBILE,+12125550101\n"
                 "GB,FIXED_LINE,+442079460958\n", encoding="utf-8")
    result = run("dnc", "import", str(f), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["column"] == "expected_e164" and data["added"] == 2 and not data["rejected"]


def test_a_number_put_on_the_list_cancels_its_customers_calls_only(store, tmp_path):
    """Open callbacks and recovery calls of the customer go; letters and gifts stay."""
    from datetime import UTC, datetime, timedelta

    from calls.followups import add_followup

    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    listed = add_customer(store, "D1", where=NY, phone="+12125550111")
    second = add_customer(store, "D2", where=NY, phone="+12125550112", phone2="+12125550113")
    other = add_customer(store, "D3", where=NY, phone="+12125550114")
    ids = {}
    for name, cid, kind in [("cb", listed, "callback"), ("note", listed, "thank_you_note"),
                            ("rec", second, "recovery_call"), ("keep", other, "callback")]:
        ids[name] = add_followup(store, kind=kind, customer_id=cid, owner="ann",
                                 due_at=now + timedelta(days=1), details=name, now=now).id

    def status(name):
        return store.scalar("SELECT status FROM followups WHERE id = ?", (ids[name],))

    result = run("dnc", "add", "(212) 555-0111")
    assert result.exit_code == 0 and "cancelled 1 open callback" in result.stdout
    assert (status("cb"), status("note"), status("rec"), status("keep")) == (
        "cancelled", "open", "open", "open")
    note = store.one("SELECT close_note, closed_by FROM followups WHERE id = ?", (ids["cb"],))
    assert "+12125550111 put on the do-not-call list" in note["close_note"]
    # A list holding a customer's second number cancels theirs too.
    (tmp_path / "dnc.csv").write_text("phone\n212-555-0113\n", encoding="utf-8")
    imported = json.loads(run("dnc", "import", str(tmp_path / "dnc.csv"), "--json").stdout)
    assert imported["calls_cancelled"] == 1
    assert (status("rec"), status("keep")) == ("cancelled", "open")
