"""``carecall customers find | add | edit | number``: any customer, by hand.

(``carecall customers show`` lives with the purchase figures in ``orders_cmd``.)
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from calls.commands import common
from calls.commands.orders_cmd import customers_app

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="FIELD=VALUE",
                 help="A field to set, e.g. --set company=Acme --set phone='030 1234567'. "
                      "Fields: name, first_name, last_name, salutation, language, company, "
                      "phone, phone2, email, country, owner, revenue, customer_since, "
                      "last_purchase, birthday. An empty value clears the field.",
                 show_default=False),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION",
                 help="Region (DE, FR, GB, US...) for numbers written without a country "
                 "code when the customer has no country. Default: [defaults] region in the "
                 "config file, else where most customers' numbers are.", show_default=False),
]


def _region(store, region: str | None) -> str:
    """The region option, else the config file's, else where most customers are."""
    from calls.config import default_setting
    from calls.customers import home_region

    return home_region(store, region or default_setting("region"))


def _customer_dict(store, customer) -> dict:
    from calls.customers import numbers_for
    from calls.language import address, customer_language, salutation_word

    language = customer_language(customer)
    return {
        "ref": customer.ref,
        "name": customer.name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "salutation": customer.salutation,
        "addressed_as": address(customer, language),
        "salutation_word": salutation_word(customer.salutation, language),
        "language": language,
        "company": customer.company,
        "country": customer.country,
        "email": customer.email,
        "owner": customer.owner,
        "tier": customer.tier,
        "do_not_call": customer.do_not_call,
        "numbers": [
            {"e164": n.e164, "label": n.label, "status": n.status} for n in
            numbers_for(store, customer)
        ],
    }


def _print_customer(store, customer, title: str) -> None:
    from rich.table import Table

    data = _customer_dict(store, customer)
    common.console.print(title, highlight=False)
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key in ("ref", "name", "company", "salutation_word", "addressed_as", "language",
                "country", "email", "owner", "tier"):
        if data[key] not in (None, ""):
            label = {"salutation_word": "salutation", "addressed_as": "addressed as"}.get(
                key, key.replace("_", " "))
            table.add_row(label, str(data[key]))
    for n in data["numbers"]:
        status = "" if n["status"] == "ok" else f"  ({n['status'].replace('_', ' ')})"
        table.add_row(f"{n['label']} number", n["e164"] + status)
    if data["do_not_call"]:
        table.add_row("do not call", "yes")
    common.console.print(table)


def _change(db, fields, policy, work) -> None:
    """Read ``--set`` and ``--policy``, open the store, check the role and run
    ``work(store, changes, now, policy, actor)``; user errors end in one line and exit 2."""
    from calls.clock import now_utc
    from calls.customers import parse_assignments

    with common.user_errors():
        changes = parse_assignments(fields or [])
        pol = common.load_policy_option(policy)
        store = common.open_store(db, create=True)
        try:
            actor = common.require(store, "customers.edit")
            work(store, changes, now_utc(), pol, actor.name)
        finally:
            store.close()


@customers_app.command("find")
def find_command(
    text: Annotated[str, typer.Argument(
        metavar="TEXT", help="A name, company, ref or phone number (any format).",
        show_default=False)],
    db: common.DbOption = None,
    region: RegionOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000,
                                       help="At most this many customers.")] = 20,
    json_out: common.JsonOption = False,
) -> None:
    """Find customers in the whole list by name, company, ref or phone number."""
    from rich.table import Table

    from calls.customers import search_customers

    with common.user_errors():
        store = common.open_store(db)
        try:
            found = search_customers(store, text, default_region=_region(store, region),
                                     limit=limit)
            rows = [_customer_dict(store, c) for c in found]
        finally:
            store.close()
    if json_out:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        common.err_console.print(f"No customer matches {text!r}.", highlight=False)
        raise typer.Exit(code=1)
    table = Table("ref", "name", "company", "number", "lang")
    for r in rows:
        main = r["numbers"][0]["e164"] if r["numbers"] else ""
        table.add_row(r["ref"], r["name"], r["company"] or "", main, r["language"])
    common.console.print(table)


@customers_app.command("add")
def add_command(
    fields: SetOption = None,
    ref: Annotated[str | None, typer.Option(
        "--ref", help="The customer's ref (default: the phone number, as on import).",
        show_default=False)] = None,
    db: common.DbOption = None,
    region: RegionOption = None,
    policy: common.PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """Add a customer by hand: carecall customers add --set name=... --set phone=...."""
    from calls.customers import add_customer

    def work(store, changes, now, pol, by):
        customer = add_customer(store, changes, by=by, now=now, ref=ref,
                                default_region=_region(store, region), policy=pol)
        if json_out:
            typer.echo(json.dumps(_customer_dict(store, customer), indent=2,
                                  ensure_ascii=False))
        else:
            _print_customer(store, customer, f"Added {customer.name}")

    _change(db, fields, policy, work)


@customers_app.command("edit")
def edit_command(
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer's ref.",
                                       show_default=False)],
    fields: SetOption = None,
    db: common.DbOption = None,
    region: RegionOption = None,
    policy: common.PolicyOption = None,
    json_out: common.JsonOption = False,
) -> None:
    """Correct a customer's details: carecall customers edit REF --set phone=...."""
    from calls.customers import edit_customer

    def work(store, changes, now, pol, by):
        customer, changed = edit_customer(store, ref, changes, by=by, now=now,
                                          default_region=_region(store, region), policy=pol)
        if json_out:
            out = _customer_dict(store, customer)
            out["changed"] = sorted(changed)
            typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        elif not changed:
            common.console.print(f"{customer.name}: nothing changed.", highlight=False)
        else:
            shown = sorted(k for k in changed if not k.endswith("_raw"))
            who = customer.name or customer.company or customer.ref
            _print_customer(store, customer, f"Changed {', '.join(shown)} of {who}")

    _change(db, fields, policy, work)


@customers_app.command("number")
def number_command(
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer's ref.",
                                       show_default=False)],
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The number to add.",
                                          show_default=False)],
    label: Annotated[str | None, typer.Option("--label", help="What it is: mobile, office...",
                                              show_default=False)] = None,
    db: common.DbOption = None,
    region: RegionOption = None,
) -> None:
    """Add another number to a customer (tried after the main and second numbers)."""
    from calls.clock import now_utc
    from calls.customers import add_number, find_customer

    with common.user_errors():
        store = common.open_store(db)
        try:
            actor = common.require(store, "customers.edit")
            added = add_number(store, ref, number, by=actor.name, now=now_utc(), label=label,
                               default_region=_region(store, region))
            customer = find_customer(store, ref)
            _print_customer(store, customer, f"Added {added.e164} to {customer.name}")
        finally:
            store.close()


def register(app: typer.Typer) -> None:
    """Add ``carecall customers`` (``show`` comes from ``orders_cmd``, with the orders)."""
    app.add_typer(customers_app, name="customers",
                  help="Customers: find anyone in the list, show, add or correct one.")
