"""The customer card and the customer's history on the call screen."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rich.markup import escape
from textual.widgets import Static

from calls.models import Customer, kind_label
from tui.timeparse import format_local, zone_of
from tui.widgets.text import show_text


def _money(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else "–"


def _birthday(value: date | None) -> str:
    if value is None:
        return "–"
    # Year 1900 means "year unknown" in the store.
    return f"{value:%d %b}" if value.year <= 1900 else f"{value:%d %b %Y}"


def card_text(customer: Customer, now: datetime, window: tuple[bool, str] | None,
              reasons: list[str], national: str | None) -> str:
    """The card as Rich markup, a handful of short lines that fit 36 columns."""
    zone = zone_of(customer.time_zones)
    local = now.astimezone(zone)
    phone = national or customer.phone_raw or customer.phone or "no number"
    # A tel: link: a terminal that knows links (OSC 8) opens the softphone with a click.
    lines = [f"[b][link='tel:{customer.phone}']{escape(phone)}[/link][/b]" if customer.phone
             else f"[b]{escape(phone)}[/b]"]
    if customer.phone and customer.phone != phone:
        ext = f" x{customer.phone_ext}" if customer.phone_ext else ""
        lines[0] += f"  [dim]{escape(customer.phone)}{escape(ext)}[/dim]"
    if customer.phone2:
        lines.append(f"[dim]also[/dim] {escape(customer.phone2)}")
    zones = ", ".join(customer.time_zones) or "UTC (zone unknown)"
    state = ""
    if window is not None:
        is_open, text = window
        state = ("[green]● open[/green]" if is_open else "[red]● closed[/red]")
        if text and not is_open:
            state += f" [dim]{escape(text)}[/dim]"
    lines.append(f"{local:%a %H:%M} {escape(zones)}  {state}")
    tier = customer.tier or "–"
    lines.append(f"Tier [b]{escape(tier)}[/b] · {_money(customer.revenue)}/yr"
                 f" · since {_day(customer.customer_since)}")
    born = f" · born {_birthday(customer.birthday)}" if customer.birthday else ""
    lines.append(f"Bought {_day(customer.last_purchase)}{born}")
    if customer.owner:
        lines.append(f"Owner {escape(customer.owner)}")
    if reasons:
        lines.append("[b]Why now:[/b] " + escape("; ".join(reasons)))
    if customer.do_not_call:
        lines.append("[reverse red] DO NOT CALL [/]")
    return "\n".join(lines)


class CustomerCard(Static):
    """Who the caller is talking to and why they are called now."""


class HistoryView(Static):
    """Previous calls (date, caller, outcome, scores, notes) and open follow-ups."""

    def show(self, calls: list[Any], followups: list[Any], zones: tuple[str, ...] = (),
             now: datetime | None = None) -> None:
        """Render the history lines (newest call first); due times in the customer's time."""
        lines: list[str] = []
        zone = zone_of(zones)
        if followups:
            lines.append("[b]Open follow-ups[/b]")
            for f in followups:
                due = f" due {format_local(f.due_at, zone, now)}" if f.due_at else ""
                owner = f" · {escape(f.owner)}" if f.owner else ""
                detail = f" — {escape(_first_line(f.details))}" if f.details else ""
                lines.append(f"• {escape(kind_label(f.kind))}{due}{owner}{detail}")
        lines.append("[b]Previous calls[/b]" if calls else "[dim]No previous calls.[/dim]")
        for c in calls:
            lines.append(escape(c))
        show_text(self, "\n".join(lines))


def _first_line(text: str, width: int = 60) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
