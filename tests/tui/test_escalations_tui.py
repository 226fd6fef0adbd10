"""Pilot: a follow-up past its deadline is escalated and shown as a notice in the shift
app and in the dashboard's list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable

from calls import followups as fu
from tests.support.followups import add_customer
from tests.support.tui import wait_for

app_module = pytest.importorskip("tui.app")


def _toasts(app) -> list[str]:
    """The text of the notices on screen."""
    from textual.widgets._toast import Toast

    return [str(t.render()) for t in app.screen.query(Toast)]


@pytest.fixture
def late_fix(store, now):
    cid = add_customer(store, "C1", "Ann Able", owner="olga", phone="+12125550101")
    return fu.add_followup(store, kind="fix_problem", customer_id=cid, owner="olga",
                           due_at=None, details="parcel broken", now=now - timedelta(days=3))


async def test_shift_app_escalates_and_shows_the_notice(db_path, store, now, late_fix):
    app = app_module.make_app(db_path, "olga", clock=now)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: any("escalated" in n.title.lower()
                                          for n in app._notifications))
        [notice] = [n for n in app._notifications if n.title == "Follow-up escalated"]
        assert "fix problem for Ann Able (owner olga): first contact was due 09 Mar" in (
            notice.message)
        assert "waited 3 d 0 h; escalated to supervisors" in notice.message
        # on the queue screen (what the caller looks at) the notice is on screen
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "QueueScreen")
        await wait_for(pilot, lambda: any("Ann Able" in text for text in _toasts(app)))
    rows = store.all("SELECT followup_id, deadline, escalated_to FROM followup_escalations")
    assert rows == [{"followup_id": late_fix.id, "deadline": "first_contact",
                     "escalated_to": "supervisors"}]


async def test_a_caller_not_concerned_sees_no_notice(db_path, store, now, late_fix, tmp_path):
    from calls.policy import load_policy

    policy = tmp_path / "p.toml"
    policy.write_text('[deadlines]\nsupervisors = ["sam"]\n')
    app = app_module.make_app(db_path, "kim", policy=load_policy(policy), clock=now)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: store.scalar(
            "SELECT count(*) FROM followup_escalations") == 1)
        await pilot.pause(0.2)
        assert not [n for n in app._notifications if "escalated" in n.title.lower()]


async def test_dashboard_lists_escalations_and_announces_new_ones(db_path, store, now,
                                                                  late_fix):
    clock = {"now": now}
    app = app_module.make_app(db_path, "sam", clock=lambda: clock["now"], refresh_seconds=0,
                              mode="dashboard")
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.loads >= 1)
        await pilot.pause(0.1)
        table = app.screen.query_one("#escalated", DataTable)
        cells = [str(c) for c in table.get_row_at(0)]
        assert cells[:5] == [str(late_fix.id), "fix problem", "Ann Able", "olga",
                             "first contact"]
        assert "to supervisors" in cells[5] and cells[6] == "3 d 0 h"
        assert not [n for n in app._notifications if n.title == "Follow-up escalated"]
        # a second customer's callback falls past its time: the next load announces it
        other = add_customer(store, "C2", "Bo Beck", owner="kim", phone="+12125550102")
        fu.add_followup(store, kind="callback", customer_id=other, owner="kim",
                        due_at=now + timedelta(hours=1), details="", now=now)
        clock["now"] = now + timedelta(hours=2)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.loads >= 2)
        await pilot.pause(0.1)
        [notice] = [n for n in app._notifications if n.title == "Follow-up escalated"]
        assert notice.message.startswith("callback for Bo Beck (owner kim): close was due")
        assert table.row_count == 2


async def test_a_long_escalated_list_holds_a_page_says_how_many_and_end_reaches_the_last(
        db_path, store, now):
    """80 escalations: the box's title says 80, the table holds the rows that show and a
    page more (issue 18: a seat's memory), End on it reaches the last escalation of the
    list, shown on screen."""
    from calls.deadlines import open_escalations
    from tests.support.tui import screen_lines
    from tui.widgets.tables import PagedTable

    for i in range(80):
        cid = add_customer(store, f"C{i}", f"Late Customer{i:02d}", owner="olga",
                           phone=f"+121255501{i:02d}")
        fu.add_followup(store, kind="fix_problem", customer_id=cid, owner="olga",
                        due_at=None, details="parcel broken",
                        now=now - timedelta(days=3, minutes=i))
    app = app_module.make_app(db_path, "sam", clock=now, refresh_seconds=0,
                              mode="dashboard")
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.loads >= 1)
        await pilot.pause(0.1)
        table = app.screen.query_one("#escalated", PagedTable)
        assert table.total == 80 and table.row_count < 40
        assert "Escalated: past their deadline (80)" in "\n".join(screen_lines(app))
        last = open_escalations(store)[-1]
        table.focus()
        await pilot.press("end")
        await pilot.pause(0.1)
        assert table.row_count == 80 and table.cursor_row == 79
        assert str(table.get_row_at(79)[0]) == str(last.followup_id)
        assert any(last.customer_name in line for line in screen_lines(app))


async def test_at_80_columns_the_escalated_time_is_cut_after_its_minute(db_path, store, now):
    """The trial's dashboard at 80 columns read "04 Dec 09:4…": the time cut in the
    middle of the minute. Cut, it keeps its whole time ("04 Dec 09:45…")."""
    import re

    cid = add_customer(store, "C1", "Gabriella Tanner-Whitfield", owner="olga",
                       phone="+12125550101")
    fu.add_followup(store, kind="thank_you_note", customer_id=cid, owner=None,
                    due_at=now - timedelta(days=2), details="card", now=now - timedelta(days=3))
    app = app_module.make_app(db_path, "sam", clock=now, refresh_seconds=0,
                              mode="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.loads >= 1)
        await pilot.pause(0.1)
        table = app.screen.query_one("#escalated", DataTable)
        labels = [str(c.label) for c in table.ordered_columns]
        cell = str(table.get_row_at(0)[labels.index("escalated")])
        assert cell.endswith("…"), cell                    # cut to fit 80 columns
        assert re.fullmatch(r"\d\d \w{3} \d\d:\d\d…", cell), cell


@pytest.mark.parametrize(("user", "where"), [
    ("olga", "Follow-ups (f) lists them."),
    ("sam", "Follow-ups (f), then t (the team's), lists them.")])
async def test_the_first_notice_says_where_the_escalations_are_listed(
        db_path, store, now, user, where):
    """The trial's supervisor was told "Follow-ups (f) lists them", and f showed "My open
    follow-ups: 0": someone else's escalations are under t, the team's."""
    for i in range(2):
        cid = add_customer(store, f"C{i}", f"Late Customer{i}", owner="olga",
                           phone=f"+1212555010{i}")
        fu.add_followup(store, kind="fix_problem", customer_id=cid, owner="olga",
                        due_at=None, details="parcel broken", now=now - timedelta(days=3))
    app = app_module.make_app(db_path, user, clock=now)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: any(n.title == "Escalated follow-ups"
                                          for n in app._notifications))
        [notice] = [n for n in app._notifications if n.title == "Escalated follow-ups"]
        assert notice.message.startswith("2 follow-ups are past their deadline")
        assert notice.message.endswith(where)
