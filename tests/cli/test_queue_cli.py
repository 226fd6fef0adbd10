"""CLI: carecall queue, queue --explain, next, release (asserting on what the DB holds)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from calls.cli import app
from tests.support.queue import LA, NY, add_customer

runner = CliRunner()
AT = "2026-03-10T15:00:00Z"   # Tuesday, 11:00 in New York, 08:00 in Los Angeles


def run(*args):
    return runner.invoke(app, list(args))


def test_queue_json_rows(store):
    add_customer(store, "R1", name="Ada Lovelace", where=NY, phone="+12125550101",
                 tier="A", revenue=500.0, last_purchase="2026-03-07")
    add_customer(store, "R2", name="Bob", where=NY, tier="B")
    add_customer(store, "R3", name="Cal", where=LA)
    result = run("queue", "--caller", "ann", "--at", AT, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["ref"] for r in data] == ["R1", "R2"]
    first = data[0]
    assert first["name"] == "Ada Lovelace" and first["phone"] == "+12125550101"
    assert first["tier"] == "A" and first["time_zone"] == "America/New_York"
    assert first["local_time"].startswith("2026-03-10T11:00")
    assert first["reasons"] == ["bought 3 days ago: thank-you call", "never called (A-tier)"]
    # --limit, and --at an hour later brings Los Angeles in.
    assert len(json.loads(run("queue", "--at", AT, "--json", "--limit", "1").stdout)) == 1
    later = json.loads(run("queue", "--at", "2026-03-10T16:00", "--json").stdout)
    assert [r["ref"] for r in later] == ["R1", "R3", "R2"]   # R3 is A-tier


def test_queue_table_and_empty_queue_says_when(store):
    add_customer(store, "R1", name="Ada", where=NY)
    result = run("queue", "--caller", "ann", "--at", AT)
    assert result.exit_code == 0 and "Ada" in result.stdout and "never called" in result.stdout
    night = run("queue", "--caller", "ann", "--at", "2026-03-10T04:00Z")
    assert night.exit_code == 0
    assert "Nobody to call" in night.stdout and "next ones open at 2026-03-10 13:00 UTC" in (
        night.stdout)


def test_explain(store):
    add_customer(store, "R3", name="Cal", where=LA)
    result = run("queue", "--explain", "R3", "--at", AT)
    assert result.exit_code == 0
    assert "outside calling hours: 08:00 in America/Los_Angeles, opens 09:00 (in 1 h)" in (
        result.stdout)
    data = json.loads(run("queue", "--explain", "R3", "--at", AT, "--json").stdout)
    assert data["callable"] is False and data["next_callable_at"] == "2026-03-10T16:00:00Z"
    missing = run("queue", "--explain", "NOPE", "--at", AT)
    assert missing.exit_code == 2 and "no customer 'NOPE'" in missing.stderr


def test_next_claims_and_release(store):
    a = add_customer(store, "R1", revenue=300.0)
    b = add_customer(store, "R2", revenue=200.0)
    result = run("next", "--caller", "ann", "--at", AT, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ref"] == "R1"
    assert store.all("SELECT customer_id, caller FROM claims") == [
        {"customer_id": a, "caller": "ann"}]
    human = run("next", "--caller", "bob", "--at", AT)
    assert human.exit_code == 0 and "R2" in human.stdout and "claimed for bob" in human.stdout
    assert json.loads(run("next", "--caller", "cy", "--at", AT, "--json").stdout) is None
    rel = run("release", "--caller", "ann")
    assert rel.exit_code == 0 and "released 1 claim" in rel.stdout
    assert store.all("SELECT customer_id FROM claims") == [{"customer_id": b}]
    assert run("release", "R2", "--caller", "bob").exit_code == 0
    assert store.scalar("SELECT count(*) FROM claims") == 0


def test_bad_input_is_one_line_and_exit_2(store, tmp_path):
    bad_at = run("queue", "--at", "yesterday-ish")
    assert bad_at.exit_code == 2 and "--at" in bad_at.stderr
    policy = tmp_path / "p.toml"
    policy.write_text("[retry]\nbusy = \"soon\"\n", encoding="utf-8")
    result = run("queue", "--policy", str(policy), "--at", AT)
    assert result.exit_code == 2
    assert "retry.busy" in result.stderr and "Traceback" not in result.output
    missing = run("next", "--policy", str(tmp_path / "nope.toml"), "--at", AT)
    assert missing.exit_code == 2 and "not found" in missing.stderr


def test_policy_from_environment_changes_the_queue(store, tmp_path, monkeypatch):
    add_customer(store, "R1", where=NY)
    policy = tmp_path / "p.toml"
    policy.write_text('[calling.hours]\ntue = "12:00-13:00"\n', encoding="utf-8")
    monkeypatch.setenv("CARECALL_POLICY", str(policy))
    assert json.loads(run("queue", "--at", AT, "--json").stdout) == []
    assert len(json.loads(run("queue", "--at", "2026-03-10T16:30Z", "--json").stdout)) == 1


def test_out_of_range_moments_ids_and_markup_are_one_line(store):
    add_customer(store, "R1", where=NY)
    for at in ("0001-01-01T00:00Z", "9999-12-31T23:59Z"):
        for cmd in (["queue"], ["next", "--caller", "ann"], ["queue", "--explain", "R1"]):
            result = run(*cmd, "--at", at)
            assert result.exit_code == 2 and "too far" in result.stderr, (cmd, result.output)
    huge = run("queue", "--explain", "9" * 30, "--at", AT)
    assert huge.exit_code == 2 and "no customer" in huge.stderr
    # A ref that looks like Rich markup is printed as it was typed, not parsed.
    markup = run("queue", "--explain", "x[/]", "--at", AT)
    assert markup.exit_code == 2 and "no customer 'x[/]'" in markup.stderr


def test_names_notes_and_callers_print_as_written_not_as_markup(store):
    """Regression: "[/]" in a name, a DNC reason or a caller name crashed Rich (traceback)."""
    add_customer(store, "R1", where=NY, name="Eve [/] Evil", company="[bold]Co")
    assert run("dnc", "add", "+1 212 555 0177", "--reason", "[/] by letter").exit_code == 0
    listed = run("dnc", "list")
    assert listed.exit_code == 0 and "[/] by letter" in listed.stdout
    explained = run("queue", "--explain", "R1", "--at", AT)
    assert explained.exit_code == 0 and "Eve [/] Evil ([bold]Co)" in explained.stdout
    queue = run("queue", "--at", AT, "--caller", "[red]ann")
    assert queue.exit_code == 0 and "[red]ann" in queue.stdout and "Eve [/] Evil" in queue.stdout
    claimed = run("next", "--caller", "x[/]", "--at", AT)
    assert claimed.exit_code == 0 and "claimed for x[/]" in claimed.stdout


def test_a_blank_caller_name_is_refused(store):
    """Regression: "--caller '  '" printed a queue "for   " and claimed for a blank name."""
    add_customer(store, "R1", where=NY)
    for cmd in (["queue"], ["next"], ["release"]):
        result = run(*cmd, "--caller", "   ", "--at", AT) if cmd != ["release"] else run(
            *cmd, "--caller", "   ")
        assert result.exit_code == 2 and "--caller" in result.stderr, (cmd, result.output)
    assert store.scalar("SELECT count(*) FROM claims") == 0
    padded = run("next", "--caller", " ann ", "--at", AT)
    assert padded.exit_code == 0 and store.scalar("SELECT caller FROM claims") == "ann"
