"""What a command says it wrote reads right for one row (a user's trial read "1 rows
written to calls.csv") and for many."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from calls.cli import app
from tests.support.followups import add_call, add_customer


def _said(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_one_row_and_many_rows(store, now, tmp_path):
    one = add_customer(store, "C1", "Ann Able", phone="+12025550100",
                       time_zones='["America/New_York"]')
    add_call(store, one, "ann", now - timedelta(days=1), "completed", nps=9)
    out = tmp_path / "calls.csv"
    assert "1 row written to" in _said(["export", "calls", "-o", str(out)])
    add_call(store, one, "ann", now - timedelta(days=2), "completed", nps=7)
    assert "2 rows written to" in _said(["export", "calls", "-o", str(out)])
    at = ["--at", "2026-03-10T12:00"]
    assert _said(["followups", "add", "C1", "send_info", *at]) != ""
    notes = tmp_path / "f.csv"
    assert "Wrote 1 follow-up to" in _said(
        ["followups", "--format", "csv", "-o", str(notes), *at])
    assert _said(["followups", "add", "C1", "gift", *at]) != ""
    assert "Wrote 2 follow-ups to" in _said(
        ["followups", "--format", "csv", "-o", str(notes), *at])
