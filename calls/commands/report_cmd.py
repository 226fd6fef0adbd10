"""``carecall report``, ``carecall export`` and ``carecall dashboard``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from calls import reports as rp
from calls.clock import now_utc
from calls.commands import common
from calls.errors import UserError
from calls.outcomes import LABEL, Outcome
from calls.reports import nps_text

SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="First day (YYYY-MM-DD, UTC), inclusive.", show_default=False),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Last day (YYYY-MM-DD, UTC), inclusive.", show_default=False),
]


Grouping = common.choices("Grouping", rp.GROUPINGS)
ExportFormat = common.choices("ExportFormat", ("csv", "json", "ndjson", "xlsx"))


def _pct(value: float | None) -> str:
    return rp.percent_text(value)


def _pct0(value: float | None) -> str:
    return rp.percent_text(value, 0)


def _num(value: float | None, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


@contextlib.contextmanager
def _steps(enabled: bool, total: int) -> Iterator:
    """A progress bar over the report's steps (only when someone watches stderr)."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("[bold]report[/] {task.description:<14}"), BarColumn(),
                        TaskProgressColumn(), TimeElapsedColumn(),
                        console=common.err_console.rich(), transient=True)
    with progress:
        task = progress.add_task("starting", total=total)
        started = False

        def step(label: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=label)

        yield step


# -- text rendering -------------------------------------------------------------------------


def render_report(report: rp.Report) -> list:
    """The report as Rich renderables, laid out for a terminal."""
    out: list = []
    title = f"carecall report  {report.since} … {report.until} (UTC)"
    if report.empty:
        out.append(Panel(f"No calls in this period ({report.since} … {report.until}).",
                         title=title, expand=False))
    else:
        a = report.activity
        act = Table.grid(padding=(0, 2))
        act.add_row("attempts", f"{a.attempts:,}", "cases", f"{a.cases:,}",
                    "contacts", f"{a.contacts:,}", "completes", f"{a.completes:,}")
        if a.in_progress:
            act.add_row("in progress", f"{a.in_progress:,}")
        out.append(Panel(act, title=title, expand=False))

        mix = Table(title="Outcomes (attempts)", title_justify="left")
        mix.add_column("outcome")
        mix.add_column("attempts", justify="right")
        mix.add_column("share", justify="right")
        for code, n in sorted(a.outcomes.items(), key=lambda kv: -kv[1]):
            try:
                label = LABEL[Outcome(code)]
            except ValueError:
                label = code
            mix.add_row(escape(label), f"{n:,}", _pct(n / a.attempts if a.attempts else None))
        out.append(mix)

        rates = Table(title=f"AAPOR rates over cases (e = {report.e:g})", title_justify="left")
        for col in ("I", "P", "R", "NC", "O", "UH", "UO"):
            rates.add_column(col, justify="right")
        rates.add_row(*(f"{report.counts[c]:,}" for c in ("I", "P", "R", "NC", "O", "UH", "UO")))
        out.append(rates)
        grid = Table(show_header=True)
        for family in ("RR", "COOP", "REF", "CON"):
            grid.add_column(family)
        names = {f: [n for n in rp.RATE_NAMES if n.rstrip("0123456789") == f]
                 for f in ("RR", "COOP", "REF", "CON")}
        for i in range(6):
            cells = []
            for family in ("RR", "COOP", "REF", "CON"):
                group = names[family]
                cells.append(f"{group[i]} {_pct(report.rates[group[i]])}" if i < len(group)
                             else "")
            grid.add_row(*cells)
        out.append(grid)

    nps = report.nps
    if nps.responses:
        change = (f" ({nps_text(report.nps_change)} vs previous period)"
                  if report.nps_change is not None else " (no answers in the previous period)")
        nps_line = (
            f"NPS [bold]{nps_text(nps.score)}[/]{change}   promoters {nps.promoters:,}   "
            f"passives {nps.passives:,}   detractors {nps.detractors:,}   "
            f"responses {nps.responses:,}"
        )
    else:
        nps_line = "NPS: no answers in this period"
    csat = report.csat
    csat_line = (f"CSAT [bold]{_num(csat.score)}%[/]  ({csat.satisfied:,} of {csat.responses:,} "
                 "ratings are 4–5)" if csat.responses else "CSAT: no ratings in this period")
    out.append(Panel(f"{nps_line}\n{csat_line}", title="What customers say", expand=False))

    cov = Table(title=f"Coverage as of {report.coverage.as_of}", title_justify="left")
    cov.add_column("tier")
    cov.add_column("cadence", justify="right")
    cov.add_column("customers", justify="right")
    cov.add_column("completed call within cadence", justify="right")
    cov.add_column("share", justify="right")
    for t in report.coverage.tiers:
        cov.add_row(t.tier, f"{t.cadence_days} d", f"{t.customers:,}", f"{t.covered:,}",
                    t.share_text())
    out.append(cov)
    out.append(
        f"Not reached in the last {rp.NOT_REACHED_DAYS} days: "
        f"[bold]{report.coverage.not_reached:,}[/] "
        f"customer{'' if report.coverage.not_reached == 1 else 's'} (the list: --json)"
        + (f"; {report.coverage.do_not_call:,} on the do-not-call list "
           f"{'is' if report.coverage.do_not_call == 1 else 'are'} left out"
           if report.coverage.do_not_call else "")
    )

    if report.followups:
        fu = Table(title="Follow-ups", title_justify="left")
        for col in ("kind", "open", rp.DUE_WORD, "done", "cancelled", "median days to close"):
            fu.add_column(col, justify="left" if col == "kind" else "right")
        fu.caption, fu.caption_justify = escape(rp.DUE_NOTE), "left"
        for f in report.followups:
            fu.add_row(f.kind, f"{f.open:,}", f"{f.overdue:,}", f"{f.done:,}",
                       f"{f.cancelled:,}", _num(f.median_days_to_close))
        out.append(fu)
    else:
        out.append("Follow-ups: none.")
    loop = report.loop
    out.append(
        f"Detractor loop: {rp.count_text(loop.detractors, 'detractor')} heard; "
        f"{rp.count_text(loop.loops_closed, 'loop')} closed with a recovery call ({loop.won_back:,} won back, average score change "
        f"{_num(loop.avg_score_change, signed=True)})"
    )

    if report.by:
        out.append(render_groups(report))
    if report.sections:
        from calls.commands.loop_render import render_sections

        out.extend(render_sections(report.sections))
    return out


def render_groups(report: rp.Report) -> Table:
    """The ``--by`` table (fits 80 columns: the full rates are in --json)."""
    per_call = report.by in rp.PER_CALL
    table = Table(title=f"By {report.by} (rates per {'call' if per_call else 'customer'})",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(report.by, overflow="fold")
    # per call, a group's cases are its calls: the "cases" column would repeat "tries"
    for col in ("tries", *(() if per_call else ("cases",)), "talked", "done", "RR1", "CON1",
                "NPS"):
        table.add_column(col, justify="right", no_wrap=True)
    if report.by == "caller":
        table.add_column("/hour", justify="right", no_wrap=True)
        table.add_column("AHT", justify="right", no_wrap=True)
    if not report.groups:
        table.add_row("(no calls)")
    for g in report.groups:
        # Caller names and script versions are typed by people: never Rich markup.
        cells = [escape(str(g.key)), f"{g.activity.attempts:,}",
                 *(() if per_call else (f"{g.activity.cases:,}",)),
                 f"{g.activity.contacts:,}", f"{g.activity.completes:,}",
                 _pct0(g.rates["RR1"]), _pct0(g.rates["CON1"]), nps_text(g.nps.score)]
        if report.by == "caller":
            cells += [_num(g.calls_per_hour), _duration(g.aht_seconds)]
        table.add_row(*cells)
    table.caption = ("tries = attempts, talked = contacts, done = completes; "
                     + ("each call counts with its own outcome: RR1 = completed calls / "
                        "calls, CON1 = calls that reached someone / calls"
                        if per_call else "a case is a customer (their best outcome)")
                     + ("; /hour = calls per active hour, AHT = average handle time"
                        if report.by == "caller" else ""))
    table.caption_justify = "left"
    return table


# -- commands ---------------------------------------------------------------------------------


def _day(text: str | None, option: str):
    return rp.parse_day(text, option) if text else None


def report(
    since: SinceOption = None,
    until: UntilOption = None,
    by: Annotated[
        Grouping | None,
        typer.Option("--by", help="Break down by caller, tier, script, week or purpose "
                     "(care, survey, marketing). Per tier a case is a customer, as in the "
                     "whole report; per caller, script, week or purpose every call counts "
                     "with its own outcome (rates per call). By caller also calls per "
                     "active hour and AHT, the average handle time (start to outcome).",
                     show_default=False, case_sensitive=False),
    ] = None,
    e: Annotated[
        float,
        typer.Option("--eligible-share", help="Estimated share of unknown-eligibility cases "
                     "that are eligible (AAPOR e, 0–1)."),
    ] = 1.0,
    e_alias: Annotated[
        float | None,
        typer.Option("--e", hidden=True, help="Old name of --eligible-share."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the report as one self-contained HTML page.",
                     show_default=False),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy TOML (cadence per tier); default "
                     "$CARECALL_POLICY, else the built-in defaults.", show_default=False),
    ] = None,
    themes: Annotated[
        bool, typer.Option("--themes", help="Also the themes of what customers say: top "
                           "themes per NPS group, by month, causes fixed.")
    ] = False,
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="NPS and CSAT by a customer attribute (tier, country, "
                     "owner, region or a list column) with the 95 % margin; repeatable.",
                     show_default=False),
    ] = None,
    json_out: common.JsonOption = False,
    db: common.DbOption = None,
) -> None:
    """Supervisor report for a period (default: the last 30 days).

    Activity, AAPOR rates, NPS and CSAT, coverage per tier, follow-ups and the detractor loop,
    follow-up deadlines per kind and owner; --themes and --segment add those sections.
    Rates are over cases: a case is a customer tried in the period, with the best outcome
    of their calls. --by caller|script|week|purpose counts calls instead (each call with
    its own outcome: attempts, contacts and completes add up to the whole report's).
    """
    with common.user_errors():
        first, last = _day(since, "--since"), _day(until, "--until")
        if e_alias is not None:
            e = e_alias
        if by is not None and by not in rp.GROUPINGS:
            raise UserError(f"--by {by!r}: use one of {', '.join(rp.GROUPINGS)}")
        pol = None
        if policy is not None:
            from calls.policy import load_policy

            pol = load_policy(policy)
        store = common.open_store(db)
        actor = common.require(store, "reports")
        try:
            steps = 4 + (by is not None) + (html is not None)
            with _steps(sys.stderr.isatty(), steps) as step:
                now = now_utc()
                result = rp.build_report(store, now, first, last, by=by, e=e, policy=pol,
                                         weekly=html is not None, progress=step)
                from calls.loop_sections import build_sections

                # The HTML page always has the themes, and segments by tier unless asked.
                result.sections = build_sections(
                    store, now, rp.parse_day(result.since, "--since"),
                    rp.parse_day(result.until, "--until"), pol,
                    themes=themes or html is not None,
                    segments=segment or (["tier"] if html is not None else []))
            if html is not None:
                from calls.html_report import write_html_report

                write_html_report(result, html)
                from calls import audit

                # It names callers and their figures: an export, in the trail.
                audit.record(store, actor.name, "export", "report",
                             {"to": common.output_where(html), "format": "html", "since": result.since,
                              "until": result.until}, now=now)
            if json_out:
                rp.write_report_json(store, result, sys.stdout)
            else:
                for part in render_report(result):
                    common.console.print(part)
                if html is not None:
                    common.note(f"HTML report written to {html}")
        finally:
            store.close()


def export(
    table: Annotated[str, typer.Argument(
        metavar="TABLE", help="customers, calls, answers, followups, rejects or dnc.",
        show_default=False)],
    since: SinceOption = None,
    until: UntilOption = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", "-f", help="File format (default: from the file's name, "
                     "else csv).", case_sensitive=False, show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: stdout; xlsx needs a "
                     "file). Created readable by you only.", show_default=False),
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="answers: one row per call, one column per question.")
    ] = False,
    excel: Annotated[
        bool, typer.Option("--excel", help="CSV for Excel: starts with a UTF-8 byte order "
                           "mark so that names with accents open right.")
    ] = False,
    db: common.DbOption = None,
) -> None:
    """Export a table with times in UTC and in the customer's local time beside them.

    CSV and XLSX are safe to open in a spreadsheet: a cell that would run as a formula
    (starting with = + - @) is kept as text. Calls show the customer's ref and time zone,
    and the local times, as they were when each call was written.
    """
    from calls.export import FORMATS, TABLES, export_table

    with common.user_errors():
        table = table.strip().lower()
        if table not in TABLES:
            raise UserError(f"cannot export {table!r}: choose one of {', '.join(TABLES)}")
        if not fmt:
            suffix = output.suffix.lower().lstrip(".") if output else ""
            fmt = suffix if suffix in FORMATS else "csv"
        fmt = fmt.lower()
        first, last = _day(since, "--since"), _day(until, "--until")
        store = common.open_store(db)
        actor = common.require(store, "reports")
        try:
            if table == "calls":
                _note_unrecorded(store)
            show = output is not None and sys.stderr.isatty()
            if not show:
                n = export_table(store, table, output, fmt=fmt, since=first, until=last,
                                 wide=wide, excel=excel)
            else:
                bar = Progress(TextColumn(f"[bold]export {table}[/]"), BarColumn(),
                               TaskProgressColumn(), TimeElapsedColumn(),
                               console=common.err_console.rich(), transient=True)
                with bar:
                    task = bar.add_task(table, total=None)
                    n = export_table(
                        store, table, output, fmt=fmt, since=first, until=last, wide=wide,
                        excel=excel, total=lambda t: bar.update(task, total=t),
                        progress=lambda k: bar.advance(task, k),
                    )
            from calls import audit

            audit.record(store, actor.name, "export", table,
                         {"rows": n, "to": common.output_where(output), "format": fmt,
                          "since": first, "until": last, "wide": wide or None}, now=now_utc())
        finally:
            store.close()
    if output is not None:
        common.note(f"{rp.count_text(n, 'row')} written to {output}")


def _note_unrecorded(store) -> None:
    """Say so when calls written before the upgrade are still to be recorded
    (docs/reports.md "Recorded at the call"): the export computes them, as fast as
    before the upgrade, and recorded they export about twice as fast."""
    from calls.store.calls import recorded_ids

    first, last = recorded_ids(store)
    if first <= last:
        common.note("note: calls written before this carecall was installed are computed "
                    "as they are exported: carecall upgrade records them once, in short "
                    "steps safe while callers work, and large exports of them then run "
                    "about twice as fast")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the app."""
    app.command("report")(report)
    app.command("export")(export)
