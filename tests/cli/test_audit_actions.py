"""An audit row for every auditable action, written with the change, by whom it was done;
a refused or failed change leaves no row (and no change)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from calls import audit
from calls.cli import app
from tests.support.queue import NY, add_customer, add_followup
from tests.support.team import as_os_login, make_team

runner = CliRunner()
DATA = Path(__file__).resolve().parents[1] / "data"


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def rows(store, action):
    return [(e.actor, e.subject, e.details) for e in audit.entries(store, action=action)]


def test_dnc_add_and_remove_need_a_supervisor_and_a_reason(store, now, monkeypatch):
    make_team(store, now)
    add_customer(store, "R1", where=NY, phone="+12125550101")
    as_os_login(monkeypatch, "ann")
    refused = run("dnc", "add", "+12125550101")
    assert refused.exit_code == 2 and "only a supervisor or admin" in refused.stderr
    assert store.scalar("SELECT count(*) FROM dnc") == 0 and rows(store, "dnc") == []
    as_os_login(monkeypatch, "sue")
    assert run("dnc", "add", "+12125550101", "--reason", "asked by letter").exit_code == 0
    assert rows(store, "dnc.add") == [("sue", "+12125550101",
                                       {"reason": "asked by letter", "source": "manual",
                                        "calls_cancelled": 0})]
    assert run("dnc", "add", "+12125550101").exit_code == 0  # already listed: no new row
    assert len(rows(store, "dnc.add")) == 1
    assert run("dnc", "remove", "+12125550101").exit_code == 2  # no reason
    assert run("dnc", "remove", "+12125550199", "--reason", "x").exit_code == 2  # not listed
    assert rows(store, "dnc.remove") == []
    assert run("dnc", "remove", "+12125550101", "--reason", "listed in error").exit_code == 0
    [(who, number, details)] = rows(store, "dnc.remove")
    assert (who, number, details["reason"], details["customers_cleared"]) == (
        "sue", "+12125550101", "listed in error", 0)


def test_followups_close_cancel_reassign(store, now, monkeypatch):
    make_team(store, now)
    cid = add_customer(store, "R1", where=NY)
    mine = add_followup(store, cid, "send_info", None, owner="ann")
    bobs = add_followup(store, cid, "gift", None, owner="bob")
    other = add_followup(store, cid, "thank_you_note", None, owner="bob")
    as_os_login(monkeypatch, "ann")
    refused = run("followups", "done", str(bobs), "--note", "sent")
    assert refused.exit_code == 2 and "refused" in refused.stderr
    assert run("followups", "cancel", str(bobs)).exit_code == 2
    assert run("followups", "reassign", str(mine), "--to", "bob").exit_code == 2
    assert store.scalar("SELECT count(*) FROM followups WHERE status = 'open'") == 3
    assert audit.entries(store, action="followup") == []
    mine_list = json.loads(run("followups", "--json").stdout)
    assert [f["id"] for f in mine_list] == [mine]  # a caller sees only their own
    assert run("followups", "--owner", "bob").exit_code == 2
    assert run("followups", "done", str(mine), "--note", "mailed").exit_code == 0
    as_os_login(monkeypatch, "sue")
    assert run("followups", "reassign", str(bobs), "--to", "ann").exit_code == 0
    assert run("followups", "reassign", str(other), "--to", "nobody").exit_code == 2
    assert run("followups", "cancel", str(other), "--note", "moved away").exit_code == 0
    assert [(a, s) for a, s, _ in rows(store, "followup")] == [
        ("ann", f"#{mine}"), ("sue", f"#{bobs}"), ("sue", f"#{other}")]
    assert [e.action for e in audit.entries(store, action="followup")] == [
        "followup.close", "followup.reassign", "followup.cancel"]
    assert rows(store, "followup.reassign")[0][2] == {
        "kind": "gift", "customer": "R1", "from": "bob", "to": "ann"}
    assert store.scalar("SELECT owner FROM followups WHERE id = ?", [bobs]) == "ann"


def test_imports_and_exports(store, now, monkeypatch, tmp_path):
    as_os_login(monkeypatch, "carecall")
    first = run("import", str(DATA / "datablist_customers_10.csv"))
    assert first.exit_code == 0, first.output
    again = run("import", str(DATA / "datablist_customers_10.csv"))
    assert again.exit_code == 0, again.output
    dnc = tmp_path / "dnc.csv"
    dnc.write_text("phone\n+12125550101\nnot a number\n", encoding="utf-8")
    assert run("dnc", "import", str(dnc)).exit_code == 0
    imports = audit.entries(store, action="import")
    assert [(e.actor, e.details["kind"]) for e in imports] == [
        ("carecall", "customers"), ("carecall", "customers"), ("carecall", "dnc")]
    assert imports[0].subject.endswith("datablist_customers_10.csv")
    stored = store.scalar("SELECT count(*) FROM customers")
    assert stored > 0 and imports[0].details["inserted"] == stored
    assert imports[1].details["unchanged"] == stored and "inserted" not in imports[1].details
    assert imports[2].details["rejected"] == 1
    out = tmp_path / "customers.csv"
    assert run("export", "customers", "-o", str(out)).exit_code == 0
    [e] = audit.entries(store, action="export")
    assert (e.actor, e.subject, e.details["rows"], e.details["to"]) == (
        "carecall", "customers", stored, str(out))
    notes = tmp_path / "notes.csv"
    assert run("followups", "--format", "csv", "-o", str(notes)).exit_code == 0
    assert run("followups", "--json").exit_code == 0  # on screen: not an export
    e = audit.entries(store, action="export")[-1]
    assert (e.subject, e.details["rows"], e.details["to"]) == ("followups", 0, str(notes))


def test_a_refused_import_changes_nothing(store, now, monkeypatch):
    make_team(store, now)
    as_os_login(monkeypatch, "bob")
    out = run("import", str(DATA / "datablist_customers_10.csv"))
    assert out.exit_code == 2 and "only a supervisor or admin may import lists" in out.stderr
    assert store.scalar("SELECT count(*) FROM customers") == 0
    assert audit.entries(store, action="import") == []
    assert run("export", "customers").exit_code == 2
    assert run("report").exit_code == 2


def test_release_another_callers_claims(store, now, monkeypatch):
    make_team(store, now)
    add_customer(store, "R1", where=NY)
    as_os_login(monkeypatch, "ann")
    assert run("next", "--at", "2026-03-10T15:00Z").exit_code == 0
    assert run("next", "--caller", "bob").exit_code == 2  # --caller names only yourself
    as_os_login(monkeypatch, "bob")
    assert run("release", "--caller", "ann").exit_code == 2
    assert store.scalar("SELECT count(*) FROM claims") == 1
    as_os_login(monkeypatch, "sue")
    out = run("release", "--caller", "ann")
    assert out.exit_code == 0 and "released 1 claim of ann" in out.stdout
    assert store.scalar("SELECT count(*) FROM claims") == 0
    assert rows(store, "claims.release") == [("sue", "ann", {"customers": 1})]


def test_script_and_policy_versions(store, now, tmp_path):
    from calls.policy import load_policy
    from calls.store.scripts import store_script
    from calls.survey import load_script

    script = load_script(str(DATA / "tui_quarterly.toml"))
    store_script(store, script, now, by="ann")
    store_script(store, script, now, by="ann")  # the same version: stored and audited once
    [e] = audit.entries(store, action="script.load")
    assert e.actor == "ann" and e.subject == f"{script.name} v{script.version}"
    f = tmp_path / "policy.toml"
    f.write_text("[claims]\nlease_minutes = 20\n", encoding="utf-8")
    assert audit.note_policy(store, load_policy(f), "sue", now=now)
    assert not audit.note_policy(store, load_policy(f), "sue", now=now)
    f.write_text("[claims]\nlease_minutes = 25\n", encoding="utf-8")
    assert audit.note_policy(store, load_policy(f), "sue", now=now)
    assert not audit.note_policy(store, load_policy(None), "sue", now=now)  # the defaults
    assert [e.details["file"] for e in audit.entries(store, action="policy.load")] == [str(f)] * 2


def test_calls_audit_a_do_not_call_and_a_number_correction(store, now):
    from calls.calling import correct_number, record_outcome, start_call

    cid = add_customer(store, "R1", where=NY, phone="+12125550101")
    call = start_call(store, cid, "ann", now)
    record_outcome(store, call, "do_not_call", now)
    assert rows(store, "dnc.add") == [("ann", "+12125550101",
                                       {"source": "call", "call_id": call, "customer": "R1"})]
    other = add_customer(store, "R2", where=NY, phone="+12125550102")
    correct_number(store, other, "(212) 555-0199", now, by="ann")
    assert rows(store, "customer.number") == [("ann", "R2", {"from": "+12125550102",
                                                             "to": "+12125550199"})]
    import pytest

    from calls.errors import UserError

    with pytest.raises(UserError):
        correct_number(store, other, "12", now, by="ann")  # not a number: no change, no row
    assert len(rows(store, "customer.number")) == 1
