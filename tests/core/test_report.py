"""Report figures: AAPOR rates (worked examples), NPS/CSAT, cases, coverage, follow-ups."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from calls import reports as rp
from calls.cli import app
from calls.clock import to_iso
from calls.errors import UserError
from calls.store import reports as q

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

# -- AAPOR: the worked examples (copied from the shared data set; tests never read it) --------
# ropensci/outcomerate tests/testthat/test-rate.R (x1, e = 0.5)
EX1 = ({"I": 5, "P": 3, "R": 2, "NC": 1, "O": 2, "UH": 1, "UO": 1, "NE": 1}, 0.5, {
    "RR1": "1/3", "RR2": "8/15", "RR3": "5/14", "RR4": "4/7", "RR5": "5/13", "RR6": "8/13",
    "COOP1": "5/12", "COOP2": "2/3", "COOP3": "1/2", "COOP4": "4/5",
    "REF1": "2/15", "REF2": "1/7", "REF3": "2/13",
    "CON1": "4/5", "CON2": "6/7", "CON3": "12/13",
})
# ropensci/outcomerate README.md (e = 0.9)
EX2 = ({"I": 4, "P": 2, "R": 1, "NC": 1, "O": 1, "UH": 1, "UO": 1, "NE": 1}, 0.9, {
    "RR1": "4/11", "RR2": "6/11", "RR3": "10/27", "RR4": "5/9", "RR5": "4/9", "RR6": "2/3",
    "COOP1": "1/2", "COOP2": "3/4", "COOP3": "4/7", "COOP4": "6/7",
    "REF1": "1/11", "REF2": "5/54", "REF3": "1/9",
    "CON1": "8/11", "CON2": "20/27", "CON3": "8/9",
})
# leeper/responserates README.md rates(list(i=100, nc=20))
EX3 = ({"I": 100, "NC": 20}, 1.0, {
    **{f"RR{i}": "5/6" for i in range(1, 7)},
    **{f"COOP{i}": "1" for i in range(1, 5)},
    **{f"REF{i}": "0" for i in range(1, 4)},
    **{f"CON{i}": "5/6" for i in range(1, 4)},
})


@pytest.mark.parametrize("counts,e,expected", [EX1, EX2, EX3], ids=["outcomerate-test",
                                                                   "outcomerate-readme",
                                                                   "responserates"])
def test_aapor_worked_examples(counts, e, expected):
    rates = rp.aapor_rates(counts, e)
    assert set(rates) == set(rp.RATE_NAMES)
    for name, fraction in expected.items():
        assert rates[name] == pytest.approx(float(Fraction(fraction)), abs=1e-12), name


def test_aapor_published_rounded_values():
    # outcomerate's README prints three decimals
    rates = rp.aapor_rates(EX2[0], 0.9)
    assert round(rates["RR3"], 3) == 0.370
    assert round(rates["REF2"], 3) == 0.093
    assert round(rates["CON2"], 3) == 0.741


def test_aapor_empty_denominators_are_none_and_e_checked():
    rates = rp.aapor_rates({})
    assert all(v is None for v in rates.values())
    only_nc = rp.aapor_rates({"NC": 4})
    assert only_nc["RR1"] == 0 and only_nc["COOP1"] is None
    with pytest.raises(UserError):
        rp.aapor_rates({"I": 1}, e=1.5)


def test_e_only_moves_rates_with_unknowns():
    counts = {"I": 10, "NC": 5, "UO": 5}
    assert rp.aapor_rates(counts, 1.0)["RR3"] == pytest.approx(10 / 20)
    assert rp.aapor_rates(counts, 0.0)["RR3"] == pytest.approx(10 / 15)
    assert rp.aapor_rates(counts, 0.0)["RR1"] == pytest.approx(10 / 20)


def test_best_family_order():
    assert rp.best_family(["no_answer", "refused", "busy"]) == "R"
    assert rp.best_family(["wrong_number", "voicemail"]) == "NC"
    assert rp.best_family(["callback", "partial"]) == "P"
    assert rp.best_family(["other_contact", "no_answer"]) == "O"
    assert rp.best_family([]) is None


# -- NPS / CSAT -------------------------------------------------------------------------------

SUDZILLA = {0: 4, 1: 1, 2: 4, 3: 8, 4: 2, 5: 2, 6: 1, 7: 4, 8: 5, 9: 4, 10: 4}
PREP_AIR = {0: 3, 1: 3, 2: 5, 3: 6, 4: 9, 5: 4, 6: 5, 7: 32, 8: 43, 9: 38, 10: 36}


def test_nps_sudzilla_published():
    n = rp.nps_from_histogram(SUDZILLA)
    assert (n.responses, n.promoters, n.detractors) == (39, 8, 22)
    assert n.score == -35.9


def test_nps_prep_air():
    n = rp.nps_from_histogram(PREP_AIR)
    assert (n.responses, n.promoters, n.passives, n.detractors) == (184, 74, 75, 35)
    assert n.score == 21.2
    # The published 21 floors each percentage first: 40 - 19.
    assert int(100 * 74 / 184) - int(100 * 35 / 184) == 21


def test_nps_edge_cases():
    empty = rp.nps_from_histogram({})
    assert empty.responses == 0 and empty.score is None
    passives = rp.nps_from_histogram({7: 3, 8: 5})
    assert passives.score == 0.0 and passives.passives == 8
    assert rp.nps_from_histogram({10: 2}).score == 100.0
    assert rp.nps_from_histogram({0: 1, 6: 1}).score == -100.0
    assert rp.nps_from_histogram({11: 5, -1: 2}).responses == 0   # not NPS answers


def test_csat_and_median():
    c = rp.csat_from_histogram({1: 1, 2: 1, 3: 1, 4: 3, 5: 4, 9: 7})
    assert (c.responses, c.satisfied, c.score) == (10, 7, 70.0)
    assert rp.csat_from_histogram({}).score is None
    assert rp.median_from_histogram({1: 1, 2: 1, 10: 1}) == 2
    assert rp.median_from_histogram({1: 2, 3: 2}) == 2
    assert rp.median_from_histogram({5: 1}) == 5
    assert rp.median_from_histogram({}) is None


# -- figures from a database --------------------------------------------------------------------


def add_customers(store, *rows):
    """Insert customers: (ref, tier[, do_not_call]); returns {ref: id}."""
    ids = {}
    for row in rows:
        ref, tier, *rest = row
        store.db["customers"].insert({
            "ref": ref, "name": f"Name {ref}", "tier": tier, "phone": "+12025550100",
            "time_zones": json.dumps(["America/New_York"]),
            "do_not_call": rest[0] if rest else 0,
            "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        })
        ids[ref] = store.scalar("SELECT id FROM customers WHERE ref = ?", (ref,))
    return ids


def call(customer_id, outcome, at, caller="ann", minutes=5, script_id=None):
    started = to_iso(at)
    return {"customer_id": customer_id, "caller": caller, "started_at": started,
            "ended_at": to_iso(at + timedelta(minutes=minutes)) if outcome else None,
            "outcome": outcome, "script_id": script_id}


def day(n: int, hour: int = 14) -> datetime:
    """March 2026, day n, at hour (UTC)."""
    return datetime(2026, 3, n, hour, 0, tzinfo=UTC)


@pytest.fixture
def period_db(store):
    """Six customers, attempts whose case dispositions are computed by hand below."""
    ids = add_customers(store, ("a", "A"), ("b", "A"), ("c", "B"), ("d", "C"), ("e", "C"),
                        ("f", "C"), ("g", "C", 1))
    rows = [
        call(ids["a"], "no_answer", day(2), "ann"),
        call(ids["a"], "completed", day(3), "bob"),        # a: I
        call(ids["b"], "busy", day(2), "ann"),
        call(ids["b"], "refused", day(4), "ann"),          # b: R
        call(ids["c"], "voicemail", day(5), "bob"),
        call(ids["c"], "wrong_number", day(5, 16), "bob"),  # c: NC (NC beats UO)
        call(ids["d"], "disconnected", day(6), "ann"),     # d: UO
        call(ids["e"], "partial", day(6), "ann"),
        call(ids["e"], "callback", day(7), "ann"),         # e: P (P beats R)
        call(ids["f"], "other_contact", day(8), "bob"),    # f: O
        call(ids["f"], None, day(9), "bob"),               # in progress: not a disposition
        call(ids["a"], "completed", datetime(2026, 2, 1, 14, tzinfo=UTC)),  # before period
    ]
    call_ids = q.insert_calls(store, rows)
    at = to_iso(day(3, 15))
    q.insert_answers(store, [
        (call_ids[1], "nps", "nps", 10, at), (call_ids[1], "sat", "rating", 5, at),
        (call_ids[7], "nps", "nps", 3, to_iso(day(6, 15))),
        (call_ids[11], "nps", "nps", 9, "2026-02-01T14:10:00Z"),
    ])
    return store, ids, call_ids


def test_cases_and_rates_from_store(period_db):
    store, _ids, _ = period_db
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9))
    assert r.counts == {"I": 1, "P": 1, "R": 1, "NC": 1, "O": 1, "UH": 0, "UO": 1, "NE": 0}
    assert r.activity.attempts == 10 and r.activity.in_progress == 1
    assert r.activity.cases == 6
    # contacts: completed, refused, partial, callback
    assert r.activity.contacts == 4 and r.activity.completes == 1
    assert r.rates["RR1"] == pytest.approx(1 / 6)
    assert r.rates["RR2"] == pytest.approx(2 / 6)
    assert r.rates["COOP1"] == pytest.approx(1 / 4)
    assert r.rates["REF1"] == pytest.approx(1 / 6)
    assert r.rates["CON1"] == pytest.approx(4 / 6)
    # NPS: 10 and 3 in the period -> 0; previous 9-day period had a 9 -> 100; change -100
    assert (r.nps.responses, r.nps.score) == (2, 0.0)
    assert r.nps_previous.score is None  # Feb 1 is outside the 9 days before Mar 1
    assert r.csat.score == 100.0
    # e with unknowns: UO = 1
    r2 = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9), e=0.0)
    assert r2.rates["RR3"] == pytest.approx(1 / 5)


def test_nps_change_against_previous_period(period_db):
    store, *_ = period_db
    r = rp.build_report(store, NOW, date(2026, 2, 16), date(2026, 3, 9))   # 22 days
    assert r.nps.responses == 2
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 31))  # previous: Jan 29..
    assert r.nps_previous.score == 100.0 and r.nps.score == 0.0
    assert r.nps_change == -100.0


def test_by_caller_tier_week_script(period_db):
    store, *_ = period_db
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9), by="caller")
    by = {g.key: g for g in r.groups}
    assert set(by) == {"ann", "bob"}
    # per caller every call is a case with its own outcome: ann's no_answer, busy,
    # refused, disconnected, partial and callback; bob's completed, voicemail,
    # wrong_number, other_contact (and one in progress, no disposition)
    assert by["ann"].counts == {"I": 0, "P": 1, "R": 2, "NC": 2, "O": 0, "UH": 0, "UO": 1,
                                "NE": 0}
    assert by["bob"].counts == {"I": 1, "P": 0, "R": 0, "NC": 1, "O": 1, "UH": 0, "UO": 1,
                                "NE": 0}
    assert by["ann"].activity.cases == by["ann"].activity.attempts == 6
    assert by["bob"].activity.attempts == 4 and by["bob"].activity.in_progress == 1
    assert by["bob"].rates["RR1"] == pytest.approx(1 / 4)      # completed calls / calls
    assert by["bob"].rates["CON1"] == pytest.approx(2 / 4)     # reached someone / calls
    # the callers' calls add up to the whole report's
    plain = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9))
    assert sum(g.activity.attempts for g in r.groups) == plain.activity.attempts
    assert sum(g.activity.contacts for g in r.groups) == plain.activity.contacts
    assert by["ann"].aht_seconds == 300          # every call 5 minutes, start to outcome
    assert by["ann"].calls_per_hour is not None
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9), by="tier")
    tiers = {g.key: g.activity.cases for g in r.groups}
    assert tiers == {"A": 2, "B": 1, "C": 3}
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9), by="week")
    weeks = {g.key: (g.activity.attempts, g.activity.in_progress) for g in r.groups}
    # weeks start on Monday: Mar 2..8, and Mar 9 (only the call still in progress)
    assert weeks == {"2026-03-02": (10, 0), "2026-03-09": (0, 1)}
    with pytest.raises(UserError):
        rp.build_report(store, NOW, by="colour")


def test_empty_period(store):
    r = rp.build_report(store, NOW, date(2026, 1, 1), date(2026, 1, 31))
    assert r.empty and r.activity.cases == 0
    assert all(v is None for v in r.rates.values())
    assert r.nps.score is None and r.csat.score is None
    with pytest.raises(UserError):
        rp.build_report(store, NOW, date(2026, 2, 1), date(2026, 1, 1))


# -- coverage -------------------------------------------------------------------------------


def test_coverage_across_the_cadence_boundary(store):
    ids = add_customers(store, ("a1", "A"), ("a2", "A"), ("b1", "B"), ("c1", "C"),
                        ("c2", "C"), ("x", None), ("dnc", "A", 1))
    as_of = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    q.insert_calls(store, [
        # A: 90 days. Exactly 90 days before as_of is inside, one second more is outside.
        call(ids["a1"], "completed", as_of - timedelta(days=90)),
        call(ids["a2"], "completed", as_of - timedelta(days=90, seconds=1)),
        # B: 180 days; a refusal is a contact but not a completed call
        call(ids["b1"], "refused", as_of - timedelta(days=10)),
        # C: 365 days
        call(ids["c1"], "completed", as_of - timedelta(days=364)),
        call(ids["c2"], "completed", as_of - timedelta(days=366)),
        # no tier: held to C's cadence
        call(ids["x"], "completed", as_of - timedelta(days=200)),
        # after as_of: not counted
        call(ids["c2"], "completed", as_of + timedelta(hours=1)),
    ])
    cov = rp.coverage_as_of(store, to_iso(as_of), {"cadence_days": {"A": 90, "B": 180,
                                                                    "C": 365}})
    tiers = {t.tier: t for t in cov.tiers}
    assert (tiers["A"].customers, tiers["A"].covered, tiers["A"].share) == (2, 1, 50.0)
    assert (tiers["B"].customers, tiers["B"].covered) == (1, 0)
    assert (tiers["C"].customers, tiers["C"].covered) == (2, 1)
    assert (tiers["?"].customers, tiers["?"].covered, tiers["?"].cadence_days) == (1, 1, 365)
    assert cov.do_not_call == 1
    # not reached in 365 days: c2 only (a2's call at 90 d + 1 s is a contact within a year)
    assert cov.not_reached == 1
    listing = rp.coverage_as_of(store, to_iso(as_of), include_list=True).not_reached_customers
    assert [c["ref"] for c in listing] == ["c2"]
    assert listing[0]["last_contact"] == to_iso(as_of - timedelta(days=366))


def test_coverage_policy_cadence(store):
    ids = add_customers(store, ("a1", "A"))
    q.insert_calls(store, [call(ids["a1"], "completed", NOW - timedelta(days=50))])
    tight = rp.coverage_as_of(store, to_iso(NOW), {"cadence_days": {"A": 30}})
    assert {t.tier: t.covered for t in tight.tiers}["A"] == 0
    assert rp.cadence_days({"cadence_days": {"A": 30}})["A"] == 30
    assert rp.cadence_days(None)["B"] == 180


# -- follow-ups and the loop ------------------------------------------------------------------


def test_followup_figures_and_loop(store):
    ids = add_customers(store, ("a", "A"), ("b", "B"))
    call_ids = q.insert_calls(store, [call(ids["a"], "completed", day(2)),
                                      call(ids["b"], "completed", day(3))])
    q.insert_answers(store, [(call_ids[0], "nps", "nps", 4, to_iso(day(2))),
                             (call_ids[1], "nps", "nps", 6, to_iso(day(3)))])
    base = {"customer_id": ids["a"], "call_id": call_ids[0]}
    q.insert_followups(store, [
        {**base, "kind": "fix_problem", "status": "done", "created_at": to_iso(day(2)),
         "closed_at": to_iso(day(4)), "due_at": to_iso(day(5))},           # 2 days
        {**base, "kind": "fix_problem", "status": "done", "created_at": to_iso(day(2)),
         "closed_at": to_iso(day(8)), "due_at": to_iso(day(5))},           # 6 days
        {**base, "kind": "fix_problem", "status": "open", "created_at": to_iso(day(3)),
         "due_at": to_iso(day(5))},                                        # overdue at Mar 10
        {**base, "kind": "gift", "status": "open", "created_at": to_iso(day(3)),
         "due_at": to_iso(day(20))},
        {**base, "kind": "gift", "status": "cancelled", "created_at": to_iso(day(3)),
         "closed_at": to_iso(day(4))},
        {**base, "kind": "recovery_call", "status": "done", "created_at": to_iso(day(4)),
         "closed_at": to_iso(day(6)), "score_before": 4, "score_after": 9},
        {**base, "kind": "recovery_call", "status": "done", "created_at": to_iso(day(4)),
         "closed_at": to_iso(day(7)), "score_before": 6, "score_after": 6},
    ])
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 9))
    f = {x.kind: x for x in r.followups}
    assert (f["fix_problem"].open, f["fix_problem"].overdue, f["fix_problem"].done) == (1, 1, 2)
    assert f["fix_problem"].median_days_to_close == 4.0
    assert (f["gift"].open, f["gift"].overdue, f["gift"].cancelled) == (1, 0, 1)
    assert r.loop.detractors == 2
    assert (r.loop.loops_closed, r.loop.won_back, r.loop.avg_score_change) == (2, 1, 2.5)
    # as of Mar 3 (end of a period), the one closed on Mar 4 was still open
    r = rp.build_report(store, NOW, date(2026, 3, 1), date(2026, 3, 2))
    f = {x.kind: x for x in r.followups}
    assert f["fix_problem"].open == 2 and f["fix_problem"].done == 0


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_report_json(period_db, db_path):
    result = CliRunner().invoke(app, ["report", "--since", "2026-03-01", "--until",
                                      "2026-03-09", "--json", "--e", "0.5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["aapor"]["counts"] == {"I": 1, "P": 1, "R": 1, "NC": 1, "O": 1, "UH": 0,
                                       "UO": 1, "NE": 0}
    assert data["aapor"]["RR1"] == pytest.approx(1 / 6)
    assert data["aapor"]["RR3"] == pytest.approx(1 / 5.5)
    for key in rp.RATE_NAMES:
        assert key in data["aapor"]
    assert data["nps"]["score"] == 0.0 and data["nps"]["responses"] == 2
    assert {"promoters", "passives", "detractors"} <= set(data["nps"])
    assert "tiers" in data["coverage"] and "not_reached_customers" in data["coverage"]
    assert {c["ref"] for c in data["coverage"]["not_reached_customers"]} <= set("abcdef")
    assert "open" in data["followups"]


def test_cli_report_text_and_by(period_db, db_path):
    result = CliRunner().invoke(app, ["report", "--since", "2026-03-01", "--until",
                                      "2026-03-09", "--by", "caller"])
    assert result.exit_code == 0, result.output
    assert "RR1 16.7%" in result.output
    assert "ann" in result.output and "bob" in result.output
    empty = CliRunner().invoke(app, ["report", "--since", "2020-01-01", "--until",
                                     "2020-01-31"])
    assert empty.exit_code == 0 and "No calls in this period" in empty.output


@pytest.mark.parametrize("args,needle", [
    (["--since", "March"], "--since"),
    (["--by", "colour"], "--by"),
    (["--e", "2"], "between 0 and 1"),
    (["--since", "2026-03-09", "--until", "2026-03-01"], "after"),
    # Regression: far years overflowed the previous-period arithmetic (a traceback), and
    # anything after the first ten characters was silently ignored.
    (["--since", "0001-01-01"], "too far"),
    (["--until", "9999-12-31"], "too far"),
    (["--until", "2026-03-01garbage"], "not a date"),
])
def test_cli_report_bad_input(store, args, needle):
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_cli_report_prints_caller_names_as_written(period_db, db_path):
    """Regression: a caller named "x[/]" crashed the --by caller table (Rich markup)."""
    store, ids, _ = period_db
    q.insert_calls(store, [call(ids["b"], "completed", day(5), "x[/]")])
    result = CliRunner().invoke(app, ["report", "--since", "2026-03-01", "--until",
                                      "2026-03-09", "--by", "caller"])
    assert result.exit_code == 0, result.output
    assert "x[/]" in result.output


def test_percent_text_never_rounds_a_few_to_nothing_or_all():
    from calls.reports import percent_text, tier_coverage

    assert percent_text(None) == "–"
    assert percent_text(0) == "0.0%" and percent_text(1) == "100.0%"
    assert percent_text(3 / 7368) == "<0.1%"            # rounds to 0.0 but is not nothing
    assert percent_text(7367 / 7368) == ">99.9%"        # rounds to 100.0 but one is left
    assert percent_text(0.5) == "50.0%" and percent_text(0.25, 0) == "25%"
    assert percent_text(1 / 200, 0) == "<1%" and percent_text(199 / 200, 0) == ">99%"
    assert tier_coverage("A", 90, 7368, 3).share_text() == "<0.1%"
    assert tier_coverage("A", 90, 0, 0).share_text() == "–"
