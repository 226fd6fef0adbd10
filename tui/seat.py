"""The seat: who is signed in to this app, the idle lock, signing out.

Mixed into the shift app (``CareCallApp``). A seat starts either with a known actor (the
one-person trial, or a terminal seat whose OS login maps to an account) or on the login
screen (a browser seat, an unmapped terminal). Once signed in, ``app.caller`` is the
account name everything is recorded under. A seat with an account locks itself after the
policy's ``accounts.idle_lock_minutes`` without a key or a click; ctrl+q signs out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import events

from calls.accounts import Actor, can, logout, record_login

IDLE_CHECK_SECONDS = 5.0


class SeatMixin:
    """Sign-in, idle lock and sign-out for the shift app (needs ``db``, ``now``, ``policy``)."""

    actor: Actor | None
    seat: str
    caller: str
    now: Callable[[], datetime]

    def init_seat(self, actor: Actor | None, seat: str) -> None:
        self.actor = actor
        self.seat = seat
        self.locked = False
        self._last_input: datetime | None = None
        self._signed_out = False

    @property
    def signed_in(self) -> bool:
        return self.actor is not None

    def may(self, permission: str) -> bool:
        """Whether the seat's account may ``permission`` (see ``calls.accounts``)."""
        return self.actor is not None and can(self.actor, permission)

    def refuse_unless(self, permission: str) -> bool:
        """True when allowed; else a clear notice (a refusal is not an error) and False."""
        if self.may(permission):
            return True
        from calls.accounts import PERMISSIONS

        role, what = PERMISSIONS[permission]
        who = "an admin" if role == "admin" else f"a {role} or admin"
        self.notify(f"Only {who} may {what}.", title="Not for your role",  # type: ignore[attr-defined]
                    severity="warning", timeout=6)
        return False

    def start_seat(self, begin: Callable[[], None]) -> None:
        """Sign in if needed, then ``begin`` the shift; start watching for idleness."""
        from tui.screens.login import LoginScreen

        def signed_in(actor: Actor | None) -> None:
            if actor is None:
                return
            self._take(actor)
            begin()

        if self.actor is None:
            self.push_screen(LoginScreen(), signed_in)  # type: ignore[attr-defined]
        else:
            self._take(self.actor)
            if not self.actor.solo:
                self.db(record_login, self.actor, now=self.now(), seat=self.seat)  # type: ignore[attr-defined]
            begin()
        self.set_interval(IDLE_CHECK_SECONDS, self.lock_if_idle)  # type: ignore[attr-defined]

    def _take(self, actor: Actor) -> None:
        self.actor = actor
        self.caller = actor.name
        self._last_input = self.now()
        trial = " · one-person trial (no accounts)" if actor.solo else f" · {actor.role}"
        self.sub_title = f"{actor.label}{trial}"  # type: ignore[attr-defined]
        if actor.solo:
            self.notify("No accounts on this database: a one-person trial. "  # type: ignore[attr-defined]
                        "`carecall users add NAME --role admin` starts a team.",
                        title="One-person trial", timeout=8)

    # -- idle lock ----------------------------------------------------------------------

    def note_input(self, event: events.Event) -> None:
        """A key or a click: the seat is attended."""
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = self.now()

    def lock_if_idle(self) -> None:
        """Lock the seat once it has been idle for the policy's time."""
        if self.locked or self.actor is None or self.actor.solo or self._last_input is None:
            return
        minutes = self.policy.accounts.idle_lock_minutes  # type: ignore[attr-defined]
        if (self.now() - self._last_input).total_seconds() >= minutes * 60:
            self.lock_seat()

    def lock_seat(self) -> None:
        """Cover the seat with the lock screen until the account's password is typed."""
        from tui.screens.login import LockScreen

        if self.locked or self.actor is None or self.actor.solo:
            return
        self.locked = True

        def unlocked(actor: Actor | None) -> None:
            self.locked = False
            self._last_input = self.now()

        self.push_screen(LockScreen(self.actor), unlocked)  # type: ignore[attr-defined]

    # -- signing out --------------------------------------------------------------------

    def sign_out(self) -> None:
        """Record the logout (once), on the database thread, before the service closes."""
        if self._signed_out or self.actor is None or self.actor.solo:
            return
        self._signed_out = True
        future = self.service.submit(logout, self.actor, now=self.now(), seat=self.seat)  # type: ignore[attr-defined]
        try:
            future.result(timeout=10)
        except Exception:  # noqa: BLE001 - closing the seat must not fail on the way out
            pass
