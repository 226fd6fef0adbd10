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
    first = load_policy(f)
    assert audit.note_policy(store, first, "sue", now=now)
    assert not audit.note_policy(store, load_policy(f), "sue", now=now)   # the same version
    assert audit.note_policy(store, load_policy(f), "ann", now=now)       # ann's first
    f.write_text("[claims]\nlease_minutes = 25\n", encoding="utf-8")
    second = load_policy(f)
    assert audit.note_policy(store, second, "sue", now=now)
    assert audit.note_policy(store, load_policy(None), "sue", now=now)   # the defaults
    assert audit.note_policy(store, second, "sue", now=now)   # back to it: named again
    assert not audit.note_policy(store, second, "sue", now=now)
    sues = [(e.subject, e.details.get("file")) for e in audit.entries(
        store, action="policy.load", actor="sue")]
    from calls import __version__

    assert sues == [(first.source_hash, str(f)), (second.source_hash, str(f)),
                    (f"built-in {__version__}", None), (second.source_hash, str(f))]


def test_the_policy_each_command_works_under_is_named(store, now, monkeypatch, tmp_path):
    make_team(store, now)
    add_customer(store, "R1", where=NY)
    add_customer(store, "R2", where=NY)
    f = tmp_path / "policy.toml"
    f.write_text("[claims]\nlease_minutes = 20\n", encoding="utf-8")
    as_os_login(monkeypatch, "ann")
    at = "2026-03-10T15:01:00Z"
    assert run("next", "--policy", str(f), "--at", at).exit_code == 0
    assert run("next", "--policy", str(f), "--at", at).exit_code == 0   # no new row
    assert run("log-call", "R2", "--outcome", "no_answer", "--at", at).exit_code == 0   # the defaults
    bad = run("log-call", "R2", "--outcome", "completed", "--answer", "nope=1",
              "--policy", str(f), "--at", at)
    assert bad.exit_code == 2   # refused: nothing of it written, not even the policy
    assert [(e.actor, e.details.get("file")) for e in audit.entries(
        store, action="policy.load")] == [("ann", str(f)), ("ann", None)]


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


def test_followups_contacted_and_rescheduled_only_by_the_owner(store, now, monkeypatch):
    make_team(store, now)
    cid = add_customer(store, "R1", where=NY)
    bobs = add_followup(store, cid, "fix_problem", None, owner="bob")
    as_os_login(monkeypatch, "ann")
    at = "2026-03-10T16:00:00Z"
    for args in (("contacted", str(bobs)), ("reschedule", str(bobs), "+2d")):
        refused = run("followups", *args, "--at", at)
        assert refused.exit_code == 2 and "refused" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    row = store.one("SELECT first_contact_at, due_at FROM followups WHERE id = ?", [bobs])
    assert row["first_contact_at"] is None and audit.entries(store, action="followup") == []
    as_os_login(monkeypatch, "bob")
    done = run("followups", "contacted", str(bobs), "--note", "left a message", "--at", at)
    assert done.exit_code == 0, done.output
    assert run("followups", "reschedule", str(bobs), "2026-03-12", "--at", at).exit_code == 0
    as_os_login(monkeypatch, "sue")   # a supervisor may mark anyone's
    assert run("followups", "contacted", str(bobs), "--at", at).exit_code == 0
    assert [(e.actor, e.action, e.subject) for e in audit.entries(store, action="followup")] \
        == [("bob", "followup.contact", f"#{bobs}"), ("bob", "followup.reschedule", f"#{bobs}"),
            ("sue", "followup.contact", f"#{bobs}")]
    first = audit.entries(store, action="followup.contact")[0]
    assert first.details == {"kind": "fix_problem", "customer": "R1", "owner": "bob",
                             "note": "left a message"}
    assert store.scalar("SELECT first_contact_by FROM followups WHERE id = ?", [bobs]) == "bob"


def test_next_refuses_a_paused_seat(store, now, monkeypatch):
    from calls import floor
    from calls.accounts import get_account

    make_team(store, now)
    add_customer(store, "R1", where=NY)
    floor.sign_on(store, "ann", now=now)
    floor.pause_caller(store, "ann", "coaching", actor=get_account(store, "sue").as_actor(),
                       now=now)
    as_os_login(monkeypatch, "ann")
    out = run("next", "--at", "2026-03-10T15:01:00Z")
    assert out.exit_code == 2
    assert out.stderr.strip() == ("error: ann is paused (coaching) since 15:00 UTC: no customer "
                                  "is offered until the seat is back to ready (Enter on the "
                                  "shift's paused screen)")
    assert store.scalar("SELECT count(*) FROM claims") == 0
    floor.set_state(store, "ann", "ready", now=now)
    back = run("next", "--at", "2026-03-10T15:02:00Z")
    assert back.exit_code == 0 and "claimed for ann" in back.stdout


def test_every_file_written_out_is_an_export(store, now, monkeypatch, tmp_path):
    make_team(store, now)
    cid = add_customer(store, "R1", where=NY)
    add_followup(store, cid, "send_info", None, owner="ann")
    as_os_login(monkeypatch, "sue")
    ics = tmp_path / "due.ics"
    assert run("followups", "--format", "ics", "-o", str(ics)).exit_code == 0
    page = tmp_path / "report.html"
    out = run("report", "--html", str(page))
    assert out.exit_code == 0, out.output
    assert page.exists() and ics.exists()
    monkeypatch.chdir(tmp_path)   # a relative -o is named by its absolute path
    assert run("export", "calls", "-o", "calls.csv").exit_code == 0
    assert run("export", "calls", "--format", "json").exit_code == 0
    assert [(e.actor, e.subject, e.details["to"], e.details["format"])
            for e in audit.entries(store, action="export")] == [
        ("sue", "followups", str(ics), "ics"), ("sue", "report", str(page), "html"),
        ("sue", "calls", str(tmp_path / "calls.csv"), "csv"), ("sue", "calls", "stdout", "json")]


def test_a_number_marked_wrong_in_a_call_is_audited(store, now):
    from calls.customers import mark_number
    from calls.store.customers import get_customer

    cid = add_customer(store, "R1", where=NY, phone="+12125550101")
    mark_number(store, get_customer(store, cid), "+12125550101", "wrong_number", by="ann",
                now=now)
    assert rows(store, "customer.number") == [
        ("ann", "R1", {"number": "+12125550101", "status": "wrong_number"})]


def test_rejected_rows_written_to_a_file_are_an_export(store, now, monkeypatch, tmp_path):
    as_os_login(monkeypatch, "carecall")
    src = tmp_path / "list.csv"
    src.write_text("ref,name,phone\nR1,Ada Lee,+12125550101\nR2,Bo Bad,not a number\n",
                   encoding="utf-8")
    out = tmp_path / "rejects.csv"
    done = run("import", str(src), "--rejects", str(out))
    assert done.exit_code == 0, done.output
    assert "not a number" in out.read_text(encoding="utf-8")
    [e] = audit.entries(store, action="export")
    assert (e.actor, e.subject, e.details) == (
        "carecall", "rejected rows", {"rows": 1, "to": str(out), "from": str(src)})
    assert run("import", str(src)).exit_code == 0   # no --rejects: no file, no row
    assert len(audit.entries(store, action="export")) == 1


def test_a_failed_import_names_no_policy(store, now, monkeypatch, tmp_path):
    """The policy an import tiers by is named in the import's own transaction: a failed
    import, or a dry run, leaves neither an import row nor a policy.load row."""
    make_team(store, now)
    as_os_login(monkeypatch, "sue")
    bad = tmp_path / "no_phones.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    out = run("import", str(bad))
    assert out.exit_code == 2 and "no phone column" in out.stderr
    orders = tmp_path / "orders.csv"
    orders.write_text("x\n1\n", encoding="utf-8")
    assert run("import-orders", str(orders)).exit_code == 2
    good = str(DATA / "datablist_customers_10.csv")
    assert run("import", good, "--dry-run").exit_code == 0
    assert audit.entries(store, action="policy") == []
    assert audit.entries(store, action="import") == []
    assert run("import", good).exit_code == 0
    [policy_row, import_row] = [e for e in audit.entries(store) if e.actor == "sue"]
    assert (policy_row.action, import_row.action) == ("policy.load", "import")
    assert policy_row.id < import_row.id   # named before (and with) the import it governs
    assert run("import", good).exit_code == 0   # the same policy: not named again
    assert len(audit.entries(store, action="policy.load")) == 1
    assert len(audit.entries(store, action="import")) == 2


def test_consent_from_the_command_line_is_the_accounts(store, now, monkeypatch):
    """With accounts, a consent recorded or withdrawn by hand (and a customer's type) is
    the account's row, not the service's OS login; an OS login without one is refused."""
    make_team(store, now)
    add_customer(store, "R1", where=NY)
    as_os_login(monkeypatch, "ann")
    assert run("consent", "withdraw", "R1", "marketing", "--how", "letter").exit_code == 0
    as_os_login(monkeypatch, "sue")
    assert run("consent", "add", "R1", "calls", "--how", "letter").exit_code == 0
    assert run("consent", "type", "R1", "business").exit_code == 0
    as_os_login(monkeypatch, "carecall")
    refused = run("consent", "add", "R1", "marketing")
    assert refused.exit_code == 2 and "has no carecall account" in refused.stderr
    assert [(e.actor, e.action) for e in audit.entries(store)
            if e.action.startswith(("consent", "customer"))] == [
        ("ann", "consent.withdraw"), ("sue", "consent.give"), ("sue", "customer.edit")]
