"""``carecall script check / list / show``: validate, list and print survey scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.commands.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_store,
    user_errors,
)
from calls.errors import UserError
from calls.survey.engine import answer_help
from calls.survey.script import (
    Script,
    available_scripts,
    check_script_text,
    load_script,
    read_script_source,
)

script_app = typer.Typer(
    name="script",
    help="Survey scripts: check a TOML file, list the scripts available, show one.",
    no_args_is_help=True,
)


def _expand(files: list[str]) -> list[str]:
    """Directories stand for the .toml files in them."""
    out: list[str] = []
    for name in files:
        path = Path(name).expanduser()
        if path.is_dir():
            found = sorted(str(p) for p in path.glob("*.toml"))
            out.extend(found or [f"{name}/*.toml"])
        else:
            out.append(name)
    return out


@script_app.command("check")
def check_command(
    files: Annotated[list[str], typer.Argument(
        help="Script files (.toml), directories of them, or names of available scripts.",
        show_default=False)],
    json_out: JsonOption = False,
) -> None:
    """Validate scripts: every problem names the file, the question and what is wrong."""
    results = []
    failed = False
    for name in _expand(files):
        try:
            text, source = read_script_source(name)
        except UserError as exc:
            results.append({"file": name, "ok": False, "problems": [str(exc)]})
            failed = True
            continue
        problems, script = check_script_text(text, source)
        if problems or script is None:
            failed = True
            results.append({"file": source, "ok": False,
                            "problems": [str(p) for p in problems]})
        else:
            results.append({"file": source, "ok": True, "name": script.name,
                            "version": script.version, "questions": len(script.questions),
                            "rules": len(script.rules), "problems": []})
    if json_out:
        console.print_json(json.dumps(results))
    else:
        for result in results:
            if result["ok"]:
                console.print(
                    f"[green]ok[/]  {result['file']}: {result['name']} v{result['version']}, "
                    f"{result['questions']} questions, {result['rules']} rules",
                    highlight=False, soft_wrap=True)
            else:
                for problem in result["problems"]:
                    err_console.print(f"[bold red]error:[/] {problem}", highlight=False,
                                      soft_wrap=True)
    if failed:
        raise typer.Exit(code=2)


@script_app.command("list")
def list_command(db: DbOption = None, json_out: JsonOption = False) -> None:
    """The scripts you can use (files) and the versions the database has stored."""
    from calls.store.scripts import list_scripts

    files = []
    for entry in available_scripts():
        try:
            script = load_script(entry.path if entry.origin != "shipped" else entry.name)
            files.append({"name": entry.name, "origin": entry.origin, "path": entry.path,
                          "version": script.version, "purpose": script.purpose,
                          "title": script.title, "questions": len(script.questions),
                          "valid": True, "problem": None})
        except UserError as exc:
            files.append({"name": entry.name, "origin": entry.origin, "path": entry.path,
                          "version": None, "purpose": None, "title": None, "questions": None,
                          "valid": False, "problem": str(exc)})
    store = open_store(db)
    try:
        stored = list_scripts(store)
    finally:
        store.close()
    if json_out:
        console.print_json(json.dumps({
            "files": files,
            "stored": [{"id": s.id, "name": s.name, "version": s.version,
                        "purpose": s.purpose, "hash": s.hash, "stored_at": s.stored_at,
                        "calls": s.calls} for s in stored],
        }))
        return
    table = Table(title="Scripts available", title_justify="left")
    for column in ("name", "version", "purpose", "questions", "title", "from"):
        table.add_column(column)
    for f in files:
        if f["valid"]:
            table.add_row(f["name"], f["version"], f["purpose"], str(f["questions"]),
                          f["title"] or "", f["origin"])
        else:
            table.add_row(f["name"], "-", "-", "-", f"[red]invalid:[/] {escape(f['problem'])}",
                          f["origin"])
    console.print(table)
    if not stored:
        console.print("No script versions stored yet (a version is stored when a call "
                      "uses it).")
        return
    table = Table(title="Stored in the database", title_justify="left")
    for column in ("id", "name", "version", "purpose", "hash", "stored at", "calls"):
        table.add_column(column)
    for s in stored:
        table.add_row(str(s.id), s.name, s.version, s.purpose or "", s.hash[:12], s.stored_at,
                      str(s.calls))
    console.print(table)


def _describe(script: Script) -> list[str]:
    e = escape
    lines = [f"[bold]{e(script.name)}[/] v{e(script.version)} ({e(script.purpose)})"
             + (f": {e(script.title)}" if script.title else ""),
             f"source: {e(script.source)}", ""]
    lines.append(f"[bold]opening:[/] {e(script.opening)}")
    if script.consent:
        lines.append(f"[bold]consent:[/] {e(script.consent)}")
    lines.append("")
    for i, q in enumerate(script.questions, 1):
        flags = [q.type.replace("_", " ")]
        if not q.required:
            flags.append("optional")
        lines.append(f"{i:>2}. [bold]{e(q.key)}[/] ({', '.join(flags)})"
                     + (f"  when {e(q.when)}" if q.when else ""))
        lines.append(f"    {e(q.text)}")
        if q.hint:
            lines.append(f"    [dim]hint: {e(q.hint)}[/]")
        if q.options or q.type in ("number", "date"):
            lines.append(f"    [dim]answer: {e(answer_help(q))}[/]")
    lines.append("")
    lines.append(f"[bold]closing:[/] {e(script.closing)}")
    if script.rules:
        lines.append("")
        lines.append("[bold]follow-up rules:[/]")
        for rule in script.rules:
            lines.append(f"  {e(rule.label)}: {rule.kind} for {e(rule.owner)}, due {e(rule.due)}"
                         + (f", when {e(rule.when)}" if rule.when else ", always"))
            if rule.note:
                lines.append(f"    [dim]note: {e(rule.note)}[/]")
    return lines


@script_app.command("show")
def show_command(
    name: Annotated[str | None, typer.Argument(
        help="A script name (see 'script list') or a .toml file.", show_default=False)] = None,
    stored: Annotated[int | None, typer.Option(
        "--stored", help="Show the stored version with this id instead (see 'script list').",
        show_default=False)] = None,
    db: DbOption = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the TOML text.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Print a script: its lines, its questions with their conditions, and its rules."""
    with user_errors():
        if stored is not None:
            from calls.store.scripts import script_from_store

            store = open_store(db)
            try:
                script = script_from_store(store, stored)
            finally:
                store.close()
            if name is not None and script.name != name:
                fail(f"stored script {stored} is '{script.name}', not '{name}'")
        elif name is None:
            fail("give a script name or file, or --stored ID")
        else:
            script = load_script(Path(name) if name.endswith(".toml") else name)
    if raw:
        typer.echo(script.text, nl=not script.text.endswith("\n"))
        return
    if json_out:
        console.print_json(json.dumps({
            "name": script.name, "version": script.version, "purpose": script.purpose,
            "title": script.title, "hash": script.hash, "source": script.source,
            "opening": script.opening, "consent": script.consent, "closing": script.closing,
            "questions": [{"key": q.key, "type": q.type, "text": q.text, "hint": q.hint,
                           "required": q.required, "when": q.when,
                           "options": [{"value": o.value, "label": o.label}
                                       for o in q.options],
                           "min": q.min, "max": q.max} for q in script.questions],
            "rules": [{"name": r.name, "kind": r.kind, "owner": r.owner, "due": r.due,
                       "when": r.when, "note": r.note} for r in script.rules],
        }))
        return
    for line in _describe(script):
        console.print(line, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``carecall script ...`` to the app."""
    app.add_typer(script_app, name="script")
