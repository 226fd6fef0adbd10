"""The seat: who is signed in to this app, the idle lock, signing out.

Mixed into the shift app (``CareCallApp``). A seat starts either with a known actor (the
one-person trial, or a terminal seat whose OS login maps to an account) or on the login
screen (a browser seat, an unmapped terminal). Once signed in, ``app.caller`` is the
account name everything is recorded under. A seat with an account locks itself after the
policy's ``accounts.idle_lock_minutes`` without a key or a click; ctrl+q signs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from textual import events

from calls import floor
from calls.accounts import Actor, can, logout, record_login
from calls.audit import note_policy

# How often the seat looks at itself: the idle lock, and a pause a supervisor set (from
# another seat). The call session moves the seat's state itself, in each step's
# transaction; this tick only reads it.
SEAT_TICK_SECONDS = 2.0


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
        self._look_queued = False
        # The seat's floor state now (calls.floor.SeatState), for the shift bar.
        self.seat_state: floor.SeatState | None = None
        # This seat's own id: the account's seat is this one until a sign-in elsewhere.
        self.seat_token = secrets.token_hex(16)
        self._taken_elsewhere = False
        self._disabled = False   # an admin disabled the account while the seat was open
        self._resuming = False   # back to work asked for, not yet saved
        self.call_started_at: datetime | None = None  # the call timer's start

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
        from calls.accounts import who_may

        self.notify(f"{who_may(permission).capitalize()}.", title="Not for your role",  # type: ignore[attr-defined]
                    severity="warning", timeout=6)
        return False

    def refuse_role_key(self, event: events.Key, binding_id: str, key: str,
                        permission: str) -> bool:
        """A key that is shown only to the roles that may use it (the key bar and the
        palette list what applies) still answers anyone else, with the notice, instead of
        doing nothing: call from a screen's ``on_key``. True when it answered."""
        from textual.widgets import Input

        if (event.key != self.keymap.get(binding_id, key) or self.may(permission)  # type: ignore[attr-defined]
                or isinstance(self.focused, Input)):  # type: ignore[attr-defined]
            return False
        event.stop()
        self.refuse_unless(permission)
        return True

    def start_seat(self, begin: Callable[[], None]) -> None:
        """Sign in if needed, then ``begin`` the shift; start watching for idleness."""

        def signed_in(actor: Actor | None) -> None:
            if actor is None:
                return
            self._take(actor)
            begin()

        if self.actor is None:
            from tui.screens.login import LoginScreen  # a seat signed in never shows it

            self.push_screen(LoginScreen(), signed_in)  # type: ignore[attr-defined]
        else:
            if not self.actor.solo:
                self.db(record_login, self.actor, now=self.now(), seat=self.seat)  # type: ignore[attr-defined]
            self._take(self.actor)
            begin()
        self.set_interval(SEAT_TICK_SECONDS, self.seat_tick)  # type: ignore[attr-defined]

    def seat_tick(self) -> None:
        """Every few seconds: lock an idle seat; notice a pause a supervisor set (a read)."""
        self.lock_if_idle()
        if self.signed_in and self.on_floor:  # type: ignore[attr-defined]
            self.db(floor.seat_now, self.caller, on_done=self.seat_looked,  # type: ignore[attr-defined]
                    quiet=True, description="seat tick")

    def look_after_db(self, fn: Callable[..., object]) -> None:
        """After a database step of this seat: show the state the step left the seat in
        (the call session moves it in the step's transaction; a read). One look waits in
        the queue at a time: it reads the state after every step before it."""
        if (self.actor is None or not self.on_floor  # type: ignore[attr-defined]
                or getattr(fn, "__module__", "") == floor.__name__ or self._look_queued):
            return
        self._look_queued = True

        def looked(state: floor.SeatState | None) -> None:
            self._look_queued = False
            self.seat_looked(state)

        def not_looked(_exc: Exception) -> bool:
            self._look_queued = False
            return True  # the next tick looks again

        # Asked once the screen has drawn what the step brought (the next customer): a
        # read started at once would run beside that drawing and take the UI thread's
        # turns (one interpreter lock) while the caller waits for it.
        self.call_after_refresh(  # type: ignore[attr-defined]
            self.db, floor.seat_now, self.caller, on_done=looked, on_error=not_looked,
            quiet=True, description="seat state")

    def seat_looked(self, state: floor.SeatState | None) -> None:
        """The seat's state as the database has it now: shown in the shift bar; a pause a
        supervisor asked for is announced, and takes the seat off the queue between calls."""
        if state is None:
            if self.seat_state is not None and not (self._signed_out or self._disabled):
                self._closed_by_admin()   # the seat was open: an admin closed it
            return
        if state.token is not None and state.token != self.seat_token:
            self._taken_over()
            return
        old = self.seat_state
        if state != old:
            self.seat_state_changed(state)
        if state.pause_after and (old is None or old.pause_after != state.pause_after):
            self.notify(f"Your supervisor asked for a pause ({state.pause_after}): it starts "  # type: ignore[attr-defined]
                        "when this call's wrap-up is done.", title="Pause after this call",
                        timeout=10)
        if state.state == "paused":
            self.show_pause()   # once: not again while it is shown

    def show_pause(self) -> bool:
        """True when the seat is paused (no customer may be offered); between calls the
        paused screen is shown (once), saying who paused it when it was a supervisor."""
        from tui.screens.team import PausedScreen

        state = self.seat_state
        if state is None or state.state != "paused" or self._resuming:
            return False
        if any(isinstance(s, PausedScreen) for s in self.screen_stack):  # type: ignore[attr-defined]
            return True
        if not self.pause_allowed():
            return True   # shown when the caller is back between calls
        by = state.set_by if state.set_by and state.set_by != self.caller else None
        if by:
            self.notify(f"{by} paused this seat ({state.reason}).", timeout=8)  # type: ignore[attr-defined]
        self.push_screen(PausedScreen(state.reason or "", by=by),  # type: ignore[attr-defined]
                         lambda _: self._resume())
        return True

    def show_error(self, exc: BaseException) -> None:
        """A customer refused because a supervisor paused the seat a moment ago: the
        paused screen says so (no error); anything else: the app's notice."""
        if isinstance(exc, floor.SeatPaused):
            self.seat_looked(exc.state)
            return
        if isinstance(exc, floor.AccountDisabled):
            self._closed_by_admin()
            return
        super().show_error(exc)  # type: ignore[misc]

    def _resume(self) -> None:
        """Enter on the paused screen: ready (a look at the seat read before it was saved
        must not bring the paused screen back)."""
        self._resuming = True
        self.set_seat_state("ready", on_done=self._resumed)

    def _resumed(self, _state: floor.SeatState) -> None:
        """Back to work from the paused screen: the queue offers customers again."""
        from tui.screens.queue import QueueScreen

        self._resuming = False
        if isinstance(self.screen, QueueScreen):  # type: ignore[attr-defined]
            self.screen.action_refresh()  # type: ignore[attr-defined]

    def _seat_taken(self, taken: floor.SeatTaken) -> None:
        self.seat_state_changed(taken.state)
        if taken.replaced_kind is not None:
            since = f" since {taken.replaced_since:%H:%M} UTC" if taken.replaced_since else ""
            self.notify(f"You were signed in at another seat ({taken.replaced_kind}{since}): "  # type: ignore[attr-defined]
                        "it closes now. A call left open there is offered to resume here.",
                        title="Signed in here", timeout=10)

    def _taken_over(self) -> None:
        """The account signed in at another seat: this one closes (no customer data stays
        on it), leaving the floor state to the new seat."""
        self._taken_elsewhere = True
        self.exit(None, message=f"{self.caller} signed in at another seat: this seat is "  # type: ignore[attr-defined]
                  "closed.")

    def _closed_by_admin(self) -> None:
        """The account was disabled (its seat signed off by an admin): this seat closes at
        once (no customer data stays on it). What was saved stays; an unfinished call is
        offered for resuming if the account is enabled again."""
        self._disabled = True
        self.exit(None, message=f"The account {self.caller} was disabled by an admin: "  # type: ignore[attr-defined]
                  "this seat is closed. Your saved work is kept.")

    def _take(self, actor: Actor) -> None:
        self.actor = actor
        self.caller = actor.name
        self._last_input = self.now()
        if self.on_floor:  # type: ignore[attr-defined]
            # Ready; one account sits at one seat: a seat it is still signed in at closes.
            self.db(floor.take_seat, self.caller, token=self.seat_token, kind=self.seat,  # type: ignore[attr-defined]
                    now=self.now(), on_done=self._seat_taken)
            # The policy this seat's calls are made under, in the trail when it changed.
            self.db(note_policy, self.policy, actor.name, now=self.now())  # type: ignore[attr-defined]
        trial = " · one-person trial (no accounts)" if actor.solo else f" · {actor.role}"
        self.sub_title = f"{actor.label}{trial}"  # type: ignore[attr-defined]

    def seat_shown(self) -> None:
        """The seat's first screen (the queue, the welcome, the dashboard) is drawn: in the
        one-person trial, say how a team starts (not over "Opening the shift…", which is
        gone a moment later), unless a notice that matters more is up ("Signed in here")."""
        if self.actor is not None and self.actor.solo and not self.notice_showing():  # type: ignore[attr-defined]
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
        accounts = self.policy.accounts  # type: ignore[attr-defined]
        # A caller's seat (a supervisor's too, its dashboard included: it is a seat on
        # the floor) by the seat's time; ``carecall dashboard`` by the dashboard's own.
        minutes = (accounts.idle_lock_minutes if self.on_floor  # type: ignore[attr-defined]
                   else accounts.dashboard_idle_lock_minutes)
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
            self.show_held_notice()  # type: ignore[attr-defined]
            if not self.on_floor:  # type: ignore[attr-defined]
                return
            self.db(floor.unlock_seat, self.caller, now=self.now(),  # type: ignore[attr-defined]
                    token=self.seat_token, on_done=back)

        def back(state: floor.SeatState | None) -> None:
            self._lock_logged(state)
            self.show_pause()   # a supervisor's pause that came while it was locked

        self.push_screen(LockScreen(self.actor), unlocked)  # type: ignore[attr-defined]
        self.clear_notifications()  # type: ignore[attr-defined]  # none stays over the lock
        if self.on_floor:  # type: ignore[attr-defined]
            # The floor shows the seat locked (not ready), and for how long.
            self.db(floor.lock_seat, self.caller, now=self.now(),  # type: ignore[attr-defined]
                    token=self.seat_token, on_done=self._lock_logged)

    def _lock_logged(self, state: floor.SeatState | None) -> None:
        """The lock or unlock written: the seat shows its state (None: no seat open)."""
        if state is not None:
            self.seat_state_changed(state)

    # -- floor state --------------------------------------------------------------------

    def set_seat_state(self, state: str, *, reason: str | None = None,
                       customer_id: int | None = None, call_id: int | None = None,
                       on_done: Callable[[floor.SeatState], None] | None = None) -> None:
        """Log the seat's new state (ready, paused ...) and show it in the shift bar.
        A seat that is not on the floor (the dashboard) has no state."""
        if not self.on_floor:  # type: ignore[attr-defined]
            return

        def done(new: floor.SeatState) -> None:
            self.seat_state_changed(new)
            if on_done is not None:
                on_done(new)

        self.db(floor.set_state, self.caller, state, now=self.now(), reason=reason,  # type: ignore[attr-defined]
                customer_id=customer_id, call_id=call_id, policy=self.policy,  # type: ignore[attr-defined]
                on_done=done)

    def seat_state_changed(self, new: floor.SeatState) -> None:
        """The seat's state changed (here, or as the call session moved it)."""
        old = self.seat_state
        same_call = old is not None and old.call_id == new.call_id
        state = new.base_state   # a lock over a call: the call (and its timer) go on
        if state == "talking" and not (same_call and old.base_state == "talking"):
            # The call timer starts when the customer answers (dialling is not talk time).
            self.call_started_at = new.since
        elif state not in floor.CALL_STATES or not same_call:
            self.call_started_at = None
        self.seat_state = new
        from tui.widgets.shift_bar import ShiftBar

        for bar in self.screen.query(ShiftBar):  # type: ignore[attr-defined]
            bar.update_bar()  # now, not at its next second
        if (old.pause_after if old is not None else None) != new.pause_after:
            from tui.screens.wrapup import WrapUpScreen

            if isinstance(self.screen, WrapUpScreen):  # type: ignore[attr-defined]
                self.screen.pause_changed()  # type: ignore[attr-defined]  # "Save & pause"

    def pause_allowed(self) -> bool:
        """Pausing is for between calls: the queue, the welcome and follow-ups screens (each
        says so with ``BETWEEN_CALLS``; importing them here would load the welcome's
        Markdown, which a shift with customers never shows, at the first key)."""
        return (self.signed_in and not self.locked
                and bool(getattr(self.screen, "BETWEEN_CALLS", False)))  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        from tui.screens.login import LockScreen, LoginScreen

        if action == "pause":
            return self.pause_allowed()
        if action == "end_shift" and isinstance(self.screen, (LoginScreen, LockScreen)):  # type: ignore[attr-defined]
            return False   # their own ctrl+q says what it does there (quit, sign out)
        if self.locked:
            # Nothing of the app's opens over the lock (the command palette's priority
            # key would, with its screens and commands): only the lock screen's keys.
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]

    def action_pause(self) -> None:
        """``p``: pick a reason; the seat shows how long it has been paused until resumed."""
        from tui.screens.team import PauseScreen

        if not self.pause_allowed():
            return

        def chosen(reason: str | None) -> None:
            if reason is None:
                return
            self.db(floor.pause_seat, self.caller, reason, now=self.now(),  # type: ignore[attr-defined]
                    policy=self.policy, on_done=paused)  # type: ignore[attr-defined]

        def paused(state: floor.SeatState) -> None:
            self.seat_state_changed(state)
            self.show_pause()

        self.push_screen(PauseScreen(self.policy.floor.pause_reasons), chosen)  # type: ignore[attr-defined]

    # -- signing out --------------------------------------------------------------------

    def sign_out_steps(self) -> Callable[[object], None] | None:
        """What signing out writes (the seat's floor state ends, the logout is recorded),
        once, as the app's last database step; None when there is nothing to record."""
        if self._signed_out or self.actor is None:
            return None
        self._signed_out = True
        actor, caller, seat, now = self.actor, self.caller, self.seat, self.now()
        on_floor, token = self.on_floor, self.seat_token  # type: ignore[attr-defined]

        def leave(store) -> None:
            if on_floor:
                floor.sign_off(store, caller, now=now, token=token)
            logout(store, actor, now=now, seat=seat,
                   why=("signed in at another seat" if self._taken_elsewhere
                        else "account disabled" if self._disabled else None))

        return leave
