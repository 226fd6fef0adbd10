"""NPS and CSAT by customer segment, with the count of answers and the 95 % margin of
error (issue 17); the weekly NPS chart with n per week and gaps for thin weeks.

**Margins.** NPS is the mean of a score that is +1 for a promoter, 0 for a passive and
-1 for a detractor (times 100). With p and d the shares of promoters and detractors among
n answers, that score's variance is ``p + d - (p - d)^2``, so the 95 % margin of error is
``1.96 * sqrt((p + d - (p - d)^2) / n) * 100`` points. CSAT is a share s of 4–5 ratings:
``1.96 * sqrt(s (1 - s) / n) * 100`` points. Both are the normal (Wald) approximation:
fine from a few dozen answers, which is why segments with fewer than
``segments.min_answers`` (default 30) are listed as "too few answers" and not ranked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from html import escape
from typing import Any

from calls.errors import UserError
from calls.policy import DEFAULT_POLICY, Policy
from calls.reports import (
    CSAT,
    NPS,
    csat_from_histogram,
    day_start,
    nps_from_histogram,
    nps_text,
)
from calls.store import Store
from calls.store import segments as q

Z95 = 1.96
# Segment names a supervisor types, mapped to the customers column.
ALIASES = {"tier": "tier", "country": "country", "owner": "owner", "region": "phone_region",
           "number_region": "phone_region", "status": "cycle_status"}


def nps_margin(promoters: int, detractors: int, n: int, z: float = Z95) -> float | None:
    """The margin of error of an NPS (points, one decimal), or None without answers."""
    if n <= 0:
        return None
    p, d = promoters / n, detractors / n
    variance = p + d - (p - d) ** 2
    return round(100.0 * z * math.sqrt(variance / n), 1)


def csat_margin(satisfied: int, n: int, z: float = Z95) -> float | None:
    """The margin of error of a CSAT share (points, one decimal), or None without answers."""
    if n <= 0:
        return None
    s = satisfied / n
    return round(100.0 * z * math.sqrt(s * (1 - s) / n), 1)


@dataclass(frozen=True)
class Segment:
    """One segment's NPS and CSAT with their answers and margins."""

    value: str
    nps: NPS
    nps_margin: float | None
    csat: CSAT
    csat_margin: float | None
    too_few: bool               # fewer NPS answers than the policy's minimum: not ranked
    rank: int | None            # 1 = highest NPS among the ranked

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {"value": self.value, "answers": self.nps.responses, "nps": asdict(self.nps),
                "nps_margin": self.nps_margin, "csat": asdict(self.csat),
                "csat_margin": self.csat_margin, "too_few": self.too_few, "rank": self.rank}


@dataclass
class SegmentReport:
    """NPS and CSAT per value of one customer attribute, ranked where answers suffice."""

    by: str
    since: str
    until: str
    min_answers: int
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {"by": self.by, "period": {"since": self.since, "until": self.until},
                "min_answers": self.min_answers,
                "margin": "95 %: NPS 1.96*sqrt((p+d-(p-d)^2)/n)*100, "
                          "CSAT 1.96*sqrt(s(1-s)/n)*100",
                "segments": [s.to_json() for s in self.segments]}


def resolve_attribute(store: Store, by: str) -> tuple[str | None, str | None]:
    """(customers column, None) or (None, list column) for a segment name; a UserError
    listing what can be used for a name that is neither."""
    name = (by or "").strip()
    columns = q.customer_columns(store)
    column = ALIASES.get(name.lower(), name.lower())
    if column in columns:
        return column, None
    for key in q.extra_keys(store):
        if key.casefold() == name.casefold():
            return None, key
    extras = q.extra_keys(store)
    raise UserError(
        f"--segment {by!r}: no such customer attribute; use tier, country, owner, region"
        + (f" or a list column: {', '.join(extras[:12])}" if extras else "")
        + ("…" if len(extras) > 12 else ""))


def build_segments(store: Store, by: str, first: date, last: date,
                   policy: Policy = DEFAULT_POLICY) -> SegmentReport:
    """NPS and CSAT per segment for the days ``first``..``last`` (inclusive, UTC): ranked by
    NPS where a segment has at least ``segments.min_answers`` NPS answers, the others after
    them marked ``too_few`` (their figures shown, never ranked)."""
    column, extra = resolve_attribute(store, by)
    start, end = day_start(first), day_start(last + timedelta(days=1))
    nps_hist = q.score_histogram_by(store, "nps", start, end, column=column, extra_key=extra)
    csat_hist = q.score_histogram_by(store, "rating", start, end, column=column,
                                     extra_key=extra)
    minimum = policy.segments.min_answers
    segments = []
    for value in set(nps_hist) | set(csat_hist):
        nps = nps_from_histogram(nps_hist.get(value, {}))
        csat = csat_from_histogram(csat_hist.get(value, {}))
        segments.append(Segment(
            value="(none)" if value is None else value, nps=nps,
            nps_margin=nps_margin(nps.promoters, nps.detractors, nps.responses),
            csat=csat, csat_margin=csat_margin(csat.satisfied, csat.responses),
            too_few=nps.responses < minimum, rank=None))
    ranked = sorted((s for s in segments if not s.too_few),
                    key=lambda s: (-(s.nps.score if s.nps.score is not None else -1000), s.value))
    thin = sorted((s for s in segments if s.too_few), key=lambda s: (-s.nps.responses, s.value))
    out = [Segment(**{**s.__dict__, "rank": i + 1}) for i, s in enumerate(ranked)] + thin
    return SegmentReport(by=by, since=first.isoformat(), until=last.isoformat(),
                         min_answers=minimum, segments=out)


def _pm(value: float | None, margin: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.1f}{unit} ± {margin:.1f}" if margin is not None else f"{value:.1f}{unit}"


def _nps_pm(value: float | None, margin: float | None) -> str:
    """An NPS as everywhere (``nps_text``: whole points) and its margin in whole points."""
    if value is None:
        return "–"
    return f"{nps_text(value)} ± {margin:.0f}" if margin is not None else nps_text(value)


def segment_rows(report: SegmentReport) -> list[list[str]]:
    """Table rows: rank, segment, NPS answers, NPS ± margin, CSAT answers, CSAT ± margin."""
    rows = []
    for s in report.segments:
        rows.append([
            "too few" if s.too_few else str(s.rank), s.value, f"{s.nps.responses:,}",
            _nps_pm(s.nps.score, s.nps_margin), f"{s.csat.responses:,}",
            _pm(s.csat.score, s.csat_margin, "%"),
        ])
    return rows


SEGMENT_HEADERS = ["rank", "segment", "NPS n", "NPS ± 95 %", "CSAT n", "CSAT ± 95 %"]


# -- the weekly NPS chart ---------------------------------------------------------------------


def weekly_nps_svg(weeks: list[tuple[str, NPS]], min_answers: int, *, width: int = 440,
                   height: int = 220) -> str:
    """An SVG line of NPS by week with the answers per week under each point and the
    values on hover (``<title>``); weeks with fewer than ``min_answers`` answers are gaps
    (a pale band saying so), never a swing from +100 to -100."""
    n = len(weeks)
    # at least 26 px a week: room for every week's count of answers under it
    width = max(width, 26 * n + 70)
    left, right, top, bottom = 40, 24, 10, 44
    w, h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h * (100 - v) / 200

    title = "NPS by week"  # the caption says which weeks are gaps
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
              f"<title>{escape(title)}</title>")]
    for tick in (-100, 0, 100):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="{"#9aa5b1" if tick == 0 else "#e6eaee"}"/>')
        label = {-100: "−100", 0: "0", 100: "+100"}[tick]
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{label}'
                     "</text>")
    segment: list[str] = []
    lines: list[list[str]] = []
    step = max(1, n // max(1, w // 60))   # a week label every ~60 px
    for i, (week, nps) in enumerate(weeks):
        label = f"week of {week}: "
        thin = nps.responses < min_answers or nps.score is None
        if thin:
            if segment:
                lines.append(segment)
            segment = []
            half = (w / (n - 1) / 2) if n > 1 else w / 2
            parts.append(f'<rect x="{x(i) - half:.1f}" y="{top}" width="{2 * half:.1f}" '
                         f'height="{h}" fill="#f3f5f7"><title>{escape(label)}'
                         f"{nps.responses} answer{'' if nps.responses == 1 else 's'}, "
                         "too few for an NPS "
                         f"(fewer than {min_answers})</title></rect>")
        else:
            segment.append(f"{x(i):.1f},{y(nps.score):.1f}")
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(nps.score):.1f}" r="3" fill="#1565c0">'
                f"<title>{escape(label)}NPS {nps_text(nps.score)} from {nps.responses} answers "
                f"({nps.promoters} promoters, {nps.passives} passives, "
                f"{nps.detractors} detractors; ± "
                f"{nps_margin(nps.promoters, nps.detractors, nps.responses):.0f})"
                "</title></circle>")
        if i % step == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{height - 24}" text-anchor="middle">'
                         f"{escape(week[5:])}</text>")
        parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" '
                     f'fill="#5b6875">{nps.responses}</text>')
    if segment:
        lines.append(segment)
    for seg in lines:
        if len(seg) > 1:
            parts.append('<polyline fill="none" stroke="#1565c0" stroke-width="2" '
                         f'points="{" ".join(seg)}"/>')
    parts.append(f'<text x="{left - 14}" y="{height - 8}" text-anchor="end" fill="#5b6875">n'
                 "</text>")
    parts.append("</svg>")
    return "".join(parts)
