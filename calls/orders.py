"""Purchase figures from order lines: derive them per customer, and the queue's reasons.

Order lines come in through ``carecall import-orders`` (:mod:`calls.ingest.orders`).
After every import the figures on ``customers`` are recomputed (12-month and lifetime
revenue, orders, first / last purchase, average days between orders).

The queue reads two reasons from those figures (:func:`purchase_reason`): a thank-you call
after a recent purchase, and "at risk: buying slowed" when the days since the last order
exceed ``at_risk_factor`` times the customer's usual interval.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from calls.store import Store
from calls.store import orders as store_orders

__all__ = [
    "attach_pending_orders",
    "derive_customer_figures",
    "purchase_reason",
    "window_start",
]


def window_start(now: datetime, window_days: int = 365) -> date:
    """The day before the revenue window opens: lines dated after it count.

    With a 365-day window on 2026-03-10, an order of 2025-03-11 counts and one of
    2025-03-10 (exactly 365 days ago) does not.
    """
    return now.date() - timedelta(days=window_days)


def derive_customer_figures(store: Store, now: datetime, window_days: int = 365) -> int:
    """Recompute revenue_12m, revenue_lifetime, order_count, first/last purchase and the
    average interval for every customer with order lines; returns how many have lines.
    """
    return store_orders.derive_figures(store, window_start(now, window_days).isoformat())


def attach_pending_orders(
    store: Store, now: datetime, window_days: int = 365
) -> int:
    """After a customer import: attach waiting order lines to customers that now exist and,
    when any were attached (or orders exist at all), re-derive the figures. Returns how
    many lines were attached.
    """
    if not store_orders.has_order_lines(store):
        return 0
    attached = store_orders.attach_pending(store)
    derive_customer_figures(store, now, window_days)
    return attached


def purchase_reason(
    last_purchase: date | None,
    avg_interval_days: float | None,
    order_count: int | None,
    now: datetime,
    *,
    thank_you_days: int = 14,
    at_risk_factor: float = 2.0,
) -> str | None:
    """``"thank_you"``, ``"at_risk"`` or None for one customer's purchase figures (pure).

    Thank-you: the last purchase is at most ``thank_you_days`` old (and not in the future).
    At risk: the customer has a usual rhythm (two or more order days) and the days since
    the last order exceed ``at_risk_factor`` times the average interval.
    """
    if last_purchase is None:
        return None
    today = now.date()
    days = (today - last_purchase).days
    if 0 <= days <= thank_you_days:
        return "thank_you"
    if (
        avg_interval_days
        and avg_interval_days > 0
        and (order_count or 0) >= 2
        and days > at_risk_factor * avg_interval_days
    ):
        return "at_risk"
    return None
