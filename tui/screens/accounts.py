"""Accounts (admins): the team's accounts with role, state and last login; add one, set a
password, change a role, disable or enable. Every change is made by :mod:`calls.accounts`
(audited, refused unless the seat's account is an admin *now*); a refusal is said in
place or as a notice, never an error."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from calls import accounts as acc
from calls.errors import UserError
from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.tables import Table

ROLE_WORDS = {
    "caller": "works the queue, their calls and follow-ups",
    "supervisor": "also the team's follow-ups, the dashboard, imports, reports",
    "admin": "also manages accounts",
}


def status_text(account: acc.Account, now: datetime) -> str:
    """The account's state in a few words (the table's "State" column)."""
    if not account.active:
        return "disabled"
    if account.locked(now):
        return f"locked to {account.locked_until:%H:%M}"
    if not account.has_password:
        return "no password"
    return "active"


def _said_in_place(exc: Exception) -> bool:
    """A refusal (a UserError) is an answer to show where the user is; anything else is
    the app's notice."""
    return isinstance(exc, UserError)


class AccountsScreen(Screen):
    """The accounts of this database; admins add and change them here (or with
    ``carecall users`` on the server)."""

    CSS_PATH = "accounts.tcss"
    HELP_TITLE = "accounts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", tooltip="Add an account (name, role, password)",
                id="accounts-add"),
        Binding("w", "password", "Password", tooltip="Set a new password for the highlighted "
                "account (ends a lockout)", id="accounts-password"),
        Binding("o", "role", "Role", tooltip="Change the highlighted account's role",
                id="accounts-role"),
        Binding("d", "toggle", "Disable/enable", tooltip="Disable the highlighted account "
                "(or enable it again)", id="accounts-toggle"),
        Binding("l", "os_login", "OS login", show=False, tooltip="The OS login of the "
                "highlighted account's terminal seat (sudo), or none", id="accounts-os-login"),
        Binding("escape", "back", "Back", tooltip="Back to the queue", id="accounts-back"),
    ]
    AUTO_FOCUS = "#accounts-table"

    def __init__(self) -> None:
        super().__init__()
        self.accounts: list[acc.Account] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        yield Static("Accounts", id="accounts-title")
        table: DataTable = Table(id="accounts-table", cursor_type="row",
                                     zebra_stripes=True)
        for key, label, width in (("name", "Name", 12), ("display", "Shown as", 16),
                                  ("role", "Role", 10), ("state", "State", 15),
                                  ("login", "Last login (UTC)", 16)):
            table.add_column(label, key=key, width=width)
        yield table
        yield Static("", id="accounts-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.reload()

    # -- loading --------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        """Read the accounts again; the cursor stays on ``keep`` (else where it was)."""
        if keep is None and self.current is not None:
            keep = self.current.name
        self.app.db(acc.list_accounts, on_done=lambda rows: self._loaded(rows, keep))

    def _loaded(self, accounts: list[acc.Account], keep: str | None) -> None:
        self.accounts = accounts
        table = self.query_one(DataTable)
        table.clear()
        now = self.app.now()
        for a in accounts:
            table.add_row(escape(a.name), escape(a.display or ""), a.role, status_text(a, now),
                          f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "never",
                          key=a.name)
        names = [a.name for a in accounts]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        admins = sum(1 for a in accounts if a.role == "admin" and a.active)
        title = (f"Accounts · {len(accounts)} · {admins} active admin{'s' * (admins != 1)}"
                 if accounts else "Accounts · none yet: this database is a one-person trial")
        self.query_one("#accounts-title", Static).update(title)
        self._show_detail()
        self.refresh_bindings()

    @property
    def current(self) -> acc.Account | None:
        """The highlighted account."""
        table = self.query_one(DataTable)
        if not self.accounts or not table.is_valid_row_index(table.cursor_row):
            return None
        return self.accounts[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        a = self.current
        text = ""
        if a is not None:
            seat = (f"terminal seat: OS login {a.os_login}" if a.os_login
                    else "signs in with name and password")
            wrong = f" · {a.failed_logins} wrong password(s) in a row" if a.failed_logins else ""
            text = (f"{escape(a.label)} · {a.role}: {ROLE_WORDS[a.role]}\n"
                    f"{escape(seat)} · since {a.created_at:%Y-%m-%d}{wrong}")
        self.query_one("#accounts-detail", Static).update(text)

    # -- keys -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("password", "role", "toggle", "os_login"):
            return self.current is not None
        return True

    def _allowed(self) -> bool:
        """Admins only (a notice for anyone else; the core checks again, as of now)."""
        return self.app.refuse_unless("accounts.manage") and not self._busy

    def _run(self, fn, *args: Any, done_text: str, form: Any = None, **kwargs: Any) -> None:
        """Make one change through the core as the seat's account; say what was done, or
        why not (in the dialog ``form`` when there is one, else as a notice)."""
        self._busy = True
        app = self.app

        def done(account: acc.Account) -> None:
            self._busy = False
            if form is not None:
                form.dismiss(None)
            self.notify(done_text.format(name=account.name, role=account.role),
                        title="Accounts", timeout=5)
            self.reload(keep=account.name)

        def refused(exc: Exception) -> bool:
            self._busy = False
            if not _said_in_place(exc):
                return False
            if form is not None and form.is_attached:
                form.show_error(str(exc))
            else:
                self.notify(str(exc), title="Not changed", severity="warning", timeout=8)
            self.reload()
            return True

        app.db(fn, *args, actor=app.actor, now=app.now(), on_done=done, on_error=refused,
               **kwargs)

    def action_add(self) -> None:
        if not self._allowed():
            return
        self._open(AccountFormScreen(self._min_password), lambda v, form: self._run(
            acc.add_account, v["name"], v["role"], password=v["password"],
            display=v["display"] or None, os_login=v["login"] or None, policy=self.app.policy,
            done_text="Added {role} {name}.", form=form))

    def action_password(self) -> None:
        account = self._chosen()
        if account is None:
            return
        self._open(PasswordScreen(account.name, self._min_password), lambda v, form: self._run(
            acc.set_password, account.name, v["password"], policy=self.app.policy,
            done_text="Password set for {name}.", form=form))

    def action_os_login(self) -> None:
        account = self._chosen()
        if account is None:
            return
        self._open(OsLoginScreen(account), lambda v, form: self._run(
            acc.set_login, account.name, v["login"] or None,
            done_text="OS login of {name} saved.", form=form))

    @property
    def _min_password(self) -> int:
        return self.app.policy.accounts.min_password_length

    def _open(self, form: _AccountDialog, save) -> None:
        """Show ``form``; its values go to ``save(values, form)``."""
        form.on_save = lambda values: save(values, form)
        self.app.push_screen(form)

    def _chosen(self) -> acc.Account | None:
        """The highlighted account, when the seat may change it (else a notice)."""
        account = self.current
        return account if account is not None and self._allowed() else None

    def action_role(self) -> None:
        account = self._chosen()
        if account is None:
            return

        def chosen(role: str | None) -> None:
            if role is None or role == account.role:
                return
            self._run(acc.set_role, account.name, role, done_text="{name} is now a {role}.")

        self.app.push_screen(RoleScreen(account), chosen)

    def action_toggle(self) -> None:
        account = self._chosen()
        if account is None:
            return
        from tui.screens.modals import ConfirmScreen

        if account.active:
            question = (f"Disable {account.name}? They can no longer sign in and a seat "
                        "they have open closes now; their calls, follow-ups and audit rows "
                        "stay.")
        else:
            question = f"Enable {account.name} again? They can sign in with their password."

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(acc.set_active, account.name, not account.active,
                          done_text=("Disabled {name}." if account.active
                                     else "Enabled {name} again."))

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_back(self) -> None:
        self.dismiss(None)


# -- dialogs ---------------------------------------------------------------------------


class _AccountDialog(ModalScreen[None]):
    """A form that saves through the accounts screen (``on_save``) and stays up, with the
    refusal under it, until the change is made: nothing typed is lost."""

    CSS_PATH = "accounts.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id="account-form-save"),
        Binding("escape", "cancel", "Cancel", id="account-form-cancel"),
        # A binding, not Input.Submitted: the focus moves before the next key is handed
        # out, so what is typed straight on (a paste, a fast typist) lands in the next field.
        Binding("enter", "next_field", "Next field", show=False, priority=True,
                id="account-form-next"),
    ]

    def __init__(self, min_password: int) -> None:
        super().__init__()
        self.min_password = min_password
        self.on_save: Any = None

    def _password_fields(self) -> ComposeResult:
        """The new password, typed twice (never shown)."""
        yield Label("Password")
        yield Input(placeholder=f"at least {self.min_password} characters",
                    password=True, id="account-password", compact=True)
        yield Label("Again")
        yield Input(password=True, id="account-again", compact=True)

    def show_error(self, text: str) -> None:
        self.query_one("#account-error", Static).update(escape(text))

    def values(self) -> dict[str, str] | None:
        """What was typed, or None (and the reason shown) when it cannot be saved."""
        raise NotImplementedError

    def _passwords(self) -> str | None:
        first = self.query_one("#account-password", Input).value
        again = self.query_one("#account-again", Input).value
        if first != again:
            self.show_error("The two passwords differ.")
            self.query_one("#account-again", Input).value = ""
            self.query_one("#account-again", Input).focus()
            return None
        return first

    def action_next_field(self) -> None:
        """Enter: the next field; on the last one, save."""
        inputs = list(self.query(Input))
        at = inputs.index(self.focused) if self.focused in inputs else len(inputs) - 1
        if at + 1 < len(inputs):
            self.set_focus(inputs[at + 1])
            return
        self.action_save()

    def action_save(self) -> None:
        values = self.values()
        if values is not None and self.on_save is not None:
            self.show_error("Saving…")
            self.on_save(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AccountFormScreen(_AccountDialog):
    """A new account: name, the name people see, role, OS login, password twice."""

    def compose(self) -> ComposeResult:
        with Vertical(id="account-form", classes="dialog"):
            yield Static("[b]Add an account[/b]", classes="title")
            with Grid(id="account-fields"):
                yield Label("Name")
                yield Input(placeholder="e.g. ann", id="account-name", compact=True)
                yield Label("Shown as")
                yield Input(placeholder="e.g. Ann Lee (optional)", id="account-display",
                            compact=True)
                yield Label("Role")
                yield Input("caller", placeholder="caller, supervisor or admin",
                            id="account-role", compact=True)
                yield Label("OS login")
                yield Input(placeholder="optional: their terminal seat's login",
                            id="account-login", compact=True)
                yield from self._password_fields()
            yield Static("", id="account-error", classes="error")
            yield Static("Enter: next field, then save · ctrl+s: save · Esc: cancel",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#account-name", Input).focus()

    def values(self) -> dict[str, str] | None:
        password = self._passwords()
        if password is None:
            return None
        return {
            "name": self.query_one("#account-name", Input).value.strip(),
            "display": self.query_one("#account-display", Input).value.strip(),
            "role": self.query_one("#account-role", Input).value.strip(),
            "login": self.query_one("#account-login", Input).value.strip(),
            "password": password,
        }


class PasswordScreen(_AccountDialog):
    """A new password for one account, typed twice."""

    def __init__(self, name: str, min_password: int) -> None:
        super().__init__(min_password)
        self.account_name = name

    def compose(self) -> ComposeResult:
        with Vertical(id="account-form", classes="dialog"):
            yield Static(f"[b]New password for {escape(self.account_name)}[/b]",
                         classes="title")
            with Grid(id="account-fields"):
                yield from self._password_fields()
            yield Static("", id="account-error", classes="error")
            yield Static("It ends a lockout · Enter: save · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#account-password", Input).focus()

    def values(self) -> dict[str, str] | None:
        password = self._passwords()
        return None if password is None else {"password": password}


class OsLoginScreen(_AccountDialog):
    """The OS login an account's terminal seat maps to (empty: none)."""

    def __init__(self, account: acc.Account) -> None:
        super().__init__(0)
        self.account = account

    def compose(self) -> ComposeResult:
        with Vertical(id="account-form", classes="dialog"):
            yield Static(f"[b]OS login of {escape(self.account.name)}'s terminal seat[/b]",
                         classes="title")
            with Grid(id="account-fields"):
                yield Label("OS login")
                yield Input(self.account.os_login or "", placeholder="empty: signs in with "
                            "name and password", id="account-login", compact=True)
            yield Static("", id="account-error", classes="error")
            yield Static("Their own Unix user, running carecall through sudo (docs/team.md) "
                         "· Enter: save · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#account-login", Input).focus()

    def values(self) -> dict[str, str] | None:
        return {"login": self.query_one("#account-login", Input).value.strip()}


class RoleScreen(ModalScreen[str | None]):
    """The role an account gets: caller, supervisor or admin. Returns the role."""

    CSS_PATH = "accounts.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="account-role-cancel"),
    ]

    def __init__(self, account: acc.Account) -> None:
        super().__init__()
        self.account = account

    def compose(self) -> ComposeResult:
        with Vertical(id="account-roles", classes="dialog"):
            yield Static(f"[b]Role of {escape(self.account.name)}[/b] (now: "
                         f"{self.account.role})", classes="title")
            yield OptionList(*[Option(f"{role}: {ROLE_WORDS[role]}", id=role)
                               for role in acc.ROLES], id="account-role-list")
            yield Static("Enter: choose · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = acc.ROLES.index(self.account.role)
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
