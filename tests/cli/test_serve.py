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
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        proc.stdout.close()


def test_a_bad_database_path_is_one_line(tmp_path):
    out = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "nope" / "x.db")])
    assert out.exit_code == 2 and "does not exist" in out.stderr
