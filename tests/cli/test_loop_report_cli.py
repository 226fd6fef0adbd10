"""CLI: report --themes, --segment, the deadlines section, and the HTML page's sections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from calls.cli import app
from tests.support.loop import add_answered_call


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def answers(store):
    when = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    texts = ["Der Paketversand dauerte zu lange", "La livraison était en retard",
             "Invoice was wrong", "Great staff, very friendly"]
    scores = [2, 4, 8, 10]
    for i, (text, score) in enumerate(zip(texts, scores, strict=True)):
        add_answered_call(store, f"C{i}", when + timedelta(days=7 * i),
                          {"nps": ("nps", score), "why": ("text", text)},
                          tier="A" if i < 2 else "B", owner="olga")


def test_report_themes_json(runner, answers):
    r = runner.invoke(app, ["report", "--since", "2026-02-01", "--until", "2026-02-28",
                            "--themes", "--segment", "tier", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    by = {c["category"]: c for c in data["themes"]["by_category"]}
    assert [(t["theme"], t["calls"]) for t in by["detractor"]["themes"]] == [("delivery", 2)]
    assert [t["theme"] for t in by["promoter"]["themes"]] == ["staff"]
    assert data["themes"]["by_month"]["months"] == ["2026-02"]
    [tiers] = data["segments"]
    assert {s["value"]: (s["answers"], s["too_few"]) for s in tiers["segments"]} == {
        "A": (2, True), "B": (2, True)}
    assert "deadlines" in data


def test_report_themes_text_and_unknown_segment(runner, answers):
    r = runner.invoke(app, ["report", "--since", "2026-02-01", "--until", "2026-02-28",
                            "--themes"])
    assert r.exit_code == 0
    assert "Top themes by NPS group" in r.stdout and "Delivery 2 (100.0%)" in r.stdout
    r = runner.invoke(app, ["report", "--segment", "shoe size"])
    assert r.exit_code == 2 and "no such customer attribute" in r.output


def test_html_report_has_themes_segments_and_weekly_n(runner, answers, tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", "--since", "2026-02-01", "--until", "2026-02-28",
                            "--html", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert "<h2>Themes of what customers say</h2>" in page
    assert "<h2>NPS and CSAT by tier</h2>" in page and 'class="thin"' in page
    assert "<h2>Follow-up deadlines</h2>" in page
    # one answer a week: every week is a gap with its n on hover
    assert "1 answer, too few for an NPS (fewer than 5)" in page


def test_themes_commands(runner, answers, store):
    r = runner.invoke(app, ["themes", "--json"])
    assert [t["theme"] for t in json.loads(r.stdout)][:2] == ["delivery", "product_quality"]
    r = runner.invoke(app, ["themes", "suggest", "Rechnung falsch, Lieferung zu spät"])
    assert r.stdout.strip() == "delivery, billing" or r.stdout.strip() == "billing, delivery"
    call = store.scalar("SELECT min(call_id) FROM answers WHERE qtype = 'text'")
    r = runner.invoke(app, ["themes", "tag", "--call", str(call), "--key", "why", "price"])
    assert r.exit_code == 0 and "price" in r.stdout
    assert store.all("SELECT theme FROM theme_tags WHERE call_id = ? AND source = 'confirmed'",
                     (call,)) == [{"theme": "price"}]
    r = runner.invoke(app, ["themes", "tag", "--call", str(call), "--key", "why", "weather"])
    assert r.exit_code == 2 and "unknown theme 'weather'" in r.output
    r = runner.invoke(app, ["themes", "tag", "price"])
    assert r.exit_code == 2 and "--call ID --key KEY" in r.output


def test_closing_a_fix_with_themes_and_root_cause(runner, store):
    from calls import followups as fu
    from calls.clock import from_iso
    from tests.support.followups import add_customer

    ann = add_customer(store, "F1", "Ann Able", owner="olga")
    f = fu.add_followup(store, kind="fix_problem", customer_id=ann, owner="olga", due_at=None,
                        details="parcel came late", now=from_iso("2026-03-10T15:00:00Z"))
    r = runner.invoke(app, ["followups", "done", str(f.id), "--note", "new courier",
                            "--theme", "weather"])
    assert r.exit_code == 2 and fu.get_followup(store, f.id).status == "open"
    r = runner.invoke(app, ["followups", "done", str(f.id), "--note", "new courier",
                            "--theme", "delivery", "--root-cause", "--caller", "olga"])
    assert r.exit_code == 0, r.output
    assert "Themes confirmed: delivery; root cause fixed" in r.stdout
    assert store.one("SELECT root_cause, reviewed_by FROM theme_reviews WHERE followup_id = ?",
                     (f.id,)) == {"root_cause": 1, "reviewed_by": "olga"}


def test_report_says_how_many_on_the_do_not_call_list_are_left_out(runner, store):
    from tests.support.followups import add_customer
    add_customer(store, "C1", "Ann Able", phone="+15555550101")
    add_customer(store, "C2", "Bo Bell", phone="+15555550102", do_not_call=1)
    r = runner.invoke(app, ["report"], catch_exceptions=False)
    said = " ".join(r.stdout.split())
    assert r.exit_code == 0
    assert ("Not reached in the last 365 days: 1 customer (the list: --json); 1 on the "
            "do-not-call list is left out") in said
    add_customer(store, "C3", "Cy Cole", phone="+15555550103")
    add_customer(store, "C4", "Di Dunn", phone="+15555550104", do_not_call=1)
    said = " ".join(runner.invoke(app, ["report"], catch_exceptions=False).stdout.split())
    assert "365 days: 2 customers (the list: --json); 2 on the do-not-call list are" in said


def test_one_detractor_and_one_open_answer_read_singular(runner, store, tmp_path):
    """The trial's report said "1 detractors heard" and "1 open answers"."""
    add_answered_call(store, "C1", datetime(2026, 2, 3, 10, 0, tzinfo=UTC),
                      {"nps": ("nps", 3), "why": ("text", "Delivery was late")})
    period = ["--since", "2026-02-01", "--until", "2026-02-28"]
    r = runner.invoke(app, ["report", *period, "--themes"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Detractor loop: 1 detractor heard; 0 loops closed with a recovery call" in r.stdout
    assert "Themes: 1 open answer, 0 confirmed by a person" in r.stdout
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", *period, "--html", str(out)]).exit_code == 0
    assert "1 detractor heard; 0 loops closed with a recovery call" in out.read_text()
