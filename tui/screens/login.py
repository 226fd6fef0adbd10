"""Who sits in this seat: the login screen, and the lock an idle seat falls into.

Both check the password with :func:`calls.accounts.login` on the database thread (every
attempt is an audit row; wrong passwords count towards the lockout). The lock screen
covers the whole seat (customer data must not stay on an unattended screen) and only the
account that locked it, or ctrl+q (sign out), leaves it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from calls.accounts import Account, Actor, login
from tui.widgets.key_bar import KeyBar


class _PasswordScreen(Screen[Actor]):
    """A centred form that checks a password and returns the account's actor."""

    CSS_PATH = "login.tcss"

    BINDINGS: ClassVar[list[BindingType]] = []
    unlock = False

    def action_close_seat(self) -> None:
        """ctrl+q here: close the seat at once (no shift summary; signs out if signed in)."""
        self.app.action_end_shift()

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    def title_text(self) -> str:
        raise NotImplementedError

    def note_text(self) -> str:
        return "ctrl+q signs out and closes the seat"

    def name_value(self) -> str:
        return self.query_one("#login-name", Input).value

    def compose_fields(self) -> ComposeResult:
        yield Input(placeholder="password", password=True, id="login-password")

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Label(self.title_text(), id="login-title")
            yield from self.compose_fields()
            yield Static("", id="login-error")
            yield Static(self.note_text(), id="login-note")
        yield KeyBar()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "login-name":
            self.query_one("#login-password", Input).focus()
            return
        name, password = self.name_value().strip(), event.value
        if not name or not password or self.busy:
            return
        self.busy = True
        app = self.app
        app.db(login, name, password, now=app.now(), seat=app.seat, policy=app.policy,
               unlock=self.unlock, on_done=self._accepted, on_error=self._refused)

    def _accepted(self, account: Account) -> None:
        self.busy = False
        self.dismiss(account.as_actor())

    def _refused(self, exc: Exception) -> bool:
        from calls.errors import UserError

        self.busy = False
        password = self.query_one("#login-password", Input)
        password.value = ""
        password.focus()
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        self.query_one("#login-error", Static).update(escape(message))
        return True  # said in place, under the password


class LoginScreen(_PasswordScreen):
    """The first screen of a seat that is not yet anyone's: account name and password."""

    # The app's ctrl+q ("End shift") stands aside here: nobody's shift has begun.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "close_seat", "Quit", tooltip="Close this seat (nobody is signed in)",
                priority=True, id="login-quit"),
    ]

    def title_text(self) -> str:
        return "carecall · sign in"

    def compose_fields(self) -> ComposeResult:
        yield Input(placeholder="account name", id="login-name")
        yield from super().compose_fields()

    def note_text(self) -> str:
        return "Enter moves on · ctrl+q closes the seat"


class LockScreen(_PasswordScreen):
    """An idle seat, locked: the signed-in account's password opens it again.

    It waits for Enter before it takes a password: a key typed at a seat that locked
    while someone looked at it (``r`` on the dashboard) must not land in the password
    field and, sent with the password, count as a wrong one towards the lockout. Until
    then every key is held here (none reaches the screens under the lock) and says what
    to do; Enter, or a click on the field, opens it.
    """

    unlock = True
    AUTO_FOCUS = ""   # nothing: the password field waits to be asked for
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "close_seat", "Sign out", tooltip="Sign out and close this seat",
                priority=True, id="lock-sign-out"),
    ]
    WHY = "The seat locked itself after a while without a key (customer data is on it)."
    WAITING = "Locked: press Enter, then type your password · ctrl+q signs out"
    ASKED = "Type your password, then Enter · ctrl+q signs out"

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor

    def title_text(self) -> str:
        return f"Seat locked · {self.actor.label}"

    def name_value(self) -> str:
        return self.actor.name

    def note_text(self) -> str:
        return f"{self.WHY}\n{self.WAITING}"

    def on_key(self, event: events.Key) -> None:
        """Keys while the password field is not open: Enter opens it; any other key is
        held (not typed anywhere) and the note says to press Enter first."""
        password = self.query_one("#login-password", Input)
        if password.has_focus:
            return
        event.stop()
        event.prevent_default()
        if event.key == "enter":
            password.focus()
        else:
            self.query_one("#login-error", Static).update("Press Enter first, then your password.")

    @on(events.DescendantFocus)
    def _asked(self) -> None:
        """The field is open (Enter, or a click on it): the note says what comes next."""
        self.query_one("#login-error", Static).update("")
        self.query_one("#login-note", Static).update(f"{self.WHY}\n{self.ASKED}")

    def _accepted(self, account: Account) -> None:
        self.busy = False
        if account.name.lower() != self.actor.name.lower():  # cannot happen: name is fixed
            return
        self.dismiss(account.as_actor())
