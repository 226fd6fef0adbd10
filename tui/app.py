"""The carecall app: one factory (``make_app``) that the CLI and the tests share.

The app owns the seat: who is signed in, the clock, the policy and script choice, the
database lanes and the shift's running figures. It opens on a caller's shift (the queue)
or, with ``mode="dashboard"``, on the supervisor's dashboard (``carecall dashboard``).
Screens ask for database work with ``app.db(fn, ...)`` (:mod:`tui.database`): a worker
runs it off the UI thread and ends by posting a typed message; a failure becomes one
notification, never a traceback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme

from calls.config import Config, load_config, save_setting
from calls.errors import UserError
from calls.outcomes import CONTACT, Outcome
from calls.records import record
from tui import memory
from tui.clock import Clock, resolve_clock
from tui.comfort import ShiftComfort
from tui.commands import ShiftCommands
from tui.database import SEAT, DatabaseWork, DbJob
from tui.keymap import check_config
from tui.keys import handle_in_order, is_ordered
from tui.screens.followups import CallbackAnnouncer
from tui.seat import SeatMixin
from tui.widgets.escalations import EscalationWatcher

MODES = ("shift", "dashboard")


@record
class ShiftStats:
    """What this caller has done since the shift started (the shift bar and summary)."""

    started: datetime
    calls: int = 0
    contacts: int = 0
    completes: int = 0
    nps: list[int] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    followups: int = 0

    def add(self, outcome: Outcome, nps: int | None = None, followups: int = 0) -> None:
        """Count one finished call."""
        self.calls += 1
        self.outcomes[outcome] += 1
        if outcome in CONTACT:
            self.contacts += 1
        if outcome is Outcome.COMPLETED:
            self.completes += 1
        if nps is not None:
            self.nps.append(nps)
        self.followups += followups

    @property
    def nps_score(self) -> float | None:
        """% promoters − % detractors over this shift's answers, or None without answers."""
        if not self.nps:
            return None
        promoters = sum(1 for v in self.nps if v >= 9)
        detractors = sum(1 for v in self.nps if v <= 6)
        return 100.0 * (promoters - detractors) / len(self.nps)


class CareCallApp(ShiftComfort, SeatMixin, DatabaseWork, App[ShiftStats | None]):
    """A caller's shift (queue, call, script, wrap-up, next) or a supervisor's dashboard."""

    CSS_PATH: ClassVar[list[str]] = ["app.tcss", "widgets/key_bar.tcss"]
    TITLE = "carecall"
    COMMANDS = App.COMMANDS | {ShiftCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "end_shift", "End shift", tooltip="End the shift (shows a summary)",
                priority=True, id="end-shift"),
        Binding("ctrl+q", "end_dashboard", "Quit", tooltip="Close the dashboard",
                priority=True, id="end-dashboard"),
        Binding("p", "pause", "Pause", tooltip="Step away: pause with a reason (no calls offered)",
                id="pause"),
        *ShiftComfort.COMFORT_BINDINGS,
    ]

    def __init__(
        self,
        db_path: str | Path,
        caller: str,
        *,
        script: str | None = None,
        policy: Any = None,
        clock: Clock | datetime | None = None,
        actor: Any = None,
        seat: str = "terminal",
        config: Config | None = None,
        mode: str = "shift",
        dashboard_options: dict[str, Any] | None = None,
    ) -> None:
        memory.mend_textual()    # before any widget is drawn: see tui.memory
        memory.mend_cache_clear()
        memory.keep_big_blocks_apart()
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        # Why the app closed without opening (the command line says it in one line).
        self.refusal: str | None = None
        self.dashboard_options = dashboard_options or {}
        self.config = config or Config()
        # The user's keys by binding id (``[keymap]``), as Posting does; the command
        # palette shows them too.
        self.keymap: dict[str, str] = dict(self.config.keymap)
        self.set_keymap(self.keymap)
        if self.config.ui.theme:
            self.theme = self.config.ui.theme
        self.db_path = Path(db_path)
        # Who sits here (calls.accounts.Actor); None = the login screen comes first.
        self.init_seat(actor, seat)
        self.caller = actor.name if actor is not None else caller
        self.script_name = script
        self.policy = policy
        self.now: Clock = resolve_clock(clock)
        self.open_lanes(self.db_path)
        self.stats = ShiftStats(started=self.now())
        self.callback_announcer = CallbackAnnouncer(self)
        self.escalation_watcher = EscalationWatcher(self)
        self.sub_title = caller

    # -- keys -------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Keys for a screen that wants them in typing order are handled there, one by one
        (see :mod:`tui.keys`); every other event goes Textual's way."""
        self.note_input(event)
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and is_ordered(self.screen)
        ):
            self.app_focus = True
            await handle_in_order(self.screen, event)
            return
        await super().on_event(event)

    # -- lifecycle -------------------------------------------------------------------

    def on_mount(self) -> None:
        # A theme the caller picks (command palette) is remembered for the next start.
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        # A closed screen goes within seconds, not when its timers would have run.
        self.set_interval(memory.SWEEP_SECONDS, memory.drop_cancelled_timers)
        # Sign in first where the seat is nobody's yet (tui/seat.py), then the shift.
        self.start_seat(self._begin_shift)

    @property
    def on_floor(self) -> bool:
        """A caller's seat is on the floor (its state is shown to supervisors); the
        dashboard's is not."""
        return self.mode == "shift"

    def after_db(self, job: DbJob) -> None:
        # The seat's floor state follows the call (tui/seat.py); the other lanes' work
        # (the dashboard's reads, the planner) moves no seat: no look after it (a read of
        # its own beside the dashboard's next load).
        if job.lane == SEAT:
            self.look_after_db(job.fn)

    def _begin_shift(self) -> None:
        if self.mode == "dashboard":
            from tui.screens.dashboard import DashboardScreen

            if not self.may("dashboard"):   # signed in on the login screen as a caller
                from calls.accounts import who_may

                self.refusal = f"refused: {who_may('dashboard')} ({self.caller} is a " \
                               f"{self.actor.role})"
                self.exit(None, return_code=2)
                return

            # The dashboard announces escalations itself (its own list), with names.
            self.push_screen(DashboardScreen(**self.dashboard_options))
            self.call_after_refresh(self.seat_shown)
            return
        from tui.screens.start import StartScreen

        self.push_screen(StartScreen(on_shown=self._watch_shift))

    def _watch_shift(self) -> None:
        # Once the shift's first screen is drawn (its reads come first on the seat's lane):
        # callbacks due in the next minutes are announced on any screen, and follow-ups
        # past a deadline are escalated and announced (issue 17).
        self.seat_shown()
        self.callback_announcer.start()
        self.escalation_watcher.start()

    def _remember_theme(self, theme: Theme) -> None:
        if theme.name == self.config.ui.theme:
            return
        self.config = replace(self.config, ui=replace(self.config.ui, theme=theme.name))

        def save() -> None:
            try:
                save_setting("ui", "theme", theme.name, self.config.path)
            except UserError as exc:
                self.call_from_thread(self.show_error, exc)

        self.run_worker(save, thread=True, group="config", exit_on_error=False,
                        description="remember the theme")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own palette commands, with Quit going through the shift summary."""
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                yield SystemCommand("Quit", "End the shift (shows a summary first)",
                                    self.action_end_shift)
            else:
                yield command

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # ctrl+q ends a caller's shift (with its summary) or closes the dashboard.
        if action == "end_shift":
            return self.on_floor
        if action == "end_dashboard":
            return not self.on_floor
        return super().check_action(action, parameters)

    def action_end_dashboard(self) -> None:
        """Close the dashboard app (signs out)."""
        self.exit(None)

    def action_end_shift(self) -> None:
        """Show the shift summary; from there the caller quits or goes back."""
        from tui.screens.summary import ShiftSummaryScreen

        if not self.signed_in or self.locked or not self.on_floor:
            self.exit(None if not self.signed_in else self.stats)  # signs out (on_unmount)
            return
        if isinstance(self.screen, ShiftSummaryScreen):
            self.exit(self.stats)
            return
        self.push_screen(ShiftSummaryScreen())

    async def on_unmount(self) -> None:
        # What the screens asked for is written first, then the seat signs out.
        self.close_lanes(last=self.sign_out_steps())


def make_app(
    db_path: str | Path,
    caller: str,
    *,
    script: str | None = None,
    policy: Any = None,
    clock: Clock | datetime | None = None,
    actor: Any = None,
    seat: str = "terminal",
    config: Config | None = None,
    mode: str = "shift",
    refresh_seconds: float | None = None,
    tz: Any = None,
) -> CareCallApp:
    """Build the shift app. The CLI (``carecall shift``) and the tests both come here.

    ``script``: a script name or path to use on every call (else chosen per call);
    ``policy``: a ``Policy``, a TOML path, or None (``CARECALL_POLICY`` or the defaults);
    ``clock``: a callable returning an aware UTC datetime, a starting moment (the clock
    then runs forward, as ``--at`` does), or None for the real time; ``actor``: who sits
    here (``calls.accounts.Actor``: the trial's person or a mapped OS login), None to open
    on the login screen; ``seat``: "terminal" or "web" (for the audit trail);
    ``config``: the user's config file (:func:`calls.config.load_config`; None: read it).
    A theme or a binding id in it that the app does not know raises ``ConfigError``.
    ``mode``: "shift" (a caller's queue and calls) or "dashboard" (the supervisor's live
    figures, ``carecall dashboard``; ``refresh_seconds`` and ``tz`` are the dashboard's:
    how often it reloads and whose "today" it shows).
    """
    from calls.policy import Policy, load_policy

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    if actor is None and caller and seat == "terminal":
        from calls.accounts import trial_actor

        # Tests and older callers pass only a name: the one-person trial's person.
        actor = trial_actor(caller)
    if config is None:
        config = load_config()
    check_config(config)
    options: dict[str, Any] = {"tz": tz}
    if refresh_seconds is not None:
        options["refresh_seconds"] = refresh_seconds
    return CareCallApp(db_path, caller, script=script, policy=policy, clock=clock, actor=actor,
                       seat=seat, config=config, mode=mode, dashboard_options=options)
