"""``carecall report --html FILE``: the report as one self-contained HTML page.

No external JavaScript, CSS, fonts or images: the styles are inline and the charts are
inline SVG drawn here (NPS and contact rate by week, coverage per tier, outcome mix), so
the file can be mailed to a manager and opened anywhere, offline.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from calls.outcomes import LABEL, Outcome
from calls.reports import (
    DUE_NOTE,
    DUE_WORD,
    NOT_REACHED_DAYS,
    PER_CALL,
    RATE_NAMES,
    Report,
    count_text,
    nps_text,
    percent_text,
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:60rem;color:#1d2630;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d5dbe1;padding-bottom:.2rem}
.sub{color:#5b6875;margin-top:0}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem}
.kpi{border:1px solid #d5dbe1;border-radius:.4rem;padding:.6rem .9rem;min-width:7rem}
.kpi b{display:block;font-size:1.4rem}.kpi span{color:#5b6875;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e6eaee;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f5f7}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{font-size:.9rem;color:#5b6875}
.empty{color:#5b6875;font-style:italic}
h3{font-size:1rem;margin:1.2rem 0 .2rem}tr.thin td{color:#8a96a3}
svg text{font-family:inherit;font-size:11px;fill:#3b4754}
"""

_OUTCOME_COLOURS = {
    "completed": "#2e7d32", "partial": "#81c784", "callback": "#1565c0", "refused": "#ef6c00",
    "do_not_call": "#c62828", "other_contact": "#8e24aa", "no_answer": "#90a4ae",
    "busy": "#b0bec5", "voicemail": "#78909c", "wrong_number": "#6d4c41",
    "disconnected": "#a1887f",
}


def _pct(value: float | None) -> str:
    return percent_text(value)


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- charts ------------------------------------------------------------------------------------


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>")


def line_chart(points: list[tuple[str, float | None]], *, lo: float, hi: float,
               title: str, unit: str = "", width: int = 440, height: int = 200) -> str:
    """An SVG line chart of (label, value) points; None leaves a gap."""
    left, right, top, bottom = 40, 10, 10, 30
    w, h = width - left - right, height - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h * (hi - v) / (hi - lo)

    parts = [_svg_open(width, height, title)]
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     'stroke="#e6eaee"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{tick:g}{unit}</text>")
    if lo < 0 < hi:
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                     'stroke="#9aa5b1"/>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="#1565c0">'
                     f"<title>{escape(label)}: {value:.1f}{unit}</title></circle>")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline fill="none" stroke="#1565c0" stroke-width="2" '
                     f'points="{" ".join(seg)}"/>')
    if points:
        step = max(1, n // 6)
        for i in range(0, n, step):
            parts.append(f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle">'
                         f"{escape(points[i][0][5:])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: list[tuple[str, float, str]], *, maximum: float, title: str,
              unit: str = "", width: int = 440) -> str:
    """Horizontal SVG bars: (label, value, colour)."""
    row = 24
    # room for the longest label (about 7 px a character at 11 px)
    left = max(60, 7 * max((len(label) for label, _, _ in bars), default=0) + 12)
    height = max(row * len(bars) + 10, 40)
    w = width - left - 60
    parts = [_svg_open(width, height, title)]
    for i, (label, value, colour) in enumerate(bars):
        y0 = 5 + i * row
        length = w * value / maximum if maximum else 0
        parts.append(f'<text x="{left - 6}" y="{y0 + 15}" text-anchor="end">'
                     f"{escape(label)}</text>")
        parts.append(f'<rect x="{left}" y="{y0 + 3}" width="{length:.1f}" height="{row - 8}" '
                     f'fill="{colour}"><title>{escape(label)}: {value:g}{unit}</title></rect>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y0 + 15}">{value:g}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------------


def render_html(report: Report) -> str:
    """The whole report as an HTML document (a string)."""
    r = report
    a = r.activity
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>carecall report {escape(r.since)} to {escape(r.until)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Care-call report</h1>",
        (f'<p class="sub">{escape(r.since)} to {escape(r.until)} (UTC days) · generated '
         f"{escape(r.generated_at)}</p>"),
    ]
    kpis = [
        ("attempts", f"{a.attempts:,}"), ("customers called", f"{a.cases:,}"),
        ("contacts", f"{a.contacts:,}"), ("completes", f"{a.completes:,}"),
        ("response rate RR1", _pct(r.rates["RR1"])), ("contact rate CON1", _pct(r.rates["CON1"])),
        ("NPS", nps_text(r.nps.score)), ("CSAT", _num(r.csat.score) + ("%" if r.csat.score is not
                                                                      None else "")),
    ]
    out.append('<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in kpis
    ) + "</div>")
    if r.empty:
        out.append('<p class="empty">No calls in this period.</p>')

    # Charts
    out.append("<h2>Trends and mix</h2>")
    charts = []
    if r.weekly:
        from calls.segments import weekly_nps_svg

        charts.append(_figure(
            weekly_nps_svg([(g.key, g.nps) for g in r.weekly], r.min_week_answers),
            f"NPS by week (week starting; answers below each week; fewer than "
            f"{r.min_week_answers} answers: a gap)"))
        charts.append(_figure(
            line_chart([(g.key, None if g.rates["CON1"] is None else 100 * g.rates["CON1"])
                        for g in r.weekly], lo=0, hi=100, unit="%",
                       title="Contact rate (CON1) by week, per call"),
            "Contact rate CON1 by week: the week's calls that reached someone"))
    if r.coverage.tiers:
        charts.append(_figure(
            bar_chart([(f"tier {t.tier}", t.share or 0.0, "#2e7d32") for t in r.coverage.tiers],
                      maximum=100, unit="%", title="Coverage per tier"),
            "Coverage: completed call within the tier's cadence"))
    if a.outcomes:
        bars = []
        for code, n in sorted(a.outcomes.items(), key=lambda kv: -kv[1]):
            try:
                label = LABEL[Outcome(code)]
            except ValueError:
                label = code
            bars.append((label, n, _OUTCOME_COLOURS.get(code, "#607d8b")))
        charts.append(_figure(bar_chart(bars, maximum=max(n for _, n, _ in bars),
                                        title="Outcome mix"), "Outcome mix (attempts)"))
    out.append('<div class="charts">' + "".join(charts) + "</div>" if charts
               else '<p class="empty">Nothing to chart.</p>')

    # AAPOR
    out.append(f"<h2>AAPOR outcome rates over cases (e = {r.e:g})</h2>")
    codes = ["I", "P", "R", "NC", "O", "UH", "UO"]
    out.append(_table(codes, [[f"{r.counts[c]:,}" for c in codes]]))
    out.append(_table(["rate", "value"], [[n, _pct(r.rates[n])] for n in RATE_NAMES]))

    # NPS / CSAT
    out.append("<h2>What customers say</h2>")
    n = r.nps
    out.append(_table(
        ["", "responses", "promoters", "passives", "detractors", "NPS"],
        [["this period", n.responses, n.promoters, n.passives, n.detractors, nps_text(n.score)],
         ["previous period", r.nps_previous.responses, r.nps_previous.promoters,
          r.nps_previous.passives, r.nps_previous.detractors, nps_text(r.nps_previous.score)]],
    ))
    out.append(f"<p>Change against the previous period: {nps_text(r.nps_change)}. "
               f"CSAT: {_num(r.csat.score)}% of {r.csat.responses:,} ratings are 4–5.</p>")

    # Coverage
    out.append(f"<h2>Coverage as of {escape(r.coverage.as_of)}</h2>")
    out.append(_table(
        ["tier", "cadence (days)", "customers", "covered", "share"],
        [[t.tier, t.cadence_days, f"{t.customers:,}", f"{t.covered:,}",
          t.share_text()] for t in r.coverage.tiers],
    ))
    out.append(f"<p>Not reached in the last {NOT_REACHED_DAYS} days: "
               f"<b>{r.coverage.not_reached:,}</b> customers "
               f"({r.coverage.do_not_call:,} on do-not-call left out).</p>")

    # Follow-ups
    out.append("<h2>Follow-ups and the loop</h2>")
    if r.followups:
        out.append(_table(
            ["kind", "open", DUE_WORD, "done", "cancelled", "median days to close"],
            [[f.kind, f.open, f.overdue, f.done, f.cancelled, _num(f.median_days_to_close)]
             for f in r.followups],
        ))
        out.append(f"<p>{escape(DUE_NOTE)}.</p>")
    else:
        out.append('<p class="empty">No follow-ups.</p>')
    lp = r.loop
    out.append(f"<p>{count_text(lp.detractors, 'detractor')} heard; "
               f"{count_text(lp.loops_closed, 'loop')} closed with a recovery call; {lp.won_back:,} won back; average score change "
               f"{_num(lp.avg_score_change, signed=True)}.</p>")

    if r.by:
        per = "call" if r.by in PER_CALL else "customer"
        out.append(f"<h2>By {escape(r.by)} (rates per {per})</h2>")
        headers = [r.by, "attempts", "cases", "contacts", "completes", "RR1", "COOP1", "CON1",
                   "NPS"]
        rows = [[g.key, g.activity.attempts, g.activity.cases, g.activity.contacts,
                 g.activity.completes, _pct(g.rates["RR1"]), _pct(g.rates["COOP1"]),
                 _pct(g.rates["CON1"]), nps_text(g.nps.score)] for g in r.groups]
        out.append(_table(headers, rows))
    if r.sections:
        from calls.loop_sections import sections_html

        out.extend(sections_html(r.sections))
    out.append("</body></html>")
    return "\n".join(out)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def write_html_report(report: Report, path: Path) -> None:
    """Write the page to ``path`` (owner-only: it names callers and figures)."""
    from calls.outfile import open_output

    page = render_html(report)
    with open_output(path, label="--html") as fh:
        fh.write(page)
