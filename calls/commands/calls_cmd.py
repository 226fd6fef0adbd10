"""carecall log-call: record a call made outside the app, through the same call session."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from calls.commands.common import (
    CallerOption,
    DbOption,
    JsonOption,
    PolicyOption,
    caller_for,
    choices,
    console,
    fail,
    load_policy_option,
    note_policy,
    open_store,
    user_errors,
)
from calls.models import kind_label
from calls.outcomes import LABEL, Outcome

YesNo = choices("YesNo", ("yes", "no"))
Withdrawn = choices("Withdrawn", ("calls", "marketing", "recording", "share"))


def _answer_pairs(texts: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            fail(f"--answer {text!r}: write it as KEY=VALUE, e.g. --answer nps=9")
        pairs.append((key.strip(), value))
    return pairs


def _callback_moment(text: str, zones: tuple[str, ...]) -> datetime:
    """``--callback-at``: an ISO time; without an offset it is the customer's own time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--callback-at: cannot read {text!r} as a time; use e.g. 2026-03-12T10:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zones[0]) if zones else ZoneInfo("UTC"))
    if not 1900 <= moment.year <= 9000:
        fail(f"--callback-at: {text!r} is too far from today")
    return moment


def register(app: typer.Typer) -> None:
    """Add ``log-call`` to the app."""

    @app.command("log-call")
    def log_call_command(
        ref: Annotated[str, typer.Argument(help="The customer's ref (or id).")],
        outcome: Annotated[str, typer.Option(
            "--outcome", metavar="CODE", show_default=False,
            help="What happened on the call: " + ", ".join(o.value for o in Outcome) + ".")],
        caller: CallerOption = None,
        at: Annotated[str | None, typer.Option(
            "--at", help="When the call was made (ISO time; without an offset it is UTC); "
            "default: now.", show_default=False)] = None,
        answer: Annotated[list[str] | None, typer.Option(
            "--answer", help="An answer, KEY=VALUE, as the script's question KEY takes it "
            "(repeat for each answer).", show_default=False)] = None,
        note: Annotated[str | None, typer.Option(
            "--note", help="The call's notes.", show_default=False)] = None,
        script: Annotated[str | None, typer.Option(
            "--script", help="The script the answers belong to (name or TOML file); "
            "default: the one the customer's queue reason calls for.",
            show_default=False)] = None,
        callback_at: Annotated[str | None, typer.Option(
            "--callback-at", help="For --outcome callback: when the customer asked to be "
            "called (ISO time; without an offset it is the customer's own time).",
            show_default=False)] = None,
        recording: Annotated[YesNo | None, typer.Option(
            "--recording", help="The customer's answer to the recording notice.",
            show_default=False)] = None,
        withdraw: Annotated[list[Withdrawn] | None, typer.Option(
            "--withdraw", help="A consent the customer withdrew in the call, in force at "
            "once: calls (no more calls), marketing, recording, share (repeat for each).",
            show_default=False)] = None,
        as_json: JsonOption = False,
        policy_file: PolicyOption = None,
        db: DbOption = None,
    ) -> None:
        """Record a call made outside the app (a callback from a mobile, an inbound call)."""
        from calls.clock import now_utc, parse_user_moment, to_iso
        from calls.consent import WITHDRAWAL_WORDS
        from calls.session import log_call
        from calls.store.customers import get_customer

        policy = load_policy_option(policy_file)
        pairs = _answer_pairs(answer or [])
        with user_errors():
            now = parse_user_moment(at) if at else now_utc()
        if now > now_utc() + timedelta(minutes=5):
            fail(f"--at: {at} is in the future; log a call once it was made")
        store = open_store(db)
        who = caller_for(store, caller)
        with user_errors():
            customer = get_customer(store, ref)
            if customer is None:
                fail(f"no customer with ref {ref!r}")
            callback = _callback_moment(callback_at, customer.time_zones) \
                if callback_at else None
            with store.write():   # the policy it was logged under, with the call
                note_policy(store, policy, who)
                result = log_call(store, customer.id, outcome, who, now, policy, answers=pairs,
                                  notes=note, script=script, callback_at=callback,
                                  recording=None if recording is None else recording == "yes",
                                  withdraw=[str(w) for w in withdraw or ()])
        if as_json:
            print(json.dumps({
                "call": result.call.to_dict(),
                "customer": {"id": result.customer.id, "ref": result.customer.ref,
                             "name": result.customer.name},
                "followups": [f.to_dict() for f in result.followups],
                "next_callable_at": to_iso(result.next_callable_at)
                if result.next_callable_at else None,
            }, indent=2, ensure_ascii=False))
            return
        call, c = result.call, result.customer
        label = LABEL[call.outcome] if call.outcome else "ended"
        lines = [(f"Logged call #{call.id}: {c.ref} {c.name} — {label}, by {who} at "
                  f"{call.started_at:%Y-%m-%d %H:%M} UTC.")]
        if call.callback_at is not None:
            lines.append(f"Callback due {call.callback_at:%Y-%m-%d %H:%M} UTC.")
        if result.followups:
            lines.append("Follow-ups: " + ", ".join(
                f"{kind_label(f.kind)} (#{f.id}, {f.owner or 'anyone'})"
                for f in result.followups))
        if recording is not None:
            lines.append("Recording: " + ("the customer agreed." if recording == "yes" else
                                          "the customer said no."))
        for what in dict.fromkeys(str(w) for w in withdraw or ()):
            lines.append(f"Consent to {what} withdrawn: {WITHDRAWAL_WORDS[what]}, from now.")
        if result.next_callable_at is not None:
            lines.append(f"Next try from {result.next_callable_at:%Y-%m-%d %H:%M} UTC.")
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
