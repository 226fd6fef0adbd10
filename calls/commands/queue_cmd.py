"""carecall queue, next, release, dnc add / import / list / remove (see docs/queue.md)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from calls.clock import now_utc
from calls.commands import common
from calls.commands.common import (
    CallerOption,
    DbOption,
    JsonOption,
    PolicyOption,
    caller_for,
    cli_actor,
    console,
    escape,
    fail,
    load_policy_option,
    open_store,
    require,
    user_errors,
)

AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Act as if it were this moment (ISO time; without an offset "
        "it is UTC), e.g. 2026-03-10T15:00Z.",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str,
    typer.Option("--region", help="Country for numbers written without +country code."),
]


def parse_moment(text: str | None) -> datetime:
    """``--at``: an ISO 8601 moment (UTC when it has no offset), else the current time."""
    return common.parse_at(text)


def _opening_line(store, caller: str, now: datetime, policy) -> str:
    """"next ones open at ... : who, held by what" (or nobody within the horizon)."""
    from calls.queue import next_opening_why, opening_horizon

    found = next_opening_why(store, caller, now, policy)
    if found is None:
        return f"nobody becomes callable in the next {opening_horizon(policy).days} days"
    return f"next ones open at {found.line(now)}"


def _print_entries(entries, caller: str, now: datetime) -> None:
    # At 80 columns the reasons need the room more than the phone (--json has it all).
    wide = console.width >= 110
    from rich.table import Table

    table = Table(
        title=escape(f"Queue for {caller} at {now:%Y-%m-%d %H:%M} UTC"), title_justify="left"
    )
    table.add_column("#", justify="right")
    table.add_column("ref", no_wrap=True)
    table.add_column("name / company", ratio=2)
    table.add_column("tier", no_wrap=True)
    if wide:
        table.add_column("phone", no_wrap=True)
    table.add_column("local", no_wrap=True)
    table.add_column("why now", ratio=3)
    for i, e in enumerate(entries, 1):
        c = e.customer
        who = escape(c.name) + (f"\n[dim]{escape(c.company)}[/]" if c.company else "")
        place = e.time_zone.rsplit("/", 1)[-1].replace("_", " ")
        cells = [str(i), escape(c.ref), who, c.tier or ""]
        if wide:
            cells.append(c.phone or "")
        cells += [f"{e.local_time:%H:%M}\n[dim]{escape(place)}[/]", escape("\n".join(e.reasons))]
        table.add_row(*cells)
    console.print(table)


def _print_held(store, caller: str, now: datetime, policy, limit: int, as_json: bool) -> None:
    """``queue --held``: how many are held back now and by which rule; the first ``limit``
    of them with why and when they open."""
    from rich.table import Table

    from calls.queue import held_report

    report = held_report(store, caller, now, policy, limit=limit)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    if not report.total:
        console.print(f"Nobody is held back at {now:%Y-%m-%d %H:%M} UTC.")
        return
    # The heading on its own line: as the title of a two-column table it wrapped to the
    # table's width ("... 15:00 / UTC, by rule").
    console.print(escape(f"{report.total:,} held back at {now:%Y-%m-%d %H:%M} UTC, by rule"))
    summary = Table()
    summary.add_column("rule", overflow="fold")
    summary.add_column("customers", justify="right")
    for label, n in report.by_rule.items():
        summary.add_row(escape(label), f"{n:,}")
    console.print(summary)
    table = Table(title=escape(f"First {len(report.customers)} of {report.total:,} (--limit)"),
                  title_justify="left")
    table.add_column("ref", no_wrap=True)
    table.add_column("name", ratio=1)
    table.add_column("held by", ratio=3)
    table.add_column("opens (UTC)", no_wrap=True)
    for h in report.customers:
        table.add_row(escape(h.customer.ref), escape(h.customer.name),
                      escape("\n".join(b.text for b in h.blockers)),
                      f"{h.opens_at:%a %d %b %H:%M}" if h.opens_at else "not by waiting")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add queue, next, release and dnc to the app."""

    @app.command("queue")
    def queue_command(
        caller: CallerOption = None,
        at: AtOption = None,
        limit: Annotated[
            int, typer.Option("--limit", min=1, max=10_000, help="How many rows.")
        ] = 50,
        explain_ref: Annotated[
            str | None,
            typer.Option(
                "--explain",
                metavar="REF",
                help="Say why this customer is or is not callable now, and when next.",
            ),
        ] = None,
        held: Annotated[
            bool,
            typer.Option(
                "--held",
                help="List who has a reason to be called but is held back now, by which "
                "rule (hours, holidays, consent, caps, quiet periods), with counts per rule; "
                "the first --limit of them.",
            ),
        ] = False,
        as_json: JsonOption = False,
        policy_file: PolicyOption = None,
        db: DbOption = None,
    ) -> None:
        """Print the caller's call queue: who to call next and why."""
        from calls.queue import build_queue, explain

        policy = load_policy_option(policy_file)
        now = parse_moment(at)
        store = open_store(db)
        who = caller_for(store, caller)
        if held and explain_ref is not None:
            fail("--held and --explain: give one of them")
        if held:
            _print_held(store, who, now, policy, limit, as_json)
            return
        with user_errors():
            if explain_ref is not None:
                ex = explain(store, explain_ref, who, now, policy)
                if as_json:
                    print(json.dumps(ex.to_dict(), indent=2, ensure_ascii=False))
                    return
                c = ex.customer
                # Names and companies come from imported lists: never Rich markup.
                console.print(
                    f"[bold]{escape(c.ref)}[/] {escape(c.name)}"
                    f"{' (' + escape(c.company) + ')' if c.company else ''} {c.phone or ''}",
                    highlight=False,
                    soft_wrap=True,
                )
                console.print(
                    f"local time {ex.local_time:%a %H:%M} {ex.time_zone}; calling "
                    f"window {'open' if ex.window_open else 'closed'}",
                    highlight=False,
                    soft_wrap=True,
                )
                for line in ex.lines:
                    console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
                return
            entries = build_queue(store, who, now, policy, limit=limit)
            if as_json:
                print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
                return
            if not entries:
                console.print(
                    f"Nobody to call for {who} at {now:%Y-%m-%d %H:%M} UTC; "
                    f"{_opening_line(store, who, now, policy)}.",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
                return
            _print_entries(entries, who, now)

    @app.command("next")
    def next_command(
        caller: CallerOption = None,
        at: AtOption = None,
        as_json: JsonOption = False,
        policy_file: PolicyOption = None,
        db: DbOption = None,
    ) -> None:
        """Claim the top customer of the caller's queue and print them."""
        from calls.queue import claim_next

        policy = load_policy_option(policy_file)
        now = parse_moment(at)
        store = open_store(db)
        who = caller_for(store, caller)
        with user_errors():
            from calls.floor import refuse_unless_ready_to_take

            with store.write():   # no claim for a paused seat, checked under the write lock
                refuse_unless_ready_to_take(store, who)
                common.note_policy(store, policy, who)
                entry = claim_next(store, who, now, policy)
            if entry is None:
                if as_json:
                    print("null")
                    return
                console.print(
                    f"Nobody to call for {who}; "
                    f"{_opening_line(store, who, now, policy)}.",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
                return
            if as_json:
                print(json.dumps(entry.to_dict(), indent=2, ensure_ascii=False))
                return
            c = entry.customer
            lease = policy.claims.lease_minutes
            console.print(
                f"[bold]{escape(c.ref)}[/] {escape(c.name)}"
                f"{' (' + escape(c.company) + ')' if c.company else ''}"
                f" {c.phone}  {entry.local_time:%H:%M} {entry.time_zone}"
                f"  tier {c.tier or '-'}",
                highlight=False,
                soft_wrap=True,
            )
            for reason in entry.reasons:
                console.print(f"  {reason}", highlight=False, markup=False, soft_wrap=True)
            console.print(f"claimed for {who} for {lease} min", highlight=False, markup=False,
                          soft_wrap=True)

    @app.command("release")
    def release_command(
        ref: Annotated[
            str | None,
            typer.Argument(metavar="REF",
                           help="Release only this customer (default: all the caller's claims)."),
        ] = None,
        caller: CallerOption = None,
        db: DbOption = None,
    ) -> None:
        """Give back the customers the caller has claimed (a supervisor: any caller's)."""
        from calls import audit
        from calls.queue import release
        from calls.store.customers import get_customer

        store = open_store(db)
        actor = cli_actor(store)
        someone_else = (caller is not None and not actor.solo
                        and caller.strip().lower() != actor.name.lower())
        if someone_else:
            actor = require(store, "floor.manage")
            who = caller.strip()
        else:
            who = caller_for(store, caller)
        with user_errors(), store.write():
            customer_id = None
            if ref is not None:
                found = get_customer(store, ref)
                if found is None:
                    fail(f"no customer {ref!r}")
                customer_id = found.id
            released = release(store, who, customer_id)
            if someone_else and released:
                audit.record(store, actor.name, "claims.release", who,
                             {"customers": len(released), "ref": ref}, now=now_utc())
        console.print(
            f"released {len(released)} claim{'s' if len(released) != 1 else ''} of {who}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )

    def _say_cancelled(count: int) -> None:
        if count:
            console.print(
                f"cancelled {count} open callback or recovery call"
                f"{'s' if count != 1 else ''} of customers now on the list "
                "(carecall followups --status cancelled)",
                highlight=False, markup=False, soft_wrap=True,
            )

    dnc_app = typer.Typer(
        help="The do-not-call list: numbers that are never queued.", no_args_is_help=True
    )
    app.add_typer(dnc_app, name="dnc")

    @dnc_app.command("add")
    def dnc_add(
        number: Annotated[str, typer.Argument(
            metavar="NUMBER", help="The number, in any usual format.")],
        reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
        region: RegionOption = "US",
        db: DbOption = None,
    ) -> None:
        """Put a number on the do-not-call list."""
        from calls.dnc import add_number

        store = open_store(db, create=True)
        actor = require(store, "dnc.manage")
        with user_errors():
            entry, added = add_number(
                store,
                number,
                now_utc(),
                reason=reason,
                added_by=actor.name,
                region=region.upper(),
            )
        if added:
            console.print(
                f"added {entry.phone} to the do-not-call list", highlight=False, soft_wrap=True
            )
        else:
            console.print(
                f"{entry.phone} is already on the do-not-call list "
                f"(since {entry.added_at:%Y-%m-%d})",
                highlight=False,
                soft_wrap=True,
            )
        _say_cancelled(entry.calls_cancelled)

    @dnc_app.command("import")
    def dnc_import(
        file: Annotated[Path, typer.Argument(
            metavar="FILE", help="CSV, TSV, XLSX, JSON or NDJSON file.")],
        column: Annotated[
            str | None,
            typer.Option("--column", help="The column with the numbers (default: guessed)."),
        ] = None,
        reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
        sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet.")] = None,
        region: RegionOption = "US",
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """Add every number in a file to the do-not-call list."""
        from calls.dnc import import_numbers

        store = open_store(db, create=True)
        actor = require(store, "dnc.manage")
        with user_errors():
            result = import_numbers(
                store,
                file,
                now_utc(),
                column=column,
                reason=reason,
                region=region.upper(),
                sheet=sheet,
                added_by=actor.name,
            )
        if as_json:
            print(
                json.dumps(
                    {
                        "file": result.file,
                        "column": result.column,
                        "rows_read": result.rows_read,
                        "added": result.added,
                        "already": result.already,
                        "rejected": [
                            {"line": ln, "raw": raw, "reason": why}
                            for ln, raw, why in result.rejected
                        ],
                        "import_id": result.import_id,
                        "calls_cancelled": result.calls_cancelled,
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        console.print(
            f"{result.file} "
            f"({f'column {result.column!r}' if result.column is not None else 'no header'}): "
            f"{result.rows_read} read, "
            f"{result.added} added, {result.already} already listed, "
            f"{len(result.rejected)} rejected",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        _say_cancelled(result.calls_cancelled)
        for line, raw, why in result.rejected[:20]:
            # Most reasons quote the number already; do not say it twice.
            said = why if repr(raw) in why else f"{raw!r}: {why}"
            console.print(f"  line {line}: {said}", highlight=False, markup=False, soft_wrap=True)
        if len(result.rejected) > 20:
            console.print(
                f"  ... and {len(result.rejected) - 20} more (import #{result.import_id})",
                highlight=False,
                soft_wrap=True,
            )

    @dnc_app.command("list")
    def dnc_list(
        limit: Annotated[
            int | None,
            typer.Option("--limit", min=1, help="How many (default: all with --json, else 100)."),
        ] = None,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """Show the do-not-call list, newest first."""
        from calls.dnc import count_numbers, list_numbers

        store = open_store(db)
        shown = limit if (limit or as_json) else 100
        entries = list_numbers(store, shown)
        if as_json:
            print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
            return
        if not entries:
            console.print("The do-not-call list is empty.")
            return
        from rich.table import Table

        table = Table()
        for col in ("number", "added", "source", "reason", "customers"):
            table.add_column(col, overflow="fold")
        for e in entries:
            table.add_row(
                e.phone, f"{e.added_at:%Y-%m-%d}", escape(e.source or ""), escape(e.reason or ""),
                str(e.customers),
            )
        console.print(table)
        total = count_numbers(store)
        if total > len(entries):
            console.print(
                f"{len(entries)} of {total} numbers shown (--limit N, or --json for all)",
                highlight=False,
                soft_wrap=True,
            )

    @dnc_app.command("remove")
    def dnc_remove(
        number: Annotated[str, typer.Argument(
            metavar="NUMBER", help="The number, in any usual format.")],
        reason: Annotated[str, typer.Option(
            "--reason", help="Why it may be called again (required; kept in the audit trail).",
            show_default=False)],
        region: RegionOption = "US",
        db: DbOption = None,
    ) -> None:
        """Take a number off the do-not-call list (its customers may be called again)."""
        from calls.dnc import remove_number

        store = open_store(db)
        actor = require(store, "dnc.manage")
        with user_errors():
            phone, removed, cleared = remove_number(store, number, now_utc(), reason=reason,
                                                    by=actor.name, region=region.upper())
        if not removed:
            fail(f"{phone} is not on the do-not-call list")
        extra = (
            (f"; cleared the do-not-call flag of {cleared} customer{'s' if cleared != 1 else ''}")
            if cleared
            else ""
        )
        console.print(
            f"removed {phone} from the do-not-call list{extra}", highlight=False, soft_wrap=True
        )
