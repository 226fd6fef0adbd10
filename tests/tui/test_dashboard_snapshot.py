"""An SVG snapshot of the supervisor's dashboard at 80x24 (a fixed clock and zone): the
floor's long state and customer cut to fit, today's shift with no rate on a fresh seat.

Update after an intended change with ``pytest tests/tui/test_dashboard_snapshot.py
--snapshot-update`` and look at the picture before committing."""

from __future__ import annotations

from tests.tui.test_dashboard import _floor_db, _loaded, _supervisors_dashboard


def test_dashboard_at_80_columns(snap_compare, tmp_path):
    app = _supervisors_dashboard(_floor_db(tmp_path))

    async def run_before(pilot) -> None:
        await _loaded(pilot, app.screen)
        for _ in range(5):
            await pilot.pause(0.02)
        app.clear_notifications()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
