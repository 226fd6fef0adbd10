"""Terminal tables for the loop's report sections (deadlines, themes, segments)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from calls.loop_sections import DeadlinesSection, SegmentsSection
from calls.reports import count_text
from calls.segments import SEGMENT_HEADERS, segment_rows
from calls.themes import ThemeReport

_CATEGORY = {"detractor": "detractors", "passive": "passives", "promoter": "promoters",
             "no score": "no score"}


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{unit}"


def _days(hours: float | None) -> str:
    if hours is None:
        return "–"
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} d"


def render_deadlines(section: DeadlinesSection) -> Any:
    """Per kind and owner: on time, median hours to first contact and to close."""
    if not section.figures:
        return "Follow-up deadlines: nothing opened, contacted or closed in this period."
    table = Table(title="Follow-up deadlines", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("owner", max_width=14, overflow="ellipsis", no_wrap=True)
    for col in ("done", "on time", "contact", "close", "esc.", "late"):
        table.add_column(col, justify="right", no_wrap=True)
    for f in section.figures:
        table.add_row(f.kind, escape(f.owner), f"{f.closed:,}", _num(f.on_time_share, "%"),
                      _days(f.median_hours_to_first_contact), _days(f.median_hours_to_close),
                      f"{f.escalated:,}", f"{f.open_past_deadline:,}")
    table.caption = ("done in the period; on time = done by the close deadline; contact, "
                     "close: median time from opened to first contact and to close (h = hours, "
                     "d = days; --json: hours); esc. = escalated; late = open past a deadline")
    table.caption_justify = "left"
    return table


def render_themes(report: ThemeReport, top: int = 5) -> list[Any]:
    """Top themes per NPS group, the months, the causes fixed."""
    out: list[Any] = [
        (f"Themes: {count_text(report.answers, 'open answer')}, "
         f"{report.confirmed:,} confirmed by a person, "
         f"{report.untagged:,} matched no theme.")]
    table = Table(title="Top themes by NPS group", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    table.add_column("group")
    table.add_column("said why", justify="right")
    table.add_column("top themes (customers, share of the group)", overflow="fold")
    for c in report.categories:
        themes = ", ".join(f"{escape(t.label)} {t.calls} ({_num(t.share, '%')})"
                           for t in c.themes[:top]) or "–"
        table.add_row(f"{_CATEGORY.get(c.category, c.category)} ({c.respondents:,})",
                      f"{c.with_text:,}", themes)
    out.append(table)
    if report.monthly:
        months = Table(title="Themes by month (customers)", title_justify="left",
                       box=box.SIMPLE_HEAD, pad_edge=False,
                       collapse_padding=True)
        months.add_column("theme")
        shown = report.months[-6:]  # a terminal holds six months; --json has them all
        offset = len(report.months) - len(shown)
        for m in shown:
            months.add_column(m, justify="right")
        for theme, counts in sorted(report.monthly.items(), key=lambda kv: -sum(kv[1])):
            months.add_row(escape(theme), *(str(n) for n in counts[offset:]))
        months.add_row("NPS answers", *(str(n) for n in report.monthly_respondents[offset:]))
        out.append(months)
    if report.fixed:
        fixed = Table(title="Causes fixed", title_justify="left", box=box.SIMPLE_HEAD,
                      pad_edge=False)
        for col in ("theme", "fixes", "root cause", "one customer"):
            fixed.add_column(col, justify="left" if col == "theme" else "right")
        for f in report.fixed:
            fixed.add_row(escape(f.label), f"{f.fixes:,}", f"{f.root_cause:,}",
                          f"{f.one_customer:,}")
        out.append(fixed)
    else:
        out.append("Causes fixed: no fixes closed in this period.")
    return out


def render_segments(section: SegmentsSection) -> list[Any]:
    """One table per attribute; thin segments marked "too few" and not ranked."""
    out: list[Any] = []
    for r in section.reports:
        table = Table(title=f"NPS and CSAT by {escape(r.by)}", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False,
                       collapse_padding=True)
        for i, col in enumerate(SEGMENT_HEADERS):
            table.add_column(col, justify="left" if i == 1 else "right", overflow="fold")
        for s, row in zip(r.segments, segment_rows(r), strict=True):
            table.add_row(*(escape(c) for c in row), style="dim" if s.too_few else None)
        if not r.segments:
            table.add_row("", "(no answers)", "", "", "", "")
        table.caption = (f"± = 95 % margin of error; fewer than {r.min_answers} NPS answers: "
                         "too few, not ranked")
        table.caption_justify = "left"
        out.append(table)
    return out


def render_sections(sections: dict[str, Any]) -> list[Any]:
    """Every loop section the report holds, in a fixed order."""
    out: list[Any] = []
    if "deadlines" in sections:
        out.append(render_deadlines(sections["deadlines"]))
    if "themes" in sections:
        out.extend(render_themes(sections["themes"]))
    if "segments" in sections:
        out.extend(render_segments(sections["segments"]))
    return out
