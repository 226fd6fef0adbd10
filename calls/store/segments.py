"""Queries for NPS and CSAT by customer segment (any customer column or list column)."""

from __future__ import annotations

import json

from calls.store import Store

# Columns a segment may not be built on: they identify one person, not a group.
_PERSONAL = {"id", "ref", "name", "phone", "phone_raw", "phone_ext", "phone2", "phone2_raw",
             "email", "extra", "row_hash", "birthday", "created_at", "updated_at"}

_SCORE_SQL = "CAST(json_extract(a.value, '$') AS INTEGER)"


def customer_columns(store: Store) -> list[str]:
    """The customers columns a segment may use (everything that is not personal)."""
    return [row[1] for row in store.db.conn.execute("PRAGMA table_info(customers)")
            if row[1] not in _PERSONAL]


def extra_keys(store: Store, sample: int = 2000) -> list[str]:
    """The list columns kept in ``customers.extra`` (from the most recent customers)."""
    keys: dict[str, None] = {}
    for (text,) in store.db.conn.execute(
            "SELECT extra FROM customers WHERE extra IS NOT NULL ORDER BY id DESC LIMIT ?",
            (sample,)):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
    return list(keys)


def score_histogram_by(store: Store, qtype: str, start: str, end: str, *,
                       column: str | None = None, extra_key: str | None = None
                       ) -> dict[str | None, dict[int, int]]:
    """{segment value: {score: answers}} for answers of ``qtype`` given in ``[start, end)``,
    the segment being a customers ``column`` (checked against the table) or a list column
    ``extra_key`` (read from the JSON kept in ``customers.extra``)."""
    if column is not None:
        if column not in customer_columns(store):
            raise ValueError(f"not a segment column: {column!r}")
        expr, params = f"cu.{column}", []
    elif extra_key is not None:
        expr = "json_extract(cu.extra, ?)"
        params = ['$."' + extra_key.replace('"', '\\"') + '"']
    else:
        raise ValueError("a column or an extra key")
    rows = store.db.conn.execute(
        f"SELECT {expr}, {_SCORE_SQL} AS s, count(*) FROM answers a "
        "JOIN calls c ON c.id = a.call_id JOIN customers cu ON cu.id = c.customer_id "
        "WHERE a.qtype = ? AND a.answered_at >= ? AND a.answered_at < ? "
        "AND a.value IS NOT NULL GROUP BY 1, 2",
        [*params, qtype, start, end],
    )
    out: dict[str | None, dict[int, int]] = {}
    for key, score, n in rows:
        if score is None:
            continue
        label = None if key is None or str(key).strip() == "" else str(key)
        bucket = out.setdefault(label, {})
        bucket[score] = bucket.get(score, 0) + n
    return out
