"""The user's config file: ``config.toml`` in the user config folder, or ``$CARECALL_CONFIG``.

One TOML file, one table per area, read with ``tomllib`` into :class:`Config`::

    [keymap]                # key bindings by binding id (docs/shift.md lists them)
    call-no-answer = "N"
    call-notes = "ctrl+t,f2"

    [ui]
    theme = "gruvbox"       # written back when the theme is changed in the app

A missing file is the defaults. A bad file is one :class:`ConfigError` (a ``UserError``:
one line, exit 2 from the CLI) naming the file and the key.

**Adding a section** (``[dial]``, ``[defaults]`` …): write a frozen dataclass whose
fields have defaults and plain types (``str``, ``int``, ``float``, ``bool``, ``X | None``,
``list[str]``, ``dict[str, str]``), and add it as a field of :class:`Config` named like
the table. Parsing, type checks, unknown keys and their messages come with it; nothing
else changes here.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from calls.errors import UserError
from calls.records import record

APP_NAME = "carecall"
ENV_VAR = "CARECALL_CONFIG"


class ConfigError(UserError):
    """The config file cannot be used; the message names the file and the key."""


@record(frozen=True)
class UiConfig:
    """``[ui]``: how the app looks."""

    theme: str | None = None  # a Textual theme name; None: Textual's default


@record(frozen=True)
class DefaultsConfig:
    """``[defaults]``: what a command uses when neither its option nor its environment
    variable says (``--db``/``CARECALL_DB``, ``--caller``/``CARECALL_CALLER``,
    ``--policy``/``CARECALL_POLICY``; ``region``: where a phone number typed without a
    country code is read first, e.g. "DE"; unset: where most customers' numbers are)."""

    db: str | None = None
    caller: str | None = None
    policy: str | None = None
    region: str | None = None


@record(frozen=True)
class DialConfig:
    """``[dial]``: how this seat dials (checked by :func:`calls.dial.parse_dial_section`)."""

    command: str | None = None  # a softphone's command line: "linphonecsh dial {e164}"
    url: str | None = None      # or a click-to-call URL, opened with the system's opener


@record(frozen=True)
class Config:
    """Everything in the config file (defaults where it says nothing)."""

    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> key(s)
    ui: UiConfig = field(default_factory=UiConfig)
    defaults: DefaultsConfig = field(default_factory=DefaultsConfig)
    dial: DialConfig = field(default_factory=DialConfig)
    path: Path | None = None  # the file it came from (None: built-in defaults only)


def config_path() -> Path:
    """Where the config file is: ``$CARECALL_CONFIG``, else the user config folder."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read the config file (``path``, else :func:`config_path`); missing: the defaults."""
    target = Path(path) if path is not None else config_path()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config(path=target)
    except IsADirectoryError:
        raise ConfigError(f"config file {target}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {target}: not UTF-8 text") from None
    except PermissionError:
        raise ConfigError(f"config file {target}: no permission to read it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {target}: not valid TOML: {exc}") from None
    return dataclasses.replace(_section(Config, data, target, ""), path=target)


def _section(cls: type, table: Mapping[str, Any], path: Path, where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking every key and type."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "path"}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{where}{key}"
        if key not in known:
            if not where:
                raise ConfigError(f"config file {path}: unknown section [{key}]"
                                  f" (known: {', '.join(sorted('[' + k + ']' for k in known))})")
            raise ConfigError(f"config file {path}: {name}: unknown setting"
                              f" (known: {', '.join(sorted(known))})")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: {key} must be a table ([{key}])")
            values[key] = _section(kind, value, path, f"[{key}] ")
        else:
            values[key] = _value(kind, value, path, name if where else f"[{key}]")
    return cls(**values)


def _value(kind: Any, value: Any, path: Path, name: str) -> Any:
    """Check one value against its field type."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        kind, origin, args = options[0], typing.get_origin(options[0]), typing.get_args(options[0])
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config file {path}: {name} must be a table")
        out = {}
        for key, item in value.items():
            if isinstance(item, dict):
                # ``a.b = "x"`` is a nested table in TOML: the key needs quotes.
                raise ConfigError(f"config file {path}: {name} {key}: a nested table; "
                                  f'write the key in quotes ("{key}.…" = …)')
            out[key] = _value(args[1], item, path, f"{name} {key}")
        return out
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config file {path}: {name} must be a list")
        return [_value(args[0], item, path, name) for item in value]
    # bool is an int in Python; TOML keeps them apart and so do we.
    ok = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))
          or (kind is float and isinstance(value, int) and not isinstance(value, bool)))
    if not ok:
        raise ConfigError(f"config file {path}: {name} must be {_KIND_NAMES.get(kind, kind)},"
                          f" not {value!r}")
    return float(value) if kind is float else value


_KIND_NAMES = {str: "text in quotes", int: "a whole number", float: "a number",
               bool: "true or false"}


def save_setting(section: str, key: str, value: str, path: str | os.PathLike | None = None
                 ) -> Path:
    """Write ``key = "value"`` into ``[section]`` of the config file, keeping the rest of
    the file (comments, other sections) as it is; creates the file when needed."""
    target = Path(path) if path is not None else config_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {target}: cannot read it: {exc}") from None
    updated = _set_in_text(text, section, key, value)
    # Checked before it replaces the file: a setting must never spoil the user's file.
    try:
        tomllib.loads(updated)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {target}: cannot write [{section}] {key}: {exc}"
                          ) from None
    from calls.outfile import open_output

    target.parent.mkdir(parents=True, exist_ok=True)
    with open_output(target) as out:
        out.write(updated)
    return target


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _set_in_text(text: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key`` in ``[section]`` set to ``value`` (a TOML string)."""
    lines = text.splitlines()
    line = f"{key} = {_quoted(value)}"
    setting = re.compile(rf"^\s*{re.escape(key)}\s*=")
    start = next((i for i, ln in enumerate(lines)
                  if (m := _HEADER.match(ln)) and m.group(1) == section), None)
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{section}]", line]
        return "\n".join(lines) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    for i in range(start + 1, end):
        if setting.match(lines[i]):
            lines[i] = line
            return "\n".join(lines) + "\n"
    insert = end
    while insert > start + 1 and not lines[insert - 1].strip():
        insert -= 1  # keep the blank lines between sections after the new setting
    lines.insert(insert, line)
    return "\n".join(lines) + "\n"


def default_setting(name: str) -> str | None:
    """``[defaults] name`` from the config file, or None (no file, or not set there)."""
    value = getattr(load_config().defaults, name)
    return value.strip() or None if isinstance(value, str) else None
