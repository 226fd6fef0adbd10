"""carecall serve: browser seats answer HTTP on the loopback address; --help says to put TLS
in front before exposing it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from typer.testing import CliRunner

from calls.cli import app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_says_loopback_and_tls():
    out = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    assert "127.0.0.1" in out.stdout and "TLS" in out.stdout and "reverse proxy" in out.stdout


def test_served_app_answers_http_on_loopback(db_path, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from calls.cli import main; main()", "serve", "--port",
         str(port), "--db", str(db_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ),
        start_new_session=True,
    )
    try:
        page = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    assert resp.status == 200
                    page = resp.read().decode("utf-8")
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.3)
        assert page is not None, proc.stdout.read().decode() if proc.poll() is not None else ""
        assert "<html" in page.lower() and f"127.0.0.1:{port}/ws" in page
        # Nothing leaves the machine: no web font, script or style from another host.
        from calls.commands.serve_cmd import external_references

        assert "googleapis" not in page and external_references(page) == []
        font = f"http://127.0.0.1:{port}/static/fonts/RobotoMono-VariableFont_wght.ttf"
        assert font in page
        with urllib.request.urlopen(font, timeout=5) as resp:
            assert resp.status == 200 and len(resp.read()) > 10_000
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stdout.close()


def test_a_bad_database_path_is_one_line(tmp_path):
    out = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "nope" / "x.db")])
    assert out.exit_code == 2 and "does not exist" in out.stderr


def test_the_terminal_guard_does_not_block_a_served_seat(db_path, now, monkeypatch):
    import tui.app
    from calls.store import Store
    from tests.support.team import make_team

    with Store.open(db_path) as store:
        make_team(store, now)
    seen = {}

    class FakeApp:
        signed_in = False   # nobody signed in on its login screen (it never ran)

        def __init__(self, path, caller, **kwargs):
            seen.update(kwargs, caller=caller)

        def run(self):
            return None

    monkeypatch.setattr(tui.app, "make_app", FakeApp)
    out = CliRunner().invoke(app, ["shift"])  # CliRunner: no TTY
    assert out.exit_code == 2 and "needs a terminal" in out.stderr and not seen
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    out = CliRunner().invoke(app, ["shift"])
    assert out.exit_code == 0, out.output
    # A browser seat always opens on the login screen, whatever the service's OS login.
    assert seen["seat"] == "web" and seen["actor"] is None and seen["caller"] == ""


def test_the_page_template_is_made_local(tmp_path):
    from calls.commands.serve_cmd import external_references, local_page

    page = (local_page(tmp_path) / "app_index.html").read_text(encoding="utf-8")
    assert external_references(page) == [] and "fonts/RobotoMono" in page
    assert external_references('<link href="https://fonts.googleapis.com/css?x">') == [
        "https://fonts.googleapis.com/css?x"]
    assert external_references('<script src="//cdn.example.com/a.js">') == [
        "//cdn.example.com/a.js"]
    assert external_references('<svg xmlns="http://www.w3.org/2000/svg"> '
                               'ws://127.0.0.1:8000/ws') == []
