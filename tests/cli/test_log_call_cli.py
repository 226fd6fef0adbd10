"""CLI: carecall log-call records a call made outside the app through the call session."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from calls.cli import app
from calls.outcomes import FAMILY, Outcome
from tests.support.queue import NY, add_customer

runner = CliRunner()
AT = "2026-03-10T15:00:00Z"   # Tuesday, 11:00 in New York


def run(*args):
    return runner.invoke(app, list(args))


def log(*args):
    result = run("log-call", *args)
    return result


@pytest.fixture
def people(store):
    # Both agreed to marketing: the quarterly script's referral and needs questions are
    # asked only with a basis for marketing (issue 14).
    add_customer(store, "R1", name="Ada", where=NY, owner="Olga", tier="A",
                 consent_marketing="given")
    add_customer(store, "R2", name="Bob", where=NY, tier="B", consent_marketing="given")
    return store


def call_row(store, ref):
    return store.one("SELECT c.* FROM calls c JOIN customers u ON u.id = c.customer_id "
                     "WHERE u.ref = ? ORDER BY c.id DESC LIMIT 1", (ref,))


def customer(store, ref):
    return store.one("SELECT * FROM customers WHERE ref = ?", (ref,))


QUARTERLY_DONE = ["--answer", "nps=10",
                  "--answer", "contact_ok=y", "--answer", "referral_ok=n", "--answer", "need=n",
                  "--answer", "send_info=n"]


@pytest.mark.parametrize("outcome", [o.value for o in Outcome])
def test_each_outcome_is_applied_as_the_app_applies_it(people, outcome):
    extra: list[str] = []
    if outcome == "callback":
        extra = ["--callback-at", "2026-03-12T10:00"]          # Ada's own time (New York)
    if outcome == "completed":
        extra = ["--script", "quarterly", *QUARTERLY_DONE]
    result = log("R1", "--outcome", outcome, "--caller", "ann", "--at", AT, "--json", *extra)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["call"]["outcome"] == outcome and data["customer"]["ref"] == "R1"
    row = call_row(people, "R1")
    assert row["caller"] == "ann" and row["outcome"] == outcome
    assert row["started_at"] == row["ended_at"] == "2026-03-10T15:00:00Z"
    cust = customer(people, "R1")
    assert cust["last_outcome"] == outcome and cust["last_call_at"] == "2026-03-10T15:00:00Z"
    if outcome in ("completed", "partial"):
        assert cust["cycle_status"] == "reached"
    if outcome == "no_answer":
        assert cust["retry_after"] == "2026-03-10T18:00:00Z" and cust["cycle_attempts"] == 1
    if outcome == "do_not_call":
        assert cust["do_not_call"] == 1
        assert people.scalar("SELECT count(*) FROM dnc WHERE phone = ?", (cust["phone"],)) == 1
    if outcome in ("wrong_number", "disconnected"):
        assert cust["number_status"] == outcome
    if outcome == "callback":
        f = people.one("SELECT * FROM followups WHERE kind = 'callback'")
        assert f["due_at"] == "2026-03-12T14:00:00Z" and f["owner"] == "ann"   # 10:00 EDT
    connected = Outcome(outcome).value in ("completed", "partial", "callback", "refused",
                                           "do_not_call", "other_contact")
    assert (row["connected_at"] is not None) == connected
    # The claim log-call took for the call is gone.
    assert people.scalar("SELECT count(*) FROM claims") == 0


def test_answers_are_validated_and_stored_with_rule_followups(people):
    result = log("R1", "--outcome", "partial", "--caller", "ann", "--at", AT, "--script",
                 "quarterly", "--answer", "nps=4", "--answer", "improve=slow deliveries",
                 "--note", "call me on the mobile next time")
    assert result.exit_code == 0, result.output
    assert "Logged call" in result.stdout and "fix problem" in result.stdout
    row = call_row(people, "R1")
    answers = {r["key"]: r["value"] for r in people.all(
        "SELECT key, value FROM answers WHERE call_id = ?", (row["id"],))}
    # going_well (optional, left out before improve) counts as skipped.
    assert answers == {"nps": "4", "going_well": "null", "improve": '"slow deliveries"'}
    assert row["notes"] == "call me on the mobile next time"
    fix = people.one("SELECT * FROM followups WHERE kind = 'fix_problem'")
    assert fix["owner"] == "Olga" and fix["call_id"] == row["id"]


@pytest.mark.parametrize("args, message", [
    (["--outcome", "partial", "--answer", "nps=11"], "answer nps=11: 11 is out of range"),
    (["--outcome", "partial", "--answer", "colour=red"], "has no question 'colour'"),
    (["--outcome", "partial", "--answer", "nps"], "write it as KEY=VALUE"),
    (["--outcome", "partial", "--answer", "nps=9", "--answer", "nps=3"], "given twice"),
    (["--outcome", "partial", "--answer", "nps=10", "--answer", "improve=x"],
     "improve=x: “You gave us 10. What could we do better"),
    (["--outcome", "partial", "--answer", "contact_ok=y"], "answer “On a scale from 0 to 10"),
    (["--outcome", "completed", "--answer", "nps=9"], "completed means the script was finished"),
    (["--outcome", "busy", "--answer", "nps=9"], "answers go with an outcome"),
    (["--outcome", "callback"], "a callback needs the time"),
    (["--outcome", "busy", "--callback-at", "2026-03-12T10:00"], "only goes with the callback"),
    (["--outcome", "callback", "--callback-at", "soon"], "--callback-at: cannot read"),
    (["--outcome", "maybe"], "unknown outcome 'maybe'; use one of: no_answer, busy"),
    (["--outcome", "busy", "--at", "yesterday"], "--at: cannot read"),
    (["--outcome", "busy", "--at", "2999-01-01T00:00Z"], "is in the future"),
    (["--outcome", "busy", "--caller", " "], "--caller: give a name"),
    (["--outcome", "busy", "--script", "nope"], "nope"),
])
def test_bad_input_is_refused_with_one_line_and_nothing_written(people, args, message):
    at = [] if "--at" in args else ["--at", AT]
    script = [] if "--script" in args else ["--script", "quarterly"]
    result = log("R1", *at, *script, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert people.scalar("SELECT count(*) FROM calls") == 0
    assert people.scalar("SELECT count(*) FROM answers") == 0
    assert customer(people, "R1")["last_outcome"] is None


def test_unknown_customer_and_a_customer_who_must_not_be_called(people):
    result = log("R9", "--outcome", "busy", "--at", AT)
    assert result.exit_code == 2 and "no customer with ref 'R9'" in result.stderr
    assert log("R1", "--outcome", "do_not_call", "--at", AT).exit_code == 0
    again = log("R1", "--outcome", "completed", "--at", "2026-03-10T16:00Z",
                "--script", "quarterly", *QUARTERLY_DONE)
    assert again.exit_code == 2 and "asked not to be called" in again.stderr
    assert people.scalar("SELECT count(*) FROM calls") == 1


def test_a_customer_another_caller_holds_is_refused(people):
    assert run("next", "--caller", "bo", "--at", AT).exit_code == 0   # bo claims R1
    result = log("R1", "--outcome", "busy", "--caller", "ann", "--at", AT)
    assert result.exit_code == 2 and "is being called by bo" in result.stderr


def test_the_queue_retries_after_a_logged_no_answer(people):
    assert log("R1", "--outcome", "no_answer", "--caller", "ann", "--at", AT).exit_code == 0

    def refs(at):
        return [r["ref"] for r in json.loads(run("queue", "--at", at, "--json").stdout)]

    assert refs("2026-03-10T17:59Z") == ["R2"]            # the 3-hour retry delay
    assert refs("2026-03-10T18:00Z") == ["R1", "R2"]
    why = json.loads(run("queue", "--at", "2026-03-10T16:00Z", "--explain", "R1",
                         "--json").stdout)
    assert "no answer" in json.dumps(why).lower()


def test_a_call_logged_late_keeps_the_later_call_as_the_last(people):
    assert log("R1", "--outcome", "busy", "--caller", "ann", "--at", AT).exit_code == 0
    # yesterday's call from a mobile, logged after today's
    assert log("R1", "--outcome", "voicemail", "--caller", "ann",
               "--at", "2026-03-09T15:00:00Z").exit_code == 0
    row = customer(people, "R1")
    assert row["last_outcome"] == "busy"
    assert row["last_call_at"].startswith("2026-03-10T15:00")
    assert row["cycle_attempts"] == 2


def test_reports_count_logged_calls(people):
    assert log("R1", "--outcome", "completed", "--caller", "ann", "--at", AT,
               "--script", "quarterly", *QUARTERLY_DONE).exit_code == 0
    assert log("R2", "--outcome", "busy", "--caller", "bo", "--at", AT).exit_code == 0
    report = json.loads(run("report", "--since", "2026-03-01", "--until", "2026-03-31",
                            "--json").stdout)
    assert report["activity"]["attempts"] == 2 and report["activity"]["completes"] == 1
    assert report["aapor"]["counts"]["I"] == 1
    assert report["aapor"]["counts"][FAMILY[Outcome.BUSY]] == 1
    assert report["nps"]["responses"] == 1 and report["nps"]["promoters"] == 1


def test_plain_output_says_what_was_logged(people):
    result = log("R1", "--outcome", "no_answer", "--caller", "ann", "--at", AT)
    assert result.exit_code == 0
    assert "Logged call #1: R1 Ada — No answer, by ann at 2026-03-10 15:00 UTC." in result.stdout
    assert "Next try from 2026-03-10 18:00 UTC." in result.stdout


# -- what the customer said about consent (issue 14) --------------------------------------

QUARTERLY_PROMOTER = ["--answer", "nps=10", "--answer", "contact_ok=y",
                      "--answer", "send_info=n"]


def test_recording_answer_and_withdrawn_consent_are_recorded_at_once(people):
    from datetime import UTC, datetime

    from calls.followups import add_followup

    cid = customer(people, "R1")["id"]
    earlier = add_followup(people, kind="callback", customer_id=cid, owner=None,
                           due_at=datetime(2026, 3, 20, 15, tzinfo=UTC), details="ring back",
                           now=datetime(2026, 3, 1, tzinfo=UTC), created_by="ann",
                           source="hand")
    result = log("R1", "--at", AT, "--script", "quarterly", "--outcome", "partial",
                 "--answer", "nps=10", "--recording", "no", "--withdraw", "calls",
                 "--withdraw", "marketing")
    assert result.exit_code == 0, result.output
    assert "Recording: the customer said no." in result.stdout
    assert "Consent to calls withdrawn: no more calls, from now." in result.stdout
    assert "Consent to marketing withdrawn: no marketing, from now." in result.stdout
    row = call_row(people, "R1")
    assert row["recording_ok"] == "no" and row["purpose"] == "care"
    assert people.all("SELECT what, state, how, call_id FROM consents ORDER BY id") == [
        {"what": "recording", "state": "withdrawn", "how": "call", "call_id": row["id"]},
        {"what": "calls", "state": "withdrawn", "how": "call", "call_id": row["id"]},
        {"what": "marketing", "state": "withdrawn", "how": "call", "call_id": row["id"]}]
    assert customer(people, "R1")["consent_calls"] == "withdrawn"
    cancelled = people.one("SELECT status, close_note FROM followups WHERE id = ?",
                           (earlier.id,))
    assert cancelled["status"] == "cancelled"
    assert "withdrew consent to calls" in cancelled["close_note"]
    # Nobody is offered them any more, and explain says why.
    shown = run("queue", "--explain", "R1", "--at", "2026-09-10T15:00:00Z")
    assert "withdrew consent to be called" in shown.stdout


@pytest.mark.parametrize("args, message", [
    (["--outcome", "callback", "--callback-at", "2026-03-12T10:00", "--withdraw", "calls"],
     "withdrew consent to be called: no callback"),
    (["--outcome", "busy", "--recording", "yes"], "a recording answer goes with an outcome"),
    (["--outcome", "no_answer", "--withdraw", "calls"],
     "a consent withdrawn goes with an outcome"),
    (["--outcome", "partial", "--recording", "yes", "--withdraw", "recording"],
     "answered yes and consent to recording withdrawn"),
    (["--outcome", "partial", "--recording", "maybe"], "--recording"),
    (["--outcome", "partial", "--withdraw", "everything"], "--withdraw"),
    (["--outcome", "partial", "--withdraw", "marketing", "--answer", "nps=10",
      "--answer", "contact_ok=y", "--answer", "referral_ok=y"], "answer referral_ok=y"),
])
def test_bad_consent_options_are_refused_with_one_line(people, args, message):
    result = log("R1", "--at", AT, "--script", "quarterly", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert people.scalar("SELECT count(*) FROM calls") == 0
    assert people.scalar("SELECT count(*) FROM consents") == 0


def test_answers_where_recording_needs_everyones_consent_need_the_recording_answer(store):
    """Illinois (all-party consent to recording): as on the call screen, the questions come
    after the answer to the recording notice. A log with answers and no --recording is
    refused with one line naming the rule, and writes nothing."""
    from tests.support.queue import CHICAGO

    add_customer(store, "IL", name="Ida", where=CHICAGO, tier="A")
    add_customer(store, "NY", name="Ned", where=NY, tier="A")
    at = ["--at", AT, "--script", "quarterly", "--caller", "ann"]
    refused = log("IL", "--outcome", "partial", "--answer", "nps=9", *at)
    assert refused.exit_code == 2, refused.output
    assert "answer to the recording notice" in refused.stderr
    assert "US-IL.recording (Illinois Eavesdropping Act" in refused.stderr
    assert "--recording yes or --recording no" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert store.scalar("SELECT count(*) FROM calls") == 0
    # With the answer (either one), the call is logged and the answer kept on it.
    logged = log("IL", "--outcome", "partial", "--answer", "nps=9", "--recording", "no", *at)
    assert logged.exit_code == 0, logged.output
    assert call_row(store, "IL")["recording_ok"] == "no"
    # No questions asked (a refusal): nothing to wait for. New York: one-party consent.
    assert log("IL", "--outcome", "refused", *at).exit_code == 0
    ny = log("NY", "--outcome", "partial", "--answer", "nps=9", *at)
    assert ny.exit_code == 0, ny.output
    assert call_row(store, "NY")["recording_ok"] is None
