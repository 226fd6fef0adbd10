"""carecall consent: record, withdraw and show a customer's consents (docs/lawful.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.clock import now_utc, parse_user_moment, to_iso
from calls.commands.common import (
    DbOption,
    JsonOption,
    PolicyOption,
    choices,
    cli_actor,
    console,
    load_policy_option,
    note,
    open_store,
    user_errors,
)
from calls.models import kind_label

What = choices("What", ("calls", "marketing", "recording", "share"))
How = choices("How", ("list", "call", "letter", "web"))
Kind = choices("Kind", ("consumer", "business"))

RefArg = Annotated[str, typer.Argument(metavar="REF", help="The customer's ref (or id).")]
WhatArg = Annotated[What, typer.Argument(
    help="What the consent is for: calls, marketing, recording, share (a referral's details).")]
HowOption = Annotated[How, typer.Option("--how", help="How the customer gave or withdrew it.")]
ProofOption = Annotated[str | None, typer.Option(
    "--proof", metavar="TEXT", help="The proof: the words, the document, the form reference.")]
AtOption = Annotated[str | None, typer.Option(
    "--at", metavar="TIME", help="When the customer gave it (ISO, UTC; default: now).")]


def _record(ref: str, what: str, given: bool, how: str, proof: str | None, at: str | None,
            db) -> None:
    from calls import consent

    with user_errors():
        moment = parse_user_moment(at, "--at") if at else None
        store = open_store(db)
        customer = consent.resolve(store, ref)
        # Anyone with an account may record what a customer said (a withdrawal must never
        # wait for a supervisor); the trail names the account, not the service's OS login.
        change = consent.record_change(store, customer.id, str(what), given, how=str(how),
                                       actor=cli_actor(store).name, now=now_utc(), at=moment,
                                       proof=proof)
    word = "given" if given else "withdrawn"
    note(f"{customer.ref}: consent to {what} {word} ({how})")
    if change.cancelled:
        note("cancelled: " + ", ".join(f"{kind_label(kind)} #{fid}"
                                       for fid, kind in change.cancelled))


def register(app: typer.Typer) -> None:
    """Add ``consent`` (add, withdraw, show, type) to the app."""
    group = typer.Typer(help="A customer's consents: to calls, marketing, recording, sharing "
                             "a referral; and whether they are a consumer or a business.",
                        no_args_is_help=True)
    app.add_typer(group, name="consent")

    @group.command("add")
    def add(ref: RefArg, what: WhatArg, how: HowOption = How.call, proof: ProofOption = None,
            at: AtOption = None, db: DbOption = None) -> None:
        """Record a consent the customer gave (with how, when and the proof)."""
        _record(ref, what, True, how, proof, at, db)

    @group.command("withdraw")
    def withdraw(ref: RefArg, what: WhatArg, how: HowOption = How.call,
                 proof: ProofOption = None, at: AtOption = None, db: DbOption = None) -> None:
        """Record that the customer withdrew a consent: it takes effect at once."""
        _record(ref, what, False, how, proof, at, db)

    @group.command("type")
    def set_type(ref: RefArg,
                 kind: Annotated[Kind, typer.Argument(help="consumer or business.")],
                 contract: Annotated[bool | None, typer.Option(
                     "--contract/--no-contract",
                     help="A current contract with the customer (a basis in some places).")
                 ] = None,
                 db: DbOption = None) -> None:
        """Say whether the customer is a consumer or a business (the law differs)."""
        from calls import consent

        with user_errors():
            store = open_store(db)
            customer = consent.resolve(store, ref)
            consent.set_type(store, customer.id, customer_type=str(kind), contract=contract,
                             actor=cli_actor(store).name, now=now_utc())
        note(f"{customer.ref}: {kind}" + ("" if contract is None else
                                          f", contract {'yes' if contract else 'no'}"))

    @group.command("show")
    def show(ref: RefArg, as_json: JsonOption = False, policy: PolicyOption = None,
             db: DbOption = None) -> None:
        """Show a customer's consents in force, their history, and the basis for calls."""
        from calls import consent, lawful
        from calls.queue import row_jurisdiction
        from calls.store.queue import customer_rows

        pol = load_policy_option(policy)
        with user_errors():
            store = open_store(db)
            customer = consent.resolve(store, ref)
        records = consent.history(store, customer.id)
        row = customer_rows(store, [customer.id])[customer.id]
        now = now_utc()
        jurisdiction = row_jurisdiction(row) or ""
        kind = lawful.customer_type(row, pol)
        bases = {p: lawful.basis_for(row, p, now, pol, jurisdiction)
                 for p in ("care", "survey", "marketing")}
        if as_json:
            print(json.dumps({
                "ref": customer.ref, "jurisdiction": jurisdiction, "customer_type": kind,
                "contract": bool(row.get("contract")),
                "current": {w: r.to_dict() for w, r in consent.current(records).items()},
                "history": [r.to_dict() for r in records],
                "basis": {p: {"ok": b.ok, "why": b.text} for p, b in bases.items()},
                "at": to_iso(now),
            }, indent=2, ensure_ascii=False))
            return
        console.print(f"{escape(customer.ref)} {escape(customer.name)}: {kind}"
                      f"{', current contract' if row.get('contract') else ''}, "
                      f"jurisdiction {jurisdiction or 'unknown'}", highlight=False)
        for purpose, b in bases.items():
            console.print(f"  {purpose} call: " + ("allowed" if b.ok else escape(b.text)),
                          highlight=False)
        if not records:
            console.print("No consent recorded.")
            return
        table = Table()
        for name in ("when (UTC)", "consent", "state", "how", "proof", "recorded by"):
            table.add_column(name, overflow="fold")
        for r in records:
            table.add_row(f"{r.at:%Y-%m-%d %H:%M}", r.what, r.state, r.how,
                          escape(r.proof or ""), escape(r.recorded_by))
        console.print(table)
