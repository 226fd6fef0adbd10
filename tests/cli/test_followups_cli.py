"""CLI: carecall followups (list, add, done, cancel, reschedule, mail merge) and plan."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from calls import followups as fu
from calls.cli import app
from tests.support.followups import Spec, add_call, add_customer

AT = "2026-03-10T15:00:00Z"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def people(store):
    ann = add_customer(
        store,
        "C1",
        "Ann Able",
        owner="olga",
        tier="A",
        birthday="1980-03-15",
        company="Acme",
        extra={"Street": "1 Main St", "City": "Springfield", "ZIP": "12345"},
    )
    bob = add_customer(store, "C2", "Bo Brown", owner="olga", tier="C", customer_since="2019-03-20")
    return ann, bob


def run(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_add_list_done(runner, store, people):
    r = run(
        runner,
        "followups",
        "add",
        "C1",
        "send_info",
        "--note",
        "Send the catalogue",
        "--due",
        "+1d",
        "--caller",
        "bob",
        "--at",
        AT,
    )
    assert r.exit_code == 0, r.output
    assert "Added follow-up #1" in r.output
    row = store.one("SELECT * FROM followups WHERE id = 1")
    assert (row["kind"], row["owner"], row["due_at"], row["details"], row["created_by"]) == (
        "send_info",
        "bob",
        "2026-03-11T15:00:00Z",
        "Send the catalogue",
        "bob",
    )
    r = run(
        runner,
        "followups",
        "add",
        "C1",
        "send_info",
        "--note",
        "and the price list",
        "--caller",
        "bob",
        "--at",
        AT,
    )
    assert "no duplicate" in r.output
    assert store.scalar("SELECT count(*) FROM followups") == 1

    r = run(runner, "followups", "--mine", "--caller", "bob", "--json", "--at", AT)
    data = json.loads(r.output)
    assert [d["id"] for d in data] == [1]
    assert data[0]["details"] == "Send the catalogue\nand the price list"
    r = run(runner, "followups", "--owner", "olga", "--json")
    assert json.loads(r.output) == []

    r = run(runner, "followups", "--caller", "bob", "--at", AT)
    assert r.exit_code == 0 and "Ann Able" in r.output and "send_info" in r.output

    r = run(runner, "followups", "done", "1", "--note", "posted", "--caller", "bob", "--at", AT)
    assert r.exit_code == 0 and "Closed #1 send_info" in r.output
    row = store.one("SELECT * FROM followups WHERE id = 1")
    assert (row["status"], row["closed_by"], row["close_note"]) == ("done", "bob", "posted")
    assert json.loads(run(runner, "followups", "--json").output) == []
    assert len(json.loads(run(runner, "followups", "--status", "all", "--json").output)) == 1


def test_add_with_account_owner_and_anyone(runner, store, people):
    r = run(runner, "followups", "add", "C1", "referral", "--owner", "account_owner", "--at", AT)
    assert r.exit_code == 0
    r = run(
        runner,
        "followups",
        "add",
        "C2",
        "callback",
        "--owner",
        "anyone",
        "--due",
        "2026-03-11T14:30:00Z",
        "--at",
        AT,
    )
    assert r.exit_code == 0
    rows = {r["kind"]: r["owner"] for r in store.all("SELECT kind, owner FROM followups")}
    assert rows == {"referral": "olga", "callback": None}


def test_fix_problem_done_opens_the_recovery_call(runner, store, people):
    ann, _ = people
    call = add_call(
        store,
        ann,
        "bob",
        datetime(2026, 3, 9, 15, tzinfo=UTC),
        "completed",
        nps=2,
    )
    fu.apply_rule_followups(
        store,
        call,
        [Spec("fix_problem", "account_owner", None, "late")],
        "bob",
        datetime(2026, 3, 9, 15, 10, tzinfo=UTC),
    )
    r = run(runner, "followups", "done", "1", "--caller", "olga", "--at", AT)
    assert r.exit_code == 2 and "say what was done" in r.output
    r = run(
        runner,
        "followups",
        "done",
        "1",
        "--note",
        "refunded",
        "--caller",
        "olga",
        "--at",
        AT,
        "--json",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["status"] == "done"
    rec = data["recovery_call"]
    assert rec["kind"] == "recovery_call" and rec["due_at"] == AT and rec["score_before"] == 2
    r = run(runner, "followups", "--kind", "recovery_call", "--due", "--at", AT, "--json")
    assert [d["id"] for d in json.loads(r.output)] == [rec["id"]]


def test_due_and_overdue(runner, store, people):
    for ref, due in (("C1", "2026-03-09T10:00:00Z"), ("C2", "2026-03-12T10:00:00Z")):
        assert run(runner, "followups", "add", ref, "gift", "--due", due, "--at", AT).exit_code == 0
    overdue = json.loads(run(runner, "followups", "--overdue", "--json", "--at", AT).output)
    assert [d["customer_ref"] for d in overdue] == ["C1"]
    due = json.loads(run(runner, "followups", "--due", "--json", "--at", AT).output)
    assert [d["customer_ref"] for d in due] == ["C1"]
    later = json.loads(
        run(runner, "followups", "--due", "--json", "--at", "2026-03-12T12:00:00Z").output
    )
    assert [d["customer_ref"] for d in later] == ["C1", "C2"]


def test_cancel_and_reschedule(runner, store, people):
    run(runner, "followups", "add", "C1", "sales_lead", "--at", AT)
    r = run(runner, "followups", "reschedule", "1", "2026-04-01", "--at", AT)
    assert r.exit_code == 0
    assert store.scalar("SELECT due_at FROM followups WHERE id = 1").startswith("2026-04-01")
    r = run(runner, "followups", "cancel", "1", "--note", "not interested", "--at", AT)
    assert r.exit_code == 0 and "Cancelled #1" in r.output
    assert store.scalar("SELECT status FROM followups WHERE id = 1") == "cancelled"
    r = run(runner, "followups", "cancel", "1", "--at", AT)
    assert r.exit_code == 2 and "already cancelled" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["followups", "add", "NOPE", "gift"], "no customer with ref 'NOPE'"),
        (["followups", "add", "C1", "cake"], "unknown follow-up kind 'cake'"),
        (["followups", "add", "C1", "gift", "--due", "soonish"], "cannot read the time"),
        (["followups", "done", "99"], "no follow-up #99"),
        (["followups", "--owner", "x", "--mine"], "not both"),
        (["followups", "--due", "--overdue"], "not both"),
        (["followups", "--kind", "cake"], "'cake' is not one of"),
        (["followups", "--format", "xml"], "'xml' is not one of"),
        (["followups", "--customer", "NOPE"], "no customer"),
        (["plan", "--at", "2026-02-30"], "cannot read the date"),
        # Regression: these overflowed the date arithmetic or SQLite's integers (tracebacks).
        (["followups", "add", "C1", "gift", "--due", "+99999999d"], "too far from today"),
        (["followups", "add", "C1", "gift", "--due", "0001-01-01"], "too far from today"),
        (["followups", "done", "9" * 30], "no follow-up #999"),
        (["followups", "--at", "0001-01-01T00:00Z"], "too far from today"),
        (["plan", "--at", "0001-01-01"], "too far from today"),
        (["plan", "--at", "9999-12-31"], "too far from today"),
        (["plan", "--at", "9999-12-31T10:00"], "too far from today"),
        (["followups", "--json", "--format", "csv"], "not both"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(runner, people, args, message):
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_plan_and_mail_merge_csv(runner, store, people, tmp_path):
    r = run(runner, "plan", "--at", "2026-03-10")
    assert r.exit_code == 0, r.output
    assert "Planned 2 occasions in 2 follow-ups" in r.output
    again = run(runner, "plan", "--at", "2026-03-10", "--json")
    assert json.loads(again.output)["planned"] == []
    assert json.loads(again.output)["already_planned"] == 2
    kinds = {r["kind"] for r in store.all("SELECT kind FROM followups")}
    assert kinds == {"gift", "thank_you_note"}

    out = tmp_path / "notes.csv"
    r = run(runner, "followups", "--kind", "thank_you_note", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1
    assert rows[0]["name"] == "Bo Brown"
    assert rows[0]["occasion"] == "7th anniversary as a customer 2026-03-20"

    gifts = tmp_path / "gifts.csv"
    run(runner, "followups", "--kind", "gift", "--format", "csv", "-o", str(gifts))
    [gift] = list(csv.DictReader(io.StringIO(gifts.read_text(encoding="utf-8"))))
    assert (gift["Street"], gift["City"], gift["ZIP"], gift["company"]) == (
        "1 Main St",
        "Springfield",
        "12345",
        "Acme",
    )


def test_csv_output_refuses_a_directory_and_neutralises_formulas(runner, store, people, tmp_path):
    r = runner.invoke(app, ["followups", "--format", "csv", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "is a directory" in r.output
    run(runner, "followups", "add", "C1", "send_info", "--note", '=HYPERLINK("x")', "--at", AT)
    r = run(runner, "followups", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(r.output)))
    assert row["note"] == '\'=HYPERLINK("x")'


def test_limit_in_table_and_json(runner, store, people):
    for kind in ("gift", "referral", "send_info"):
        assert (
            run(runner, "followups", "add", "C1", kind, "--due", "+1d", "--at", AT).exit_code == 0
        )
    r = run(runner, "followups", "--limit", "2", "--at", AT)
    assert r.exit_code == 0 and "and more" in r.output
    assert "gift" in r.output and "referral" in r.output and "send_info" not in r.output
    data = json.loads(run(runner, "followups", "--json", "--limit", "2").output)
    assert len(data) == 2
    assert len(json.loads(run(runner, "followups", "--json").output)) == 3
    r = run(runner, "followups", "--at", AT)
    assert "and more" not in r.output


def test_notes_owners_and_names_print_as_written_not_as_markup(runner, store, people):
    """Regression: a note or owner with "[/]" crashed the table (a traceback)."""
    r = run(runner, "followups", "add", "C1", "escalate", "--note", "[/] urgent [bold]",
            "--owner", "[red]olga", "--at", AT)
    assert r.exit_code == 0, r.output
    table = run(runner, "followups", "--at", AT)
    assert table.exit_code == 0, table.output
    assert "[/] urgent [bold]" in table.stdout and "[red]olga" in table.stdout
    mine = run(runner, "followups", "--owner", "x[/]", "--at", AT)
    assert mine.exit_code == 0 and "No open follow-ups for x[/]." in mine.stdout


def test_owner_filter_ignores_case(runner, store, people):
    r = run(runner, "followups", "add", "C1", "send_info", "--note", "Catalogue",
            "--owner", "Olga", "--caller", "bob", "--at", AT)
    assert r.exit_code == 0, r.output
    for spelled in ("olga", "OLGA", "Olga"):
        listed = json.loads(run(runner, "followups", "--owner", spelled, "--json").stdout)
        assert [f["details"] for f in listed] == ["Catalogue"], spelled
    assert json.loads(run(runner, "followups", "--owner", "olg", "--json").stdout) == []


def test_plan_says_what_was_too_late_to_plan(runner, store):
    # A list imported on its customer's anniversary: no note born past its deadline.
    add_customer(store, "N1", "Nia New", customer_since="2019-03-10",
                 created_at="2026-03-10T08:00:00Z")
    # Counted in the summary, as how things stand (like "already planned"): the same
    # words at every run in its window, not a warning line of its own each time.
    for _ in range(2):
        r = run(runner, "plan", "--at", "2026-03-10T09:00")
        assert r.exit_code == 0, r.output
        said = " ".join(r.output.split())
        assert said.startswith("Planned 0 occasions")
        assert ("(0 already planned, 0 left alone: do-not-call, 1 left for next year: too "
                "late to post when the customer came onto the list).") in said
        assert "Not planned this year" not in said and len(r.output.splitlines()) <= 3
    assert store.scalar("SELECT count(*) FROM followups") == 0
