"""carecall audit: the trail as a table and as JSON, with filters; bad filters exit 2."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from calls import audit
from calls.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_audit_json_and_filters(store, now):
    audit.record(store, "ann", "dnc.remove", "+12125550101", {"reason": "customer asked"},
                 now=now)
    audit.record(store, "bob", "login", "bob", now=now + timedelta(days=1))
    data = json.loads(run("audit", "--json").stdout)
    assert [(d["actor"], d["action"]) for d in data] == [("ann", "dnc.remove"), ("bob", "login")]
    assert data[0]["details"] == {"reason": "customer asked"}
    assert data[0]["at"] == "2026-03-10T15:00:00Z"
    only = json.loads(run("audit", "--json", "--user", "bob").stdout)
    assert [d["actor"] for d in only] == ["bob"]
    fam = json.loads(run("audit", "--json", "--action", "dnc").stdout)
    assert [d["action"] for d in fam] == ["dnc.remove"]
    later = json.loads(run("audit", "--json", "--since", "2026-03-11").stdout)
    assert [d["actor"] for d in later] == ["bob"]
    table = run("audit")
    assert table.exit_code == 0 and "dnc.remove" in table.stdout and "reason=customer" in table.stdout


def test_audit_bad_filters_exit_2(store):
    bad = run("audit", "--action", "nope")
    assert bad.exit_code == 2 and "unknown kind" in bad.stderr
    bad = run("audit", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "--since" in bad.stderr
    assert run("audit").stdout.strip() == "No audit rows match."


def test_the_table_cuts_long_hashes_the_json_keeps_them(store, now):
    digest = "ab" * 32
    audit.record(store, "sue", "policy.load", digest, {"file": "/srv/policy.toml"}, now=now)
    out = CliRunner().invoke(app, ["audit"], env={"COLUMNS": "80"})
    assert out.exit_code == 0 and "abababababab…" in out.stdout and digest not in out.stdout
    data = CliRunner().invoke(app, ["audit", "--json"])
    assert json.loads(data.stdout)[-1]["subject"] == digest


def test_the_table_fits_80_columns_with_details_under_the_subject(store, now):
    audit.record(store, "sue", "customer.edit", "R1",
                 {"company": ["Mccarthy-Kelley", "Mccarthy Kelley LLC"], "email": [None, "a@b"]},
                 now=now)
    audit.record(store, "sue", "dnc.add", "+13606934419",
                 {"reason": "asked by letter", "source": "manual", "calls_cancelled": 0},
                 now=now)
    out = CliRunner().invoke(app, ["audit"], env={"COLUMNS": "80"})
    lines = out.stdout.splitlines()
    assert out.exit_code == 0 and max(len(line) for line in lines) <= 80
    text = " ".join(" ".join(line.strip("│ ").split()) for line in lines)
    assert "company=Mccarthy-Kelley → Mccarthy Kelley LLC, email=– → a@b" in " ".join(
        text.replace("│", " ").split())
    assert "reason=asked by letter" in " ".join(text.replace("│", " ").split())


def test_every_kind_and_family_is_read_back_by_action_user_and_since(store, now):
    """``carecall audit`` reads back every kind the trail records, by kind and by family,
    with --user and --since narrowing it: one row per kind, by alternating people."""
    kinds = list(audit.ACTIONS)
    for i, kind in enumerate(kinds):
        audit.record(store, ("ann", "sue")[i % 2], kind, f"s{i}",
                     now=now + timedelta(minutes=i))
    for i, kind in enumerate(kinds):
        rows = json.loads(run("audit", "--action", kind, "--json").stdout)
        # A kind that is also a family ("login") reads the family: login.failed too.
        assert [r["action"] for r in rows] == [k for k in kinds
                                              if k == kind or k.startswith(kind + ".")]
        assert rows[0]["subject"] == f"s{i}"
    for family in {k.split(".")[0] for k in kinds}:
        got = [d["action"] for d in json.loads(run("audit", "--action", family, "--json").stdout)]
        assert got == [k for k in kinds if k.split(".")[0] == family]
    later = now + timedelta(minutes=len(kinds) // 2)
    sues = json.loads(run("audit", "--user", "sue", "--since", later.isoformat(),
                          "--json").stdout)
    assert [d["action"] for d in sues] == [
        k for i, k in enumerate(kinds) if i % 2 and i >= len(kinds) // 2]
