"""carecall customers find / add / edit / number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calls import audit
from calls.cli import app
from calls.store import Store
from calls.store.customers import get_customer

LIST = Path(__file__).resolve().parents[1] / "data" / "customers_languages.csv"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def listed(db_path, runner):
    result = runner.invoke(app, ["import", str(LIST)])
    assert result.exit_code == 0, result.output
    return db_path


def _customer(db_path, ref):
    with Store.open(db_path) as store:
        return get_customer(store, ref)


def test_find_by_a_national_number(runner, listed):
    result = runner.invoke(app, ["customers", "find", "089 7654321", "--json"])
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.output)
    assert (found["ref"], found["language"], found["salutation"]) == ("DE-2", "de", "ms")
    # ... and in words, as the caller will say it (never the stored code alone)
    assert (found["salutation_word"], found["addressed_as"]) == ("Frau", "Frau Schmidt")
    result = runner.invoke(app, ["customers", "find", "no such person"])
    assert result.exit_code == 1 and "No customer matches" in result.output


def test_add_then_edit_then_add_a_number(runner, listed):
    result = runner.invoke(app, [
        "customers", "add", "--ref", "FR-9", "--set", "name=Luc Besson",
        "--set", "salutation=Monsieur", "--set", "country=FR", "--set", "phone=01 45 67 89 10",
    ])
    assert result.exit_code == 0, result.output
    assert "Added Luc Besson" in result.output
    assert _customer(listed, "FR-9").phone == "+33145678910"

    result = runner.invoke(app, ["customers", "edit", "FR-9", "--set", "company=Besson SA",
                                 "--set", "phone2=06 12 34 56 78", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["changed"] == ["company", "phone2", "phone2_raw"]
    assert [n["e164"] for n in out["numbers"]] == ["+33145678910", "+33612345678"]

    result = runner.invoke(app, ["customers", "number", "FR-9", "04 91 00 00 00",
                                 "--label", "office"])
    assert result.exit_code == 0, result.output
    assert "+33491000000" in result.output
    card = " ".join(runner.invoke(app, ["customers", "show", "FR-9"]).output.split())
    assert "Phone +33145678910" in card
    assert "Also +33612345678 (second) Also +33491000000 (office)" in card
    with Store.open(listed) as store:
        assert [e.action for e in audit.entries(store, subject="FR-9")] == [
            "customer.add", "customer.number", "customer.number"]


@pytest.mark.parametrize(("args", "message"), [
    (["customers", "add", "--set", "name=X", "--set", "phone=12"], "not a valid phone number"),
    (["customers", "add", "--set", "name=X"], "needs a phone number"),
    (["customers", "add", "--set", "nme=X"], "not a field you can set"),
    (["customers", "add", "--set", "name"], "write FIELD=VALUE"),
    (["customers", "edit", "NOPE", "--set", "company=X"], "no customer with ref 'NOPE'"),
    (["customers", "edit", "DE-1"], "nothing to change"),
    (["customers", "edit", "DE-1", "--set", "email=not-an-address"], "not an e-mail address"),
    (["customers", "edit", "DE-1", "--set", "language=Klingon"], "not a language"),
    (["customers", "edit", "DE-1", "--set", "phone=+49 30 12"], "not a valid phone number"),
    (["customers", "edit", "DE-1", "--set", "phone=089 7654321"], "already the number of"),
    (["customers", "number", "DE-1", "0171 2345678"], "already a number of"),
    (["customers", "edit", "DE-1", "--set", "region=Bavaria!"], "not a region code"),
])
def test_bad_input_is_one_line_and_exit_2(runner, listed, args, message):
    before = _customer(listed, "DE-1")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert _customer(listed, "DE-1") == before


def test_callbacks_as_an_ics_calendar(runner, listed, tmp_path):
    import icalendar

    for ref, when in (("DE-1", "2026-03-11T09:00:00Z"), ("FR-1", "2026-03-12T14:30:00Z")):
        result = runner.invoke(app, ["followups", "add", ref, "callback",
                                     "--owner", "olga", "--due", when, "--note", "asked"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "callbacks.ics"
    result = runner.invoke(app, ["followups", "--kind", "callback", "--format", "ics",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 events" in result.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    events = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [
        "Callback: Klaus Becker (Becker Bau GmbH)", "Callback: Claire Dupont (Dupont SARL)"]
    assert "Customer's time: 10:00 (Europe/Berlin)" in str(events[0]["description"])


def test_a_business_toll_free_number_gets_its_state_from_the_region(runner, db_path):
    """A toll-free number names no state: every state's hours hold in every US zone
    (Tuesday 15:00 UTC is 08:00 in Los Angeles, 05:00 in Honolulu) until the customer's
    region gives it one (Florida: open at 11:00 in Miami)."""
    result = runner.invoke(app, ["customers", "add", "--ref", "B1", "--set", "company=Acme",
                                 "--set", "phone=1-800-555-0100", "--set", "country=US"])
    assert result.exit_code == 0, result.output
    at = ["--at", "2026-03-10T15:00:00Z"]
    shut = runner.invoke(app, ["queue", "--explain", "B1", *at])
    assert shut.exit_code == 0, shut.output
    assert "calling window closed" in shut.output
    assert "toll-free number: no state known" in " ".join(shut.output.split())
    assert "next callable 2026-03-10 20:00 UTC" in shut.output
    edited = runner.invoke(app, ["customers", "edit", "B1", "--set", "region=fl"])
    assert edited.exit_code == 0, edited.output
    assert "Changed region of Acme" in edited.output
    assert _customer(db_path, "B1").phone == "+18005550100"
    with Store.open(db_path) as store:
        assert store.scalar("SELECT region FROM customers WHERE ref = 'B1'") == "FL"
    opened = runner.invoke(app, ["queue", "--explain", "B1", *at])
    assert "callable now" in opened.output, opened.output


def test_a_name_with_emoji_codes_prints_as_written(runner, listed):
    """Rich reads ``:smile:`` as an emoji code by default: the CLI's console does not (a
    customer's file is printed as it is; tests/tui/test_emoji_codes.py for the app)."""
    result = runner.invoke(app, ["customers", "add", "--ref", "FR-8", "--set",
                                 "name=Amy :smile: [VIP]", "--set", "company=Team :fire: Ltd",
                                 "--set", "country=FR", "--set", "phone=01 45 67 89 11"])
    assert result.exit_code == 0, result.output
    assert "Added Amy :smile: [VIP]" in result.output
    card = runner.invoke(app, ["customers", "show", "FR-8"]).output
    assert "Amy :smile: [VIP]" in card and "Team :fire: Ltd" in card, card
    found = runner.invoke(app, ["customers", "find", "Amy"]).output
    assert "Amy :smile: [VIP]" in found, found
