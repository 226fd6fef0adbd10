"""Rewrite the generated COMMANDS block of calls/commands/catalogue.py from the live app.

Run after adding, renaming or re-wording a command:  python scripts/update_cli_catalogue.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calls.commands import catalogue


def live_commands() -> dict[str, tuple[str, str]]:
    """Every top-level command: name -> (area module, one-line help), in --help order."""
    import typer.main

    from calls.cli import build_app

    out: dict[str, tuple[str, str]] = {}
    for area in catalogue.AREAS:
        group = typer.main.get_command(build_app((area,)))
        for name, command in group.commands.items():
            if command.hidden:
                continue
            short = command.get_short_help_str(limit=300)
            out.setdefault(name, (area, short))
    return out


def render(commands: dict[str, tuple[str, str]]) -> str:
    body = "".join(f"    {name!r}: ({area!r}, {short!r}),\n"
                   for name, (area, short) in commands.items())
    return "COMMANDS: dict[str, tuple[str, str]] = {\n" + body + "}\n"


def main() -> None:
    path = ROOT / "calls" / "commands" / "catalogue.py"
    text = path.read_text()
    start = text.index("COMMANDS: dict[str, tuple[str, str]] = {")
    end = text.index("}\n", start) + 2
    path.write_text(text[:start] + render(live_commands()) + text[end:])
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
