"""Small modal screens of a call; each returns a typed result (None = cancelled)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from calls.models import FOLLOWUP_KINDS, kind_label
from calls.records import record
from tui.timeparse import HELP, format_local, parse_due, parse_local_time


class _Modal(ModalScreen):
    """A centred dialog that Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


# -- callback ---------------------------------------------------------------------------


@record(frozen=True)
class CallbackChoice:
    """When to call back (UTC) and whether only this caller may make that call."""

    at: datetime
    personal: bool


def quick_callback_times(now: datetime, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """The quick choices, in the customer's zone: labels and UTC moments."""
    local = now.astimezone(zone).replace(second=0, microsecond=0)

    def wall(days: int, hour: int | None = None, minute: int = 0) -> datetime:
        # Same wall-clock time on another day, so a DST change does not shift it.
        base = (local.replace(tzinfo=None) + timedelta(days=days))
        if hour is not None:
            base = base.replace(hour=hour, minute=minute)
        return base.replace(tzinfo=zone).astimezone(now.tzinfo)

    minute = now.replace(second=0, microsecond=0)  # a callback is set to the minute
    choices = [
        ("in 1 hour", minute + timedelta(hours=1)),
        ("in 2 hours", minute + timedelta(hours=2)),
    ]
    if local.hour < 16:
        choices.append(("later today, 17:00", wall(0, 17)))
    choices += [
        ("tomorrow, same time", wall(1)),
        ("tomorrow morning, 10:00", wall(1, 10)),
        ("in a week, same time", wall(7)),
    ]
    # One line per moment: at 10:00 "tomorrow, same time" is "tomorrow morning, 10:00".
    seen: set[datetime] = set()
    unique = []
    for label, at in choices:
        if at not in seen:
            seen.add(at)
            unique.append((label, at))
    return unique


class CallbackScreen(_Modal):
    """Ask when to call back, in the customer's local time, and for whom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="callback-cancel"),
        Binding("ctrl+o", "toggle_personal", "Personal/anyone", priority=True, id="callback-toggle-personal"),
        *[Binding(str(n), f"quick({n})", show=False, id=f"callback-quick-{n}") for n in range(1, 7)],
    ]

    def __init__(self, customer_name: str, zone: ZoneInfo, now: datetime,
                 personal: bool = True) -> None:
        super().__init__()
        self.customer_name = customer_name
        self.zone = zone
        self.now = now
        self.personal = personal
        self.choices = quick_callback_times(now, zone)

    def compose(self) -> ComposeResult:
        local = self.now.astimezone(self.zone)
        with Vertical(classes="dialog"):
            yield Label(f"[b]Callback[/b] — {escape(self.customer_name)}", classes="title")
            yield Static(f"Their time now: {local:%a %d %b %H:%M} ({self.zone.key})",
                         classes="hint")
            yield OptionList(
                *[Option(f"{n}  {label:<24} {format_local(at, self.zone, self.now)}", id=str(n))
                  for n, (label, at) in enumerate(self.choices, start=1)],
                id="quick",
                compact=True,
            )
            yield Input(placeholder=f"or type their time: {HELP}", id="when", compact=True)
            yield Static("", id="error", classes="error")
            yield Checkbox("Personal: only I call back (ctrl+o)", self.personal, id="personal",
                           compact=True)
            yield Static("digit or ↑↓ Enter: pick · Tab: type a time · Esc: cancel",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one("#quick", OptionList).focus()
        self.query_one("#quick", OptionList).highlighted = 0

    def action_toggle_personal(self) -> None:
        box = self.query_one("#personal", Checkbox)
        box.value = not box.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Digits belong to the typed time while the time field has focus.
        return not (action == "quick" and isinstance(self.focused, Input))

    def _done(self, at: datetime) -> None:
        self.dismiss(CallbackChoice(at=at, personal=self.query_one("#personal", Checkbox).value))

    def action_quick(self, n: int) -> None:
        if 1 <= n <= len(self.choices):
            self._done(self.choices[n - 1][1])

    @on(OptionList.OptionSelected, "#quick")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.action_quick(int(event.option.id or 0))

    @on(Input.Submitted, "#when")
    def _typed(self, event: Input.Submitted) -> None:
        try:
            at = parse_local_time(event.value, self.now, self.zone)
        except ValueError as exc:
            self.query_one("#error", Static).update(escape(str(exc)))
            return
        self._done(at)


# -- do not call ------------------------------------------------------------------------


class DncConfirmScreen(_Modal):
    """Confirm putting the number on the do-not-call list; returns the reason."""

    def __init__(self, customer_name: str, phone: str) -> None:
        super().__init__()
        self.customer_name = customer_name
        self.phone = phone

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("[b]Do not call[/b]", classes="title")
            yield Static(
                f"{escape(self.customer_name)} asked never to be called again.\n"
                f"{escape(self.phone)} goes on the do-not-call list and is never queued again."
            )
            yield Input(value="customer asked not to be called", id="reason", compact=True)
            yield Static("Enter: confirm · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _confirm(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or "customer asked not to be called")


# -- wrong number -----------------------------------------------------------------------


@record(frozen=True)
class WrongNumber:
    """The number did not reach the customer; ``new_number`` is the correction, if known."""

    new_number: str | None


class WrongNumberScreen(_Modal):
    """Record a wrong number, optionally with the right one (validated as the import does)."""

    def __init__(self, customer_name: str, phone: str, region: str | None) -> None:
        super().__init__()
        self.customer_name = customer_name
        self.phone = phone
        self.phone_region = region or "US"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("[b]Wrong number[/b]", classes="title")
            yield Static(f"{escape(self.phone)} does not reach {escape(self.customer_name)}.")
            yield Input(placeholder="the right number, if you got it (empty: none)", id="number",
                        compact=True)
            yield Static("", id="error", classes="error")
            yield Static("Enter: save · Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#number", Input).focus()

    @on(Input.Submitted, "#number")
    def _save(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.dismiss(WrongNumber(None))
            return
        from calls.ingest.phones import PhoneError, normalise_phone

        try:
            phone = normalise_phone(text, self.phone_region)
        except PhoneError as exc:
            self.query_one("#error", Static).update(escape(f"not a valid number: {exc}"))
            return
        self.dismiss(WrongNumber(phone.e164))


# -- a follow-up by hand ----------------------------------------------------------------


@record(frozen=True)
class FollowupDraft:
    """A follow-up the caller adds by hand during a call."""

    kind: str
    owner: str | None
    due_at: datetime | None
    note: str


class FollowupScreen(_Modal):
    """Kind, owner, due and a note for a follow-up added by hand."""

    def __init__(self, caller: str, account_owner: str | None, zone: ZoneInfo,
                 now: datetime) -> None:
        super().__init__()
        self.caller = caller
        self.account_owner = account_owner
        self.zone = zone
        self.now = now

    def compose(self) -> ComposeResult:
        kinds = [k for k in FOLLOWUP_KINDS if k not in ("callback", "recovery_call")]
        with Vertical(classes="dialog"):
            yield Label("[b]Add a follow-up[/b]", classes="title")
            yield OptionList(*[Option(kind_label(k), id=k) for k in kinds], id="kind",
                             compact=True)
            owner_hint = f"me ({self.caller})"
            if self.account_owner:
                owner_hint += f", owner ({self.account_owner})"
            yield Input(placeholder=f"owner: {owner_hint} or a name", id="owner", value="me",
                        compact=True)
            yield Input(placeholder=f"due (their time): {HELP}", id="due", value="+1d",
                        compact=True)
            yield Input(placeholder="note", id="note", compact=True)
            yield Static("", id="error", classes="error")
            yield Static("↑↓ kind · Tab next field · Enter in the note: save · Esc: cancel",
                         classes="hint")

    def on_mount(self) -> None:
        kind = self.query_one("#kind", OptionList)
        kind.highlighted = 0
        kind.focus()

    @on(OptionList.OptionSelected, "#kind")
    def _kind_chosen(self, _event: OptionList.OptionSelected) -> None:
        self.query_one("#owner", Input).focus()

    @on(Input.Submitted, "#owner")
    def _owner_done(self) -> None:
        self.query_one("#due", Input).focus()

    @on(Input.Submitted, "#due")
    def _due_done(self) -> None:
        self.query_one("#note", Input).focus()

    def _owner(self) -> str | None:
        text = self.query_one("#owner", Input).value.strip()
        if text.lower() in ("", "me", "i", "myself"):
            return self.caller
        if text.lower() in ("owner", "account_owner", "account owner"):
            return self.account_owner or self.caller
        return text

    @on(Input.Submitted, "#note")
    def _save(self) -> None:
        kinds = self.query_one("#kind", OptionList)
        index = kinds.highlighted
        if index is None:
            self.query_one("#error", Static).update("choose a kind")
            return
        kind = kinds.get_option_at_index(index).id or ""
        try:
            due = parse_due(self.query_one("#due", Input).value, self.now, self.zone)
        except ValueError as exc:
            self.query_one("#error", Static).update(escape(f"due: {exc}"))
            self.query_one("#due", Input).focus()
            return
        note = self.query_one("#note", Input).value.strip()
        self.dismiss(FollowupDraft(kind=kind, owner=self._owner(), due_at=due, note=note))


# -- explain ----------------------------------------------------------------------------


class ExplainScreen(_Modal):
    """Why a customer is (or is not) callable now, in words."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,e", "cancel", "Close", id="explain-close")]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"[b]{escape(self.title_text)}[/b]", classes="title")
            yield Static("\n".join(escape(line) for line in self.lines) or "nothing to say")
            yield Static("Esc: close", classes="hint")


# -- yes / no ---------------------------------------------------------------------------


class ConfirmScreen(_Modal):
    """A question answered with y (True) or n / Esc (False)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(escape(self.question))
            yield Static("y: yes · n: no", classes="hint")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
