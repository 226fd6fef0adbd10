"""Queries on ``seat_states`` (each seat's states as intervals) for the floor view."""

from __future__ import annotations

from calls.store import Store


def open_state(store: Store, caller: str) -> dict | None:
    """The caller's state now (the interval not yet ended), or None."""
    return store.one("SELECT * FROM seat_states WHERE caller = ? AND ended_at IS NULL "
                     "ORDER BY id DESC LIMIT 1", (caller,))


def close_open(store: Store, caller: str, now: str) -> None:
    """End the caller's open interval(s) at ``now``. Call inside store.write()."""
    store.db.execute("UPDATE seat_states SET ended_at = max(started_at, ?) "
                     "WHERE caller = ? AND ended_at IS NULL", (now, caller))


def insert_state(store: Store, caller: str, state: str, reason: str | None,
                 customer_id: int | None, call_id: int | None, now: str,
                 set_by: str | None = None, locked_from: str | None = None,
                 state_since: str | None = None) -> int:
    """Open a new interval (``locked_from``: a locked seat's state under the lock;
    ``state_since``: when that state, or the state returned to, began). Call inside
    store.write()."""
    cur = store.db.execute(
        "INSERT INTO seat_states(caller, state, reason, customer_id, call_id, started_at, "
        "set_by, locked_from, state_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (caller, state, reason, customer_id, call_id, now, set_by, locked_from, state_since))
    return cur.lastrowid


def open_states(store: Store) -> list[dict]:
    """Every open interval with the customer's name and ref (for supervisors)."""
    return store.all(
        "SELECT s.*, c.name AS customer_name, c.ref AS customer_ref FROM seat_states s "
        "LEFT JOIN customers c ON c.id = s.customer_id WHERE s.ended_at IS NULL ORDER BY s.id")


# The state a logged interval's time counts as: its own, but a locked seat's time counts
# as the state under the lock, except over ready, which is "locked" (not ready, not
# worked): a pause is still the pause, and a call still the call (the caller may be on
# the phone with the screen locked).
COUNTED_STATE = ("CASE WHEN state = 'locked' AND locked_from != 'ready' THEN locked_from "
                 "ELSE state END")


def state_seconds(store: Store, start: str, now: str) -> list[dict]:
    """Per caller and state (``COUNTED_STATE``): seconds spent in [start, now], the
    calls worked in it, and ``call_seconds``: the seconds of them spent on a call (a
    customer taken and given back without a call started has no ``call_id``).

    Only the intervals that reach into the period are read: those ended after ``start``
    and those still open, from the index on the end (migration floor_0003); the seat log
    of every earlier day is not (a month of 100 seats: 290,000 intervals scanned before,
    the day's 8,000 now). The same rows as ``started_at < now AND coalesce(ended_at, now)
    > start`` (tests/core/test_floor.py holds the two to the same answer)."""
    return store.all(
        f"""
        SELECT caller, state, sum(spent) AS seconds, count(DISTINCT call_id) AS calls,
               sum(CASE WHEN call_id IS NOT NULL THEN spent ELSE 0 END) AS call_seconds
        FROM (SELECT caller, state, call_id,
                     max(0, unixepoch(min(coalesce(ended_at, :now), :now))
                            - unixepoch(max(started_at, :start))) AS spent
        FROM (SELECT caller, {COUNTED_STATE} AS state, started_at, ended_at, call_id
              FROM seat_states INDEXED BY idx_seat_states_ended
              WHERE ended_at > :start AND started_at < :now
              UNION ALL
              SELECT caller, {COUNTED_STATE} AS state, started_at, ended_at, call_id
              FROM seat_states INDEXED BY idx_seat_states_ended
              WHERE ended_at IS NULL AND started_at < :now AND :now > :start))
        GROUP BY caller, state
        """, {"start": start, "now": now})


def calls_by_outcome(store: Store, start: str, now: str) -> list[dict]:
    """Per caller and outcome: how many calls started in [start, now]."""
    return store.all(
        "SELECT caller, outcome, count(*) AS n FROM calls WHERE started_at >= ? "
        "AND started_at < ? GROUP BY caller, outcome", (start, now))


def active_account_names(store: Store) -> list[tuple[str, str | None, str]]:
    """(name, display, role) of the active accounts."""
    return [(r["name"], r["display"], r["role"]) for r in store.all(
        "SELECT name, display, role FROM accounts WHERE active = 1 ORDER BY name")]


def end_seat(store: Store, caller: str, now: str) -> None:
    """The caller's seat closes: its open state ends at ``now``, with its seat row and any
    pause asked for after the call."""
    close_open(store, caller, now)
    drop_pause_request(store, caller)
    drop_seat(store, caller)


def account_active(store: Store, caller: str) -> bool:
    """False only when ``caller`` names an account that is disabled (no account: True)."""
    row = store.one("SELECT active FROM accounts WHERE name = ?", (caller,))
    return row is None or bool(row["active"])


def attach_call(store: Store, state_id: int, call_id: int) -> None:
    """Name the call an open interval belongs to (the call row is made after the customer
    was taken). Call inside store.write()."""
    store.db.execute("UPDATE seat_states SET call_id = ? WHERE id = ?", (call_id, state_id))


def seat_row(store: Store, caller: str) -> dict | None:
    """The seat the caller is signed in at now (token, kind, opened_at), or None."""
    return store.one("SELECT * FROM seats WHERE caller = ?", (caller,))


def put_seat(store: Store, caller: str, token: str, kind: str, now: str) -> None:
    """The caller's seat is this one now. Call inside store.write()."""
    store.db.execute(
        "INSERT INTO seats(caller, token, kind, opened_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(caller) DO UPDATE SET token = excluded.token, kind = excluded.kind, "
        "opened_at = excluded.opened_at", (caller, token, kind, now))


def drop_seat(store: Store, caller: str) -> None:
    """The caller has no seat now. Call inside store.write()."""
    store.db.execute("DELETE FROM seats WHERE caller = ?", (caller,))


def pause_request(store: Store, caller: str) -> dict | None:
    """The pause a supervisor asked for, to start when the caller's call ends, or None."""
    return store.one("SELECT * FROM seat_pause_requests WHERE caller = ?", (caller,))


def pause_requests(store: Store) -> dict[str, str]:
    """caller -> reason of every pause waiting for a call to end."""
    return {r["caller"]: r["reason"] for r in store.all(
        "SELECT caller, reason FROM seat_pause_requests")}


def put_pause_request(store: Store, caller: str, reason: str, by: str, now: str) -> None:
    """Ask for a pause after the caller's call (replaces an earlier ask). Call inside
    store.write()."""
    store.db.execute(
        "INSERT INTO seat_pause_requests(caller, reason, requested_by, requested_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(caller) DO UPDATE SET reason = excluded.reason, "
        "requested_by = excluded.requested_by, requested_at = excluded.requested_at",
        (caller, reason, by, now))


def drop_pause_request(store: Store, caller: str) -> None:
    """Forget the caller's pending pause. Call inside store.write()."""
    store.db.execute("DELETE FROM seat_pause_requests WHERE caller = ?", (caller,))
