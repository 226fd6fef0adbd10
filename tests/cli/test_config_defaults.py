"""``[defaults]`` in the config file: db, caller and policy when neither the option nor its
environment variable says; the option wins over the variable, the variable over the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from calls.cli import app
from calls.config import config_path

runner = CliRunner()


def _config(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _listing(tmp_path: Path) -> Path:
    listing = tmp_path / "c.csv"
    listing.write_text("id,name,phone,country\nC1,Ann,+12125550100,US\n")
    return listing


def test_db_from_the_config_file(tmp_path):
    configured = tmp_path / "configured.db"
    _config(f'[defaults]\ndb = "{configured}"\n')
    r = runner.invoke(app, ["import", str(_listing(tmp_path))])
    assert r.exit_code == 0, r.output
    assert configured.exists()
    shown = runner.invoke(app, ["customers", "show", "C1", "--json"])
    assert json.loads(shown.output)["ref"] == "C1"


def test_environment_and_option_win_over_the_file(tmp_path, monkeypatch):
    _config(f'[defaults]\ndb = "{tmp_path / "configured.db"}"\n')
    monkeypatch.setenv("CARECALL_DB", str(tmp_path / "env.db"))
    runner.invoke(app, ["import", str(_listing(tmp_path))])
    assert (tmp_path / "env.db").exists() and not (tmp_path / "configured.db").exists()
    runner.invoke(app, ["import", str(_listing(tmp_path)), "--db", str(tmp_path / "opt.db")])
    assert (tmp_path / "opt.db").exists() and not (tmp_path / "configured.db").exists()


def test_caller_and_policy_from_the_config_file(tmp_path, monkeypatch):
    from calls.commands.common import resolve_caller
    from calls.policy import load_policy

    policy = tmp_path / "policy.toml"
    policy.write_text("[cadence_days]\nA = 30\n")
    _config(f'[defaults]\ncaller = "ann"\npolicy = "{policy}"\n')
    assert resolve_caller(None) == "ann"
    assert load_policy(None).cadence_days["A"] == 30
    monkeypatch.setenv("CARECALL_CALLER", "bob")
    assert resolve_caller(None) == "bob"


def test_a_bad_config_file_is_one_line_exit_2(tmp_path):
    path = _config("[defaults]\ndatabase = 'x'\n")
    r = runner.invoke(app, ["queue", "--json"], env={k: v for k, v in os.environ.items()
                                                     if k != "CARECALL_DB"})
    assert r.exit_code == 2, r.output
    assert str(path) in r.output and "database" in r.output
    assert "Traceback" not in r.output
