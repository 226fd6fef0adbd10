"""Queries on calls (one row per attempt) and the customer's care-queue state."""

from __future__ import annotations

from calls.store import Store

# The customer columns that make up the queue state (queue_0001 migration).
STATE_COLUMNS = ("cycle_status", "cycle_ended_at", "cycle_attempts", "retry_after",
                 "last_outcome", "last_call_at")


def insert_call(store: Store, customer_id: int, caller: str, started_at: str,
                script_id: int | None, reason: str | None, inbound: bool = False) -> int:
    """A new call row (in progress); returns its id."""
    cur = store.db.execute(
        "INSERT INTO calls(customer_id, caller, script_id, reason, started_at, inbound) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (customer_id, caller, script_id, reason, started_at, int(inbound)),
    )
    return cur.lastrowid


def call_row(store: Store, call_id: int) -> dict | None:
    """One call row, or None."""
    return store.one("SELECT * FROM calls WHERE id = ?", (call_id,))


def set_connected(store: Store, call_id: int, at: str) -> None:
    """Mark when the customer answered (first time only)."""
    store.db.execute(
        "UPDATE calls SET connected_at = ? WHERE id = ? AND connected_at IS NULL", (at, call_id)
    )


def set_notes(store: Store, call_id: int, notes: str) -> None:
    """Replace a call's notes."""
    store.db.execute("UPDATE calls SET notes = ? WHERE id = ?", (notes, call_id))


def set_chosen_outcome(store: Store, call_id: int, outcome: str, callback_at: str | None,
                       callback_personal: bool | None) -> None:
    """Keep the outcome the caller picked on a call that has not ended yet."""
    store.db.execute(
        "UPDATE calls SET chosen_outcome = ?, callback_at = ?, callback_personal = ? "
        "WHERE id = ? AND ended_at IS NULL",
        (outcome, callback_at, callback_personal, call_id),
    )


def end_call(store: Store, call_id: int, ended_at: str, outcome: str,
             callback_at: str | None, callback_personal: bool | None,
             notes: str | None) -> None:
    """Close a call with its outcome (notes only replaced when given)."""
    store.db.execute(
        "UPDATE calls SET ended_at = ?, outcome = ?, callback_at = ?, callback_personal = ?, "
        "notes = coalesce(?, notes) WHERE id = ?",
        (ended_at, outcome, callback_at,
         None if callback_personal is None else int(callback_personal), notes, call_id),
    )


def customer_state(store: Store, customer_id: int) -> dict | None:
    """The customer's queue-state columns plus phone, DNC and number status."""
    cols = ", ".join(STATE_COLUMNS)
    return store.one(
        f"SELECT id, ref, name, phone, phone_raw, phone_region, do_not_call, number_status, "
        f"{cols} FROM customers WHERE id = ?",
        (customer_id,),
    )


def update_customer(store: Store, customer_id: int, values: dict) -> None:
    """Set some customer columns (names come from this package, never from users)."""
    if not values:
        return
    sets = ", ".join(f"{k} = :{k}" for k in values)
    store.db.execute(f"UPDATE customers SET {sets} WHERE id = :_id", {**values, "_id": customer_id})


def add_to_dnc(store: Store, phone: str, raw: str | None, source: str, reason: str | None,
               added_at: str, added_by: str | None) -> bool:
    """Put a number on the DNC list; False when it was there already."""
    cur = store.db.execute(
        "INSERT INTO dnc(phone, raw, source, reason, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(phone) DO NOTHING",
        (phone, raw, source, reason, added_at, added_by),
    )
    return cur.rowcount > 0


def delete_claim(store: Store, customer_id: int, caller: str) -> None:
    """Release the caller's claim on a customer."""
    store.db.execute("DELETE FROM claims WHERE customer_id = ? AND caller = ?",
                     (customer_id, caller))

def unfinished_rows(store: Store, caller: str) -> list[dict]:
    """The caller's calls that were started and never ended, oldest first."""
    return store.all(
        "SELECT * FROM calls WHERE caller = ? AND ended_at IS NULL ORDER BY started_at, id",
        (caller,),
    )


def history_rows(store: Store, customer_id: int) -> list[dict]:
    """A customer's calls, newest first."""
    return store.all(
        "SELECT * FROM calls WHERE customer_id = ? ORDER BY started_at DESC, id DESC",
        (customer_id,),
    )


def score_answers(store: Store, call_ids: list[int]) -> list[dict]:
    """NPS and rating answers of these calls."""
    out: list[dict] = []
    for start in range(0, len(call_ids), 500):
        chunk = call_ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.extend(store.all(
            f"SELECT call_id, key, qtype, value FROM answers WHERE call_id IN ({marks}) "
            "AND qtype IN ('nps', 'rating') ORDER BY call_id, answered_at",
            chunk,
        ))
    return out


def live_claim(store: Store, customer_id: int, now: str) -> dict | None:
    """The live claim on a customer, if any."""
    return store.one("SELECT * FROM claims WHERE customer_id = ? AND expires_at > ?",
                     (customer_id, now))
