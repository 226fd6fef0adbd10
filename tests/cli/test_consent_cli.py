"""CLI: carecall consent add/withdraw/type/show; a policy that widens the law exits 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from calls.cli import app
from tests.support.queue import BERLIN, add_customer

runner = CliRunner()
AT = "2026-03-10T10:00:00Z"   # Tuesday, 11:00 in Berlin


def run(*args):
    return runner.invoke(app, list(args))


def queue_refs(*extra) -> list[str]:
    result = run("queue", "--at", AT, "--json", *extra)
    assert result.exit_code == 0, result.output
    return [r["ref"] for r in json.loads(result.stdout)]


def test_consent_add_withdraw_show_and_the_queue_follows(store):
    add_customer(store, "K1", name="Birgit", where=BERLIN)
    assert queue_refs() == []
    shown = json.loads(run("consent", "show", "K1", "--json").stdout)
    assert shown["jurisdiction"] == "DE" and shown["customer_type"] == "consumer"
    assert not shown["basis"]["care"]["ok"] and "UWG" in shown["basis"]["care"]["why"]

    added = run("consent", "add", "K1", "calls", "--how", "letter",
                "--proof", "signed form", "--at", "2026-01-05")
    assert added.exit_code == 0, added.output
    assert queue_refs() == ["K1"]
    table = run("consent", "show", "K1")
    assert "care call: allowed" in table.stdout and "signed form" in table.stdout

    assert run("consent", "withdraw", "K1", "calls", "--how", "call").exit_code == 0
    assert queue_refs() == []
    rows = store.all("SELECT what, state, how, proof FROM consents ORDER BY id")
    assert rows == [
        {"what": "calls", "state": "given", "how": "letter", "proof": "signed form"},
        {"what": "calls", "state": "withdrawn", "how": "call", "proof": None},
    ]
    actions = [r["action"] for r in store.all("SELECT action FROM audit ORDER BY id")]
    assert actions == ["consent.give", "consent.withdraw"]


def test_a_business_is_called_on_presumed_consent(store):
    add_customer(store, "B1", where=BERLIN)
    assert run("consent", "type", "B1", "business", "--contract").exit_code == 0
    assert queue_refs() == ["B1"]
    assert store.one("SELECT customer_type, contract FROM customers") == {
        "customer_type": "business", "contract": 1}


def test_bad_input_is_one_line_and_exit_2(store):
    add_customer(store, "K1", where=BERLIN)
    for args in (("consent", "add", "NOPE", "calls"),
                 ("consent", "add", "K1", "calls", "--at", "2999-01-01"),
                 ("consent", "add", "K1", "calls", "--at", "yesterday-ish")):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert store.scalar("SELECT count(*) FROM consents") == 0


def test_a_policy_that_widens_the_law_is_refused_with_the_rule(store, tmp_path):
    add_customer(store, "K1", where=BERLIN)
    wide = tmp_path / "wide.toml"
    wide.write_text('[calling.countries.US]\nearliest = "05:00"\n', encoding="utf-8")
    result = run("queue", "--at", AT, "--policy", str(wide))
    assert result.exit_code == 2
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "calling.countries.US.earliest" in err and "47 CFR § 64.1200" in err


def test_queue_held_lists_who_is_held_back_with_counts_per_rule(store):
    from tests.support.queue import MIAMI, NY, PARIS

    add_customer(store, "K1", name="Birgit", where=BERLIN)          # no consent
    add_customer(store, "F1", name="Amélie", where=PARIS)           # lunch break
    add_customer(store, "M1", name="Mia", where=MIAMI)              # before our 09:00
    add_customer(store, "N1", name="Ned", where=NY, do_not_call=1)  # out for good
    at = "2026-03-10T12:30:00Z"     # 13:30 Paris, 08:30 Miami
    result = run("queue", "--held", "--at", at, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["held"] == 3
    assert data["by_rule"] == {"DE.consent": 1, "FR.hours": 1, "policy calling.hours": 1}
    by_ref = {c["ref"]: c for c in data["customers"]}
    assert by_ref["F1"]["opens_at"] == "2026-03-10T13:00:00Z"
    assert by_ref["K1"]["opens_at"] is None
    table = run("queue", "--held", "--at", at)
    assert "3 held back at 2026-03-10 12:30 UTC, by rule\n" in table.stdout
    assert "FR.hours" in table.stdout
    assert run("queue", "--held", "--explain", "K1").exit_code == 2


def test_import_reads_region_type_and_consent_columns(store, tmp_path):
    from pathlib import Path

    listing = Path(__file__).resolve().parents[1] / "data" / "lawful_list.csv"
    result = run("import", str(listing), "--json")
    assert result.exit_code == 0, result.output
    columns = json.loads(result.stdout)["columns"]
    assert columns["region"] == "State" and columns["consent_calls"] == "Consent Calls"
    rows = {r["ref"]: r for r in store.all(
        "SELECT ref, region, customer_type, consent_calls, consent_marketing FROM customers")}
    assert rows["K1"] == {"ref": "K1", "region": "BE", "customer_type": "consumer",
                          "consent_calls": "given", "consent_marketing": "withdrawn"}
    assert rows["K3"]["customer_type"] == "business"
    assert rows["U1"]["consent_marketing"] == "given"
    proof = store.one("SELECT at, how, proof FROM consents WHERE what = 'calls'")
    assert proof == {"at": "2026-01-05T00:00:00Z", "how": "list",
                     "proof": "lawful_list.csv: column 'Consent Calls' = '2026-01-05'"}
    # Birgit (consent) and Acme (business) are callable; Hans (consumer, none) is not.
    assert queue_refs() == ["K1", "K3"]
    # The same list again records nothing new.
    assert run("import", str(listing)).exit_code == 0
    assert store.scalar("SELECT count(*) FROM consents") == 3
    # --map names a column by hand.
    mapped = run("import", str(listing), "--map", "consent_calls=Opt-in", "--json")
    assert mapped.exit_code == 0, mapped.output
    assert json.loads(mapped.stdout)["columns"]["consent_calls"] == "Opt-in"


def test_withdrawing_consent_to_calls_cancels_the_open_callback(store):
    from tests.support.queue import add_followup

    cid = add_customer(store, "K1", name="Birgit", where=BERLIN, consent_calls="given")
    callback = add_followup(store, cid, "callback", "2026-03-12T10:00:00Z")
    result = run("consent", "withdraw", "K1", "calls", "--how", "letter")
    assert result.exit_code == 0, result.output
    assert f"cancelled: callback #{callback}" in result.stderr
    assert store.scalar("SELECT status FROM followups WHERE id = ?", (callback,)) == \
        "cancelled"


def test_import_reads_the_consent_to_share_column(store, tmp_path):
    listing = tmp_path / "referrals.csv"
    listing.write_text("Customer Id,Name,Phone,Referral OK,Sharing\n"
                       "R1,Ann,+1 305 555 0101,yes,\n"
                       "R2,Bob,+1 305 555 0102,2026-02-01,no\n"
                       "R3,Cy,+1 305 555 0103,,\n", encoding="utf-8")
    result = run("import", str(listing), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["columns"]["consent_share"] == "Referral OK"
    records = store.all("SELECT cu.ref, c.state, c.at, c.how, c.proof FROM consents c "
                        "JOIN customers cu ON cu.id = c.customer_id "
                        "WHERE c.what = 'share' ORDER BY cu.ref")
    assert [(r["ref"], r["state"], r["how"]) for r in records] == [
        ("R1", "given", "list"), ("R2", "given", "list")]
    assert records[1]["at"] == "2026-02-01T00:00:00Z"
    assert records[0]["proof"] == "referrals.csv: column 'Referral OK' = 'yes'"
    shown = json.loads(run("consent", "show", "R1", "--json").stdout)
    assert shown["current"]["share"]["state"] == "given", shown
    # The same list again records nothing new (what is in force comes from the records).
    assert run("import", str(listing)).exit_code == 0
    assert store.scalar("SELECT count(*) FROM consents WHERE what = 'share'") == 2
    # --map names another column: Bob's "no" withdraws it, Ann's empty cell leaves hers.
    mapped = run("import", str(listing), "--map", "consent_share=Sharing", "--json")
    assert mapped.exit_code == 0, mapped.output
    states = {r["ref"]: r["state"] for r in store.all(
        "SELECT cu.ref, c.state FROM consents c JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.what = 'share' ORDER BY c.id")}
    assert states == {"R1": "given", "R2": "withdrawn"}
