"""The HTML report: one self-contained page (no external resources) with SVG charts."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

from typer.testing import CliRunner

from calls import reports as rp
from calls.cli import app
from calls.html_report import bar_chart, line_chart, render_html
from calls.store import reports as q
from tests.core.test_report import add_customers, call

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class PageParser(HTMLParser):
    """Collects tags, attributes, headings and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self.decl: str | None = None

    def handle_decl(self, decl):
        self.decl = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in ("h1", "h2"):
            self.headings.append(data.strip())
        self.text.append(data)


def _parse(page: str) -> PageParser:
    p = PageParser()
    p.feed(page)
    p.close()
    return p


def _report(store) -> rp.Report:
    ids = add_customers(store, ("a", "A"), ("b", "B"), ("c", "C"))
    start = datetime(2026, 2, 2, 14, tzinfo=UTC)
    rows = []
    for week in range(5):
        at = start + timedelta(days=7 * week)
        rows += [call(ids["a"], "completed", at), call(ids["b"], "no_answer", at),
                 call(ids["c"], "refused" if week % 2 else "voicemail", at)]
    call_ids = q.insert_calls(store, rows)
    q.insert_answers(store, [(cid, "nps", "nps", 10 if i % 2 else 4, rows[i]["ended_at"])
                             for i, cid in enumerate(call_ids) if rows[i]["outcome"] ==
                             "completed"])
    return rp.build_report(store, NOW, date(2026, 2, 1), date(2026, 3, 9), weekly=True,
                           by="caller")


def test_page_is_self_contained_with_charts(store):
    page = render_html(_report(store))
    p = _parse(page)
    assert p.decl and p.decl.lower() == "doctype html"
    names = [t for t, _ in p.tags]
    assert "script" not in names and "link" not in names and "img" not in names
    for _tag, attrs in p.tags:
        for key in ("src", "href"):
            assert key not in attrs, attrs
    assert names.count("svg") == 4     # NPS by week, CON1 by week, coverage, outcome mix
    svg_titles = [a.get("aria-label") for t, a in p.tags if t == "svg"]
    assert svg_titles == ["NPS by week", "Contact rate (CON1) by week, per call", "Coverage per tier",
                          "Outcome mix"]
    assert "Care-call report" in p.headings
    assert any(h.startswith("AAPOR") for h in p.headings)
    # five weekly points on the NPS line
    polylines = [a for t, a in p.tags if t == "polyline"]
    assert len(polylines[0]["points"].split()) == 5


def test_page_figures_match_the_report(store):
    report = _report(store)
    text = " ".join(_parse(render_html(report)).text)
    assert f"{report.activity.attempts:,}" in text
    assert f"{100 * report.rates['RR1']:.1f}%" in text
    assert f" {rp.nps_text(report.nps.score)} " in f" {text} "   # the one NPS wording


def test_text_is_escaped():
    svg = bar_chart([("<b>x</b>", 3, "#000")], maximum=3, title="a & b")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a &amp; b" in svg
    line = line_chart([("2026-01-05", None), ("2026-01-12", 10.0)], lo=-100, hi=100,
                      title="gap")
    assert "polyline" in line and line.count("<circle") == 1


def test_empty_report_page(store):
    report = rp.build_report(store, NOW, date(2026, 1, 1), date(2026, 1, 31), weekly=True)
    p = _parse(render_html(report))
    assert "No calls in this period." in " ".join(p.text)


def test_cli_html(store, db_path, tmp_path):
    _report(store)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "--since", "2026-02-01", "--until",
                                      "2026-03-09", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "<svg" in out.read_text()
    bad = CliRunner().invoke(app, ["report", "--html", str(tmp_path / "no" / "r.html")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
