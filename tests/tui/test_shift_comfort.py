"""Issue 15 on the screen: help, quiet notices, any customer, the customer's language,
the agenda, the welcome screen's demo, screenshots."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from calls import followups as fu
from calls.ingest.customers import ImportOptions, import_customers
from calls.store import Store
from tests.support.tui import NOW, make_db, press, screen_lines, settle, type_text
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
        # German consumers are called only with recorded consent (issue 14).
        from calls import consent

        for row in store.all("SELECT id FROM customers WHERE phone_region = 'DE'"):
            consent.record(store, row["id"], "calls", True, how="letter", actor="test",
                           now=NOW)
    return path


def _app(db, caller="olga"):
    return make_app(db, caller, clock=FixedClock(NOW))


def _script_text(app) -> str:
    return str(app.screen.query_one("#script-text").render())


def _call_rows(db):
    with Store.open(db) as store:
        return store.all("SELECT c.*, k.ref FROM calls c JOIN customers k ON k.id = c.customer_id")


async def _find(pilot, text: str, *keys: str) -> None:
    """``/`` on the queue, type ``text``, wait for the results, then press ``keys``."""
    await press(pilot, "slash")
    await type_text(pilot, text)
    await settle(pilot, 10)
    if keys:
        await press(pilot, *keys)
        await settle(pilot, 10)


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
        await _find(pilot, "dupont", "enter")
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
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
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


async def test_the_dial_key_runs_the_dial_command_with_the_e164_number(tmp_path, monkeypatch):
    import stat
    import sys

    log = tmp_path / "dialled.txt"
    phone = tmp_path / "softphone"
    phone.write_text(f"#!{sys.executable}\nimport sys\n"
                     f"open({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n")
    phone.chmod(phone.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "config.toml"
    config.write_text(f'[dial]\ncommand = "{phone} dial {{e164}}"\n')
    monkeypatch.setenv("CARECALL_CONFIG", str(config))
    db = make_db(tmp_path / "s.db")
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "n")
        await settle(pilot, 10)
        screen = app.screen
        assert isinstance(screen, CallScreen)
        card = str(screen.query_one("#card").render())
        assert screen.customer.phone in card
        await press(pilot, "ctrl+d")
        for _ in range(100):
            await settle(pilot)
            if log.exists() and log.read_text():
                break
        assert log.read_text() == f"dial {screen.customer.phone}"
    with Store.open(db) as store:     # the call started when the caller dialled
        assert store.scalar("SELECT count(*) FROM calls WHERE ended_at IS NULL") == 1


async def test_an_inbound_call_is_taken_outside_the_calling_window(lang_db):
    from datetime import datetime

    from tui.clock import FixedClock as Clock

    sunday = datetime(2026, 3, 8, 15, 0, tzinfo=NOW.tzinfo)      # no calls on a Sunday
    app = make_app(lang_db, "olga", clock=Clock(sunday))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "becker")
        await settle(pilot, 10)
        await press(pilot, "down", "enter")                         # outbound: refused
        await settle(pilot, 10)
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "slash")
        await type_text(pilot, "becker")
        await settle(pilot, 10)
        await press(pilot, "down", "i")                             # they called us
        await settle(pilot, 10)
        assert isinstance(app.screen, CallScreen) and app.screen.session.inbound
        await press(pilot, "c")
        await settle(pilot, 5)
    with Store.open(lang_db) as store:
        assert store.scalar("SELECT inbound FROM calls") == 1


async def test_a_callback_is_not_announced_to_the_caller_already_on_that_call(
    lang_db, notifications
):
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await _find(pilot, "dupont", "enter")
        assert isinstance(app.screen, CallScreen)
        with Store.open(lang_db) as store:
            for ref in ("FR-1", "DE-2"):
                cid = store.scalar("SELECT id FROM customers WHERE ref = ?", (ref,))
                fu.add_followup(store, kind="callback", customer_id=cid, owner="olga",
                                due_at=NOW + timedelta(minutes=3), details=None, now=NOW)
        app.callback_announcer.check()
        await settle(pilot, 10)
        app.callback_announcer.check()      # and only once
        await settle(pilot, 10)
    due = [m for m in notifications.messages() if m.startswith("Callback due")]
    assert due == ["Callback due in 3 min: Anna Schmidt"]


async def test_a_wrong_number_offers_the_second_number_before_ending_the_attempt(lang_db):
    from tui.screens.modals import ConfirmScreen
    from tui.screens.wrapup import WrapUpScreen

    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await _find(pilot, "becker", "enter")
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await press(pilot, "w")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Try their second number, 0171 2345678" in app.screen.question
        await press(pilot, "y")
        await settle(pilot, 10)
        assert app.screen is screen and screen.session.number == "+491712345678"
        assert "0171 2345678" in str(screen.query_one("#card").render())
        await press(pilot, "n")                      # no answer there either: no third
        await settle(pilot, 10)
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot, 10)
    with Store.open(lang_db) as store:
        row = store.one("SELECT * FROM customers WHERE ref = 'DE-1'")
        assert (row["phone"], row["number_status"]) == ("+491712345678", "ok")
        assert store.one("SELECT status FROM customer_numbers WHERE e164 = '+49301234567'"
                         )["status"] == "wrong_number"
        assert store.scalar("SELECT outcome FROM calls") == "no_answer"


async def test_the_call_timer_starts_when_the_customer_answers(tmp_path):
    from tests.support.tui import settle as wait

    clock = FixedClock(NOW)
    app = make_app(make_db(tmp_path / "s.db"), "olga", clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "n")
        clock.advance(seconds=30)             # ringing: not talk time
        await press(pilot, "c")
        app.seat_tick()
        await wait(pilot)
        assert app.call_started_at == NOW + timedelta(seconds=30)


async def test_the_history_shows_past_scores_as_questions_in_the_customers_language(lang_db):
    from calls.outcomes import Outcome
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    before = NOW - timedelta(days=98)          # a Tuesday, 16:00 in Berlin
    with Store.open(lang_db) as store:
        becker = store.scalar("SELECT id FROM customers WHERE ref = 'DE-1'")
        past = CallSession.take(store, becker, "olga", before, DEFAULT_POLICY, "quarterly")
        past.connect(store, before)
        past.record_answer(store, "nps", 9, before)
        past.record_answer(store, "going_well", "schnelle Lieferung", before)
        past.choose(Outcome.COMPLETED)
        past.wrap_up(store, before + timedelta(minutes=5))
    app = _app(lang_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await _find(pilot, "becker", "enter")
        assert isinstance(app.screen, CallScreen)
        history = str(app.screen.query_one("#history").render())
        assert "Completed" in history
        # The question's words in German (the wrap-up's short form), never its key.
        assert "Wie wahrscheinlich ist es auf einer Skala v…: 9" in history, history
        assert "nps" not in history


def test_the_reasons_fit_whole_with_a_count_of_the_rest():
    from tui.screens.queue import fit_reasons

    reasons = ["bought 2 days ago: thank-you call", "A-tier care call overdue by 12 days"]
    assert fit_reasons(reasons, 80) == "; ".join(reasons)
    assert fit_reasons(reasons, 43) == "bought 2 days ago: thank-you call +1"
    assert fit_reasons(["x" * 50, "y"], 43) == "x" * 39 + "… +1"
    # the demo's queue at 80 columns read "at risk: buying slowed (last order 900… +1"
    slowed = "at risk: buying slowed (last order 900 days ago, usually every 120 days)"
    assert fit_reasons([slowed, "A-tier care call due today"], 43) == (
        "at risk: buying slowed… +1")
    assert fit_reasons([slowed], 60) == (
        "at risk: buying slowed (last order 900 days ago…")
    assert fit_reasons([], 20) == ""


def test_outcome_keys_never_end_a_line_without_their_label():
    from tui.core import flow_markup

    parts = [f"[b]{k}[/b] {label}" for k, label in (
        ("n", "No answer"), ("o", "Other person"), ("w", "Wrong number"), ("x", "Gone"))]
    lines = flow_markup(parts, 40).split("\n")
    assert lines == ["[b]n[/b] No answer  [b]o[/b] Other person",
                     "[b]w[/b] Wrong number  [b]x[/b] Gone"]


async def test_the_agenda_fits_80x24_and_shows_enter_where_it_calls(tmp_path):
    """The trial's agenda at 80x24: the status line cut ("clock and"), day rows cut
    ("Monday 16 M"), the notes running out of sight sideways, and Enter (call now) not in
    the key bar; a callback not due yet holds its customer, so there it is not offered."""
    db = make_db(tmp_path / "s.db")
    note = "asked to be called back after the board meeting, on the mobile"
    with Store.open(db) as store:
        ids = [r["id"] for r in store.all("SELECT id FROM customers ORDER BY id LIMIT 2")]
        for cid, offset in zip(ids, (-timedelta(minutes=10), timedelta(days=6)), strict=True):
            fu.add_followup(store, kind="callback", customer_id=cid, owner="olga",
                            due_at=NOW + offset, details=note, now=NOW)
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await press(pilot, "a")
        await settle(pilot, 10)
        assert isinstance(app.screen, AgendaScreen)
        lines = screen_lines(app)
        assert lines[1].strip() == ("2 callbacks in the next 14 days, overdue first · your "
                                    "time and theirs")
        assert [line.strip() for line in lines[3:7:2]] == ["Overdue", "Mon 16 Mar"]
        table = app.screen.query_one("DataTable")
        assert table.virtual_size.width <= table.size.width      # nothing out of sight
        assert lines[4].rstrip().endswith("…")                  # the note cut, and says so
        assert note in lines[-2]                                # in full below the table
        assert lines[-1].lstrip().startswith("⏎ Call now")
        for _ in range(2):                                      # a day's row; Monday's call
            await press(pilot, "down")
            assert "Call now" not in screen_lines(app)[-1]
        assert note in screen_lines(app)[-2]
        await press(pilot, "up", "up", "enter")                 # the overdue one: called
        await settle(pilot, 10)
        assert isinstance(app.screen, CallScreen)


async def test_the_agenda_says_it_is_loading_until_it_has_loaded(tmp_path, monkeypatch):
    """Its first layout (a resize) must not draw an empty agenda ("No callbacks for you")
    before the callbacks are read."""
    import threading

    from tui.screens import agenda

    db = make_db(tmp_path / "s.db")
    read = threading.Event()
    plain = agenda.load_agenda

    def held(*args):
        read.wait(10)
        return plain(*args)

    monkeypatch.setattr(agenda, "load_agenda", held)
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await pilot.press("a")          # not press(): it waits for the (held) read
        for _ in range(500):            # laid out (resized) and drawn: the read still held
            if isinstance(app.screen, AgendaScreen) and app.screen.size.width:
                break
            await pilot.pause(0.02)
        for _ in range(5):
            await pilot.pause(0.02)
        assert isinstance(app.screen, AgendaScreen)
        assert screen_lines(app)[1].strip() == "Loading your callbacks…"
        read.set()
        await settle(pilot, 10)
        assert screen_lines(app)[1].strip() == "No callbacks for you in the next two weeks."
