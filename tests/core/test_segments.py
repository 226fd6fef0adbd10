"""Segments: NPS and CSAT by customer attribute with the 95 % margin, checked against hand
computations on published surveys (Sudzilla, NPS -35.9; Prep Air, NPS 21), thin segments
marked and not ranked; the weekly chart with n per week and gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from calls.errors import UserError
from calls.policy import policy_from_dict
from calls.reports import NPS, nps_from_histogram
from calls.segments import build_segments, csat_margin, nps_margin, weekly_nps_svg
from tests.support.loop import add_answered_call, read_rows

NOV = (date(2019, 11, 1), date(2019, 11, 30))


def test_margins_by_hand():
    # Sudzilla: 8 promoters, 22 detractors of 39. p = 0.205128, d = 0.564103,
    # p + d - (p - d)^2 = 0.769231 - 0.128863 = 0.640368; sqrt(0.640368 / 39) = 0.128140;
    # x 1.96 x 100 = 25.1 points.
    assert nps_margin(8, 22, 39) == 25.1
    # Prep Air: 74 promoters, 35 detractors of 184. p = 0.402174, d = 0.190217,
    # 0.592391 - 0.211957^2 = 0.547465; sqrt(0.547465 / 184) = 0.054547 -> 10.7 points.
    assert nps_margin(74, 35, 184) == 10.7
    # CSAT 7 of 10: 1.96 x sqrt(0.7 x 0.3 / 10) x 100 = 28.4 points.
    assert csat_margin(7, 10) == 28.4
    assert nps_margin(0, 0, 0) is None and nps_margin(10, 0, 10) == 0.0


def _sudzilla(store):
    for i, row in enumerate(read_rows("sudzilla_nps.csv")):
        when = datetime.fromisoformat(row["timestamp"][:19]).replace(tzinfo=UTC)
        add_answered_call(store, f"S{i:02d}", when, {"nps": ("nps", int(row["nps"]))},
                          country="GB", extra={"Event": "Sudzilla 2019"})


def test_sudzilla_segment_matches_the_published_nps(store):
    _sudzilla(store)
    report = build_segments(store, "Event", *NOV)        # a list column, any case
    [seg] = report.segments
    assert seg.value == "Sudzilla 2019" and seg.rank == 1 and not seg.too_few
    assert (seg.nps.responses, seg.nps.promoters, seg.nps.detractors) == (39, 8, 22)
    assert seg.nps.score == -35.9 and seg.nps_margin == 25.1
    assert build_segments(store, "country", *NOV).segments[0].value == "GB"


def _prep_air(store):
    start = datetime(2019, 11, 4, 9, 0, tzinfo=UTC)
    for i, row in enumerate(read_rows("prep_air_nps.csv")):
        add_answered_call(store, row["customer"], start + timedelta(minutes=i),
                          {"nps": ("nps", int(row["nps"]))},
                          extra={"Airline": row["airline"]}, tier="A" if i % 2 else "B")


def test_prep_air_by_airline_and_too_few_answers_not_ranked(store):
    _prep_air(store)
    report = build_segments(store, "airline", *NOV)
    prep, thin = report.segments
    assert prep.value == "Prep Air" and prep.rank == 1
    # published: NPS 21 from 184 responses (floor-rounded shares 40 % - 19 %)
    assert (prep.nps.responses, prep.nps.promoters, prep.nps.detractors) == (184, 74, 35)
    assert prep.nps.score == 21.2 and prep.nps_margin == 10.7
    assert thin.value == "Mitchell Group" and thin.too_few and thin.rank is None
    assert (thin.nps.responses, thin.nps.score) == (6, -16.7)
    # a lower minimum ranks it (after Prep Air: its NPS is lower)
    policy = policy_from_dict({"segments": {"min_answers": 5}})
    ranked = build_segments(store, "airline", *NOV, policy)
    assert [(s.value, s.rank) for s in ranked.segments] == [("Prep Air", 1), ("Mitchell Group", 2)]
    by_tier = build_segments(store, "tier", *NOV)
    assert sum(s.nps.responses for s in by_tier.segments) == 190


def test_csat_per_segment(store):
    when = datetime(2019, 11, 5, 10, 0, tzinfo=UTC)
    for i, rating in enumerate([5, 4, 4, 3, 5, 2, 4, 5, 1, 4]):
        add_answered_call(store, f"R{i}", when + timedelta(minutes=i),
                          {"sat": ("rating", rating)}, country="DE")
    [seg] = build_segments(store, "country", *NOV).segments
    assert (seg.csat.responses, seg.csat.satisfied, seg.csat.score) == (10, 7, 70.0)
    assert seg.csat_margin == 28.4 and seg.too_few   # no NPS answers at all


def test_unknown_attribute_is_a_user_error(store):
    _sudzilla(store)
    with pytest.raises(UserError, match="no such customer attribute.*Event"):
        build_segments(store, "shoe size", *NOV)
    with pytest.raises(UserError, match="no such customer attribute"):
        build_segments(store, "email", *NOV)       # identifies a person, not a group


def test_weekly_chart_shows_n_and_leaves_thin_weeks_as_gaps():
    weeks = [("2026-03-02", nps_from_histogram({10: 6, 0: 2})),
             ("2026-03-09", nps_from_histogram({0: 2})),          # 2 answers: a gap
             ("2026-03-16", nps_from_histogram({9: 3, 7: 2, 3: 1})),
             ("2026-03-23", NPS())]                                 # no answers: a gap
    svg = weekly_nps_svg(weeks, min_answers=5)
    assert svg.count("<circle") == 2
    assert "week of 2026-03-02: NPS +50 from 8 answers" in svg
    assert "week of 2026-03-09: 2 answers, too few for an NPS (fewer than 5)" in svg
    assert "-100.0" not in svg                                   # no swing to -100
    # n under every week
    for n in (">8<", ">2<", ">6<", ">0<"):
        assert n in svg
    assert svg.count("<polyline") == 0        # two points, each alone between gaps
