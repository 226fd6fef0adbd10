"""SVG snapshot of the follow-ups screen at 80x24 with a fixed clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from calls import followups as fu
from tests.support.followups import add_customer

app_module = pytest.importorskip("tui.app")
pytest.importorskip("pytest_textual_snapshot")


def test_followups_screen_snapshot(snap_compare, db_path, store, now):
    from tui.screens.followups import FollowupsScreen

    zone = json.dumps(["America/New_York"])
    ann = add_customer(
        store,
        "C1",
        "Ann Able",
        company="Acme",
        owner="olga",
        tier="A",
        phone="+12125550101",
        time_zones=zone,
    )
    bo = add_customer(
        store, "C2", "Bo Brown", owner="olga", tier="C", phone="+12125550102", time_zones=zone
    )
    fu.add_followup(
        store,
        kind="fix_problem",
        customer_id=ann,
        owner="olga",
        due_at=now - timedelta(days=1),
        details="Two late deliveries",
        now=now,
    )
    fu.add_followup(
        store,
        kind="callback",
        customer_id=bo,
        owner="olga",
        due_at=now + timedelta(hours=3),
        details="after the board meeting",
        now=now,
    )
    fu.add_followup(
        store,
        kind="thank_you_note",
        customer_id=bo,
        owner="olga",
        due_at=now + timedelta(days=4),
        details="10 years with us",
        now=now,
    )
    # A clock that stands still: the shift bar shows how long the seat has been ready.
    from tui.clock import FixedClock

    app = app_module.make_app(db_path, "olga", clock=FixedClock(now))

    async def open_followups(pilot) -> None:
        for _ in range(200):
            if app.screen.__class__.__name__ == "QueueScreen" and app.focused is not None:
                break
            await pilot.pause(0.05)
        app.push_screen(FollowupsScreen())
        for _ in range(200):
            screen = app.screen
            if isinstance(screen, FollowupsScreen) and screen.view is not None:
                break
            await pilot.pause(0.05)
        # The table measures its auto-width column ("What") when idle: under load the
        # picture could be taken a frame before, the column 4 wide. Wait until the
        # columns' widths hold still over two readings.
        from textual.widgets import DataTable

        widths = None
        for _ in range(200):
            table = app.screen.query_one(DataTable)
            now_widths = [c.content_width for c in table.ordered_columns]
            if table.row_count and now_widths == widths:
                break
            widths = now_widths
            await pilot.pause(0.05)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_followups)
