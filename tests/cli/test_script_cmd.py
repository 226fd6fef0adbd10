"""``carecall script check / list / show`` through the real CLI."""

import json

from typer.testing import CliRunner

from calls.cli import app
from calls.store import Store
from calls.store.scripts import store_script
from calls.survey import load_script

runner = CliRunner()

GOOD = """
name = "mine"
version = "3"
purpose = "care"
opening = "Hello {customer.name}, this is {caller}."
closing = "Bye."

[[questions]]
key = "nps"
type = "nps"
text = "Recommend us?"

[[questions]]
key = "why"
type = "choice"
text = "Why? [pick one]"
when = 'nps <= 6'
options = ["late", "broken"]

[[rules]]
when = 'why in ["late"]'
kind = "fix_problem"
"""


def test_check_a_good_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    result = runner.invoke(app, ["script", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ok  {path}: mine v3 (en), 2 questions, 1 rule\n" in result.output   # not "1 rules"


def test_check_reports_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("nps <= 6", "nps <= 6 &&").replace('"choice"', '"choise"')
                   + '[[rules]]\nkind = "gift"\ndue = "soon"\n')
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    result = runner.invoke(app, ["script", "check", str(good), str(bad),
                                 str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert f"ok  {good}" in result.stdout
    err = result.stderr
    assert f"{bad}: question 'why': unknown type 'choise'" in err
    assert f"{bad}: question 'why': syntax error in 'when' at column 10" in err
    assert f"{bad}: rule 2: bad due offset 'soon'" in err
    assert "none.toml not found" in err
    assert "Traceback" not in result.output


def test_check_json(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('key = "why"', 'key = "nps"'))
    result = runner.invoke(app, ["script", "check", "--json", "quarterly", str(bad)])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data[0]["ok"] and data[0]["questions"] == 13
    assert data[1]["problems"] == [
        f"{bad}: question 'nps': duplicate question key 'nps'",
        f"{bad}: rule 1: 'when' refers to unknown question 'why' (at column 1)"]


def test_list_shows_files_and_stored_versions(db_path, now):
    with Store.open(db_path) as store:
        store_script(store, load_script("quarterly"), now, by="test")
    result = runner.invoke(app, ["script", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["name"] for f in data["files"]] == ["occasion", "quarterly", "recovery",
                                                 "thank_you"]
    assert all(f["origin"] == "shipped" and f["valid"] for f in data["files"])
    assert [(s["name"], s["version"], s["calls"]) for s in data["stored"]] == [
        ("quarterly", "4", 0)]
    text = runner.invoke(app, ["script", "list"])
    assert text.exit_code == 0
    assert "Quarterly care call" in text.stdout and "Stored in the database" in text.stdout


def test_list_includes_a_scripts_directory_and_flags_invalid_files(db_path, tmp_path,
                                                                   monkeypatch):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "mine.toml").write_text(GOOD)
    (folder / "broken.toml").write_text("name = ")
    monkeypatch.setenv("CARECALL_SCRIPTS", str(folder))
    data = json.loads(runner.invoke(app, ["script", "list", "--json"]).stdout)
    files = {f["name"]: f for f in data["files"]}
    assert files["mine"]["origin"] == str(folder) and files["mine"]["valid"]
    assert not files["broken"]["valid"] and "not valid TOML" in files["broken"]["problem"]
    assert "No script versions stored yet" in runner.invoke(app, ["script", "list"]).stdout


def test_show_a_shipped_script():
    result = runner.invoke(app, ["script", "show", "quarterly"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "quarterly v4 (care): Quarterly care call" in out
    assert "improve (text)  when nps <= 8" in out
    assert "rule 1 (detractor): fix_problem for account_owner, due +2d, when nps <= 6" in out


def test_show_a_file_keeps_brackets_and_prints_json_and_raw(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    out = runner.invoke(app, ["script", "show", str(path)]).stdout
    assert "Why? [pick one]" in out and 'when why in ["late"]' in out
    data = json.loads(runner.invoke(app, ["script", "show", str(path), "--json"]).stdout)
    assert data["questions"][1]["options"] == [{"value": "late", "label": "late"},
                                               {"value": "broken", "label": "broken"}]
    assert data["rules"][0]["owner"] == "account_owner"
    assert runner.invoke(app, ["script", "show", str(path), "--raw"]).stdout == GOOD


def test_show_a_stored_version(db_path, now):
    with Store.open(db_path) as store:
        script_id = store_script(store, load_script("recovery"), now, by="test")
    result = runner.invoke(app, ["script", "show", "--stored", str(script_id)])
    assert result.exit_code == 0, result.output
    assert "recovery v4" in result.stdout
    missing = runner.invoke(app, ["script", "show", "--stored", "42"])
    assert missing.exit_code == 2 and "no stored script with id 42" in missing.stderr


def test_show_errors_exit_2():
    result = runner.invoke(app, ["script", "show", "nope"])
    assert result.exit_code == 2
    assert "no script named 'nope'" in result.stderr
    assert runner.invoke(app, ["script", "show"]).exit_code == 2


def test_check_a_directory(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD.replace('kind = "fix_problem"', 'kind = "fix"'))
    result = runner.invoke(app, ["script", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert f"ok  {tmp_path / 'a.toml'}" in result.stdout
    assert f"{tmp_path / 'b.toml'}: rule 1: unknown follow-up kind 'fix'" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["script", "check", str(empty)])
    assert result.exit_code == 2 and "not found" in result.stderr


# -- script try ---------------------------------------------------------------------------


def test_try_with_answers_on_the_command_line():
    result = runner.invoke(app, [
        "script", "try", "quarterly", "--at", "2026-03-10T15:00:00Z", "--caller", "Sam",
        "--json", "-a", "nps=3", "-a", "going_well=", "-a", "improve=too slow",
        "-a", "problem_area=delivery", "-a", "last_order_csat=2", "-a", "contact_ok=y",
        "-a", "need=n", "-a", "send_info=n", "-a", "anything_else=",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["complete"] and data["nps_category"] == "detractor"
    assert data["answers"]["going_well"] is None
    assert data["followups"] == [{
        "kind": "fix_problem", "owner": "Account Owner", "due_at": "2026-03-12T15:00:00Z",
        "note": "Detractor (NPS 3), Delivery / lead times: too slow. May contact: yes.",
        "rule": "rule 1 (detractor)"}]


def test_try_reads_answers_from_stdin_with_back_and_refusals():
    result = runner.invoke(
        app, ["script", "try", "occasion", "--at", "2026-03-10T15:00:00Z", "--caller", "Sam"],
        input="11\n2\n<\n10\ny\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "11 is out of range" in out
    assert "What should we do better?" in out        # 2 is a detractor...
    assert "nps: 10" in out and "improve" not in out.split("Answers")[1]   # ...until changed
    assert "thank_you_note for Sam" in out and "gift for Account Owner" in out


def test_try_stops_when_input_ends_and_shows_what_is_missing():
    result = runner.invoke(app, ["script", "try", "recovery", "--fix-note", "new parts"],
                           input="y\n")
    assert result.exit_code == 0, result.output
    assert "what we have done about it: new parts." in result.stdout
    assert "call stops here" in result.stdout
    assert "still unanswered: nps" in result.stdout


def test_try_refuses_a_bad_preset_and_a_bad_customer(store):
    bad = runner.invoke(app, ["script", "try", "quarterly", "-a", "nps=11"])
    assert bad.exit_code == 2 and "--answer nps=11: 11 is out of range" in bad.stderr
    form = runner.invoke(app, ["script", "try", "quarterly", "-a", "nps"])
    assert form.exit_code == 2 and "write KEY=VALUE" in form.stderr
    nobody = runner.invoke(app, ["script", "try", "quarterly", "--customer", "X9"], input="")
    assert nobody.exit_code == 2 and "no customer with ref 'X9'" in nobody.stderr
    when = runner.invoke(app, ["script", "try", "quarterly", "--at", "soon"])
    assert when.exit_code == 2 and "not an ISO time" in when.stderr


def test_try_with_a_customer_from_the_database(store, now):
    stamp = "2026-01-01T00:00:00Z"
    with store.write() as db:
        db.execute("INSERT INTO customers (ref, name, owner, tier, customer_since, "
                   "created_at, updated_at) VALUES ('C7', 'Grace Hopper', 'Dana', 'A', "
                   "'2010-03-12', ?, ?)", (stamp, stamp))
    result = runner.invoke(app, ["script", "try", "occasion", "--customer", "C7", "--at",
                                 "2026-03-10T15:00:00Z", "-a", "nps=9", "-a", "card_ok=y"])
    assert result.exit_code == 0, result.output
    assert "Hello Grace, this is" in result.stdout
    assert "because your 16th anniversary with us is coming up" in result.stdout
    assert "gift for Dana" in result.stdout
    assert "warning" not in result.stderr


def test_try_presets_past_a_stopped_call_say_why_they_were_not_used():
    result = runner.invoke(app, ["script", "try", "quarterly", "-a", "nps=3",
                                 "-a", "improve=too slow", "-a", "nosuch=1"], input="")
    assert result.exit_code == 0, result.output
    assert "--answer improve: the call stopped before this question" in result.stderr
    assert "not asked on this path" not in result.stderr


def test_check_prints_problems_with_brackets_as_written(tmp_path):
    f = tmp_path / "empty[1].toml"
    f.write_text('name = "t"\nversion = 1\npurpose = "care"\nopening = "Hi"\nclosing = "Bye"\n',
                 encoding="utf-8")
    result = runner.invoke(app, ["script", "check", str(f)])
    assert result.exit_code == 2
    assert "empty[1].toml" in result.stderr and "add [[questions]] tables" in result.stderr


def test_far_moments_huge_ids_and_long_conditions_are_one_short_line(store, tmp_path):
    """Regression: --stored 10**22 and try --at year 1 were tracebacks; a 10,000-character
    condition was echoed whole."""
    stored = runner.invoke(app, ["script", "show", "--stored", "9" * 25])
    assert stored.exit_code == 2 and "no stored script" in stored.stderr
    early = runner.invoke(app, ["script", "try", "quarterly", "--at", "0001-01-01T00:00Z",
                                "-a", "nps=9"], input="")
    assert early.exit_code == 2 and "too far" in early.stderr
    f = tmp_path / "long.toml"
    long_when = "(" * 3000 + "nps" + ")" * 3000
    f.write_text('name = "t"\nversion = 1\npurpose = "care"\nopening = "Hi"\nclosing = "Bye"\n'
                 '[[questions]]\nkey = "nps"\ntype = "nps"\ntext = "x"\n'
                 f'[[questions]]\nkey = "q"\ntype = "text"\ntext = "y"\nwhen = "{long_when}"\n',
                 encoding="utf-8")
    checked = runner.invoke(app, ["script", "check", str(f)])
    assert checked.exit_code == 2 and "longer than 2000 characters" in checked.stderr
    assert len(checked.stderr) < 400
