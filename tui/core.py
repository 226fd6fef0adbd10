"""What the screens read from the core, and how they show it.

The queue reads (``load_queue``, ``explain_customer``) run on the database lane
(``app.db`` passes the ``Store`` first); the rest turns core dataclasses into words. Nothing here writes but through ``calls.session.CallSession``, whose writing
steps the screens hand to ``app.db``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from calls.clock import from_iso
from calls.models import Customer, kind_label
from calls.outcomes import LABEL, Outcome
from calls.records import record
from calls.session import CallSession, UnfinishedCall, WrapUpResult
from calls.store import Store
from tui.timeparse import format_local, zone_of

# -- the queue --------------------------------------------------------------------------


@record
class QueueView:
    """The first page of the caller's queue and, when it is short, when more open up;
    ``ahead``: its top as a reading ``n`` may claim without reading the queue again
    (``calls.queue.QueueAhead``: checked again in the claim's lock, and only while fresh)."""

    entries: list[Any]
    waiting_line: str | None = None
    ahead: Any = None


def entry_reasons(entry: Any) -> list[str]:
    """A queue entry's reasons in words."""
    return [str(r) for r in entry.reasons]


def entry_search_text(entry: Any) -> str:
    """Lower-case text the queue filter matches against."""
    c = entry.customer
    return " ".join(
        str(x) for x in (c.name, c.company or "", c.ref, c.tier or "", *entry_reasons(entry))
    ).lower()


def load_queue(store: Store, caller: str, now: datetime, policy: Any, limit: int) -> QueueView:
    """The first ``limit`` rows of the caller's queue; when it is empty, when it fills again."""
    from calls.policy import format_duration
    from calls.queue import AHEAD_READ, QueueAhead, build_queue, next_opening_why, opening_horizon

    entries = build_queue(store, caller, now, policy, limit=limit)
    ahead = QueueAhead(caller, now, entries[0] if entries else None,
                       after=tuple(e.customer.id for e in entries[1:AHEAD_READ]))
    waiting = None
    if not entries:
        opening = next_opening_why(store, caller, now, policy)
        if opening is None:
            waiting = f"nobody is due in the next {opening_horizon(policy).days} days"
        else:
            local = opening.at.astimezone()
            who = opening.customer.name or opening.customer.ref
            held = f" (held by {opening.rule})" if opening.rule else ""
            waiting = (f"the next customers can be called from {local:%a %d %b %H:%M} your "
                       f"time (in {format_duration(opening.at - now)}): {who}{held}")
    return QueueView(entries=entries, waiting_line=waiting, ahead=ahead)


def explain_customer(store: Store, customer_id: int, caller: str, now: datetime,
                     policy: Any) -> tuple[str, list[str]]:
    """Why a customer is (not) callable now: a title and the lines of the explanation."""
    from calls.queue import explain

    result = explain(store, customer_id, caller, now, policy)
    c = result.customer
    title = f"{c.name or c.ref} — {'callable now' if result.callable else 'not callable now'}"
    window = "open" if result.window_open else "closed"
    lines = [f"their time: {result.local_time:%a %H:%M} ({result.time_zone}), window {window}"]
    lines += [line for line in result.lines if line != "callable now"]
    return title, lines


# -- a call: what the screens show (the call itself is ``calls.session.CallSession``) ---


def national_format(e164: str | None) -> str | None:
    """The number as the customer's country writes it (display only)."""
    if not e164:
        return None
    import phonenumbers

    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:  # a stored number phonenumbers cannot read
        return None


def flow_markup(parts: list[str], width: int, gap: str = "  ") -> str:
    """Rich-markup ``parts`` side by side, a new line only between two parts (a key never
    ends a line without its label: "w" / "Wrong number")."""
    return _flow_markup(tuple(parts), width, gap)


@lru_cache(maxsize=32)
def _flow_markup(parts: tuple[str, ...], width: int, gap: str) -> str:
    # Kept: the call screen's outcome bar is the same few lines for every customer, and
    # reading each part's markup again cost a millisecond of every next customer drawn.
    from tui.widgets.text import markup_text

    lines: list[str] = []
    line, used = "", 0
    for part in parts:
        size = markup_text(part).cell_len
        if used and used + len(gap) + size > width:
            lines.append(line)
            line, used = "", 0
        line += (gap if used else "") + part
        used += (len(gap) if used else 0) + size
    lines.append(line)
    return "\n".join(lines)


def short_question(text: str, width: int = 44) -> str:
    """A question shortened to fit beside its answer at 80 columns."""
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def history_lines(session: CallSession) -> list[str]:
    """The customer's earlier calls, newest first: a line each, then a line per score
    (the question's words in the customer's language, as the wrap-up shows them)."""
    words = getattr(session, "history_words", {})
    return [describe_history_item(item, words.get(item.id, ())) for item in session.history]


def describe_history_item(item: Any, words: tuple[tuple[str, str], ...] = ()) -> str:
    """One previous call: date, caller, outcome, notes; under it the scores in words
    (``words``: (question, answer) pairs; never the question keys)."""
    started = item.started_at if isinstance(item.started_at, datetime) else from_iso(item.started_at)
    outcome = LABEL.get(Outcome(item.outcome), item.outcome) if item.outcome else "unfinished"
    parts = [f"{started:%Y-%m-%d}", item.caller, outcome]
    line = " · ".join(str(p) for p in parts)
    notes = (item.notes or "").strip()
    if notes:
        first = notes.splitlines()[0]
        line += f" — {first[:80]}"
    for question, answer in words:
        line += f"\n  {short_question(question)}: {answer}"
    return line


def window_status(policy: Any, customer: Customer, now: datetime) -> tuple[bool, str] | None:
    """Whether the customer's calling window is open now, and when it changes."""
    from calls.queue import customer_window

    if not customer.time_zones:
        return None
    # The queue's window (state hours, holidays, the list's region), not the country's.
    state = customer_window(customer, now, policy)
    zone = zone_of(customer.time_zones)
    if state.open:
        until = f"until {format_local(state.closes_at, zone, now)}" if state.closes_at else ""
        return True, until
    if state.opens_at:
        return False, f"opens {format_local(state.opens_at, zone, now)}"
    return False, "no opening in the next two weeks"


def card(session: CallSession, now: datetime, window: tuple[bool, str] | None) -> str:
    """The customer card's markup."""
    from tui.widgets.card import card_text

    customer = session.customer
    if session.number != customer.phone:   # another of their numbers is being dialled
        customer = replace(customer, phone=session.number, phone_raw=None, phone_ext=None)
    return card_text(customer, now, window, list(session.reasons),
                     national_format(customer.phone))


def describe_spec(spec: Any) -> str:
    """A rule follow-up in a line: kind, owner, note."""
    note = f": {spec.note}" if spec.note else ""
    return f"{kind_label(spec.kind)} for {spec.owner}{note}"


def describe_unfinished(item: UnfinishedCall, now: datetime) -> str:
    """The resume prompt's text."""
    call, customer = item.call, item.customer
    who = customer.name or customer.ref
    if customer.company:
        who += f" ({customer.company})"
    state = "talking" if call.connected_at else "dialling"
    answers = f", {item.answers} answer{'s' if item.answers != 1 else ''} saved" if item.answers else ""
    if call.chosen_outcome is not None:
        answers += f", outcome picked: {LABEL[call.chosen_outcome]}"
    started = call.started_at.astimezone()
    return f"Call with {who}, started {started:%a %d %b %H:%M} ({state}{answers})."


def wrap_up_message(result: WrapUpResult) -> str:
    """The one short line a caller is told after a saved call (the next customer is
    already on the screen: more would only cover it)."""
    name = result.customer.name or "the customer"
    outcome = result.call.outcome
    parts = [f"Saved {name}: {LABEL[outcome] if outcome else 'ended'}"]
    if result.followups:
        count = len(result.followups)
        parts.append(f"{count} follow-up{'s' if count != 1 else ''}")
    if result.next_callable_at is not None:
        local = result.next_callable_at.astimezone(zone_of(result.customer.time_zones))
        # "Mon 12:00" alone reads as next Monday: name the date when it is further off.
        soon = result.next_callable_at - result.call.ended_at < timedelta(days=6) \
            if result.call.ended_at else False
        parts.append(f"again from {local:%a %H:%M} their time" if soon else
                     f"again from {local:%a %d %b %H:%M} their time")
    return " · ".join(parts)
