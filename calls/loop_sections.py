"""The loop's sections of ``carecall report`` (issue 17): deadlines per kind and owner,
themes of what customers say, NPS and CSAT by segment.

``build_sections`` computes them for a report's period; the report keeps them in
``Report.sections`` (name -> an object with ``to_json()``), its JSON carries them under
their names, and :func:`sections_html` draws them for ``report --html``. The terminal
tables are in ``calls/commands/loop_render.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from calls.clock import from_iso
from calls.deadlines import DeadlineFigures, deadline_figures
from calls.policy import DEFAULT_POLICY, Policy
from calls.reports import day_start
from calls.segments import SEGMENT_HEADERS, SegmentReport, build_segments, segment_rows
from calls.store import Store
from calls.themes import ThemeReport, build_theme_report

_CATEGORY_LABEL = {"detractor": "Detractors (0–6)", "passive": "Passives (7–8)",
                   "promoter": "Promoters (9–10)", "no score": "No score given"}


@dataclass
class DeadlinesSection:
    """Per kind and owner: share closed on time, median hours to first contact and close."""

    figures: list[DeadlineFigures] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        """Plain JSON data."""
        return [asdict(f) for f in self.figures]


@dataclass
class SegmentsSection:
    """One segment report per attribute asked for."""

    reports: list[SegmentReport] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        """Plain JSON data."""
        return [r.to_json() for r in self.reports]


def build_sections(store: Store, now: datetime, first: date, last: date,
                   policy: Policy | None = None, *, themes: bool = False,
                   segments: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """The loop's report sections for the days ``first``..``last`` (UTC, inclusive):
    always the deadlines; the themes when asked; a segment report per attribute."""
    policy = policy or DEFAULT_POLICY
    start, end = day_start(first), day_start(last + timedelta(days=1))
    as_of = min(now, from_iso(end))
    out: dict[str, Any] = {
        "deadlines": DeadlinesSection(deadline_figures(store, start, end, as_of, policy)),
    }
    if themes:
        out["themes"] = build_theme_report(store, first, last, policy)
    if segments:
        out["segments"] = SegmentsSection(
            [build_segments(store, by, first, last, policy) for by in segments])
    return out


# -- HTML ------------------------------------------------------------------------------------


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{unit}"


def _table(headers: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def deadlines_html(section: DeadlinesSection) -> str:
    """The deadlines table."""
    out = ["<h2>Follow-up deadlines</h2>"]
    if not section.figures:
        return out[0] + '<p class="empty">No follow-ups opened, contacted or closed.</p>'
    out.append(_table(
        ["kind", "owner", "opened", "closed", "on time", "median h to first contact",
         "median h to close", "escalated", "open past deadline"],
        [[f.kind, f.owner, f.opened, f.closed, _num(f.on_time_share, "%"),
          _num(f.median_hours_to_first_contact), _num(f.median_hours_to_close), f.escalated,
          f.open_past_deadline] for f in section.figures]))
    return "".join(out)


def themes_html(report: ThemeReport) -> str:
    """Top themes per NPS group, the trend by month, the causes fixed."""
    out = ["<h2>Themes of what customers say</h2>",
           (f"<p>{report.answers:,} open answers ({report.confirmed:,} with themes confirmed "
            f"by a person, the rest suggested from keywords; {report.untagged:,} matched no "
            "theme).</p>")]
    for c in report.categories:
        out.append(f"<h3>{escape(_CATEGORY_LABEL.get(c.category, c.category))}: "
                   f"{c.respondents:,} answers, {c.with_text:,} said why</h3>")
        if c.themes:
            out.append(_table(["theme", "customers", "share"],
                              [[t.label, t.calls, _num(t.share, "%")] for t in c.themes[:8]]))
        else:
            out.append('<p class="empty">No themes.</p>')
    if report.monthly:
        out.append("<h3>By month (customers mentioning each theme)</h3>")
        rows = [[theme, *counts] for theme, counts in sorted(
            report.monthly.items(), key=lambda kv: -sum(kv[1]))]
        rows.append(["NPS answers", *report.monthly_respondents])
        out.append(_table(["theme", *report.months], rows))
    out.append("<h3>Causes fixed</h3>")
    if report.fixed:
        out.append(_table(["theme", "fixes closed", "root cause fixed", "one customer's problem"],
                          [[f.label, f.fixes, f.root_cause, f.one_customer]
                           for f in report.fixed]))
    else:
        out.append('<p class="empty">No fixes closed in this period.</p>')
    return "".join(out)


def segments_html(section: SegmentsSection) -> str:
    """One table per attribute; thin segments greyed and unranked."""
    out = []
    for r in section.reports:
        out.append(f"<h2>NPS and CSAT by {escape(r.by)}</h2>")
        if not r.segments:
            out.append('<p class="empty">No answers in this period.</p>')
            continue
        out.append(_table(SEGMENT_HEADERS, segment_rows(r),
                          ["thin" if s.too_few else "" for s in r.segments]))
        out.append(f'<p class="sub">± is the 95 % margin of error. Segments with fewer '
                   f"than {r.min_answers} NPS answers are shown in grey and not ranked.</p>")
    return "".join(out)


def sections_html(sections: dict[str, Any]) -> list[str]:
    """The HTML of each loop section the report holds, in a fixed order."""
    out = []
    if "deadlines" in sections:
        out.append(deadlines_html(sections["deadlines"]))
    if "themes" in sections:
        out.append(themes_html(sections["themes"]))
    if "segments" in sections:
        out.append(segments_html(sections["segments"]))
    return out
