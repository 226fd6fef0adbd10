"""Tiers by the 80/20 rule (pure) and recomputed in the store."""

from __future__ import annotations

import pytest

from calls.ingest.tiers import assign_tiers, recompute_tiers


def test_eighty_fifteen_five():
    # 10 customers: revenue 50, 20, 10, 8, 5, 3, 2, 1, 1, 0 (total 100).
    revenues = [(i, r) for i, r in enumerate([50, 20, 10, 8, 5, 3, 2, 1, 1, 0], start=1)]
    tiers = assign_tiers(revenues)
    # 50+20 = 70 < 80, so #3 (crossing 80) is still A; 80 -> 88 -> 93 -> 96 crosses 95 at #6.
    assert [tiers[i] for i in range(1, 11)] == ["A", "A", "A", "B", "B", "B", "C", "C", "C", "C"]


def test_boundary_exactly_reached_goes_to_next_tier():
    tiers = assign_tiers([(1, 80), (2, 15), (3, 5)])
    assert tiers == {1: "A", 2: "B", 3: "C"}


def test_no_revenue_is_c_and_order_does_not_matter():
    assert assign_tiers([(1, None), (2, 0)]) == {1: "C", 2: "C"}
    a = assign_tiers([(1, 10), (2, 10), (3, 10), (4, 10), (5, 10)])
    b = assign_tiers([(5, 10), (3, 10), (1, 10), (4, 10), (2, 10)])
    assert a == b
    assert sorted(a.values()) == ["A", "A", "A", "A", "B"]


def test_negative_revenue_counts_as_none():
    assert assign_tiers([(1, -50), (2, 100)]) == {1: "C", 2: "A"}


def test_thresholds_are_policy():
    revenues = [(1, 60), (2, 30), (3, 10)]
    assert assign_tiers(revenues, 0.5, 0.9) == {1: "A", 2: "B", 3: "C"}
    assert assign_tiers(revenues, 0.7, 1.0) == {1: "A", 2: "A", 3: "B"}
    with pytest.raises(ValueError):
        assign_tiers(revenues, 0.9, 0.5)


def _add(store, ref, revenue, revenue_12m=None):
    with store.write():
        store.db.conn.execute(
            "INSERT INTO customers (ref, name, revenue, revenue_12m, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'x', 'x')",
            (ref, ref, revenue, revenue_12m),
        )


def test_recompute_uses_12_month_revenue_when_present(store):
    _add(store, "big-list", 1000)
    _add(store, "small-list", 10, revenue_12m=5000)   # orders say otherwise
    _add(store, "nothing", None)
    changed = recompute_tiers(store)
    assert changed == 3
    tiers = dict(store.db.conn.execute("SELECT ref, tier FROM customers"))
    assert tiers == {"small-list": "A", "big-list": "B", "nothing": "C"}
    assert recompute_tiers(store) == 0


def test_recompute_accepts_a_policy(store):
    class Tiers:
        a_share = 0.5
        b_share = 0.6

    class Policy:
        tiers = Tiers()

    _add(store, "a", 50)
    _add(store, "b", 30)
    _add(store, "c", 20)
    recompute_tiers(store, Policy())
    assert dict(store.db.conn.execute("SELECT ref, tier FROM customers")) == {
        "a": "A", "b": "B", "c": "C"
    }


def test_store_rule_equals_pure_rule(store):
    import random

    rng = random.Random(5)
    with store.write():
        for i in range(400):
            rev = None if rng.random() < 0.1 else round(400 * rng.paretovariate(1.16), 2)
            r12 = round(rng.uniform(-10, 5000), 2) if rng.random() < 0.2 else None
            store.db.conn.execute(
                "INSERT INTO customers (ref, name, revenue, revenue_12m, created_at, updated_at)"
                " VALUES (?, '', ?, ?, 'x', 'x')", (f"R{i}", rev, r12))
    for a, b in ((0.8, 0.95), (0.5, 0.5), (0.6, 1.0)):
        recompute_tiers(store, a, b)
        rows = store.all("SELECT id, coalesce(revenue_12m, revenue) AS r, tier FROM customers")
        expected = assign_tiers([(r["id"], r["r"]) for r in rows], a, b)
        assert {r["id"]: r["tier"] for r in rows} == expected


def test_tiers_80_20_shares_of_revenue():
    # Revenue shares decide: 800 of 1000 is the first 80 %, then up to 95 %, then the rest.
    revenues = [800.0, 100.0, 50.0, 30.0, 20.0, None, 0.0]
    tiers = assign_tiers(enumerate(revenues))
    assert tiers[0] == "A"            # the first 80 % of 1000
    assert tiers[1] == "B"            # 80 % .. 90 %
    assert tiers[2] == "B"            # 90 % .. 95 %
    assert tiers[3] == "C" and tiers[4] == "C" and tiers[5] == "C" and tiers[6] == "C"
