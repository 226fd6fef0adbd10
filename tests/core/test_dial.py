"""Dialling from the app: the command gets the E.164 number as one argument, no shell."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from calls.dial import DialSettings, dial, dial_args, parse_dial_section
from calls.errors import UserError


def fake_softphone(tmp_path, exit_code: int = 0):
    """A stand-in for linphonecsh: writes the arguments it got, one a line."""
    log = tmp_path / "dialled.txt"
    script = tmp_path / "softphone"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      f"open({str(log)!r}, 'a').write('\\n'.join(sys.argv[1:]) + '\\n')\n"
                      f"sys.stderr.write('no line registered\\n')\nsys.exit({exit_code})\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_the_command_receives_the_e164_number(tmp_path):
    script, log = fake_softphone(tmp_path)
    settings = parse_dial_section({"command": f"'{script}' dial {{e164}}"})
    result = dial(settings, "+493012345678")
    assert log.read_text().splitlines() == ["dial", "+493012345678"]
    assert result.args == (str(script), "dial", "+493012345678") and not result.running


def test_no_shell_ever_reads_the_number_or_the_words(tmp_path):
    settings = DialSettings(command="echo {e164}; touch pwned")
    assert dial_args(settings, "+12125550101") == ["echo", "+12125550101;", "touch", "pwned"]
    with pytest.raises(UserError, match="not an E.164 number"):
        dial_args(settings, "+1212$(reboot)")


def test_a_url_is_opened_with_the_number_encoded():
    args = dial_args(DialSettings(url="https://pbx.example/call?to={e164}"), "+12125550101")
    assert args[-1] == "https://pbx.example/call?to=%2B12125550101"


def test_failures_say_why(tmp_path):
    script, _ = fake_softphone(tmp_path, exit_code=3)
    with pytest.raises(UserError, match="failed \\(exit 3\\): no line registered"):
        dial(DialSettings(command=f"{script} {{e164}}"), "+12125550101")
    with pytest.raises(UserError, match="was not found"):
        dial(DialSettings(command="no-such-softphone-here {e164}"), "+12125550101")
    with pytest.raises(UserError, match="no dial command is set"):
        dial(DialSettings(), "+12125550101")


@pytest.mark.parametrize(("table", "message"), [
    ({"command": "linphonecsh dial {number}"}, "unknown placeholder {number}"),
    ({"command": "linphonecsh dial"}, "put the number in it"),
    ({"command": "x {e164}", "url": "tel:{e164}"}, "not both"),
    ({"command": "x 'unclosed {e164}"}, "No closing quotation"),
    ({"url": "pbx.example/{e164}"}, "is not a URL"),
    ({"comand": "x"}, "unknown key 'comand'"),
    ({"command": 5}, "must be text"),
])
def test_bad_dial_settings_are_named(table, message):
    with pytest.raises(UserError, match=message):
        parse_dial_section(table)


@pytest.mark.skipif(os.name == "nt", reason="POSIX shell rules")
def test_quoted_words_stay_one_argument():
    args = dial_args(DialSettings(command="'/opt/My Phone/call' --to={e164}"), "+4930123456")
    assert args == ["/opt/My Phone/call", "--to=+4930123456"]
