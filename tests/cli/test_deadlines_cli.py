"""CLI: followups --overdue (escalation, once, with when), contacted, history, and the
printable letters batch."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from calls import followups as fu
from calls.cli import app
from calls.clock import from_iso
from tests.support.followups import add_customer

AT = "2026-03-10T15:00:00Z"


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def fix(store):
    ann = add_customer(store, "C1", "Ann Able", owner="olga", phone="+15555550101",
                       extra={"Street": "1 Main St", "City": "Springfield"})
    return fu.add_followup(store, kind="fix_problem", customer_id=ann, owner="olga",
                           due_at=None, details="late parcel", now=from_iso(AT))


def test_overdue_escalates_once_and_says_when(runner, store, fix):
    r = run(runner, "followups", "--overdue", "--json", "--at", "2026-03-12T14:59:59Z")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    r = run(runner, "followups", "--overdue", "--json", "--at", "2026-03-12T16:00:00Z")
    [row] = json.loads(r.stdout)
    assert row["id"] == fix.id and row["escalated"] is True
    assert row["missed_deadlines"] == [{"deadline": "first_contact",
                                        "deadline_at": "2026-03-12T15:00:00Z"}]
    assert row["escalations"] == [{
        "deadline": "first_contact", "deadline_at": "2026-03-12T15:00:00Z",
        "escalated_at": "2026-03-12T16:00:00Z", "escalated_to": "supervisors",
        "owner": "olga", "waited_hours": 49.0}]
    # a later look shows the same escalation, not a new one
    r = run(runner, "followups", "--overdue", "--json", "--at", "2026-03-13T09:00:00Z")
    [row] = json.loads(r.stdout)
    assert [e["escalated_at"] for e in row["escalations"]] == ["2026-03-12T16:00:00Z"]
    # the table says it too
    r = run(runner, "followups", "--overdue", "--at", "2026-03-13T09:00:00Z")
    assert "contact Mar 12" in r.stdout and "Mar 12 16:00" in r.stdout
    assert "2 d" in r.stdout and "supervisors." in r.stdout


def test_policy_supervisors_receive_the_escalation(runner, store, fix, tmp_path, monkeypatch):
    policy = tmp_path / "policy.toml"
    policy.write_text('[deadlines]\nsupervisors = ["sam"]\n')
    monkeypatch.setenv("CARECALL_POLICY", str(policy))
    r = run(runner, "followups", "--overdue", "--json", "--at", "2026-03-13T09:00:00Z")
    assert json.loads(r.stdout)[0]["escalations"][0]["escalated_to"] == "sam"


def test_contacted_in_time_is_not_escalated(runner, store, fix):
    r = run(runner, "followups", "contacted", str(fix.id), "--note", "apologised",
            "--caller", "olga", "--at", "2026-03-11T10:00:00Z")
    assert r.exit_code == 0 and "first contact" in r.stdout
    r = run(runner, "followups", "--overdue", "--json", "--at", "2026-03-13T09:00:00Z")
    assert json.loads(r.stdout) == []
    r = run(runner, "followups", "history", str(fix.id), "--json", "--at",
            "2026-03-13T09:00:00Z")
    data = json.loads(r.stdout)
    assert [(h["status"], h["hours"]) for h in data["history"]] == [
        ("open", 19.0), ("contacted", 47.0)]


def test_contacted_on_a_closed_one_is_a_user_error(runner, store, fix):
    run(runner, "followups", "done", str(fix.id), "--note", "fixed", "--at", AT)
    r = runner.invoke(app, ["followups", "contacted", str(fix.id)])
    assert r.exit_code == 2 and "already done" in r.output


def test_unreached_letters_print_as_html(runner, store, db_path, tmp_path):
    ann = add_customer(store, "C9", "Cy Cole", extra={"Address": "5 Elm Rd", "Town": "Leeds",
                                                       "Postcode": "LS1 1AA"})
    fu.add_followup(store, kind="unreached_letter", customer_id=ann, owner=None,
                    due_at=from_iso(AT), details="", now=from_iso(AT), source="planner")
    out = tmp_path / "letters.html"
    r = run(runner, "followups", "--kind", "unreached_letter", "--format", "html", "-o",
            str(out), "--at", AT)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert html.count('class="letter"') == 1 and "5 Elm Rd\nLeeds\nLS1 1AA" in html
    assert "Dear Cy Cole," in html
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    r = runner.invoke(app, ["followups", "--format", "pdf"])
    assert r.exit_code == 2 and "html" in r.output
