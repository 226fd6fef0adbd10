"""``carecall import FILE``: load a customer list (``carecall demo`` is in ``tui/launch_cmd.py``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from calls.commands import common

MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="FIELD=Header: read FIELD from that column (repeatable). "
        "Fields: ref, name, first_name, last_name, company, phone, phone2, email, country, "
        "revenue, last_purchase, birthday, customer_since, owner.",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str,
    typer.Option("--region", help="Region for numbers written without a country code "
                 "when the row has no country (ISO code, e.g. US, GB, DE)."),
]
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", help="Excel sheet to read (default: the first).", show_default=False),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Read and check everything, write nothing.")
]
RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write rejected rows (line, reason, values) to this CSV "
                 "(created readable by you only).", show_default=False),
]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="Care policy TOML for the tier thresholds "
                 "(default: $CARECALL_POLICY, else built-in).", show_default=False),
]


def tier_shares(policy_path: Path | None) -> tuple[float, float, object]:
    """``(a_share, b_share, policy)`` from the care policy (defaults without one)."""
    from calls.policy import load_policy

    policy = load_policy(policy_path)
    return policy.tiers.a_share, policy.tiers.b_share, policy


class _Bar:
    """The two callbacks an import reports through: rows done, and the step it is on."""

    def __init__(self, progress, task):
        self._progress = progress
        self._task = task

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total or None)

    def phase(self, text: str) -> None:
        # The rows are read; what follows (the merge, re-tiering) has no row count.
        self._progress.update(self._task, description=text, completed=0, total=None)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[_Bar | None]:
    """A Rich progress bar when stdout is a terminal, else nothing (``None``)."""
    if not common.stdout_is_terminal():
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
        TimeRemainingColumn(), console=common.console.rich(), transient=True,
    ) as progress:
        yield _Bar(progress, progress.add_task(label, total=None))


def print_rejects(rejects: list, total: int, rejects_path: Path | None) -> None:
    """The first rejected rows, and where the rest are."""
    if not total:
        return
    console = common.console
    shown = rejects[:10]
    head = f"first {len(shown)} of {total}" if len(shown) < total else f"{total}"
    console.print(f"[bold]Rejected rows[/] ({head}):", highlight=False)
    for r in shown:
        console.print(f"  line {r.line}: {r.reason}", highlight=False, markup=False)
    if rejects_path:
        console.print(f"All rejected rows: {rejects_path}", highlight=False)
    elif total > 10:
        console.print("Write them all to a file with --rejects FILE.", highlight=False)


def import_command(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="Customer list: CSV, TSV, XLSX, JSON or NDJSON.",
        show_default=False)],
    db: common.DbOption = None,
    mapping: MapOption = None,
    region: RegionOption = "US",
    sheet: SheetOption = None,
    dry_run: DryRunOption = False,
    rejects: RejectsOption = None,
    policy: PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """Import (or update) customers from a list; re-importing the same list changes nothing."""
    from calls.clock import now_utc
    from calls.ingest.customers import ImportOptions, import_customers
    from calls.ingest.pipeline import parse_mapping

    with common.user_errors():
        a_share, b_share, pol = tier_shares(policy)
        options = ImportOptions(
            revenue_window_days=pol.purchases.revenue_window_days,
            region=region,
            mapping=parse_mapping(mapping or []),
            sheet=sheet,
            dry_run=dry_run,
            rejects_path=rejects,
            a_share=a_share,
            b_share=b_share,
        )
        store = common.open_store(db, create=True)
        options.by_user = common.require(store, "import").name
        try:
            # The policy of its tier thresholds is named with the import's audit row.
            with (common.import_policy(store, pol, options.by_user),
                  progress_bar(f"Importing {file.name}") as bar):
                if bar is not None:
                    options.progress, options.phase = bar.update, bar.phase
                result = import_customers(store, file, options, now_utc())
                common.audit_rejects(store, options.by_user, rejects, result.rejected, file)
                if result.lawful_columns and not dry_run:
                    # Region, consumer / business, contract, consents (docs/lawful.md).
                    from calls.consent import apply_list

                    if bar is not None:
                        bar.phase("Consents and customer types")
                    apply_list(store, result.lawful_columns, file=file.name,
                               actor=options.by_user, now=now_utc())
            tiers = None
            if not dry_run:
                from calls.store.customers import tier_counts

                tiers = tier_counts(store)
            from calls.ingest.customers import stopped_imports

            stopped = stopped_imports(store)
        finally:
            store.close()
    if json_out:
        out = result.to_dict()
        out["tiers"] = tiers
        out["stopped_imports"] = [
            {k: row[k] for k in ("id", "file", "started_at", "by_user", "merged", "to_merge")}
            for row in stopped]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    console = common.console
    head = "Dry run (nothing written)" if dry_run else "Imported"
    note = f", encoding {result.encoding}" if result.encoding not in (None, "utf-8-sig") else ""
    console.print(
        f"{head}: {result.file} ({result.format}{note}{', sheet ' + result.sheet if result.sheet else ''})",
        highlight=False,
    )
    if note:
        console.print(
            f"[yellow]note:[/] the file is not UTF-8; read it as {result.encoding}.",
            highlight=False,
        )
    if result.encoding_note:
        console.print(f"[yellow]note:[/] {common.escape(result.encoding_note)}.", highlight=False)
    cols = ", ".join(f"{k}={v!r}" for k, v in result.columns.items())
    console.print(f"Columns: {cols}; matched on {result.match_on}", highlight=False)
    if result.extra_columns:
        console.print(
            f"Kept as extra data: {', '.join(result.extra_columns)}", highlight=False
        )
    would = "would be " if dry_run else ""
    console.print(
        f"Rows read {result.rows_read}: {result.inserted} {would}inserted, "
        f"{result.updated} {would}updated, {result.unchanged} unchanged, "
        f"{result.rejected} rejected, {result.duplicates} duplicates (last one wins)",
        highlight=False,
    )
    if result.unchanged_since is not None:
        console.print(
            f"The file and the options are those of import #{result.unchanged_since}: "
            "nothing changed since, nothing to do.", highlight=False)
    if result.phone2_invalid:
        console.print(
            f"{result.phone2_invalid} second numbers are not valid; kept as text only"
            + (f" ({result.phone2_kept} customers keep the valid second number on file)."
               if result.phone2_kept else "."),
            highlight=False,
        )
    if result.orders_attached:
        console.print(
            f"{result.orders_attached} waiting order lines attached to these customers.",
            highlight=False,
        )
    if tiers:
        console.print(
            "Tiers: " + ", ".join(f"{t} {tiers.get(t, 0)}" for t in ("A", "B", "C")),
            highlight=False,
        )
    print_rejects(result.rejects, result.rejected, rejects)
    print_stopped(result.finishes, stopped)


def print_stopped(finished: list[int], stopped: list[dict]) -> None:
    """Imports that stopped half way: the ones this import completed, and the others."""
    console = common.console
    for import_id in finished:
        console.print(f"This import completed import #{import_id}, which had stopped half "
                      "way.", highlight=False)
    for row in stopped:
        console.print(
            f"[yellow]note:[/] import #{row['id']} of {common.escape(row['file'])} (started "
            f"{row['started_at']} by {common.escape(row['by_user'] or 'unknown')}) stopped "
            f"after {row['merged'] or 0:,} of {row['to_merge']:,} rows: import that file "
            "again to finish it.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``carecall import``."""
    app.command("import")(import_command)
