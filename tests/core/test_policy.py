"""The care policy: defaults, TOML overrides and errors, windows, retries, tiers (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from calls.errors import UserError
from calls.policy import (
    DEFAULT_POLICY,
    CallingPolicy,
    at_risk_date,
    format_duration,
    load_policy,
    next_occurrence,
    policy_from_dict,
    retry_after,
    window_state,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- defaults -----------------------------------------------------------------------


def test_defaults_follow_the_design():
    p = DEFAULT_POLICY
    assert (p.tiers.a_share, p.tiers.b_share) == (0.80, 0.95)
    assert p.cadence_days == {"A": 90, "B": 180, "C": 365}
    assert p.interval("A") == timedelta(days=90)
    assert p.interval(None) == timedelta(days=365)  # no tier yet: at least once a year
    assert p.cycle.max_attempts == 5
    assert p.retry.delay("no_answer") == timedelta(hours=3)
    assert p.retry.delay("busy") == timedelta(minutes=30)
    assert p.retry.delay("voicemail") == timedelta(days=1)
    assert p.retry.delay("refused") == timedelta(days=7)
    assert p.retry.delay("completed") is None
    assert p.purchases.revenue_window_days == 365
    assert p.purchases.at_risk_factor == 2.0
    assert p.claims.lease_minutes > 0 and p.callbacks.personal_grace_minutes > 0
    assert p.occasions.days_ahead > 0 and p.followups.gift_tiers == ("A",)


def test_no_file_and_no_env_gives_defaults(monkeypatch):
    monkeypatch.delenv("CARECALL_POLICY", raising=False)
    assert load_policy(None) is DEFAULT_POLICY


# -- loading ------------------------------------------------------------------------


def test_toml_overrides_only_what_it_sets(tmp_path):
    f = tmp_path / "policy.toml"
    f.write_text(
        """
[cadence_days]
A = 60

[calling.hours]
sat = "closed"
weekdays = "08:30-12:00, 13:00-19:00"

[calling.countries.US]
latest = "20:30"

[retry]
no_answer = 60

[cycle]
max_attempts = 3

[purchases]
thank_you_days = 5

[queue]
reason_order = ["never_called", "callback", "recovery", "thank_you", "occasion", "at_risk",
                "overdue"]
""",
        encoding="utf-8",
    )
    p = load_policy(f)
    assert p.cadence_days == {"A": 60, "B": 180, "C": 365}
    assert p.calling.hours[5] == ()
    assert p.calling.hours[0] == ((510, 720), (780, 1140))
    assert p.calling.hours[6] == ()  # Sunday untouched: still closed
    assert p.calling.countries["US"].latest == 1230
    # The federal 08:00 limit is not a policy default any more: the US rule pack holds it.
    assert p.calling.countries["US"].earliest is None
    assert "CA" not in p.calling.countries
    assert p.retry.delay("no_answer") == timedelta(hours=1)
    assert p.retry.delay("busy") == timedelta(minutes=30)
    assert p.cycle.max_attempts == 3
    assert p.purchases.thank_you_days == 5
    assert p.queue.reason_order[0] == "never_called"
    assert p.source == str(f)


def test_env_variable_names_the_file(tmp_path, monkeypatch):
    f = tmp_path / "p.toml"
    f.write_text("[claims]\nlease_minutes = 5\n", encoding="utf-8")
    monkeypatch.setenv("CARECALL_POLICY", str(f))
    assert load_policy().claims.lease_minutes == 5


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[cadence_days]\nA = 400\n", "cadence_days.A"),
        ("[cadence_days]\nD = 30\n", "cadence_days.D"),
        ("[cadence_days]\nA = \"often\"\n", "cadence_days.A"),
        ("[calling.hours]\nmon = \"20:00-09:00\"\n", "calling.hours.mon"),
        ("[calling.hours]\nfunday = \"09:00-10:00\"\n", "calling.hours.funday"),
        ("[calling.hours]\ntue = \"9-5\"\n", "calling.hours.tue"),
        ("[calling.countries.usa]\nlatest = \"20:00\"\n", "calling.countries.usa"),
        # Regression: a code no number has (UK for GB) was accepted and never applied.
        ("[calling.countries.UK]\nlatest = \"20:00\"\n", "calling.countries.UK"),
        ("[calling.countries.XX.hours]\nsun = \"10:00-12:00\"\n", "calling.countries.XX"),
        ("[calling]\nfallback_time_zone = \"Mars/Olympus\"\n", "calling.fallback_time_zone"),
        ("[retry]\nnot_an_outcome = 5\n", "retry.not_an_outcome"),
        ("[retry]\nbusy = -1\n", "retry.busy"),
        ("[tiers]\na_share = 0.9\nb_share = 0.5\n", "tiers.b_share"),
        ("[cycle]\nmax_attempts = 0\n", "cycle.max_attempts"),
        ("[queue]\nreason_order = [\"callback\"]\n", "queue.reason_order"),
        ("[purchases]\nat_risk_factor = \"x\"\n", "purchases.at_risk_factor"),
        ("[followups]\ngift_tiers = [\"Z\"]\n", "followups.gift_tiers"),
        ("colour = \"blue\"\n", "colour"),
    ],
)
def test_bad_policy_names_the_key(tmp_path, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_policy(f)
    message = str(err.value)
    assert key in message and "bad.toml" in message
    assert "\n" not in message


def test_unreadable_policy_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[cadence_days\nA = 1", encoding="utf-8")
    with pytest.raises(UserError, match="not valid TOML"):
        load_policy(broken)


def test_shipped_example_policy_loads():
    from pathlib import Path

    import calls

    example = Path(calls.__file__).parent / "data" / "policy.example.toml"
    p = load_policy(example)
    assert p.cadence_days == DEFAULT_POLICY.cadence_days
    assert p.calling.hours == DEFAULT_POLICY.calling.hours
    assert p.calling.countries == DEFAULT_POLICY.calling.countries
    assert p.retry == DEFAULT_POLICY.retry


# -- calling windows ------------------------------------------------------------------

NO_HOLIDAYS = replace(DEFAULT_POLICY, calling=replace(CallingPolicy(), skip_holidays=False))


def test_weekday_window_in_local_time():
    # Tuesday 2026-03-10, New York is on EDT (UTC-4): 09:00-20:00 local = 13:00-24:00 UTC.
    ny = ("America/New_York",)
    assert not window_state("US-NY", ny, utc("2026-03-10T12:59"), NO_HOLIDAYS).open
    w = window_state("US-NY", ny, utc("2026-03-10T13:00"), NO_HOLIDAYS)
    assert w.open and w.closes_at == utc("2026-03-11T00:00")
    closed = window_state("US-NY", ny, utc("2026-03-11T00:00"), NO_HOLIDAYS)
    assert not closed.open and closed.opens_at == utc("2026-03-11T13:00")


def test_window_across_the_spring_dst_change():
    ny = ("America/New_York",)
    # Friday 2026-03-06 (EST, UTC-5): opens 14:00 UTC. Monday 2026-03-09 (EDT): 13:00 UTC.
    assert window_state("US-NY", ny, utc("2026-03-06T14:00"), NO_HOLIDAYS).open
    assert not window_state("US-NY", ny, utc("2026-03-06T13:30"), NO_HOLIDAYS).open
    assert window_state("US-NY", ny, utc("2026-03-09T13:00"), NO_HOLIDAYS).open
    # Saturday 10:00-17:00 EST; Sunday (the change day) closed; opens Monday 09:00 EDT.
    sat = window_state("US-NY", ny, utc("2026-03-07T22:30"), NO_HOLIDAYS)
    assert not sat.open and sat.opens_at == utc("2026-03-09T13:00")


def test_window_across_the_autumn_dst_change_in_europe():
    london = ("Europe/London",)
    # Friday 2026-10-23 BST (UTC+1): 09:00 local = 08:00 UTC; Monday 2026-10-26 GMT: 09:00 UTC.
    assert window_state("GB", london, utc("2026-10-23T08:00"), NO_HOLIDAYS).open
    monday = window_state("GB", london, utc("2026-10-26T08:30"), NO_HOLIDAYS)
    assert not monday.open and monday.opens_at == utc("2026-10-26T09:00")


def test_weekday_boundaries():
    ny = ("America/New_York",)
    # Saturday 2026-03-14 10:00-17:00 EDT = 14:00-21:00 UTC; Sunday closed all day.
    assert window_state("US-NY", ny, utc("2026-03-14T14:00"), NO_HOLIDAYS).open
    assert not window_state("US-NY", ny, utc("2026-03-14T21:00"), NO_HOLIDAYS).open
    sunday = window_state("US-NY", ny, utc("2026-03-15T16:00"), NO_HOLIDAYS)
    assert not sunday.open and sunday.opens_at == utc("2026-03-16T13:00")
    # Friday 19:59 local is open; Friday 20:00 is not, and the next opening is Saturday 10:00.
    assert window_state("US-NY", ny, utc("2026-03-13T23:59"), NO_HOLIDAYS).open
    fri = window_state("US-NY", ny, utc("2026-03-14T00:00"), NO_HOLIDAYS)
    assert not fri.open and fri.opens_at == utc("2026-03-14T14:00")


def test_number_with_several_zones_needs_all_open():
    both = ("America/Chicago", "America/New_York")
    # 13:30 UTC: 09:30 in New York but 08:30 in Chicago -> closed until Chicago opens.
    w = window_state("US-NY", both, utc("2026-03-10T13:30"), NO_HOLIDAYS)
    assert not w.open and w.opens_at == utc("2026-03-10T14:00")
    # 00:30 UTC: 19:30 in Chicago but 20:30 in New York -> closed.
    assert not window_state("US-NY", both, utc("2026-03-11T00:30"), NO_HOLIDAYS).open
    w = window_state("US-NY", both, utc("2026-03-10T20:00"), NO_HOLIDAYS)
    assert w.open and w.closes_at == utc("2026-03-11T00:00")  # New York closes first


def test_rule_packs_bound_canada_and_the_us_federal_limit(tmp_path):
    toronto = ("America/Toronto",)
    every_hour = policy_from_dict({"calling": {"skip_holidays": False, "hours": {
        "weekdays": "00:00-24:00", "weekend": "00:00-24:00"}}})
    # Canada (CRTC): weekdays until 21:30, weekends (both days) 10:00-18:00.
    assert window_state("CA", toronto, utc("2026-03-11T01:15"), every_hour).open  # 21:15
    assert not window_state("CA", toronto, utc("2026-03-11T01:30"), every_hour).open
    assert window_state("CA", toronto, utc("2026-03-15T21:00"), every_hour).open  # Sun 17:00
    # The default policy's own hours are narrower: Sunday closed.
    assert not window_state("CA", toronto, utc("2026-03-15T21:00"), NO_HOLIDAYS).open
    assert not window_state("US-NY", ("America/New_York",), utc("2026-03-15T21:00"),
                            NO_HOLIDAYS).open
    # Widening the US hours cannot cross 08:00-21:00 local.
    f = tmp_path / "wide.toml"
    f.write_text('[calling.hours]\nweekdays = "06:00-23:00"\n[calling]\nskip_holidays = false\n',
                 encoding="utf-8")
    wide = load_policy(f)
    ny = ("America/New_York",)
    assert not window_state("US-NY", ny, utc("2026-03-10T11:30"), wide).open    # 07:30
    assert window_state("US-NY", ny, utc("2026-03-10T12:00"), wide).open        # 08:00
    assert not window_state("US-NY", ny, utc("2026-03-11T01:00"), wide).open    # 21:00
    # ... while a country without a limit gets the wide hours.
    assert window_state("GB", ("Europe/London",), utc("2026-03-10T06:30"), wide).open


def test_public_holidays_are_closed_when_the_package_is_installed():
    pytest.importorskip("holidays")
    ny = ("America/New_York",)
    # Thanksgiving 2026 is Thursday 26 November.
    assert not window_state("US-NY", ny, utc("2026-11-26T16:00"), DEFAULT_POLICY).open
    assert window_state("US-NY", ny, utc("2026-11-26T16:00"), NO_HOLIDAYS).open
    w = window_state("US-NY", ny, utc("2026-11-26T16:00"), DEFAULT_POLICY)
    assert w.opens_at == utc("2026-11-27T14:00")


def test_unknown_zone_uses_the_fallback():
    w = window_state("US", ("Etc/Unknown",), utc("2026-03-10T10:00"), NO_HOLIDAYS)
    assert w.zones == ("UTC",) and w.open


# -- retries, dates, tiers ----------------------------------------------------------------


def test_retry_after_per_outcome():
    now = utc("2026-03-10T15:00")
    assert retry_after("no_answer", now) == utc("2026-03-10T18:00")
    assert retry_after("busy", now) == utc("2026-03-10T15:30")
    assert retry_after("voicemail", now) == utc("2026-03-11T15:00")
    assert retry_after("refused", now) == utc("2026-03-17T15:00")
    assert retry_after("completed", now) is None


def test_next_occurrence_and_29_february():
    assert next_occurrence(date(1980, 3, 12), date(2026, 3, 10)) == date(2026, 3, 12)
    assert next_occurrence(date(1980, 3, 9), date(2026, 3, 10)) == date(2027, 3, 9)
    assert next_occurrence(date(1984, 2, 29), date(2026, 2, 20)) == date(2026, 2, 28)
    assert next_occurrence(date(1984, 2, 29), date(2028, 2, 20)) == date(2028, 2, 29)
    assert next_occurrence(date(1990, 1, 2), date(2026, 12, 30)) == date(2027, 1, 2)


def test_at_risk_date():
    # Usually every 10 days, factor 2: at risk once more than 20 days have passed.
    assert at_risk_date(date(2026, 1, 1), 10.0, DEFAULT_POLICY) == date(2026, 1, 22)
    assert at_risk_date(date(2026, 1, 1), 10.4, DEFAULT_POLICY) == date(2026, 1, 21 + 1)


def test_format_duration():
    assert format_duration(timedelta(minutes=40)) == "40 min"
    assert format_duration(timedelta(hours=1, minutes=48)) == "1 h 48 min"
    assert format_duration(timedelta(days=3)) == "3 days"
