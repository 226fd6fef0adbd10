"""``carecall script check / list / show / try``: validate, list, print and rehearse scripts."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.clock import from_iso, now_utc, to_iso
from calls.commands.common import (
    CallerOption,
    DbOption,
    JsonOption,
    check_at,
    console,
    err_console,
    fail,
    open_store,
    resolve_caller,
    user_errors,
)
from calls.errors import UserError
from calls.models import Customer
from calls.survey.context import occasion_context
from calls.survey.engine import AnswerError, SurveySession, answer_help
from calls.survey.script import (
    Script,
    available_scripts,
    check_script_text,
    load_script,
    read_script_source,
)
from calls.survey.types import question_type

script_app = typer.Typer(
    name="script",
    help="Survey scripts: check a TOML file, list the scripts available, show one, try one.",
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
        metavar="FILE", help="Script files (.toml), directories of them, or names of available scripts.",
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
                            "version": script.version, "languages": list(script.languages),
                            "questions": len(script.questions),
                            "rules": len(script.rules), "problems": []})
    if json_out:
        console.print_json(json.dumps(results))
    else:
        for result in results:
            if result["ok"]:
                console.print(
                    f"[green]ok[/]  {escape(result['file'])}: {escape(result['name'])} "
                    f"v{escape(str(result['version']))} ({', '.join(result['languages'])}), "
                    f"{result['questions']} question{'' if result['questions'] == 1 else 's'}, "
                    f"{result['rules']} rule{'' if result['rules'] == 1 else 's'}",
                    highlight=False, soft_wrap=True)
            else:
                for problem in result["problems"]:
                    err_console.print(f"[bold red]error:[/] {escape(problem)}", highlight=False,
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
    from calls.store import resolve_db_path

    stored = []   # no database yet (scripts are written before the first import): none stored
    if resolve_db_path(db).exists():
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
        if question_type(q.type).show_help:
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
        metavar="NAME", help="A script name (see 'script list') or a .toml file.", show_default=False)] = None,
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
            from calls.survey import stored_script

            store = open_store(db)
            try:
                script = stored_script(store, stored)
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


def _sample_customer(today: date) -> Customer:
    """A made-up customer for rehearsing a script without a database."""
    return Customer(id=0, ref="SAMPLE", name="Alex Sample", company="Sample Trading Ltd",
                    tier="A", owner="Account Owner", revenue=25000.0,
                    customer_since=today.replace(year=today.year - 6) - timedelta(days=30),
                    last_purchase=today - timedelta(days=10),
                    birthday=date(1980, today.month, min(today.day, 28)))


def _presets(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--answer {item!r}: write KEY=VALUE, e.g. --answer nps=9")
        out[key.strip()] = value
    return out


@script_app.command("try")
def try_command(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="A script name or a .toml file.", show_default=False)],
    answer: Annotated[list[str] | None, typer.Option(
        "--answer", "-a", help="KEY=VALUE: answer a question without being asked "
        "(repeat; an empty VALUE skips it).", show_default=False)] = None,
    customer_ref: Annotated[str | None, typer.Option(
        "--customer", help="Use this customer from the database (default: a made-up one).",
        show_default=False)] = None,
    fix_note: Annotated[str | None, typer.Option(
        "--fix-note", help="What was fixed, for a recovery script's {fix.note}.",
        show_default=False)] = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="The moment of the call (ISO time; default now): due times and "
        "derived customer fields.", show_default=False)] = None,
    language: Annotated[str | None, typer.Option(
        "--language", help="Read the script in this language (default: the customer's; "
        "the made-up customer speaks the script's own).", show_default=False)] = None,
    caller: CallerOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Rehearse a script: read its lines, answer its questions, see the follow-ups it makes.

    Nothing is written to the database. Questions without an --answer are asked on the
    terminal: type the answer, Enter alone to skip, '<' to go back.
    """
    with user_errors():
        script = load_script(Path(name) if name.endswith(".toml") else name)
        try:
            now = from_iso(at) if check_at(at) else now_utc()
        except ValueError:
            fail(f"--at {at!r} is not an ISO time such as 2026-03-10T15:00:00Z")
        if not 1900 <= now.year <= 9000:  # the sample customer's dates count years back
            fail(f"--at {at!r} is too far from today (give a year between 1900 and 9000)")
        if customer_ref:
            from calls.store.customers import get_customer

            store = open_store(db)
            try:
                customer = get_customer(store, customer_ref)
            finally:
                store.close()
            if customer is None:
                fail(f"no customer with ref {customer_ref!r}")
        else:
            customer = _sample_customer(now.date())
    presets = _presets(answer or [])
    context = dict(occasion_context(customer, now))
    if fix_note is not None:
        context["fix"] = {"note": fix_note}
    if language is not None and language not in script.languages:
        fail(f"--language {language!r}: {script.name} speaks "
             + ", ".join(script.languages))
    session = SurveySession(script, customer, resolve_caller(caller), context=context, now=now,
                            language=language or (None if customer_ref else script.language))
    quiet = json_out

    def say(text: str) -> None:
        if not quiet:
            console.print(text, highlight=False, soft_wrap=True)

    say(f"[bold]{escape(script.name)}[/] v{escape(script.version)} for "
        f"{escape(customer.name)} ({escape(customer.ref)})\n")
    say(f"[yellow]Say:[/] {escape(session.opening_text())}")
    consent = session.consent_text()
    if consent:
        say(f"[yellow]Say:[/] {escape(consent)}")
    stopped = False
    while (q := session.current()) is not None:
        say(f"\n[bold]{escape(q.key)}[/] ({q.type.replace('_', ' ')}"
            + ("" if q.required else ", optional") + f"): {escape(session.question_text(q.key))}")
        hint = session.hint_text(q.key)
        if hint:
            say(f"  [dim]{escape(hint)}[/]")
        say(f"  [dim]answer: {escape(answer_help(q))}[/]")
        if q.key in presets:
            raw = presets.pop(q.key)
            say(f"> {escape(raw)}")
            try:
                session.answer(q.key, raw) if raw.strip() else session.skip(q.key)
            except AnswerError as exc:
                fail(f"--answer {q.key}={raw}: {exc.reason}")
            continue
        if not quiet:
            console.print("> ", end="")
        line = sys.stdin.readline()
        if not line:
            stopped = True
            say("\n[yellow]No more answers: the call stops here (as if broken off).[/]")
            break
        text = line.rstrip("\n")
        if not sys.stdin.isatty():
            say(escape(text))  # piped answers: show them as if typed
        try:
            if text.strip() == "<":
                if session.back() is None:
                    say("  [red]already at the first question[/]")
            elif not text.strip():
                session.skip(q.key)
            else:
                session.answer(q.key, text)
        except AnswerError as exc:
            say(f"  [red]{escape(exc.reason)}[/]")
    # A call that stopped for want of an answer never reached the later presets.
    unused = "the call stopped before this question" if stopped else "not asked on this path"
    for key in presets:
        err_console.print(f"[yellow]warning:[/] --answer {escape(key)}: {unused}",
                          highlight=False)
    result = session.finish(now)
    if json_out:
        console.print_json(json.dumps({
            "script": script.name, "version": script.version, "complete": result.complete,
            "missing": list(result.missing), "answers": result.stored_answers(),
            "nps_category": result.nps_category,
            "followups": [{"kind": f.kind, "owner": f.owner, "due_at": to_iso(f.due_at),
                           "note": f.note, "rule": f.rule} for f in result.followups],
        }))
        return
    if not stopped:
        say(f"\n[yellow]Say:[/] {escape(result.closing)}")
    say("\n[bold]Answers[/]")
    for step in session.path():
        if step.state != "open":
            say(f"  {escape(step.key)}: {escape(step.display or '(skipped)')}")
    if result.missing:
        say("  [yellow]still unanswered:[/] " + ", ".join(result.missing))
    say("\n[bold]Follow-ups[/]" if result.followups else "\nNo follow-ups.")
    for f in result.followups:
        say(f"  {f.kind} for {escape(f.owner)}, due {to_iso(f.due_at)}: {escape(f.note)} "
            f"[dim]({escape(f.rule)})[/]")


def register(app: typer.Typer) -> None:
    """Add ``carecall script ...`` to the app."""
    app.add_typer(script_app, name="script")
