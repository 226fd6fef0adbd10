"""``carecall followups`` (list, add, done, cancel, reschedule) and ``carecall plan``."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from calls import followups as fu
from calls.clock import UTC, now_utc, to_iso
from calls.commands import common
from calls.errors import UserError
from calls.models import FOLLOWUP_KINDS
from calls.outfile import open_output
from calls.policy import load_policy
from calls.sheets import safe_rows, write_csv
from calls.store import followups as q

Kind = common.choices("Kind", FOLLOWUP_KINDS)
Status = common.choices("Status", ("open", "done", "cancelled", "all"))
ListFormat = common.choices("ListFormat", ("table", "csv", "json", "html", "ics"))

# Rows a table shows unless --limit says otherwise.
TABLE_ROWS = 100

followups_app = typer.Typer(
    help="Follow-ups: callbacks, fixes, notes, gifts, referrals; list, add, close.",
    invoke_without_command=True,
    no_args_is_help=False,
)

AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Act as if it were this time (ISO time or date), e.g. for tests."),
]
NoteOption = Annotated[str | None, typer.Option("--note", help="A note.")]


def _local_zone():
    return datetime.now().astimezone().tzinfo


def _now(at: str | None) -> datetime:
    if not common.check_at(at):
        return now_utc()
    with common.user_errors():
        return fu.parse_when(at, now_utc(), _local_zone())


def _when(moment: datetime | None) -> str:
    """A moment for people: local time of this terminal."""
    if moment is None:
        return "-"
    return moment.astimezone(_local_zone()).strftime("%Y-%m-%d %H:%M")


@followups_app.callback()
def followups_list(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's.")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only the caller's own.")] = False,
    kind: Annotated[
        Kind | None,
        typer.Option("--kind", help="Only this kind.", case_sensitive=False),
    ] = None,
    due: Annotated[bool, typer.Option("--due", help="Only those due by the end of today.")] = False,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only those past their due time.")
    ] = False,
    status: Annotated[
        Status, typer.Option("--status", help="Which follow-ups.", case_sensitive=False)
    ] = Status.open,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Only this customer (ref).")
    ] = None,
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="table, csv (mail merge), json, html "
                                 "(letters ready to print, one page per customer) or ics "
                                 "(a calendar: one event per due time).",
                                 case_sensitive=False)
    ] = ListFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write to this file (created owner-only)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=1, help="At most this many (default: 100 in a table, all in csv/json)."
        ),
    ] = None,
    excel: Annotated[
        bool, typer.Option("--excel", help="csv for Excel: starts with a UTF-8 byte order mark.")
    ] = False,
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """List open follow-ups, due first (or run a subcommand: add, done, cancel, reschedule)."""
    if ctx.invoked_subcommand is not None:
        return
    if owner and mine:
        common.fail("use --owner NAME or --mine, not both")
    if due and overdue:
        common.fail("use --due or --overdue, not both")
    if json_out and fmt.lower() not in ("table", "json"):
        common.fail(f"use --json or --format {fmt}, not both")
    fmt = "json" if json_out else fmt.lower()
    if fmt not in ("table", "csv", "json", "html", "ics"):
        common.fail(f"unknown format {fmt!r}; use table, csv, json, html or ics")
    if output is not None and fmt == "table":
        fmt = "csv"
    now = _now(at)
    store = common.open_store(db)
    who = _owner_shown(store, owner, mine, caller)
    with common.user_errors():
        customer_id = None
        if customer:
            row = q.customer_row_by_ref(store, customer)
            if row is None:
                raise UserError(f"no customer with ref {customer!r}")
            customer_id = row["id"]
        if overdue:
            _list_overdue(store, now, who, kind, customer_id, fmt, output, limit)
            return
        due_before = None
        if due:
            local_end = datetime.combine(now.astimezone(_local_zone()).date(), time(23, 59, 59))
            due_before = local_end.replace(tzinfo=_local_zone()).astimezone(UTC)
        # A table is read by a person: 100 rows unless asked; files get everything.
        wanted = limit if limit is not None else (TABLE_ROWS if fmt == "table" else None)
        rows = fu.list_followups(
            store,
            owner=who,
            kind=kind,
            status=None if status == "all" else status,
            due_before=due_before,
            customer_id=customer_id,
            limit=wanted + 1 if wanted is not None else None,
        )
        more = wanted is not None and len(rows) > wanted
        rows = rows[:wanted] if wanted is not None else rows
        if fmt == "json":
            text = json.dumps([f.to_dict() for f in rows], indent=2, ensure_ascii=False)
            _emit(text + "\n", output)
            _exported(store, output, fmt, len(rows), now)
            return
        if fmt == "ics":
            from calls.agenda import followups_ics

            _emit(followups_ics(store, rows, now), output)
            _exported(store, output, fmt, len(rows), now)
            if output is not None:
                dated = sum(1 for f in rows if f.due_at is not None)
                common.err_console.print(f"Wrote {_count(dated, 'event')} to {output}",
                                         markup=False, highlight=False)
            return
        if fmt == "html":
            from calls.letters import render_letters

            _emit(render_letters(store, rows, load_policy(None), now), output)
            _exported(store, output, fmt, len(rows), now)
            if output is not None:
                common.err_console.print(f"Wrote {_count(len(rows), 'letter')} to {output}",
                                         markup=False, highlight=False)
            return
        if fmt == "csv":
            headers, table = fu.mail_merge(store, rows)
            buffer = io.StringIO()
            write_csv(buffer, headers, safe_rows(table), excel=excel)
            _emit(buffer.getvalue(), output)
            _exported(store, output, fmt, len(table), now)
            if output is not None:
                common.err_console.print(f"Wrote {_count(len(table), 'follow-up')} to {output}", markup=False,
                                         highlight=False)
            return
    _print_table(rows, now, title=_title(who, kind, due, overdue, status))
    if more:
        common.console.print(
            "… and more: --limit N shows more, --format csv -o FILE writes them all.",
            highlight=False,
        )


def _owner_shown(store, owner: str | None, mine: bool, caller: str | None) -> str | None:
    """Whose follow-ups a list shows: a caller sees only their own, supervisors anyone's."""
    from calls.accounts import can, require_owner

    if mine:
        return common.caller_for(store, caller)
    actor = common.cli_actor(store)
    if actor.solo or can(actor, "followups.team"):
        return owner
    with common.user_errors():
        require_owner(actor, owner or actor.name)
    return actor.name


def _list_overdue(store, now: datetime, owner: str | None, kind: str | None,
                  customer_id: int | None, fmt: str, output: Path | None,
                  limit: int | None) -> None:
    """``followups --overdue``: escalate what is past a deadline, then list every open
    follow-up past its due time or a deadline, saying whether and when it was escalated."""
    from calls import deadlines as dl

    policy = load_policy(None)
    dl.escalate_overdue(store, now, policy)
    items = dl.overdue_followups(store, now, policy, owner=owner, kind=kind,
                                 customer_id=customer_id)
    wanted = limit if limit is not None else (TABLE_ROWS if fmt == "table" else None)
    more = wanted is not None and len(items) > wanted
    items = items[:wanted] if wanted is not None else items
    if fmt == "json":
        _emit(json.dumps([i.to_dict() for i in items], indent=2, ensure_ascii=False) + "\n",
              output)
        return
    if fmt in ("csv", "html", "ics"):
        raise UserError("--overdue lists in a table or --json; write letters, a mail "
                        "merge or a calendar with --kind and --format csv/html/ics")
    title = _title(owner, kind, False, True, "open")
    if not items:
        common.console.print(f"No {title}.", markup=False, highlight=False)
        return
    table = Table(title=escape(f"{len(items)} × {title}"), title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Customer", no_wrap=True, overflow="ellipsis", max_width=14)
    table.add_column("Owner", no_wrap=True, overflow="ellipsis", max_width=9)
    table.add_column("Late for", no_wrap=True)
    table.add_column("Waited", no_wrap=True, justify="right")
    table.add_column("Escalated", no_wrap=True)
    targets: set[str] = set()
    for item in items:
        f = item.followup
        first = min(item.missed, key=lambda d: d.at) if item.missed else None
        if first is not None:
            late = f"{_SHORT[first.name]} {_short(first.at, now)}"
        else:
            late = f"due {_short(f.due_at, now)}" if f.due_at is not None else ""
        if item.escalations:
            last = item.escalations[-1]
            targets.add(last.escalated_to)
            escalated = _short(last.escalated_at, now, time=True)
            if len(item.escalations) > 1:
                escalated += f" {len(item.escalations)}×"
        else:
            escalated = "no"
        table.add_row(str(f.id), f.kind, escape(f.customer_name or f.customer_ref),
                      escape(f.owner or "anyone"), late, _waited(now - f.created_at),
                      escalated)
    table.caption = (
        "Late for: the first deadline missed (contact = first contact); Waited: since it "
        "was opened; Escalated: when (2×: first contact and close), to "
        + (", ".join(sorted(targets)) if targets else "the supervisors")
        + ". --json has every deadline and escalation.")
    table.caption_justify = "left"
    common.console.print(table)
    if more:
        common.console.print("… and more: --limit N shows more, --json gives them all.",
                             highlight=False)


_SHORT = {"first_contact": "contact", "close": "close"}


def _short(moment: datetime, now: datetime, time: bool = False) -> str:
    """A moment in few letters: "15:00" today, else "Mar 12" ("Mar 12 15:00" with
    ``time``), "2025-03-12" in another year."""
    local = moment.astimezone(_local_zone())
    if local.date() == now.astimezone(_local_zone()).date():
        return local.strftime("%H:%M")
    if local.year != now.astimezone(_local_zone()).year:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%b %d %H:%M" if time else "%b %d")


def _waited(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return f"{hours // 24} d"
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


def _exported(store, output: Path | None, fmt: str, rows: int, now: datetime) -> None:
    """A follow-up list written to a file is an export: an audit row (what, rows, where)."""
    if output is None:
        return
    from calls import audit

    audit.record(store, common.cli_actor(store).name, "export", "followups",
                 {"rows": rows, "to": common.output_where(output), "format": fmt}, now=now)


def _emit(text: str, output: Path | None) -> None:
    with common.user_errors(), open_output(output, label="-o") as fh:
        fh.write(text)


def _title(owner, kind, due, overdue, status) -> str:
    parts = ["follow-ups" if status == "all" else f"{status} follow-ups"]
    if kind:
        parts.insert(0, kind)
    if owner:
        parts.append(f"for {owner}")
    if due:
        parts.append("due today")
    if overdue:
        parts.append("overdue")
    return " ".join(parts)


def _print_table(rows: list[fu.Followup], now: datetime, title: str) -> None:
    if not rows:
        common.console.print(f"No {title}.", markup=False, highlight=False)
        return
    # Names, owners and notes are typed by people: "[urgent]" must print as written.
    table = Table(title=escape(f"{len(rows)} × {title}"), title_justify="left")
    show_status = any(f.status != "open" for f in rows)
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Customer", max_width=24)
    table.add_column("Owner", max_width=12)
    table.add_column("Due", no_wrap=True)
    if show_status:
        table.add_column("Status", no_wrap=True)
    table.add_column("Details", overflow="fold", ratio=1)
    for f in rows:
        due_text = _when(f.due_at)
        if f.is_overdue(now):
            due_text = f"[red]{due_text}![/]"
        first = f.details.splitlines()[0] if f.details else ""
        more = len(f.details.splitlines()) - 1
        if more > 0:
            first += f" (+{more} more)"
        cells = [
            str(f.id),
            f.kind,
            escape(f"{f.customer_ref} {f.customer_name}"),
            escape(f.owner or "anyone"),
            due_text,
        ]
        if show_status:
            cells.append(f.status)
        cells.append(escape(first))
        table.add_row(*cells)
    if any(f.is_overdue(now) for f in rows):
        table.caption = "! overdue"
    common.console.print(table)


def _print_one(f: fu.Followup) -> None:
    owner = f.owner or "anyone"
    due = _when(f.due_at)
    common.console.print(
        f"#{f.id} {f.kind} for {f.customer_ref} {f.customer_name}: owner {owner}, "
        f"due {due}, {f.status}",
        highlight=False,
        markup=False,
    )


@followups_app.command("add")
def followups_add(
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer's ref.")],
    kind: Annotated[str, typer.Argument(
        metavar="KIND", help=f"One of: {', '.join(FOLLOWUP_KINDS)}.")],
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="A caller, a team, 'account_owner' or 'anyone' (default: you).",
        ),
    ] = None,
    due: Annotated[
        str | None,
        typer.Option("--due", help="+2d, +4h, tomorrow, 2026-03-15 or an ISO time."),
    ] = None,
    note: NoteOption = None,
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Add a follow-up for a customer (joins an open one of the same kind)."""
    now = _now(at)
    store = common.open_store(db)
    me = common.caller_for(store, caller)
    with common.user_errors():
        kind = fu.check_kind(kind)
        customer = q.customer_row_by_ref(store, ref)
        if customer is None:
            raise UserError(f"no customer with ref {ref!r}")
        due_at = fu.parse_when(due, now, _local_zone()) if due else None
        if owner is None:
            who = me
        elif owner.strip().lower() == "anyone":
            who = None
        else:
            who = fu.resolve_owner(owner, customer, me)
        before = {f.id for f in fu.list_followups(store, kind=kind, customer_id=customer["id"])}
        f = fu.add_followup(
            store,
            kind=kind,
            customer_id=customer["id"],
            owner=who,
            due_at=due_at,
            details=note,
            now=now,
            created_by=me,
            source="hand",
        )
    if json_out:
        typer.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        return
    if f.id in before:
        common.console.print(f"Added to the open follow-up #{f.id} (no duplicate made).")
    else:
        common.console.print(f"Added follow-up #{f.id}.")
    _print_one(f)


@followups_app.command("done")
def followups_done(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    note: NoteOption = None,
    theme: Annotated[
        list[str] | None,
        typer.Option("--theme", help="A fix's theme (repeatable; confirms them instead of "
                     "the ones suggested from the notes).", show_default=False),
    ] = None,
    root_cause: Annotated[
        bool, typer.Option("--root-cause", help="The fix removed the cause for everyone, "
                           "not only this customer's problem.")
    ] = False,
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Mark a follow-up done (for fix_problem, say what was done: it schedules the recovery call)."""
    now = _now(at)
    store = common.open_store(db)
    me = common.caller_for(store, caller)
    actor = common.cli_actor(store)
    with common.user_errors():
        policy = load_policy(None)
        if theme or root_cause:
            from calls.themes import check_themes

            # Checked before closing: a typo must not leave the fix closed untagged.
            check_themes(theme or [], policy.themes)
            if fu.get_followup(store, followup_id).kind != "fix_problem":
                raise UserError("--theme and --root-cause are for closing a fix_problem")
        f = fu.close_followup(store, followup_id, by=me, note=note, now=now, policy=policy,
                              actor=actor)
        recovery = fu.recovery_for(store, f.id) if f.kind == "fix_problem" else None
        tagged = None
        if f.kind == "fix_problem":
            from calls.themes import tag_followup

            tagged = tag_followup(store, f.id, now, me, chosen=theme if (theme or root_cause)
                                  else None, root_cause=root_cause, policy=policy)
    if json_out:
        out: dict[str, Any] = f.to_dict()
        out["recovery_call"] = recovery.to_dict() if recovery else None
        out["themes"] = tagged.to_dict() if tagged else None
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    common.console.print(f"Closed #{f.id} {f.kind} for {f.customer_ref} {f.customer_name}.",
                         markup=False, highlight=False)
    if tagged is not None:
        how = "confirmed" if tagged.confirmed is not None else "suggested (confirm with --theme)"
        common.console.print(
            f"Themes {how}: {', '.join(tagged.themes) or 'none'}"
            + ("; root cause fixed" if tagged.root_cause else ""), markup=False, highlight=False)
    if recovery is not None:
        common.console.print(
            f"Recovery call #{recovery.id} is in the queue, due {_when(recovery.due_at)}."
        )
    elif f.kind == "fix_problem":
        common.console.print("No recovery call: the customer is on the do-not-call list.")


@followups_app.command("cancel")
def followups_cancel(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    note: NoteOption = None,
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Cancel a follow-up that will not be done (say why with --note)."""
    now = _now(at)
    store = common.open_store(db)
    me = common.caller_for(store, caller)
    actor = common.cli_actor(store)
    with common.user_errors():
        f = fu.cancel_followup(store, followup_id, by=me, note=note, now=now, actor=actor)
    if json_out:
        typer.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        return
    common.console.print(f"Cancelled #{f.id} {f.kind} for {f.customer_ref} {f.customer_name}.",
                         markup=False, highlight=False)


@followups_app.command("reschedule")
def followups_reschedule(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    when: Annotated[str, typer.Argument(
        metavar="WHEN", help="+2d, +4h, tomorrow, 2026-03-15 or an ISO time.")],
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Move a follow-up's due time."""
    now = _now(at)
    store = common.open_store(db)
    me = common.caller_for(store, caller)
    actor = common.cli_actor(store)
    with common.user_errors():
        due_at = fu.parse_when(when, now, _local_zone())
        f = fu.reschedule_followup(store, followup_id, due_at, me, now, actor=actor)
    if json_out:
        typer.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        return
    common.console.print(f"Follow-up #{f.id} is now due {_when(f.due_at)}.")


@followups_app.command("reassign")
def followups_reassign(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    to: Annotated[str, typer.Option(
        "--to", metavar="NAME", help="The new owner's account name, or 'anyone'.")],
    json_out: common.JsonOption = False,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Give a follow-up to another owner (supervisors and admins)."""
    now = _now(at)
    store = common.open_store(db)
    actor = common.cli_actor(store)
    owner = None if to.strip().lower() == "anyone" else to
    with common.user_errors():
        f = fu.reassign_followup(store, followup_id, owner, by=actor.name, now=now, actor=actor)
    if json_out:
        typer.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        return
    common.console.print(f"Follow-up #{f.id} is now {f.owner or 'anyone'}'s.", markup=False,
                         highlight=False)


@followups_app.command("contacted")
def followups_contacted(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    note: NoteOption = None,
    json_out: common.JsonOption = False,
    caller: common.CallerOption = None,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Record that you contacted the customer about it (a fix's first contact: 48 hours)."""
    now = _now(at)
    store = common.open_store(db)
    me = common.caller_for(store, caller)
    actor = common.cli_actor(store)
    with common.user_errors():
        f = fu.record_contact(store, followup_id, by=me, note=note, now=now, actor=actor)
    if json_out:
        typer.echo(json.dumps(f.to_dict(), ensure_ascii=False))
        return
    common.console.print(
        f"#{f.id} {f.kind} for {f.customer_ref} {f.customer_name}: first contact "
        f"{_when(f.first_contact_at)} by {f.first_contact_by}.", markup=False, highlight=False)


@followups_app.command("history")
def followups_history(
    followup_id: Annotated[int, typer.Argument(metavar="ID", help="The follow-up's id.")],
    json_out: common.JsonOption = False,
    at: AtOption = None,
    db: common.DbOption = None,
) -> None:
    """Each status a follow-up has been in, for how long, and its escalations."""
    from calls import deadlines as dl

    now = _now(at)
    store = common.open_store(db)
    with common.user_errors():
        f = fu.get_followup(store, followup_id)
        spells = dl.status_history(store, f.id)
        escalations = dl.escalations_by_followup(store, [f.id]).get(f.id, [])
    if json_out:
        typer.echo(json.dumps({
            "followup": f.to_dict(),
            "history": [{"status": s.status, "since": to_iso(s.since),
                         "until": to_iso(s.until) if s.until else None, "by": s.by,
                         "hours": round(s.duration(now).total_seconds() / 3600, 1)}
                        for s in spells],
            "escalations": [e.to_dict() for e in escalations],
        }, ensure_ascii=False))
        return
    _print_one(f)
    table = Table(box=None, show_header=True)
    for col in ("status", "since", "for", "by"):
        table.add_column(col)
    for spell in spells:
        closed = spell.status in ("done", "cancelled")
        table.add_row(spell.status, _when(spell.since),
                      "" if closed else _waited(spell.duration(now))
                      + ("" if spell.until else " so far"), escape(spell.by or ""))
    common.console.print(table)
    for e in escalations:
        common.console.print(
            f"Escalated to {e.escalated_to} {_when(e.escalated_at)}: "
            f"{dl.DEADLINE_LABEL[e.deadline]} was due {_when(e.deadline_at)}; "
            f"the customer had waited {_waited(e.waited)}.", markup=False, highlight=False)


def plan_command(
    at: Annotated[
        str | None,
        typer.Option("--at", help="Plan as of this date or ISO time (default: now)."),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Care policy TOML (default: $CARECALL_POLICY)."),
    ] = None,
    json_out: common.JsonOption = False,
    db: common.DbOption = None,
) -> None:
    """Plan calendar follow-ups: notes/gifts before birthdays and anniversaries, letters
    to unreached customers. Safe to run again: nothing is planned twice."""
    from calls.planner import plan

    if common.check_at(at) and len(at.strip()) == 10:
        try:
            day = date.fromisoformat(at.strip())
        except ValueError:
            common.fail(f"cannot read the date {at!r}; use YYYY-MM-DD or an ISO time")
        if not 1900 <= day.year <= 9000:  # the plan's window would overflow the calendar
            common.fail(f"the date {at!r} is too far from today (give a year between 1900 "
                        "and 9000)")
        now = datetime.combine(day, time(9, 0), tzinfo=_local_zone()).astimezone(UTC)
    else:
        now = _now(at)
    store = common.open_store(db)
    with common.user_errors():
        policy = load_policy(policy_file)
        result = plan(store, now, policy)
        from calls.deadlines import escalate_overdue

        escalated = escalate_overdue(store, now, policy)
    if json_out:
        data = result.to_dict()
        data["escalated"] = [{"followup_id": e.followup_id, **e.to_dict()} for e in escalated]
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    start, end = result.window or (now.date(), now.date())
    # An occasion may join a follow-up planned for another one: show each once, as it is now.
    latest: dict[int, fu.Followup] = {}
    for f in result.planned:
        latest[f.id] = f
    # The occasions too late to plan are a count of how things stand, like those already
    # planned, not news: the planner keeps no row for them, so every run in their window
    # counts them again (a line of its own read like a fresh warning at each run).
    too_late = (f", {result.too_late} left for next year: too late to post when the "
                "customer came onto the list" if result.too_late else "")
    common.console.print(
        f"Planned {_count(len(result.planned), 'occasion')} in "
        f"{_count(len(latest), 'follow-up')} for {start} to {end} "
        f"({result.already_planned} already planned, {result.skipped_dnc} left alone: "
        f"do-not-call{too_late}).",
        highlight=False,
    )
    for f in latest.values():
        common.console.print(
            f"  #{f.id} {f.kind:<16} {f.customer_ref} {f.customer_name}: {f.occasion or ''} "
            f"(due {_when(f.due_at)}, owner {f.owner or 'anyone'})",
            highlight=False,
            markup=False,
        )
    if escalated:
        common.console.print(
            f"Escalated {_count(len(escalated), 'follow-up deadline')} past due "
            "(carecall followups --overdue lists them).", highlight=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def register(app: typer.Typer) -> None:
    """Add ``followups`` and ``plan`` to the app."""
    app.add_typer(followups_app, name="followups")
    app.command("plan")(plan_command)
