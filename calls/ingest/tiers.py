"""Tiers A/B/C by the 80/20 rule.

Sort customers by revenue, highest first. A = the customers who together make the first
``a_share`` (80 %) of all revenue, B = those up to ``b_share`` (95 %), C = the rest
(including everyone with no revenue). The customer whose revenue crosses a boundary
belongs to the higher tier: the top customers *make* the first 80 %.

Revenue is the 12-month revenue from order lines when the customer has any
(``revenue_12m``), else the yearly revenue from the imported list.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from calls.store import Pacer, Store
from calls.store import customers as store_customers

__all__ = ["assign_tiers", "recompute_tiers"]


def assign_tiers(
    revenues: Iterable[tuple[int, float | None]], a_share: float = 0.80, b_share: float = 0.95
) -> dict[int, str]:
    """``{id: tier}`` for ``(id, revenue)`` pairs; pure, no database.

    Ties in revenue are broken by id so the result does not depend on input order.
    """
    if not 0 < a_share <= b_share <= 1:
        raise ValueError(f"tier shares must satisfy 0 < a ({a_share}) <= b ({b_share}) <= 1")
    items = sorted(
        ((cid, max(rev or 0.0, 0.0)) for cid, rev in revenues), key=lambda x: (-x[1], x[0])
    )
    total = sum(rev for _, rev in items)
    tiers: dict[int, str] = {}
    before = 0.0
    # A tiny tolerance: float sums of many amounts must not push an exact 80 % boundary
    # customer into the next tier.
    eps = total * 1e-12
    for cid, rev in items:
        if rev <= 0 or total <= 0:
            tiers[cid] = "C"
        elif before < a_share * total - eps:
            tiers[cid] = "A"
        elif before < b_share * total - eps:
            tiers[cid] = "B"
        else:
            tiers[cid] = "C"
        before += rev
    return tiers


def recompute_tiers(store: Store, a_share: object = 0.80, b_share: float = 0.95) -> int:
    """Recompute every customer's tier; returns how many tiers changed.

    ``a_share`` may also be a policy (anything with ``.tiers.a_share`` / ``.tiers.b_share``,
    e.g. ``calls.policy.load_policy(...)``), so callers can pass the policy through.

    The ranking and the list of customers in the wrong tier are read without the write
    lock; the changes are written in short transactions (sized by
    :class:`calls.store.Pacer`), each rewriting only customers still in the wrong tier. When the ranking
    moved meanwhile (another import changed revenues), it is done again with the new one.
    Inside a caller's transaction everything happens in it.
    """
    tiers_section = getattr(a_share, "tiers", None)
    if tiers_section is not None:
        a, b = float(tiers_section.a_share), float(tiers_section.b_share)
    else:
        a, b = float(a_share), float(b_share)  # type: ignore[arg-type]
    if not 0 < a <= b <= 1:
        raise ValueError(f"tier shares must satisfy 0 < a ({a}) <= b ({b}) <= 1")
    if store.db.conn.in_transaction:
        with store.write():
            return store_customers.apply_tiers(store, a, b)
    changed = 0
    cuts = store_customers.tier_cuts(store, a, b)
    for _ in range(5):
        wrong = store_customers.tier_mismatches(store, cuts)
        pacer, start = Pacer(store, first=200), 0
        while start < len(wrong):
            with store.write():
                began = time.perf_counter()           # the hold, not the wait for it
                changed += store_customers.set_tiers_by_cuts(
                    store, cuts, wrong[start:start + pacer.size])
            start += pacer.size
            if start < len(wrong):
                pacer.done(time.perf_counter() - began)
        now_cuts = store_customers.tier_cuts(store, a, b)
        if now_cuts == cuts:
            break
        cuts = now_cuts
    return changed
