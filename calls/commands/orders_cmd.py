"""``carecall import-orders FILE`` and ``carecall customers show REF``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from calls.commands import common
from calls.commands.import_cmd import (
    DryRunOption,
    PolicyOption,
    RejectsOption,
    SheetOption,
    print_rejects,
    progress_bar,
)

OrderMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="FIELD=Header: read FIELD from that column (repeatable). Fields: order_no, "
        "customer_ref, date, quantity, unit_price, amount, currency, item, description.",
        show_default=False,
    ),
]
DateRegionOption = Annotated[
    str,
    typer.Option("--region", help="Reads dates like 03/04/2024 month-first for US, day-first "
                 "otherwise, when the file does not settle it."),
]

customers_app = typer.Typer(help="Look up customers.", no_args_is_help=True)


def _policy(policy_path: Path | None):
    from calls.policy import load_policy

    return load_policy(policy_path)


def import_orders_command(
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="Order lines: CSV, TSV, XLSX, JSON or NDJSON.",
        show_default=False)],
    db: common.DbOption = None,
    mapping: OrderMapOption = None,
    region: DateRegionOption = "US",
    sheet: SheetOption = None,
    dry_run: DryRunOption = False,
    rejects: RejectsOption = None,
    policy: PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """Import order / invoice lines; derive revenue, tiers and purchase dates per customer."""
    from calls.clock import now_utc
    from calls.ingest.orders import OrderImportOptions, import_orders
    from calls.ingest.pipeline import parse_mapping

    with common.user_errors():
        pol = _policy(policy)
        options = OrderImportOptions(
            mapping=parse_mapping(mapping or []),
            sheet=sheet,
            dry_run=dry_run,
            region=region.upper(),
            rejects_path=rejects,
            revenue_window_days=pol.purchases.revenue_window_days,
            a_share=pol.tiers.a_share,
            b_share=pol.tiers.b_share,
        )
        store = common.open_store(db, create=True)
        options.by_user = common.require(store, "import").name
        try:
            # The policy of its tier thresholds is named with the import's audit row.
            with (common.import_policy(store, pol, options.by_user),
                  progress_bar(f"Importing {file.name}") as bar):
                if bar is not None:
                    options.progress, options.phase = bar.update, bar.phase
                result = import_orders(store, file, options, now_utc())
                common.audit_rejects(store, options.by_user, rejects, result.rejected, file)
        finally:
            store.close()
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    console = common.console
    head = "Dry run (nothing written)" if dry_run else "Imported orders"
    note = f", encoding {result.encoding}" if result.encoding not in (None, "utf-8-sig") else ""
    sheet_note = f", sheet {result.sheet}" if result.sheet else ""
    console.print(f"{head}: {result.file} ({result.format}{note}{sheet_note})", highlight=False)
    if result.encoding_note:
        console.print(f"[yellow]note:[/] {common.escape(result.encoding_note)}.", highlight=False)
    cols = ", ".join(f"{k}={v!r}" for k, v in result.columns.items())
    console.print(f"Columns: {cols}", highlight=False)
    would = "would be " if dry_run else ""
    console.print(
        f"Lines read {result.rows_read}: {result.added} {would}added, "
        f"{result.pending} {would}kept for customers not imported yet, "
        f"{result.existing} already stored, {result.duplicates} exact duplicates, "
        f"{result.no_customer} without a customer id, {result.rejected} rejected",
        highlight=False,
    )
    if result.unchanged_since is not None:
        console.print(
            f"The file and the options are those of import #{result.unchanged_since}: "
            "every line is stored already, nothing to do.", highlight=False)
    console.print(
        f"Cancellations / credit notes: {result.cancellations}; zero prices: "
        f"{result.zero_price}; negative prices (rejected): {result.negative_price}",
        highlight=False,
    )
    if not dry_run:
        console.print(
            f"{result.customers_with_orders} customers have orders; "
            f"{result.pending_total} lines wait for their customer (attached when a "
            f"customer import brings them).",
            highlight=False,
        )
    print_rejects(result.rejects, result.rejected, rejects)


def customer_card(store, ref: str, now, policy) -> dict:
    """Everything ``customers show`` prints, as a dict (also the ``--json`` output)."""
    from calls.errors import UserError
    from calls.ingest.values import clean_ref
    from calls.orders import purchase_reason
    from calls.store import orders as store_orders

    row = store_orders.customer_row(store, ref) or store_orders.customer_row(
        store, clean_ref(ref)
    )
    if row is None:
        raise UserError(f"no customer with ref {ref!r}")
    from calls.clock import parse_date
    from calls.customers import numbers_for
    from calls.models import Customer

    orders = store_orders.customer_orders(store, row["id"], limit=10)
    others = [{"e164": n.e164, "raw": n.raw, "label": n.label, "status": n.status}
              for n in numbers_for(store, Customer.from_row(row)) if not n.primary]
    reason = purchase_reason(
        parse_date(row.get("last_purchase")),
        row.get("avg_order_interval_days"),
        row.get("order_count"),
        now,
        thank_you_days=policy.purchases.thank_you_days,
        at_risk_factor=policy.purchases.at_risk_factor,
    )
    zones = json.loads(row["time_zones"]) if row.get("time_zones") else []
    return {
        "ref": row["ref"],
        "name": row["name"],
        "company": row.get("company"),
        "phone": row.get("phone"),
        "phone_ext": row.get("phone_ext"),
        "phone_region": row.get("phone_region"),
        "time_zones": zones,
        "other_numbers": others,
        # A second number the list gave that is not valid, as it wrote it (kept as text).
        "phone2_text": row.get("phone2_raw") if not row.get("phone2") else None,
        "email": row.get("email"),
        "country": row.get("country"),
        "owner": row.get("owner"),
        "tier": row.get("tier"),
        "revenue": row.get("revenue"),
        "revenue_12m": row.get("revenue_12m"),
        "revenue_lifetime": row.get("revenue_lifetime"),
        "orders": row.get("order_count") or 0,
        "first_purchase": row.get("first_purchase"),
        "last_purchase": row.get("last_purchase"),
        "avg_order_interval_days": row.get("avg_order_interval_days"),
        "purchase_reason": reason,
        "customer_since": row.get("customer_since"),
        "birthday": row.get("birthday"),
        "do_not_call": bool(row.get("do_not_call")),
        "number_status": row.get("number_status"),
        "recent_orders": orders,
    }


@customers_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(
        metavar="REF", help="The customer's ref (id from the list).", show_default=False)],
    db: common.DbOption = None,
    policy: PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """Show a customer's card: contact, tier, purchase figures and recent orders."""
    from calls.clock import now_utc

    with common.user_errors():
        pol = _policy(policy)
        store = common.open_store(db)
        try:
            card = customer_card(store, ref, now_utc(), pol)
        finally:
            store.close()
    if json_out:
        typer.echo(json.dumps(card, indent=2, ensure_ascii=False))
        return
    _print_card(card)


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _print_card(card: dict) -> None:
    from rich.table import Table

    console = common.console
    title = f"{card['name'] or '(no name)'}  [dim]{card['ref']}[/]"
    if card["company"]:
        title += f"  ·  {card['company']}"
    console.print(title, highlight=False)
    phone = card["phone"] or "—"
    if card["phone_ext"]:
        phone += f" ext. {card['phone_ext']}"
    zones = ", ".join(card["time_zones"]) or "—"
    console.print(f"Phone {phone} ({card['phone_region'] or '?'}; {zones})", highlight=False)
    for other in card["other_numbers"]:
        status = "" if other["status"] == "ok" else f", {other['status'].replace('_', ' ')}"
        console.print(f"Also {other['e164']} ({other['label']}{status})", highlight=False,
                      markup=False)
    if card["phone2_text"]:
        console.print(f"Second number as the list wrote it, not valid: {card['phone2_text']}",
                      highlight=False, markup=False)
    if card["email"]:
        console.print(f"Email {card['email']}", highlight=False)
    if card["do_not_call"]:
        console.print("[bold red]Do not call[/]")
    if card["number_status"] not in (None, "ok"):
        console.print(f"[yellow]Number: {card['number_status']}[/]")
    console.print(
        f"Tier {card['tier'] or '—'} · owner {card['owner'] or '—'} · customer since "
        f"{card['customer_since'] or '—'} · birthday {card['birthday'] or '—'}",
        highlight=False,
    )
    console.print(
        f"Revenue 12 months {_money(card['revenue_12m'])} · lifetime "
        f"{_money(card['revenue_lifetime'])} · list revenue {_money(card['revenue'])}",
        highlight=False,
    )
    interval = card["avg_order_interval_days"]
    console.print(
        f"Orders {card['orders']} · first {card['first_purchase'] or '—'} · last "
        f"{card['last_purchase'] or '—'} · every {interval if interval else '—'} days on average",
        highlight=False,
    )
    if card["purchase_reason"] == "thank_you":
        console.print("[green]Recent purchase: a thank-you call is due.[/]")
    elif card["purchase_reason"] == "at_risk":
        console.print("[yellow]At risk: buying slowed (well past the usual interval).[/]")
    if card["recent_orders"]:
        table = Table("order", "date", "lines", "amount", box=None, pad_edge=False)
        for o in card["recent_orders"]:
            amount = _money(o["amount"]) + (f" {o['currency']}" if o["currency"] else "")
            label = o["order_no"] + (" (cancellation)" if o["cancellation"] else "")
            table.add_row(label, o["order_date"], str(o["lines"]), amount)
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``carecall import-orders`` (``customers_cmd`` adds ``carecall customers``)."""
    app.command("import-orders")(import_orders_command)
