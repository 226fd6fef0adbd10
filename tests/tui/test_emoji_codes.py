"""What a customer's file says is drawn as written: Rich reads ``:name:`` in a text as an
emoji code (``Text.from_markup``'s default, which a Textual DataTable uses for every
``str`` cell), so a company "Team :fire: Ltd" was drawn with a flame in the queue and the
follow-ups, and the first such cell loaded rich's emoji table (``rich._emoji_codes``,
~0.6 MB of Python objects) into the seat for good (issue 18: a seat's memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from calls import followups as fu
from calls.store import Store
from tests.support.followups import add_customer
from tests.support.tui import NOW, screen_lines, wait_for
from tui.app import make_app

NAME = "Amy :smile: [VIP]"
COMPANY = "Team :fire: Ltd"
NOTE = ":100: sure, [b]not bold[/b]"


def shows(app, *texts: str) -> bool:
    screen = "\n".join(screen_lines(app))
    return all(text in screen for text in texts)


async def test_a_customer_named_with_emoji_codes_shows_as_written(db_path, store, now):
    zone = json.dumps(["America/New_York"])
    amy = add_customer(store, "C1", NAME, company=COMPANY, phone="+12125550101",
                       phone_region="US", country="US", time_zones=zone, tier="A",
                       revenue=50000.0)
    fu.add_followup(store, kind="send_info", customer_id=amy, owner="olga",
                    due_at=now + timedelta(hours=2), details=NOTE, now=now)
    app = make_app(db_path, "olga", clock=now)
    async with app.run_test(size=(120, 30)) as pilot:
        from tui.screens.followups import FollowupsScreen
        from tui.screens.queue import QueueScreen

        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen)
                       and app.screen.view is not None and shows(app, "Amy"))
        lines = screen_lines(app)
        [row] = [line for line in lines if "Amy" in line]
        assert NAME in row and COMPANY in row, lines
        assert "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in "\n".join(lines)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FollowupsScreen)
                       and shows(app, "Amy"))
        lines = screen_lines(app)
        [row] = [line for line in lines if "Amy" in line]
        assert NAME in row and NOTE in row, lines
        # the column labels are the app's own and read as before
        assert any("Due" in line and "Customer" in line and "What" in line for line in lines)


def test_a_seat_never_loads_richs_emoji_table(shift_db):
    """A seat's queue, a call and its wrap-up, the follow-ups, the callbacks agenda, a
    search and the dashboard, drawn with emoji codes on file, and rich's emoji table
    never imported (tables.Table's cells; the shift bar and the outcome bar measured
    without emoji)."""
    with Store.open(shift_db) as store, store.write():
        store.db["customers"].update(1, {"name": "Jane :smile: Doe", "company": COMPANY})
        fu.add_followup(store, kind="callback", customer_id=2, owner="ann",
                        due_at=NOW + timedelta(days=1), details=NOTE, now=NOW)
    code = (
        "import asyncio, sys\n"
        "from datetime import datetime, UTC\n"
        "from textual.widgets import DataTable\n"
        "from tui.app import make_app\n"
        "from tui.clock import FixedClock\n"
        "from tests.support.tui import settle\n"
        "def seen(app):\n"
        "    rows = sum(t.row_count for t in app.screen.query(DataTable))\n"
        "    return f'{type(app.screen).__name__}:{rows}'\n"
        "async def main():\n"
        "    clock = FixedClock(datetime(2026, 3, 10, 15, tzinfo=UTC))\n"
        f"    app = make_app({str(shift_db)!r}, 'ann', clock=clock)\n"
        "    async with app.run_test(size=(80, 24), notifications=True) as pilot:\n"
        "        await settle(pilot)\n"
        "        shown = [seen(app)]\n"
        "        for keys in (['f'], ['escape'], ['a'], ['escape'], ['slash', 'D', 'o'],\n"
        "                     ['escape'], ['n'], ['n'], ['enter']):\n"
        "            for key in keys:\n"
        "                await pilot.press(key)\n"
        "                await settle(pilot)\n"
        "            await pilot.pause(0.3)\n"   # the search's typing pause
        "            await settle(pilot)\n"
        "            shown.append(seen(app))\n"
        "        print(*shown, file=sys.stderr)\n"
        f"    app = make_app({str(shift_db)!r}, 'ann', clock=clock, mode='dashboard')\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await settle(pilot)\n"
        "        print(seen(app), file=sys.stderr)\n"
        "    print('emoji', 'rich._emoji_codes' in sys.modules, file=sys.stderr)\n"
        "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    shown = done.stderr.split()
    # every kind of table met, with rows in it
    for screen in ("QueueScreen", "FollowupsScreen", "AgendaScreen", "SearchScreen",
                   "DashboardScreen"):
        assert any(s.startswith(f"{screen}:") and s != f"{screen}:0" for s in shown), shown
    assert "WrapUpScreen:0" in shown, shown
    assert shown[-2:] == ["emoji", "False"], done.stderr[-3000:]


def test_every_table_of_the_app_reads_its_cells_without_emoji_codes():
    """No screen makes a plain ``DataTable`` (nor a class of its own on it): every table
    is a ``tui.widgets.tables.Table`` (or built on one), whose cells and labels are read
    without emoji codes."""
    import ast
    from pathlib import Path

    import tui

    plain = []
    for path in Path(tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("DataTable"):
                plain.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}()")
            if isinstance(node, ast.ClassDef) and node.name != "Table":
                plain += [f"{path.name}:{node.lineno} class {node.name}"
                          for base in node.bases if ast.unparse(base).endswith("DataTable")]
    assert plain == []
