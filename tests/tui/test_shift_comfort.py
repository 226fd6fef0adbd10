"""Issue 15 on the screen: help, quiet notices, any customer, the customer's language,
the agenda, the welcome screen's demo, screenshots."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from calls import followups as fu
from calls.ingest.customers import ImportOptions, import_customers
from calls.store import Store
from tests.support.tui import NOW, make_db, press, settle, type_text
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.agenda import AgendaScreen
from tui.screens.call import CallScreen
from tui.screens.help import HelpScreen
from tui.screens.queue import QueueScreen, column_widths
from tui.screens.search import SearchScreen
from tui.screens.welcome import WelcomeScreen

LANGUAGES = Path(__file__).resolve().parents[1] / "data" / "customers_languages.csv"


@pytest.fixture
def lang_db(tmp_path):
    path = tmp_path / "lang.db"
    with Store.open(path) as store:
        import_customers(store, LANGUAGES, ImportOptions(workers=1), NOW)
    return path


def _app(db, caller="olga"):
    return make_app(db, caller, clock=FixedClock(NOW))


def _script_text(app) -> str:
    return str(app.screen.query_one("#script-text").render())


def _call_rows(db):
    with Store.open(db) as store:
        return store.all("SELECT c.*, k.ref FROM calls c JOIN customers k ON k.id = c.customer_id")


async def _queue(pilot):
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    return pilot.app.screen


async def test_help_fits_80x24_and_lists_this_screens_keys_as_remapped(tmp_path):
    app = _app(make_db(tmp_path / "s.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        app.set_keymap({"queue-agenda": "ctrl+k"})
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {r.what.split(" — ")[0]: r.keys for r in app.screen.rows}
        assert rows["Find"] == "/" and rows["Next"] == "n"
        assert rows["Callbacks"] == "^k"                        # the user's key, not "a"
        assert "Connected" not in rows                          # a call screen key: not here
        box = app.screen.query_one("#help-box").region
        assert box.right <= 80 and box.bottom <= 24 and box.y >= 0
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "f1")
        assert isinstance(app.screen, QueueScreen)


async def test_search_by_a_national_number_opens_the_german_customer_in_german(lang_db):
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "slash")
        assert isinstance(app.screen, SearchScreen)
        await type_text(pilot, "030 1234567")
        await settle(pilot, 10)
        assert [c.ref for c, _n in app.screen.results] == ["DE-1"]
        await press(pilot, "enter")
        await settle(pilot, 10)
        assert isinstance(app.screen, CallScreen)
        assert app.screen.session.customer.ref == "DE-1"
        await press(pilot, "c")
        assert "Guten Tag Herr Becker, hier spricht Olga vom Kundenservice" in _script_text(app)
    [call] = _call_rows(lang_db)
    assert call["ref"] == "DE-1" and call["caller"] == "olga"


async def test_a_french_customer_is_greeted_with_madame(lang_db):
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "dupont")
        await settle(pilot, 10)
        await press(pilot, "enter")
        await settle(pilot, 10)
        await press(pilot, "c")
        assert "Bonjour Madame Dupont" in _script_text(app)


async def test_search_refuses_a_do_not_call_customer_with_the_reason(lang_db, notifications):
    with Store.open(lang_db) as store:
        store.db.execute("UPDATE customers SET do_not_call = 1 WHERE ref = 'US-2'")
        store.db.conn.commit()
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "bob smith")
        await settle(pilot, 10)
        assert app.screen.query_one("DataTable").get_row_at(0)[-1] == "do not call"
        await press(pilot, "down", "enter")
        await settle(pilot, 10)
        assert isinstance(app.screen, QueueScreen)
    assert any("cannot be taken" in m and "not to be called" in m
               for m in notifications.messages("warning"))
    assert _call_rows(lang_db) == []


async def test_a_supervisor_adds_a_customer_from_the_app(lang_db):
    app = _app(lang_db)            # no accounts: the one-person trial may
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "zz")
        await settle(pilot, 5)
        await press(pilot, "tab", "a")     # leave the search field, then add
        await settle(pilot)
        form = app.screen
        form.query_one("#field-first_name").value = "Luc"
        form.query_one("#field-last_name").value = "Besson"
        form.query_one("#field-phone").value = "12"
        form.query_one("#field-country").value = "FR"
        await press(pilot, "ctrl+s")
        await settle(pilot, 5)
        assert "not a valid phone number" in str(form.query_one("#form-error").render())
        form.query_one("#field-phone").value = "01 45 67 89 10"
        await press(pilot, "ctrl+s")
        await settle(pilot, 10)
        assert isinstance(app.screen, SearchScreen)
        assert [c.name for c, _n in app.screen.results] == ["Luc Besson"]
    with Store.open(lang_db) as store:
        row = store.one("SELECT * FROM customers WHERE phone = '+33145678910'")
        assert (row["first_name"], row["country"]) == ("Luc", "FR")
        assert store.scalar("SELECT actor FROM audit WHERE action = 'customer.add'") == "olga"


async def test_the_agenda_lists_my_callbacks_by_day_and_calls_one(lang_db):
    with Store.open(lang_db) as store:
        for ref, offset in (("FR-2", -timedelta(minutes=10)), ("DE-2", timedelta(days=1))):
            cid = store.scalar("SELECT id FROM customers WHERE ref = ?", (ref,))
            fu.add_followup(store, kind="callback", customer_id=cid, owner="olga",
                            due_at=NOW + offset, details=f"asked for {ref}", now=NOW)
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "a")
        await settle(pilot, 10)
        assert isinstance(app.screen, AgendaScreen)
        assert [d.label for d in app.screen.days] == ["Overdue", "Tomorrow"]
        table = app.screen.query_one("DataTable")
        cells = [table.get_row_at(i) for i in range(table.row_count)]
        assert "Overdue" in cells[0][0] and "Tomorrow" in cells[2][0]
        assert "Paris" in cells[1][1] and "Jean Martin" in cells[1][2]
        await press(pilot, "enter")
        await settle(pilot, 10)
        assert isinstance(app.screen, CallScreen)
        assert app.screen.session.customer.ref == "FR-2"


def test_the_reason_gets_its_room_at_80_columns_and_company_shortens_first():
    widths = column_widths(80, 40)
    assert widths["why"] >= 36 and widths["company"] < 16 and widths["name"] >= 14
    wide = column_widths(160, 40)
    assert wide["company"] == 18 and wide["name"] == 22


async def test_the_filter_clears_after_a_call(tmp_path):
    db = make_db(tmp_path / "s.db")
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        queue = await _queue(pilot)
        await press(pilot, "ctrl+f")
        await type_text(pilot, "delta")
        assert queue.query_one("DataTable").row_count == 1
        await press(pilot, "enter")                 # back to the table
        await press(pilot, "enter")                 # take Dieter Weber
        await settle(pilot, 10)
        assert isinstance(app.screen, CallScreen)
        await press(pilot, "s")                     # skip him
        await settle(pilot, 10)
        assert isinstance(app.screen, QueueScreen) and queue.filter_text == ""
        assert queue.query_one("DataTable").row_count > 1


async def test_the_demo_is_offered_only_for_a_new_database(tmp_path):
    db = tmp_path / "real.db"
    with Store.open(db) as store:
        store.db.execute("INSERT INTO imports (kind, file, started_at) "
                         "VALUES ('customers', 'x.csv', '2026-01-01T00:00:00Z')")
        store.db.conn.commit()
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "demo customers" not in str(app.screen.query_one("Markdown").source)
        await press(pilot, "d")
        await settle(pilot, 5)
    with Store.open(db) as store:
        assert store.scalar("SELECT count(*) FROM customers") == 0


async def test_one_notice_at_a_time_and_a_repeat_is_not_shown_again(tmp_path):
    app = _app(make_db(tmp_path / "s.db"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _queue(pilot)
        for text in ("first", "second", "second"):
            app.notify(text)
        await settle(pilot)
        assert [n.message for n in app._notifications] == ["second"]
        app.notify("second")                  # still up: not shown again
        app.notify("third")
        await settle(pilot)
        assert [n.message for n in app._notifications] == ["third"]
        [toast] = app.screen.query("Toast")
        # At the top right under the shift bar, clear of the footer and the bottom rows.
        assert toast.region.y <= 3 and toast.region.bottom <= 8 and toast.region.x >= 30


async def test_a_screenshot_goes_to_a_folder_made_for_it(tmp_path, monkeypatch):
    downloads = tmp_path / "nowhere" / "Downloads"
    monkeypatch.setattr("platformdirs.user_downloads_dir", lambda: str(downloads))
    app = _app(make_db(tmp_path / "s.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        app.action_screenshot()
        await settle(pilot, 10)
    assert downloads.is_dir() and list(downloads.glob("*.svg"))
