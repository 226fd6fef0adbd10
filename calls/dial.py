"""Dial a customer's number from the app: a softphone command or a click-to-call URL.

Set in the config file (``[dial]``, see docs/shift.md)::

    [dial]
    command = "linphonecsh dial {e164}"                  # a softphone's command line
    # url = "https://pbx.example.com/call?to={e164}"     # or a PBX's click-to-call page

The command is split into words once (shell rules for quotes) and the number is put into
the words: it runs as an argument list, never through a shell, so nothing in a number or
a config value is ever run as shell code. A URL is opened with the system's opener
(``xdg-open``, ``open``), the number URL-encoded in it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from urllib.parse import quote

from calls.errors import UserError
from calls.records import record

__all__ = ["DialSettings", "Dialled", "dial", "dial_args", "load_dial_settings",
           "parse_dial_section"]

# What a dial command or URL may ask for.
PLACEHOLDERS = ("e164", "digits", "national")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# How long to wait for a dial command to report a failure; a command still running by then
# (a softphone that stays in the foreground) is left to run.
_WAIT_SECONDS = 3.0


@record(frozen=True)
class DialSettings:
    """How this seat dials: a command line, a URL, or neither (dial by hand)."""

    command: str | None = None
    url: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.command or self.url)


@record(frozen=True)
class Dialled:
    """What :func:`dial` started: the words it ran and whether it is still running."""

    args: tuple[str, ...]
    running: bool


def _check_placeholders(text: str, where: str) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise UserError(f"{where}: unknown placeholder {{{name}}} (use "
                            + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ")")


def parse_dial_section(table: Mapping | None, where: str = "[dial]") -> DialSettings:
    """The ``[dial]`` table of the config file; UserError naming the key for a bad one."""
    if not table:
        return DialSettings()
    unknown = [k for k in table if k not in ("command", "url")]
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (keys: command, url)")
    command, url = table.get("command"), table.get("url")
    if command is not None and url is not None:
        raise UserError(f"{where}: give command or url, not both")
    for key, value in (("command", command), ("url", url)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where} {key}: must be text")
        _check_placeholders(value, f"{where} {key}")
    if command is not None:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise UserError(f"{where} command: {exc} in {command!r}") from None
        if not words:
            raise UserError(f"{where} command is empty")
        if not any("{" in w for w in words):
            raise UserError(f"{where} command: put the number in it, e.g. "
                            "\"linphonecsh dial {e164}\"")
    if url is not None and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        raise UserError(f"{where} url: {url!r} is not a URL (https://... or tel:...)")
    return DialSettings(command=command, url=url)


def _values(e164: str, national: str | None) -> dict[str, str]:
    if not re.fullmatch(r"\+[1-9]\d{4,14}", e164):
        raise UserError(f"{e164!r} is not an E.164 number; nothing was dialled")
    return {"e164": e164, "digits": e164[1:], "national": national or e164}


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _opener() -> list[str]:
    if sys.platform == "darwin":
        return ["open"]
    if os.name == "nt":
        return ["cmd", "/c", "start", ""]
    return ["xdg-open"]


def dial_args(settings: DialSettings, e164: str, national: str | None = None) -> list[str]:
    """The argument list :func:`dial` runs for this number."""
    values = _values(e164, national)
    if settings.command:
        return [_fill(word, values) for word in shlex.split(settings.command)]
    if settings.url:
        encoded = {k: quote(v, safe="") for k, v in values.items()}
        return [*_opener(), _fill(settings.url, encoded)]
    raise UserError("no dial command is set: add [dial] command = \"...\" to the config file")


def dial(settings: DialSettings, e164: str, national: str | None = None) -> Dialled:
    """Run the dial command (or open the click-to-call URL) for ``e164``.

    Raises :class:`UserError` with the reason when the program is missing or reports a
    failure within a few seconds; a program still running then is left to run.
    """
    args = dial_args(settings, e164, national)
    if shutil.which(args[0]) is None:
        raise UserError(f"dial: {args[0]!r} was not found (check [dial] in the config file)")
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True,
        )
    except OSError as exc:
        raise UserError(f"dial: could not run {args[0]!r}: {exc.strerror or exc}") from None
    try:
        _, err = proc.communicate(timeout=_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        return Dialled(tuple(args), running=True)
    if proc.returncode != 0:
        reason = (err or b"").decode("utf-8", "replace").strip().splitlines()
        raise UserError(f"dial: {args[0]} failed (exit {proc.returncode})"
                        + (f": {reason[0][:200]}" if reason else ""))
    return Dialled(tuple(args), running=False)



def load_dial_settings(config=None) -> DialSettings:
    """The ``[dial]`` section of the config file (``calls.config``; none: dial by hand).
    UserError naming the file for a bad file or a bad dial setting."""
    from calls.config import load_config

    config = config or load_config()
    table = {k: v for k, v in (("command", config.dial.command), ("url", config.dial.url))
             if v is not None}
    return parse_dial_section(table, f"config file {config.path}: [dial]")
