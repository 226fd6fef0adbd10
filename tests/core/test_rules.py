"""Rule packs: each jurisdiction's edges, in the queue, with the law as the floor.

A policy open every hour of every day (``EVERY_HOUR``) shows where the law itself closes
the window; the default policy's own hours are narrower and apply on top.
"""

from __future__ import annotations

from datetime import date

import pytest

from calls import rules
from calls.errors import UserError
from calls.policy import DEFAULT_POLICY, load_policy, policy_from_dict, window_state
from calls.queue import build_queue, explain
from tests.support.queue import (
    BIRMINGHAM_AL,
    HOUSTON,
    LONDON,
    LOUISVILLE,
    MIAMI,
    MUNICH,
    NY,
    PARIS,
    SYDNEY,
    TORONTO,
    add_customer,
    every_hour_policy,
    utc,
)

EVERY_HOUR = every_hour_policy()


def offered(store, now, policy=EVERY_HOUR) -> list[str]:
    return [e.customer.ref for e in build_queue(store, "ann", now, policy)]


# -- jurisdiction of a number -------------------------------------------------------------


def test_area_code_gives_the_state_and_shared_codes_give_every_candidate():
    assert rules.jurisdiction("US", "305") == "US-FL"
    assert rules.jurisdiction("US", "502") == "US-KY"
    assert rules.jurisdiction("CA", "902") == "CA-NS+CA-PE"
    assert rules.jurisdiction("FR") == "FR"
    # The list's region adds its own rules and holidays (the stricter wins).
    assert rules.jurisdiction("US", "305", "NY") == "US-FL+US-NY"
    assert rules.jurisdiction("DE", "", "BY") == "DE-BY"
    assert rules.jurisdiction("DE", "", "Bavaria") == "DE"  # not a code: national rules only
    # A toll-free number gives no state: every state's pack applies.
    codes = {p.code for p in rules.packs_for(rules.jurisdiction("US", "800"))}
    assert {"US", "US-FL", "US-KY", "US-TX", "US-AL"} <= codes


# Every zone phonenumbers gives a North American toll-free number (Guam to Bermuda): how
# such numbers were stored before they got the US states' zones.
NANP_WIDE = ["America/Adak", "America/Anchorage", "America/Barbados", "America/Chicago",
             "America/Denver", "America/Halifax", "America/Los_Angeles", "America/New_York",
             "America/Phoenix", "America/St_Johns", "Pacific/Guam", "Pacific/Honolulu",
             "Pacific/Pago_Pago"]
US_STATES_ZONES = ["America/New_York", "America/Chicago", "America/North_Dakota/Center",
                   "America/Boise", "America/Denver", "America/Phoenix",
                   "America/Los_Angeles", "America/Anchorage", "America/Adak",
                   "Pacific/Honolulu"]


def test_toll_free_numbers_ring_in_the_us_states_zones():
    assert rules.is_toll_free("800") and rules.is_toll_free("833")
    assert not rules.is_toll_free("305")
    assert list(rules.region_zones("US")) == US_STATES_ZONES
    assert rules.region_zones("US", ("FL",)) == ("America/New_York", "America/Chicago")
    from calls.ingest.phones import normalise_phone

    assert list(normalise_phone("1-888-555-0100").time_zones) == US_STATES_ZONES


@pytest.mark.parametrize("zones", [NANP_WIDE, US_STATES_ZONES])
def test_a_toll_free_number_is_called_in_every_states_hours(store, zones):
    """No state known: the federal hours and the strictest state's (Kentucky from 10:00,
    Rhode Island until 18:00, no Sunday) in every US state's zone, east to Hawaii."""
    add_customer(store, "acme", where=("+18005550100", "US", zones), phone="+18005550100",
                 customer_type="business", company="Acme Inc")
    # Tuesday 10 March 2026 (EDT; Hawaii UTC-10): open from 10:00 in Honolulu (20:00
    # UTC) until 18:00 in New York (22:00 UTC).
    assert offered(store, utc("2026-03-10T19:59")) == []
    assert offered(store, utc("2026-03-10T20:00")) == ["acme"]
    assert offered(store, utc("2026-03-10T21:59")) == ["acme"]
    assert offered(store, utc("2026-03-10T22:00")) == []
    assert offered(store, utc("2026-03-15T21:00")) == []            # Sunday
    # The default policy's own hours on top: still open in that span.
    assert [e.customer.ref for e in build_queue(store, "ann", utc("2026-03-10T21:00"),
                                                DEFAULT_POLICY)] == ["acme"]
    why = explain(store, "acme", "ann", utc("2026-03-10T15:00"), EVERY_HOUR)
    assert why.next_callable_at == utc("2026-03-10T20:00")
    assert any("toll-free number: no state known" in line for line in why.lines)
    # Where no state is known, the states whose law closes their holidays may be it:
    # Mardi Gras (Louisiana) is closed, a plain Tuesday a week later is not.
    assert offered(store, utc("2026-02-17T21:00")) == []
    assert offered(store, utc("2026-02-24T21:00")) == ["acme"]


def test_a_toll_free_number_with_the_lists_state_is_called_in_that_states_hours(store):
    add_customer(store, "acme", where=("+18885550100", "US", NANP_WIDE),
                 phone="+18885550100", region="FL")
    # Florida: 08:00-20:00 in New York's and Chicago's zones (the Panhandle).
    assert offered(store, utc("2026-03-10T12:59")) == []     # 07:59 Chicago... 08:59 NY
    assert offered(store, utc("2026-03-10T13:00")) == ["acme"]
    assert offered(store, utc("2026-03-10T23:59")) == ["acme"]     # 19:59 New York
    assert offered(store, utc("2026-03-11T00:00")) == []
    assert explain(store, "acme", "ann", utc("2026-03-10T15:00"), EVERY_HOUR).callable
    why = explain(store, "acme", "ann", utc("2026-03-10T12:00"), EVERY_HOUR)
    assert why.time_zone == "America/New_York"
    assert why.next_callable_at == utc("2026-03-10T13:00")
    assert "rules: US-FL (United States (federal), Florida); consumer" in why.lines


def test_stored_toll_free_zones_are_rewritten_to_the_us_states(store):
    import json

    from calls.store.schema import _rules_toll_free_zones

    tf = add_customer(store, "tf", where=("+18005550100", "US", NANP_WIDE), phone="+18005550100")
    ny = add_customer(store, "ny", where=NY)
    with store.write():
        _rules_toll_free_zones(store.db)
    zones = {r["id"]: json.loads(r["time_zones"]) for r in store.all(
        "SELECT id, time_zones FROM customers")}
    assert zones == {tf: US_STATES_ZONES, ny: ["America/New_York"]}
    assert zones[tf] == list(rules.region_zones("US"))


def test_every_rule_cites_its_source():
    for pack in rules.packs().values():
        assert pack.rules, pack.code
        for rule in pack.rules:
            assert rule.source and rule.url, rule.id


# -- hours and days --------------------------------------------------------------------------


def test_france_lunch_break_and_weekend(store):
    add_customer(store, "fr", where=PARIS)
    # Tuesday 10 March 2026, Paris is UTC+1.
    assert offered(store, utc("2026-03-10T11:59")) == ["fr"]       # 12:59
    assert offered(store, utc("2026-03-10T12:00")) == []           # 13:00
    assert offered(store, utc("2026-03-10T12:59")) == []           # 13:59
    assert offered(store, utc("2026-03-10T13:00")) == ["fr"]       # 14:00
    assert offered(store, utc("2026-03-10T08:59")) == []           # 09:59
    assert offered(store, utc("2026-03-10T18:59")) == ["fr"]       # 19:59
    assert offered(store, utc("2026-03-10T19:00")) == []           # 20:00
    assert offered(store, utc("2026-03-14T10:00")) == []           # Saturday 11:00
    text = " ".join(explain(store, "fr", "ann", utc("2026-03-10T12:30"), EVERY_HOUR).lines)
    assert "FR.hours" in text and "2022-1313" in text and "14:00" in text


def test_france_public_holiday_is_closed_by_law_even_if_the_policy_ignores_holidays(store):
    add_customer(store, "fr", where=PARIS)
    # Tuesday 14 July 2026, 11:00 in Paris.
    assert offered(store, utc("2026-07-14T09:00")) == []
    text = " ".join(explain(store, "fr", "ann", utc("2026-07-14T09:00"), EVERY_HOUR).lines)
    assert "National Day" in text and "FR.holidays" in text


def test_canada_saturday_until_18(store):
    add_customer(store, "ca", where=TORONTO)
    # Saturday 14 March 2026, Toronto on EDT (UTC-4).
    assert offered(store, utc("2026-03-14T21:59")) == ["ca"]       # 17:59
    assert offered(store, utc("2026-03-14T22:00")) == []           # 18:00
    assert offered(store, utc("2026-03-14T13:59")) == []           # 09:59
    assert offered(store, utc("2026-03-14T14:00")) == ["ca"]       # 10:00


def test_kentucky_from_ten(store):
    add_customer(store, "ky", where=LOUISVILLE)
    # Tuesday 10 March 2026, Louisville on EDT (UTC-4).
    assert offered(store, utc("2026-03-10T13:59")) == []           # 09:59
    assert offered(store, utc("2026-03-10T14:00")) == ["ky"]       # 10:00
    text = " ".join(explain(store, "ky", "ann", utc("2026-03-10T13:59"), EVERY_HOUR).lines)
    assert "US-KY.hours" in text and "KRS 367.46955" in text


def test_florida_until_eight_texas_sunday_noon_alabama_no_sunday(store):
    add_customer(store, "fl", where=MIAMI)
    add_customer(store, "tx", where=HOUSTON)
    add_customer(store, "al", where=BIRMINGHAM_AL)
    add_customer(store, "ny", where=NY)
    # Tuesday 10 March 2026 20:30 in Miami/New York (EDT): New York (federal 21:00), not
    # Florida; Houston and Birmingham are at 19:30.
    assert offered(store, utc("2026-03-11T00:30")) == ["tx", "al", "ny"]
    assert offered(store, utc("2026-03-10T23:59")) == ["fl", "tx", "al", "ny"]
    # Sunday 15 March 2026: 11:59 in Houston (CDT, UTC-5) -> Texas still closed.
    assert "tx" not in offered(store, utc("2026-03-15T16:59"))
    sunday_noon = offered(store, utc("2026-03-15T17:00"))
    assert "tx" in sunday_noon and "al" not in sunday_noon


def test_australia_no_sunday(store):
    add_customer(store, "au", where=SYDNEY)
    # Sunday 15 March 2026 11:00 in Sydney (UTC+11) closed; Monday 11:00 open.
    assert offered(store, utc("2026-03-15T00:00")) == []
    assert offered(store, utc("2026-03-16T00:00")) == ["au"]


def test_the_default_install_honours_christmas_day(store):
    add_customer(store, "ny", where=NY)
    add_customer(store, "uk", where=LONDON)
    # Friday 25 December 2026, 11:00 in New York (16:00 in London).
    assert build_queue(store, "ann", utc("2026-12-25T16:00"), DEFAULT_POLICY) == []
    text = " ".join(explain(store, "ny", "ann", utc("2026-12-25T16:00")).lines)
    assert "Christmas Day" in text
    assert [e.customer.ref for e in
            build_queue(store, "ann", utc("2026-12-29T16:00"), DEFAULT_POLICY)] == ["ny", "uk"]


def test_regional_holidays_from_the_list_region(store):
    # Businesses: German law presumes their consent (consumers need it recorded).
    add_customer(store, "by", where=MUNICH, region="BY", customer_type="business")
    add_customer(store, "be", where=MUNICH, region="BE", customer_type="business")
    # Tuesday 6 January 2026 (Epiphany: a holiday in Bavaria, not in Berlin), 11:00.
    got = [e.customer.ref for e in build_queue(store, "ann", utc("2026-01-06T10:00"))]
    assert got == ["be"]
    assert "Epiphany" in " ".join(explain(store, "by", "ann", utc("2026-01-06T10:00")).lines)


# -- a policy may narrow, never widen --------------------------------------------------------


@pytest.mark.parametrize(("text", "key", "cites"), [
    ('[calling.countries.US]\nearliest = "05:00"\n', "calling.countries.US.earliest",
     "47 CFR"),
    ('[calling.countries.US.hours]\nweekdays = "05:00-20:00"\n',
     "calling.countries.US.hours", "47 CFR"),
    ('[calling.countries.FR.hours]\nsat = "10:00-12:00"\n', "calling.countries.FR.hours",
     "2022-1313"),
    ('[calling.countries.FR]\nskip_holidays = false\n', "calling.countries.FR.skip_holidays",
     "D. 223-8"),
    ('[calling.countries.CA.hours]\nweekend = "09:00-18:00"\n', "calling.countries.CA.hours",
     "CRTC"),
])
def test_a_policy_that_widens_the_law_is_refused(tmp_path, text, key, cites):
    f = tmp_path / "wide.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_policy(f)
    message = str(err.value)
    assert key in message and cites in message and "widens" in message or "law" in message
    assert "\n" not in message


def test_a_policy_that_narrows_the_law_is_kept():
    p = policy_from_dict({"calling": {"countries": {"US": {"latest": "20:30"},
                                                    "FR": {"hours": {"mon": "10:00-12:00"}}}}})
    assert not window_state("FR", ("Europe/Paris",), utc("2026-03-09T11:30"), p).open  # 12:30
    assert window_state("FR", ("Europe/Paris",), utc("2026-03-10T11:30"), p).open      # Tue


def test_holiday_calendars_are_built_only_for_the_countries_in_view():
    rules._calendar.cache_clear()
    rules.public_holiday("FR", date(2026, 5, 1))
    rules.public_holiday("FR", date(2026, 5, 8))
    assert rules._calendar.cache_info().currsize == 1


@pytest.mark.parametrize(("npa", "state"), [
    ("203", "CT"), ("302", "DE"), ("617", "MA"), ("313", "MI"), ("406", "MT"), ("702", "NV"),
    ("603", "NH"), ("215", "PA"), ("415", "CA"), ("312", "IL"), ("305", "FL"), ("410", "MD"),
    ("206", "WA"),
])
def test_all_party_recording_states_need_the_answer(npa, state):
    from calls.lawful import recording_rule

    rule = recording_rule(rules.jurisdiction("US", npa))
    assert rule is not None and rule.id == f"US-{state}.recording"
    assert rule.source and rule.url.startswith(("https://", "http://"))


@pytest.mark.parametrize("npa", ["503", "212", "512"])
def test_one_party_states_need_no_answer(npa):
    """Oregon's all-party rule is for conversations in person (ORS 165.540(1)(c)); a
    participant may record a telephone call there (165.540(1)(a)), as in New York or Texas."""
    from calls.lawful import recording_rule

    assert recording_rule(rules.jurisdiction("US", npa)) is None
    # A toll-free number may ring in any state: the answer is needed.
    assert recording_rule(rules.jurisdiction("US", "800")) is not None
