"""Pilot: the follow-ups screen marks a fix done and the recovery call appears in the queue."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from calls import followups as fu
from calls.clock import to_iso
from tests.support.followups import add_customer
from tests.support.tui import screen_lines, wait_for
from tui.clock import FixedClock

calling = pytest.importorskip("calls.calling")
queue = pytest.importorskip("calls.queue")
app_module = pytest.importorskip("tui.app")


def queue_ready(app) -> bool:
    """The queue screen is up, loaded and has the keyboard."""
    from tui.screens.queue import QueueScreen

    screen = app.screen
    return isinstance(screen, QueueScreen) and screen.view is not None and app.focused is not None


async def open_followups(app, pilot):
    """From the queue, ``f``: the follow-ups screen once it is on top."""
    from tui.screens.followups import FollowupsScreen

    await wait_for(pilot, lambda: queue_ready(app))
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, FollowupsScreen))
    return app.screen


def _table_keys(screen) -> list[str]:
    from textual.widgets import DataTable

    table = screen.query_one(DataTable)
    return [row.key.value for row in table.ordered_rows]   # in the order on screen


@pytest.fixture
def detractor(store, now):
    """A customer whose care call today was a detractor: a fix_problem for olga."""
    cid = add_customer(
        store,
        "C1",
        "Ann Able",
        owner="olga",
        tier="A",
        phone="+12125550101",
        phone_region="US",
        country="US",
        time_zones=json.dumps(["America/New_York"]),
        revenue=50000.0,
    )
    add_customer(
        store,
        "C2",
        "Bo Brown",
        owner="olga",
        tier="C",
        phone="+12125550102",
        phone_region="US",
        country="US",
        time_zones=json.dumps(["America/New_York"]),
        revenue=100.0,
    )
    assert queue.claim_customer(store, cid, "bob", now)
    call = calling.start_call(store, cid, "bob", now)
    calling.record_outcome(store, call, "completed", now + timedelta(minutes=5))
    spec = type(
        "Spec",
        (),
        {
            "kind": "fix_problem",
            "owner": "account_owner",
            "due_at": now + timedelta(days=2),
            "note": "Late delivery",
        },
    )
    [fix] = fu.apply_rule_followups(store, call, [spec], "bob", now + timedelta(minutes=5))
    return cid, fix


async def test_mark_fix_done_puts_the_recovery_call_in_the_queue(
    db_path, store, now, detractor, notifications
):
    from tui.screens.queue import QueueScreen

    customer_id, fix = detractor
    later = now + timedelta(hours=1)
    assert customer_id not in [e.customer.id for e in queue.build_queue(store, "olga", later)]
    app = app_module.make_app(db_path, "olga", clock=later)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: _table_keys(screen) == [str(fix.id)])
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press("enter")  # an empty note is refused for a fix
        assert app.screen is not screen
        await pilot.press(*"Refunded shipping")
        await pilot.press("enter")
        # the owner confirms the fix's themes (tests/tui/test_themes_tui.py tries them)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ThemesScreen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: fu.get_followup(store, fix.id).status == "done")
        await wait_for(pilot, lambda: _table_keys(screen) == [])
        # The caller is told the recovery call is queued, and sees no error.
        await wait_for(pilot, lambda: any("recovery call" in m for m in notifications.messages()))
        assert notifications.messages("error") == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
        await wait_for(pilot, lambda: str(customer_id) in _table_keys(app.screen))
        assert _table_keys(app.screen)[0] == str(customer_id)  # recovery comes first

    closed = fu.get_followup(store, fix.id)
    assert (closed.closed_by, closed.close_note) == ("olga", "Refunded shipping")
    recovery = fu.recovery_for(store, fix.id)
    assert recovery is not None and recovery.status == "open"
    soon = later + timedelta(minutes=5)  # the app clock ran on from `later`
    [entry] = [e for e in queue.build_queue(store, "carl", soon) if e.customer.id == customer_id]
    assert entry.reason_codes[0] == "recovery"


async def test_reschedule_cancel_and_team_view(db_path, store, now, detractor):
    customer_id, fix = detractor
    other = fu.add_followup(
        store,
        kind="send_info",
        customer_id=customer_id,
        owner="zed",
        due_at=now,
        details="brochure",
        now=now,
    )
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: _table_keys(screen) == [str(fix.id)])
        # Reschedule: a bad time is refused in the dialog, a good one saved.
        await pilot.press("s")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"soonish", "enter")
        assert app.screen is not screen
        for _ in range(7):
            await pilot.press("backspace")
        await pilot.press(*"+3d", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        # The app's clock started at now + 1 h and runs on: +3d from the moment of typing.
        start = now + timedelta(hours=1, days=3)
        await wait_for(
            pilot,
            lambda: start <= fu.get_followup(store, fix.id).due_at <= start + timedelta(minutes=2),
        )
        # The team view shows everybody's.
        await pilot.press("t")
        await wait_for(pilot, lambda: set(_table_keys(screen)) == {str(fix.id), str(other.id)})
        # Cancel zed's follow-up from the team view.
        table_keys = _table_keys(screen)
        await pilot.press(*["up"] * len(table_keys))
        await pilot.press(*["down"] * table_keys.index(str(other.id)))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"found it online", "enter")
        await wait_for(pilot, lambda: fu.get_followup(store, other.id).status == "cancelled")
        assert fu.get_followup(store, other.id).close_note == "found it online"
        assert fu.get_followup(store, fix.id).status == "open"


async def test_callback_due_soon_is_announced_on_any_screen(db_path, store, now):
    zone = json.dumps(["America/New_York"])
    mine = add_customer(store, "C7", "Cara Call", phone="+12125550107", time_zones=zone)
    theirs = add_customer(store, "C8", "Dov Dial", phone="+12125550108", time_zones=zone)
    later = add_customer(store, "C9", "Eve Later", phone="+12125550109", time_zones=zone)
    for cid, owner, minutes, note in (
        (mine, "olga", 7, "about the invoice"),
        (theirs, "zed", 3, "zed's own"),
        (later, "olga", 45, "not yet"),
    ):
        fu.add_followup(
            store,
            kind="callback",
            customer_id=cid,
            owner=owner,
            due_at=now + timedelta(minutes=minutes),
            details=note,
            now=now,
        )
    app = app_module.make_app(db_path, "olga", clock=now)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: queue_ready(app))
        await wait_for(pilot, lambda: any("Cara Call" in n.message for n in app._notifications))
        messages = [n.message for n in app._notifications if "Callback" in n.message]
        assert messages == ["Callback due in 7 min: Cara Call (about the invoice)"]


async def test_call_now_from_a_callback_opens_the_call_screen(db_path, store, now):
    from tui.screens.call import CallScreen

    zone = json.dumps(["America/New_York"])
    cid = add_customer(
        store,
        "C5",
        "Cal Back",
        phone="+12125550105",
        phone_region="US",
        country="US",
        time_zones=zone,
    )
    cb = fu.add_followup(
        store,
        kind="callback",
        customer_id=cid,
        owner="olga",
        due_at=now + timedelta(minutes=30),
        details="after lunch",
        now=now,
    )
    note = fu.add_followup(
        store,
        kind="send_info",
        customer_id=cid,
        owner="olga",
        due_at=now,
        details="brochure",
        now=now,
    )
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(minutes=30))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: set(_table_keys(screen)) == {str(cb.id), str(note.id)})
        keys = _table_keys(screen)
        # "Call now" only applies to calls: not offered on the send_info row.
        await pilot.press(*["up"] * len(keys), *["down"] * keys.index(str(note.id)))
        assert screen.check_action("call_now", ()) is False
        await pilot.press(*["up"] * len(keys), *["down"] * keys.index(str(cb.id)))
        assert screen.check_action("call_now", ()) is True
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CallScreen))
    assert store.scalar("SELECT caller FROM claims WHERE customer_id = ?", (cid,)) == "olga"


def _leaflets(store, customer_id, now, count=260) -> None:
    with store.write():  # straight in: add_followup keeps one open per customer and kind
        store.db["followups"].insert_all(
            {"kind": "send_info", "customer_id": customer_id, "owner": "olga",
             "due_at": to_iso(now + timedelta(minutes=i)), "details": f"leaflet {i}",
             "status": "open", "created_at": to_iso(now), "source": "hand"}
            for i in range(count))


def _whole_list(screen) -> list[str]:
    """The keys the table stands for: the rows it holds, then those it adds on demand."""
    table = screen.query_one("#fu-table")
    return _table_keys(screen) + [key for key, _ in table.pending]


async def test_a_long_list_holds_a_page_and_reaches_its_last_row(
        db_path, store, now, detractor):
    """261 follow-ups: the count line says 261, the table holds the rows that show and a
    page more (issue 18: a seat's memory), the rest come as the caller moves down: End
    (and G, and page down far enough) reaches the last follow-up, shown on screen with
    its details; a row highlighted far down stays highlighted across a reload."""
    from tui.screens import followups as screen_module

    customer_id, _fix = detractor
    _leaflets(store, customer_id, now)
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: screen.view is not None)
        table = screen.query_one("#fu-table")
        expected = [str(f.id) for f in fu.list_followups(store, owner="olga",
                                                         limit=screen_module.LIMIT)]
        assert len(expected) == 261
        await wait_for(pilot, lambda: _whole_list(screen) == expected)
        assert table.row_count <= screen_module.FIRST_ROWS + table.size.height + 10 < 261
        assert "My open follow-ups: 261" in str(screen.query_one("#fu-status").render())
        last = fu.get_followup(store, int(expected[-1]))
        await pilot.press("end")
        await wait_for(pilot, lambda: screen._selected() is not None
                       and screen._selected().id == last.id)
        assert table.row_count == 261 and table.cursor_row == 260
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert last.details.splitlines()[0][:10] in text and f"#{last.id}" in text
        await pilot.press("ctrl+home", "G")
        assert screen._selected().id == last.id
        # Highlight the 200th row, reload: the same follow-up is highlighted again.
        table.move_cursor(row=199)
        await pilot.press("r")
        await pilot.pause(0.2)
        await wait_for(pilot, lambda: not screen._loading)
        assert table.cursor_row == 199 and screen._selected().id == int(expected[199])


async def test_page_down_reaches_the_last_row_and_done_far_down_closes_that_one(
        db_path, store, now, detractor):
    """Page down alone walks a long list to its last row; ``d`` ten rows above it (a
    note, Enter) closes that very follow-up: the notice names it, no error shows, the list reloads
    without it and says 260."""
    customer_id, _fix = detractor
    _leaflets(store, customer_id, now)
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: screen.view is not None)
        table = screen.query_one("#fu-table")
        whole = list(_whole_list(screen))
        for _ in range(40):
            await pilot.press("pagedown")
        assert table.cursor_row == 260 and screen._selected().id == int(whole[-1])
        await pilot.press(*["up"] * 10)
        chosen = screen._selected()
        assert str(chosen.id) == whole[250] and chosen.kind == "send_info"
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not screen)
        await pilot.press(*"sent", "enter")
        await wait_for(pilot, lambda: fu.get_followup(store, chosen.id).status == "done")
        assert all(fu.get_followup(store, int(k)).status == "open"
                   for k in whole if k != str(chosen.id))
        await wait_for(pilot, lambda: app.screen is screen and str(chosen.id)
                       not in _whole_list(screen) and len(_whole_list(screen)) == 260)
        assert "My open follow-ups: 260" in str(screen.query_one("#fu-status").render())
        notices = list(app._notifications)
        assert any(f"Done: #{chosen.id}" in n.message for n in notices)
        assert not [n for n in notices if n.severity == "error"]


async def test_closed_follow_ups_keep_only_what_shows_again_first(
        db_path, store, now, detractor, monkeypatch):
    """Kept all shift, a closed follow-ups screen holds only the rows down to a screenful
    below the cursor, nothing pending (issue 18: a seat's memory); shown again it has
    them at once, the cursor on the same follow-up, and stands for the whole list again,
    the same rows as before: the rows it kept stay (no clear, issue 18: ``f``)."""
    from tui.screens import followups as screen_module

    customer_id, _fix = detractor
    _leaflets(store, customer_id, now)
    # A clock that stands still: the same rows drawn the same way when shown again.
    app = app_module.make_app(db_path, "olga", clock=FixedClock(now + timedelta(hours=1)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_followups(app, pilot)
        table = screen.query_one("#fu-table")
        await wait_for(pilot, lambda: len(_whole_list(screen)) == 261)
        whole = _whole_list(screen)
        for _ in range(70):
            await pilot.press("down")
        assert table.cursor_row == 70
        cells = [table.get_row_at(i) for i in range(table.row_count)]
        chosen = screen._selected().id
        await pilot.press("escape")
        kept = 70 + table.size.height + 10
        await wait_for(pilot, lambda: queue_ready(app) and table.row_count <= kept)
        assert screen_module.FIRST_ROWS < kept < 261
        assert _table_keys(screen) == whole[:min(kept, len(cells))] and not table.pending
        assert [str(f.id) for f in screen.view.rows] == _table_keys(screen)
        assert "My open follow-ups: 261" in str(screen.query_one("#fu-status").render())
        cleared = []
        monkeypatch.setattr(table, "clear", lambda *a, **k: cleared.append(1))
        await pilot.press("f")
        assert app.screen is screen and screen._selected().id == chosen  # at once
        await wait_for(pilot, lambda: _whole_list(screen) == whole)
        assert screen._selected().id == chosen and len(screen.view.rows) == 261
        assert "My open follow-ups: 261" in str(screen.query_one("#fu-status").render())
        held = table.row_count
        assert [table.get_row_at(i) for i in range(held)] == cells[:held] and not cleared


async def test_follow_ups_shown_again_are_the_same_screen_and_reload(
        db_path, store, now, detractor):
    """The queue keeps one follow-ups screen: shown again it has its list at once, and
    its reload drops what was closed meanwhile and adds what is new."""

    customer_id, fix = detractor
    app = app_module.make_app(db_path, "olga", clock=now + timedelta(hours=1))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_followups(app, pilot)
        await wait_for(pilot, lambda: _table_keys(screen) == [str(fix.id)])
        await pilot.press("escape")
        await wait_for(pilot, lambda: queue_ready(app))
        fu.cancel_followup(store, fix.id, by="olga", note="solved by phone", now=now)
        info = fu.add_followup(store, kind="send_info", customer_id=customer_id, owner="olga",
                               due_at=now, details="brochure", now=now)
        await pilot.press("f")
        assert app.screen is screen                      # not built again
        await wait_for(pilot, lambda: _table_keys(screen) == [str(info.id)])
        assert "brochure" in "\n".join(screen_lines(app))


async def test_t_says_where_it_goes_mine_or_the_team(db_path, store, now):
    """The trial's supervisor in the team's list saw "t Team" on the key bar (the header
    said "t: mine"): from the team's list the same key reads "Mine", and goes there."""
    cid = add_customer(store, "C1", "Ann Able", phone="+12125550101")
    fu.add_followup(store, kind="send_info", customer_id=cid, owner="zed", due_at=None,
                    details="catalogue", now=now)
    app = app_module.make_app(db_path, "olga", clock=now)
    async with app.run_test(size=(140, 24)) as pilot:
        await open_followups(app, pilot)
        await wait_for(pilot, lambda: "My open follow-ups" in screen_lines(app)[1])
        assert " t Team " in screen_lines(app)[-1] and " t Mine " not in screen_lines(app)[-1]
        await pilot.press("t")
        await wait_for(pilot, lambda: "The team's open follow-ups" in screen_lines(app)[1])
        assert " t Mine " in screen_lines(app)[-1] and " t Team " not in screen_lines(app)[-1]
        await pilot.press("t")
        await wait_for(pilot, lambda: "My open follow-ups" in screen_lines(app)[1])
