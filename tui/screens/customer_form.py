"""Add a customer, or correct one's details (supervisors): the checks are the import's,
done by :mod:`calls.customers`; a refusal is shown in the form, nothing is lost."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from calls.models import Customer

# The fields the form shows, with their labels (a compact form for 80x24).
FIELDS: tuple[tuple[str, str], ...] = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("name", "Full name"),
    ("salutation", "Salutation"),
    ("company", "Company"),
    ("phone", "Phone"),
    ("phone2", "Second phone"),
    ("email", "E-mail"),
    ("country", "Country"),
    ("language", "Language"),
    ("owner", "Owner"),
)


def current_values(customer: Customer | None) -> dict[str, str]:
    """The form's starting text for each field."""
    if customer is None:
        return {name: "" for name, _ in FIELDS}
    values = {name: str(getattr(customer, name, None) or "") for name, _ in FIELDS}
    from calls.language import customer_language, salutation_word

    # The word the customer's language uses ("Madame", "Herr"): the form reads it back.
    values["salutation"] = salutation_word(customer.salutation, customer_language(customer))
    values["phone"] = customer.phone_raw or customer.phone or ""
    return values


def save(store, ref: str | None, changes: dict[str, str], actor, now, region: str | None,
         policy) -> Customer:
    """Add (``ref`` None) or correct a customer (on the DB thread) as ``actor`` (a
    ``calls.accounts.Actor``: refused unless their role may)."""
    from calls.accounts import require
    from calls.customers import add_customer, edit_customer, home_region

    require(actor, "customers.edit")
    by = actor.name
    region = home_region(store, region)

    if ref is None:
        return add_customer(store, changes, by=by, now=now, default_region=region,
                            policy=policy)
    customer, _changed = edit_customer(store, ref, changes, by=by, now=now,
                                       default_region=region, policy=policy)
    return customer


class CustomerFormScreen(ModalScreen[Customer | None]):
    """The customer's details as fields; ctrl+s saves, Esc leaves without saving."""

    CSS_PATH = "tools.tcss"
    HELP_TITLE = "customer details"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id="customer-form-save"),
        Binding("escape", "cancel", "Cancel", id="customer-form-cancel"),
    ]

    def __init__(self, customer: Customer | None, region: str | None = None) -> None:
        super().__init__()
        self.customer = customer
        self.home_region = region
        self.start = current_values(customer)
        self._saving = False

    def compose(self) -> ComposeResult:
        title = ("Add a customer" if self.customer is None
                 else f"Correct {escape(self.customer.name)} ({escape(self.customer.ref)})")
        with Vertical(id="customer-form", classes="dialog"):
            yield Static(f"[b]{title}[/b]", classes="title")
            with Grid(id="customer-fields"):
                for name, label in FIELDS:
                    yield Label(label)
                    yield Input(self.start[name], id=f"field-{name}", compact=True)
            yield Static("", id="form-error", classes="error")
            yield Static("ctrl+s: save · Tab: next field · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def changes(self) -> dict[str, str]:
        """What the user changed (for a new customer: every field filled in)."""
        out = {}
        for name, _label in FIELDS:
            value = self.query_one(f"#field-{name}", Input).value.strip()
            if value != self.start[name].strip():
                out[name] = value
        return out

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        if self._saving:
            return
        changes = self.changes()
        if not changes:
            self.dismiss(None if self.customer is None else self.customer)
            return
        self._saving = True
        app = self.app
        ref = self.customer.ref if self.customer is not None else None
        app.db(save, ref, changes, app.actor, app.now(), self.home_region, app.policy,
               on_done=self._saved, on_error=self._refused)

    def _saved(self, customer: Customer) -> None:
        self._saving = False
        self.dismiss(customer)

    def _refused(self, exc: Exception) -> bool:
        # The form stays as typed: the user corrects the one field and saves again.
        self._saving = False
        self.query_one("#form-error", Static).update(escape(str(exc)))
        return True  # said in place, under the form

    def action_cancel(self) -> None:
        self.dismiss(None)
