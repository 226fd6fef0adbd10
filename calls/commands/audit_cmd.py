"""carecall audit: read the audit trail (who did what and when). See docs/team.md."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.clock import parse_user_moment
from calls.commands.common import (
    DbOption,
    JsonOption,
    console,
    open_store,
    require,
    user_errors,
)


def _short(value: object) -> str:
    """A value as the table shows it: a long hash cut to 12 characters (``--json`` has it
    whole), so a row fits an 80-column terminal."""
    text = str(value)
    if len(text) > 16 and all(c in "0123456789abcdef" for c in text):
        return text[:12] + "…"
    return text


def _value_text(value: object) -> str:
    """A detail's value: a change ``[before, after]`` as ``before → after``."""
    if isinstance(value, list) and len(value) == 2:
        before, after = value
        return f"{_short(before if before not in (None, '') else '–')} → {_short(after)}"
    return _short(value)


def _details_text(details: dict) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in details.items())


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the app."""

    @app.command("audit")
    def audit(
        since: Annotated[str | None, typer.Option(
            "--since", metavar="DATE",
            help="From this day or moment on (ISO, UTC), e.g. 2026-03-10.")] = None,
        user: Annotated[str | None, typer.Option(
            "--user", metavar="NAME", help="Only what this account (or OS login) did.")] = None,
        action: Annotated[str | None, typer.Option(
            "--action", metavar="KIND",
            help="Only this kind (e.g. dnc.remove) or family (e.g. dnc; login is the "
            "family: login, login.failed, login.locked).")] = None,
        limit: Annotated[int | None, typer.Option(
            "--limit", min=1, help="Only the most recent N rows (default: all with "
            "--json, else 200).")] = None,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """Show the audit trail, oldest first: logins, do-not-call changes, follow-ups
        closed or reassigned, customer corrections, imports, exports, accounts, policy and
        script versions. Nothing can change or delete a row."""
        from calls import audit as trail

        with user_errors():
            start = parse_user_moment(since, "--since") if since else None
            kind = trail.check_action(action) if action else None
        store = open_store(db)
        require(store, "audit.read")
        shown = limit if (limit or as_json) else 200
        rows = trail.entries(store, since=start, actor=user, action=kind, limit=shown)
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
            return
        if not rows:
            console.print("No audit rows match.")
            return
        # The details go under the subject, in one wide column: in 80 columns a column
        # of their own was 12 characters wide and cut every word.
        table = Table()
        table.add_column("when (UTC)", no_wrap=True)
        table.add_column("who", no_wrap=True)
        table.add_column("action", no_wrap=True)
        table.add_column("subject · details", overflow="fold", ratio=1)
        for r in rows:
            what = escape(_short(r.subject or ""))
            if r.details:
                what += f"\n[dim]{escape(_details_text(r.details))}[/dim]"
            table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", escape(r.actor), r.action, what)
        console.print(table)
        if limit is None and len(rows) == shown:
            console.print(f"the most recent {shown} rows (--limit N, or --json for all)",
                          highlight=False, soft_wrap=True)
