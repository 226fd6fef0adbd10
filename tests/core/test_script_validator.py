"""The script validator: every problem names the file, the question (or rule) and what."""

from datetime import timedelta

import pytest

from calls.errors import UserError
from calls.survey.script import (
    ScriptError,
    check_script_text,
    load_script,
    parse_fill_ins,
    parse_offset,
    parse_script,
    render,
)

HEAD = """
name = "t"
version = "1"
purpose = "care"
opening = "Hello {customer.name}, this is {caller}."
closing = "Bye."
"""

NPS = """
[[questions]]
key = "nps"
type = "nps"
text = "Recommend us?"
"""


def problems(body: str, head: str = HEAD) -> list[str]:
    found, script = check_script_text(head + body, "t.toml")
    assert (script is None) == bool(found)
    return [str(p) for p in found]


def one_problem(body: str, head: str = HEAD) -> str:
    found = problems(body, head)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_script_parses():
    script = parse_script(HEAD + NPS + """
[[questions]]
key = "why"
type = "choice"
text = "Why?"
when = "nps <= 6"
options = ["late", { value = "broken", label = "It broke" }]

[[rules]]
when = 'why == "late"'
kind = "fix_problem"
due = "+1d12h"
note = "Late: {nps}"
""", "t.toml")
    assert script.keys == ("nps", "why")
    assert script.question("why").options[1].label == "It broke"
    assert script.rules[0].owner == "account_owner"          # the default owner
    assert script.rules[0].due_delta == timedelta(days=1, hours=12)
    assert len(script.hash) == 64


def test_toml_syntax_error():
    message = one_problem("[[questions]\n")
    assert message.startswith("t.toml: TOML: not valid TOML")
    assert "line" in message


def test_unknown_top_level_key():
    assert one_problem(NPS, HEAD + 'opnening = "x"\n').startswith(
        "t.toml: script: unknown key 'opnening' (did you mean 'opening'?)")


def test_missing_top_level_fields():
    found = problems(NPS, 'name = "t"\n')
    assert "t.toml: script: 'version' is missing" in found
    assert any("'purpose' is missing" in p for p in found)
    assert "t.toml: opening: 'opening' is missing" in found
    assert "t.toml: closing: 'closing' is missing" in found


def test_no_questions():
    assert one_problem("") == "t.toml: script: no questions (add [[questions]] tables)"


def test_unknown_question_key():
    message = one_problem(NPS + 'hnit = "x"\n')
    assert message.startswith("t.toml: question 'nps': unknown key 'hnit' (did you mean 'hint'?)")


def test_unknown_type():
    message = one_problem(NPS.replace('type = "nps"', 'type = "yesno"'))
    assert message.startswith("t.toml: question 'nps': unknown type 'yesno' "
                              "(did you mean 'yes_no'?)")


def test_missing_type_and_text():
    found = problems('[[questions]]\nkey = "a"\n')
    assert any("question 'a': 'type' is missing" in p for p in found)
    assert "t.toml: question 'a': 'text' is missing" in found


def test_missing_key_names_the_position():
    assert one_problem('[[questions]]\ntype = "text"\ntext = "x"\n') == (
        "t.toml: question 1: 'key' is missing")


def test_duplicate_keys():
    assert one_problem(NPS + NPS) == "t.toml: question 'nps': duplicate question key 'nps'"


def test_bad_and_reserved_keys():
    assert "lower-case" in one_problem(NPS.replace('key = "nps"', 'key = "Net Score"'))
    assert "reserved" in one_problem(NPS.replace('key = "nps"', 'key = "customer"'))


def test_choice_without_options():
    message = one_problem('[[questions]]\nkey = "why"\ntype = "choice"\ntext = "Why?"\n')
    assert message == "t.toml: question 'why': a choice question needs 'options'"


def test_choice_with_one_option_or_duplicates():
    body = '[[questions]]\nkey = "why"\ntype = "multi_choice"\ntext = "Why?"\n'
    assert "at least two options" in one_problem(body + 'options = ["a"]\n')
    assert "'a' is listed twice" in one_problem(body + 'options = ["a", "a", "b"]\n')
    assert "must not contain a comma" in one_problem(body + 'options = ["a, b", "c"]\n')


def test_options_on_a_non_choice():
    assert "'options' only apply to choice" in one_problem(NPS + 'options = ["a", "b"]\n')


def test_min_max_only_on_numbers():
    assert "'min' only applies to number" in one_problem(NPS + "min = 1\n")
    body = '[[questions]]\nkey = "n"\ntype = "number"\ntext = "How many?"\nmin = 5\nmax = 1\n'
    assert "'min' is larger than 'max'" in one_problem(body)


def test_condition_on_unknown_question():
    message = one_problem(NPS + 'when = "nsp <= 6"\n')
    assert message.startswith("t.toml: question 'nps': 'when' refers to unknown question "
                              "'nsp' (at column 1)")


def test_condition_on_a_later_question_or_itself():
    body = NPS + 'when = "later == 1"\n' + (
        '[[questions]]\nkey = "later"\ntype = "number"\ntext = "x"\n')
    assert one_problem(body) == (
        "t.toml: question 'nps': 'when' refers to 'later', which is not asked before this "
        "question (at column 1)")
    assert "refers to 'nps', which is not asked before" in one_problem(
        NPS + 'when = "nps > 1"\n')


def test_condition_syntax_error_has_the_position():
    message = one_problem(NPS + '[[questions]]\nkey = "b"\ntype = "text"\ntext = "x"\n'
                                'when = "nps <= 6 &&  x"\n')
    assert message == ("t.toml: question 'b': syntax error in 'when' at column 10: use 'and' "
                       "instead of '&&' (in 'nps <= 6 &&  x')")


def test_condition_type_checks():
    base = NPS + """
[[questions]]
key = "why"
type = "choice"
text = "Why?"
options = ["late", "broken"]

[[questions]]
key = "topics"
type = "multi_choice"
text = "Topics?"
options = ["price", "service"]

[[questions]]
key = "last"
type = "text"
text = "x"
"""
    assert "\"lat\" is not an option of 'why' (choice) (options: late, broken)" in one_problem(base + "when = 'why == \"lat\"'\n")
    assert "not an option" in one_problem(base + "when = 'why in [\"late\", \"brokn\"]'\n")
    assert "\"prise\" is not an option of 'topics'" in one_problem(
        base + "when = '\"prise\" in topics'\n")
    assert "holds several choices" in one_problem(base + "when = 'topics == \"price\"'\n")
    assert "can never equal" in one_problem(base + "when = 'nps == \"9\"'\n")
    assert "cannot order" in one_problem(base + "when = 'why < 3'\n")
    assert "unknown customer field 'customer.teir'" in one_problem(
        base + "when = 'customer.teir == \"A\"'\n")
    assert "YYYY-MM-DD" in one_problem(base + "when = 'customer.birthday < \"soon\"'\n")
    # these are fine
    for ok in ['why == "late"', '"price" in topics', "nps <= 6 and not customer.do_not_call",
               'customer.tier in ["A", "B"]', 'customer.since_x == 1'.replace(
                   "customer.since_x == 1", 'customer.extra.segment == "retail"'),
               'customer.customer_since < "2020-01-01"', 'fix.score <= 6']:
        assert problems(base + f"when = '{ok}'\n") == [], ok


def test_unknown_follow_up_kind_owner_and_offset():
    rule = NPS + '[[rules]]\nkind = "fix_problems"\n'
    assert "rule 1 (" not in one_problem(rule)  # unnamed rules are numbered
    assert one_problem(rule).startswith("t.toml: rule 1: unknown follow-up kind "
                                        "'fix_problems' (did you mean 'fix_problem'?)")
    named = NPS + '[[rules]]\nname = "det"\nkind = "fix_problem"\nowner = "acount_owner"\n'
    assert one_problem(named).startswith(
        "t.toml: rule 1 (det): unknown owner 'acount_owner' (did you mean 'account_owner'?)")
    for owner in ("caller", "account_owner", "Dana Smith", "Customer care lead", "support"):
        assert problems(NPS + f'[[rules]]\nkind = "gift"\nowner = "{owner}"\n') == []
    bad_due = NPS + '[[rules]]\nkind = "gift"\ndue = "2 days"\n'
    assert "bad due offset '2 days'" in one_problem(bad_due)
    assert "more than a year" in one_problem(NPS + '[[rules]]\nkind = "gift"\ndue = "+400d"\n')
    assert "due must be text" in one_problem(NPS + '[[rules]]\nkind = "gift"\ndue = 2\n')
    assert "'kind' is missing" in one_problem(NPS + '[[rules]]\nowner = "caller"\n')
    assert "unknown key 'wehn'" in one_problem(NPS + '[[rules]]\nkind = "gift"\nwehn = "x"\n')


def test_rule_condition_may_use_any_question_but_not_unknown_ones():
    body = NPS + '[[rules]]\nkind = "gift"\nwhen = "nps >= 9 and vip"\n'
    assert "rule 1: 'when' refers to unknown question 'vip'" in one_problem(body)


def test_fill_in_problems():
    assert one_problem(NPS, HEAD.replace("{caller}", "{calller}")).startswith(
        "t.toml: opening: 'opening': unknown fill-in {calller} (did you mean 'caller'?)")
    assert "before the questions only {caller}" in one_problem(
        NPS, HEAD.replace("{caller}", "{nps}"))
    assert "unmatched '{'" in one_problem(NPS, HEAD.replace("{caller}", "{caller"))
    assert "unknown customer field 'customer.nme'" in one_problem(
        NPS, HEAD.replace("customer.name", "customer.nme"))
    # closings and notes may use answers, and a question's text may use earlier ones
    assert problems(NPS + '[[questions]]\nkey = "b"\ntype = "text"\ntext = "You said {nps}"\n',
                    HEAD.replace('"Bye."', '"Bye, {customer.name}: {nps}"')) == []
    assert "'b', which is not asked before" in one_problem(
        NPS.replace('"Recommend us?"', '"Recommend us? {b}"')
        + '[[questions]]\nkey = "b"\ntype = "text"\ntext = "x"\n')
    assert "unknown question 'nope'" in one_problem(
        NPS + '[[rules]]\nkind = "gift"\nnote = "{nope}"\n')


def test_several_problems_are_all_reported():
    body = '[[questions]]\nkey = "a"\ntype = "nope"\ntext = "x"\n' + NPS + NPS
    found = problems(body)
    assert len(found) == 2
    error = pytest.raises(ScriptError, parse_script, HEAD + body, "t.toml").value
    assert len(error.problems) == 2
    assert str(error).endswith("(and 1 more problem: 'carecall script check t.toml' lists them)")
    assert isinstance(error, UserError)


def test_broken_question_is_not_reported_again_by_later_conditions():
    body = ('[[questions]]\nkey = "a"\ntype = "nope"\ntext = "x"\n'
            '[[questions]]\nkey = "b"\ntype = "text"\ntext = "x"\nwhen = "a == 1"\n')
    assert len(problems(body)) == 1


def test_offsets():
    assert parse_offset("+2d") == timedelta(days=2)
    assert parse_offset("+4h") == timedelta(hours=4)
    assert parse_offset("1w") == timedelta(weeks=1)
    assert parse_offset("+1d 12h") == timedelta(days=1, hours=12)
    assert parse_offset("now") == timedelta(0)
    for bad in ("", "+", "2 days", "-1d", "+1x", "+1.5d"):
        with pytest.raises(ValueError):
            parse_offset(bad)


def test_fill_ins_render_with_fallbacks_and_escapes():
    assert [f.name for f in parse_fill_ins("{a} {b.c|x} {{not}}")] == ["a", "b.c"]
    values = {"a": "A", "b.c": None}
    assert render("{a} {b.c|fallback} {{a}} {missing}", values.get) == "A fallback {a} "
    with pytest.raises(ValueError):
        parse_fill_ins("{a b}")


def test_load_script_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no script named 'nope'"):
        load_script("nope")
    with pytest.raises(UserError, match="not found"):
        load_script(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + NPS + NPS)
    with pytest.raises(ScriptError, match=r"bad\.toml: question 'nps': duplicate"):
        load_script(bad)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("name = 'caf\xe9'".encode("latin-1"))
    with pytest.raises(UserError, match="UTF-8"):
        load_script(latin)


def test_scripts_directory_overrides_shipped(tmp_path, monkeypatch):
    (tmp_path / "quarterly.toml").write_text(HEAD.replace('"t"', '"quarterly"') + NPS)
    (tmp_path / "extra.toml").write_text(HEAD.replace('"t"', '"extra"') + NPS)
    monkeypatch.setenv("CARECALL_SCRIPTS", str(tmp_path))
    assert load_script("quarterly").keys == ("nps",)
    assert load_script("extra").name == "extra"
    assert load_script("recovery").purpose == "recovery"


def test_the_example_in_the_docs_is_valid():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "scripts.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    script = parse_script(example, "docs/scripts.md")
    assert script.keys == ("nps", "improve", "area", "topics", "staff", "visit", "referral_ok")
    assert [r.kind for r in script.rules] == ["fix_problem", "referral", "thank_you_note"]


def test_a_bare_customer_field_suggests_the_dotted_name():
    assert one_problem(NPS + '[[rules]]\nkind = "gift"\nwhen = \'tier == "A"\'\n').endswith(
        "'when' refers to unknown question 'tier' (at column 1) (did you mean "
        "'customer.tier'?)")


def test_unreadable_entry_in_the_scripts_directory(tmp_path, monkeypatch):
    (tmp_path / "odd.toml").mkdir()            # a directory where a file should be
    monkeypatch.setenv("CARECALL_SCRIPTS", str(tmp_path))
    with pytest.raises(UserError, match="cannot read .*odd.toml"):
        load_script("odd")


def test_a_version_number_that_toml_would_shorten_must_be_text():
    head = HEAD.replace('version = "1"', "version = 1.10  # spring edition")
    found = problems(NPS, head)
    assert len(found) == 1 and 'write it as text: version = "1.10"' in found[0], found
    for fine in ('version = 2.5', 'version = 3', 'version = "1.10"'):
        found, script = check_script_text(HEAD.replace('version = "1"', fine) + NPS, "t.toml")
        assert not found and script is not None, fine
    assert check_script_text(HEAD.replace('version = "1"', "version = 2.5") + NPS)[1].version \
        == "2.5"


def test_a_script_is_parsed_once_until_its_file_changes(tmp_path, monkeypatch):
    """Every call loads its script by name: the parse is kept per file and made again
    when the file is edited (even to the same size and modification time), replaced, or
    hidden by a file of the same name in $CARECALL_SCRIPTS."""
    import os

    import calls.survey.script as script_module

    parsed = []
    real_parse = script_module.parse_script

    def counting_parse(text, source="<text>"):
        parsed.append(source)
        return real_parse(text, source)

    monkeypatch.setattr(script_module, "parse_script", counting_parse)
    path = tmp_path / "mine.toml"
    path.write_text(HEAD + NPS)
    first = load_script(path)
    assert load_script(path) is first and load_script(str(path)) is first
    assert first == real_parse(path.read_text(), str(path))    # as read from the file
    assert len(parsed) == 1

    # Edited to the same size, its modification time put back: read again.
    before = path.stat()
    path.write_text((HEAD + NPS).replace("Recommend us?", "Recommend me?"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert load_script(path).question("nps").text == "Recommend me?"
    # Replaced by another file (a new inode), longer.
    other = tmp_path / "other.toml"
    other.write_text((HEAD + NPS).replace("Recommend us?", "Would you recommend us?"))
    other.replace(path)
    assert load_script(path).question("nps").text == "Would you recommend us?"
    assert len(parsed) == 3

    # By name: the shipped script, then a file of that name in $CARECALL_SCRIPTS.
    assert load_script("quarterly").source == "shipped:quarterly"
    assert load_script("quarterly") is load_script("quarterly")
    (tmp_path / "quarterly.toml").write_text(HEAD.replace('"t"', '"quarterly"') + NPS)
    monkeypatch.setenv("CARECALL_SCRIPTS", str(tmp_path))
    assert load_script("quarterly").keys == ("nps",)
    # An edit that breaks it says so (nothing kept hides it), and mended it loads again.
    (tmp_path / "quarterly.toml").write_text(HEAD + NPS + NPS)
    with pytest.raises(ScriptError, match="duplicate"):
        load_script("quarterly")
    (tmp_path / "quarterly.toml").write_text(HEAD.replace('"t"', '"quarterly"') + NPS)
    assert load_script("quarterly").name == "quarterly"
