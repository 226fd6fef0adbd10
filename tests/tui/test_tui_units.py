"""The shift app's small parts without a terminal: digit entry, answer pads, typed times,
callback quick choices, the clocks and the shift figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.outcomes import Outcome
from tui.app import ShiftStats
from tui.clock import FixedClock, OffsetClock, resolve_clock
from tui.screens.modals import quick_callback_times
from tui.timeparse import format_local, parse_local_time
from tui.widgets.answers import _NOTHING, ChoiceModel, DigitEntry, ScaleModel

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)   # 10:00 in Chicago (CDT)
CHICAGO = ZoneInfo("America/Chicago")


# -- digits -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", range(11))
def test_every_nps_value_takes_at_most_two_keystrokes(value):
    entry = DigitEntry(range(11))
    if value == 1:
        assert entry.digit(1) is None          # could be the start of 10
        assert entry.enter() == 1
    elif value == 10:
        assert entry.digit(1) is None
        assert entry.digit(0) == 10
    else:
        assert entry.digit(value) == value     # one key, no waiting


def test_a_new_digit_after_a_waiting_one_starts_again():
    entry = DigitEntry(range(11))
    assert entry.digit(1) is None
    assert entry.digit(5) == 5                 # "15" is not on the scale: 5 was meant
    assert entry.pending is None


def test_rating_digits_never_wait_and_refuse_out_of_range():
    entry = DigitEntry(range(1, 6))
    assert entry.digit(1) == 1
    assert entry.digit(0) is None and entry.pending is None
    assert entry.digit(9) is None


def test_twelve_options_use_the_same_two_key_rule():
    entry = DigitEntry(range(1, 13))
    assert entry.digit(1) is None
    assert entry.digit(2) == 12
    assert entry.digit(3) == 3


def test_scale_model_keys():
    model = ScaleModel(0, 10)
    assert model.key("1") == (True, _NOTHING)
    assert model.key("enter") == (True, 1)
    assert model.key("1") == (True, _NOTHING)
    assert model.key("0") == (True, 10)
    assert model.key("x") == (False, _NOTHING)  # left for the screen (outcome keys)
    assert model.key("left") == (True, _NOTHING) and model.cursor == 9
    assert model.key("enter") == (True, 9)


def test_empty_scale_enter_is_a_skip():
    assert ScaleModel(1, 5).key("enter") == (True, None)


def test_choice_model_yes_no_and_multi():
    yes_no = ChoiceModel([(True, "yes"), (False, "no")], yes_no=True)
    assert yes_no.key("n") == (True, False)
    assert yes_no.key("y") == (True, True)
    multi = ChoiceModel([("a", "A"), ("b", "B"), ("c", "C")], multi=True)
    assert multi.key("1") == (True, _NOTHING)
    assert multi.key("3") == (True, _NOTHING)
    assert multi.key("enter") == (True, ["a", "c"])
    single = ChoiceModel([("a", "A"), ("b", "B")])
    assert single.key("2") == (True, "b")
    assert single.key("k") == (False, _NOTHING)   # left for the screen: callback
    assert single.key("enter") == (True, "b")


# -- times a caller types ---------------------------------------------------------------


def test_clock_times_are_read_in_the_customers_zone():
    assert parse_local_time("16:30", NOW, CHICAGO) == NOW.replace(hour=21, minute=30)
    assert parse_local_time("4:30 pm", NOW, CHICAGO) == NOW.replace(hour=21, minute=30)
    # 09:00 has passed in Chicago: the next 09:00 is tomorrow.
    assert parse_local_time("9:00", NOW, CHICAGO) == datetime(2026, 3, 11, 14, 0, tzinfo=UTC)
    assert parse_local_time("tomorrow 10:00", NOW, CHICAGO) == datetime(
        2026, 3, 11, 15, 0, tzinfo=UTC)
    assert parse_local_time("fri 9:30", NOW, CHICAGO) == datetime(
        2026, 3, 13, 14, 30, tzinfo=UTC)
    assert parse_local_time("2026-03-12 14:30", NOW, CHICAGO) == datetime(
        2026, 3, 12, 19, 30, tzinfo=UTC)
    assert parse_local_time("+2h", NOW, CHICAGO) == NOW + timedelta(hours=2)


def test_same_wall_clock_time_across_a_dst_change():
    before = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)   # Sat 10:00 CST
    after = parse_local_time("+1d", before, CHICAGO)              # Sun 10:00 CDT
    assert after.astimezone(CHICAGO).hour == 10
    assert after - before == timedelta(hours=23)


@pytest.mark.parametrize("text", ["", "25:00", "soon", "2026-02-30 10:00", "2026-03-01 10:00"])
def test_bad_or_past_times_are_refused_with_a_reason(text):
    with pytest.raises(ValueError) as err:
        parse_local_time(text, NOW, CHICAGO)
    assert str(err.value)


def test_format_local_says_today_and_tomorrow():
    assert format_local(NOW, CHICAGO, NOW) == "today 10:00"
    assert format_local(NOW + timedelta(days=1), CHICAGO, NOW) == "tomorrow 10:00"
    assert format_local(NOW + timedelta(days=3), CHICAGO, NOW) == "Fri 13 Mar 10:00"


def test_quick_callback_choices():
    choices = dict(quick_callback_times(NOW, CHICAGO))
    assert choices["in 1 hour"] == NOW + timedelta(hours=1)
    assert choices["tomorrow, same time"] == NOW + timedelta(days=1)
    # At 10:00 "tomorrow morning, 10:00" is the same moment: listed once.
    assert "tomorrow morning, 10:00" not in choices
    assert len(set(choices.values())) == len(choices)
    assert choices["later today, 17:00"] == NOW.replace(hour=22)
    afternoon = dict(quick_callback_times(NOW.replace(hour=19), CHICAGO))   # 14:00 there
    assert afternoon["tomorrow morning, 10:00"] == datetime(2026, 3, 11, 15, 0, tzinfo=UTC)
    late = NOW.replace(hour=22)                                # 17:00 in Chicago
    assert "later today, 17:00" not in dict(quick_callback_times(late, CHICAGO))
    assert all(at > NOW for at in choices.values())


# -- clocks and figures -----------------------------------------------------------------


def test_clocks():
    fixed = FixedClock(NOW)
    assert fixed() == NOW
    fixed.advance(hours=3)
    assert fixed() == NOW + timedelta(hours=3)
    offset = OffsetClock(NOW)
    assert timedelta(0) <= offset() - NOW < timedelta(seconds=5)
    assert isinstance(resolve_clock(NOW), OffsetClock)
    assert resolve_clock(fixed) is fixed
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 3, 10, 15, 0))


def test_shift_stats():
    stats = ShiftStats(started=NOW)
    assert stats.nps_score is None
    stats.add(Outcome.NO_ANSWER)
    stats.add(Outcome.COMPLETED, nps=10)
    stats.add(Outcome.COMPLETED, nps=3)
    stats.add(Outcome.PARTIAL, nps=8)
    stats.add(Outcome.REFUSED)
    assert (stats.calls, stats.contacts, stats.completes) == (5, 4, 2)
    assert stats.nps_score == pytest.approx(0.0)   # 1 promoter, 1 detractor of 3


def test_digit_entry_never_yields_a_value_off_the_scale():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    # No timing in a functional test: on a loaded machine generating the inputs is slow.
    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(1, 30), st.lists(st.sampled_from([*"0123456789", "enter"]), max_size=30))
    def check(size, keys):
        valid = range(1, size + 1)
        entry = DigitEntry(valid)
        for key in keys:
            value = entry.enter() if key == "enter" else entry.digit(int(key))
            assert value is None or value in valid
            # A number is only left waiting while a longer valid number could follow.
            if entry.pending is not None:
                assert any(str(v).startswith(str(entry.pending)) and v != entry.pending
                           for v in valid)

    check()


@pytest.mark.parametrize("size", [5, 9, 11, 12, 30, 99])
def test_every_value_of_any_scale_is_reachable_in_two_keys(size):
    for value in range(1, size + 1):
        entry = DigitEntry(range(1, size + 1))
        got = None
        for ch in str(value):
            got = entry.digit(int(ch))
        if got is None:
            got = entry.enter()
        assert got == value


def test_type_ahead_rules_with_a_fixed_clock():
    from tui.typeahead import DIGIT, FIELD, LETTER, OTHER, SUBMIT, TYPED, TypeAhead, key_kind

    clock = [100.0]
    guard = TypeAhead(clock=lambda: clock[0])
    guard.restart()                                   # the call screen is up at 100.0
    assert guard.check(99.0, LETTER) is not None      # read before: not used
    assert guard.check(100.5, LETTER) is None         # read after: used
    clock[0] = 101.0
    guard.show("q1")                                  # that key led to q1 (burst of 100.5)
    guard.done()
    assert guard.check(100.505, DIGIT) is None        # same burst: lands in order
    clock[0] = 101.2
    guard.show("q2")
    guard.done()
    assert guard.check(100.9, DIGIT) == "typed before this was on screen"
    # Typing in a field, Enter, then letters straight on: never an answer.
    assert guard.check(102.0, TYPED) is None
    assert guard.check(102.1, SUBMIT) is None
    clock[0] = 102.15
    guard.show("q3")
    guard.done()
    assert guard.check(102.2, LETTER) == "typed straight on from your typed answer"
    assert guard.check(102.6, LETTER) is not None     # still the same run (no pause)
    assert guard.check(103.3, LETTER) is None         # after a pause: read, then typed
    # An Enter on an empty field (a skip) is no typing, nor Esc out of it: the next key
    # is free.
    assert guard.check(110.0, SUBMIT) is None
    assert guard.check(110.1, OTHER) is None
    assert guard.check(111.0, FIELD) is None
    assert guard.check(111.1, LETTER) is None
    assert key_kind("escape", None, in_field=True) == "leave"
    assert key_kind("backspace", None, in_field=True) == FIELD
    assert key_kind("n", "n", in_field=True) == TYPED
    assert key_kind("enter", "\r", in_field=True, submits=True) == SUBMIT
    assert key_kind("n", "n", in_field=False) == LETTER


def test_the_cards_window_is_the_queues_with_state_hours():
    """Florida closes at 20:00 (Fla. Stat. § 501.616), New York at the federal 21:00: the
    card says what the queue says, not the country's window."""
    from datetime import UTC, datetime

    from calls.models import Customer
    from tests.support.queue import every_hour_policy
    from tui.core import window_status

    policy = every_hour_policy()
    at = datetime(2026, 3, 11, 0, 30, tzinfo=UTC)            # Tue 20:30 in New York (EDT)
    miami = Customer(id=1, ref="FL", name="Flo", phone="+13055550100", phone_region="US",
                     country="US", time_zones=("America/New_York",))
    ny = Customer(id=2, ref="NY", name="Ned", phone="+12125550100", phone_region="US",
                  country="US", time_zones=("America/New_York",))
    assert window_status(policy, miami, at)[0] is False
    assert window_status(policy, ny, at) == (True, "until today 21:00")
    # A toll-free number with the list's state: that state's window.
    toll_free = Customer(id=3, ref="TF", name="Acme", phone="+18005550100", phone_region="US",
                         time_zones=("America/New_York", "Pacific/Honolulu"), region="FL")
    assert window_status(policy, toll_free, at)[0] is False


def test_the_saved_line_names_the_date_of_a_far_next_call():
    """After a partial call the next care call is months away: "again from Mon 12:00" would
    read as next Monday."""
    from dataclasses import dataclass
    from datetime import UTC, datetime

    from calls.models import Customer
    from tui.core import wrap_up_message

    @dataclass
    class _Call:
        outcome: Outcome
        ended_at: datetime

    @dataclass
    class _Result:
        call: _Call
        customer: Customer
        followups: tuple
        next_callable_at: datetime | None

    ended = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    who = Customer(id=1, ref="DE-1", name="Klaus Becker", time_zones=("Europe/Berlin",))
    far = _Result(_Call(Outcome.PARTIAL, ended), who, (), datetime(2026, 6, 8, 10, 0, tzinfo=UTC))
    assert wrap_up_message(far) == ("Saved Klaus Becker: Partial · again from Mon 08 Jun "
                                    "12:00 their time")
    near = _Result(_Call(Outcome.NO_ANSWER, ended), who, (),
                   datetime(2026, 3, 10, 13, 0, tzinfo=UTC))
    assert wrap_up_message(near) == ("Saved Klaus Becker: No answer · again from Tue 14:00 "
                                     "their time")
