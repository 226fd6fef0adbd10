"""Queries on calls (one row per attempt) and the customer's care-queue state."""

from __future__ import annotations

from collections.abc import Iterable

from calls.localtime import ExactTimes, LocalTimes, zone_name
from calls.store import Store

# The customer columns that make up the queue state (queue_0001 migration).
STATE_COLUMNS = ("cycle_status", "cycle_ended_at", "cycle_attempts", "retry_after",
                 "last_outcome", "last_call_at")


# -- what a call row records for the export --------------------------------------------
#
# A call row carries, written with the call, what `carecall export calls` writes beside it
# (migration calls_0003_recorded_for_export): the customer's ref and time zone as they were
# when the call was written, and each moment's local time in that zone. The export then
# reads a row as it is instead of looking the customer up and converting four moments per
# call (docs/reports.md "Recorded at the call"). NULL means "not recorded": a row written
# by something else (an older carecall, the sqlite3 shell, a test's SQL), or a moment
# changed without its local time (a trigger clears it); the export computes those as
# before. Every store function that writes a call or moves one of its moments fills them.

# The moment columns of a call, each with a ``<name>_local`` column beside it.
MOMENTS = ("started_at", "connected_at", "ended_at", "callback_at")
RECORDED = ("customer_ref", "time_zone", *(f"{m}_local" for m in MOMENTS))
# A seat converts a call's few moments at a time: exactly, without LocalTimes' tables and
# hour caches (~1 MB a process would keep for good); bulk writers bring a LocalTimes.
_LOCAL = ExactTimes()


def local_text(zone: str | None, moment: str | None) -> str | None:
    """``moment`` in ``zone`` as the export writes it ('' for no moment or no zone), or
    None when the call's zone was not recorded (``zone`` None)."""
    if zone is None:
        return None
    return _LOCAL.convert(zone, moment)


def customer_recorded(store: Store, customer_id: int) -> tuple[str | None, str]:
    """(ref, zone name) of a customer as a new call records them; (None, '') if there
    is no such customer."""
    row = store.db.conn.execute("SELECT ref, time_zones FROM customers WHERE id = ?",
                                (customer_id,)).fetchone()
    return (row[0], zone_name(row[1])) if row else (None, "")


def recorded_values(ref: str | None, zone: str, moments: Iterable[str | None],
                    local: LocalTimes | ExactTimes = _LOCAL) -> tuple:
    """The RECORDED columns' values for a call of a customer with ``ref`` and ``zone``
    whose MOMENTS are ``moments``. ``local``: the conversions' cache (the process's own
    by default; a bulk writer gives one of its own, see :func:`fill_recorded`)."""
    return (ref, zone, *(local.convert(zone, m) for m in moments))


def fill_recorded(conn, chunk: int = 10_000) -> int:
    """Record the customer's ref and zone and the local times on every call that has
    none (``time_zone`` NULL), from its customer as now, chunk by chunk of ids, in the
    caller's transaction; returns how many calls were filled. What it writes is what the
    export computed for them before they were recorded. For a database nobody else uses
    (a benchmark's, a test's): on one in use, :func:`calls.recorded.record_old_calls`
    does the same in short paced write transactions."""
    low, top = conn.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) "
                            "FROM calls").fetchone()
    local, filled = LocalTimes(), 0
    while low <= top:
        filled += fill_recorded_range(conn, low, low + chunk, local)
        low += chunk
    return filled


def fill_recorded_range(conn, low: int, high: int, local: LocalTimes) -> int:
    """Record the RECORDED values on the calls ``low <= id < high`` that have none
    (``time_zone`` NULL), from their customers as now (a call whose customer is gone: no
    ref, zone ''); returns how many. Runs in the caller's transaction: read and written
    in the same one, so no writer gets between (the update's own ``time_zone IS NULL``
    keeps what a writer recorded should it ever run outside one). ``local``: a cache of
    the caller's, reused from range to range (bounded: :class:`LocalTimes`)."""
    rows = conn.execute(
        f"SELECT c.id, cu.ref, cu.time_zones, cu.id, {', '.join('c.' + m for m in MOMENTS)} "
        "FROM calls c LEFT JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.id >= ? AND c.id < ? AND c.time_zone IS NULL", (low, high)).fetchall()
    conn.executemany(
        f"UPDATE calls SET {_SETS} WHERE id = ? AND time_zone IS NULL",
        [(*recorded_values(ref, zone_name(zones) if found is not None else "", moments,
                           local), call_id) for call_id, ref, zones, found, *moments in rows])
    return len(rows)


_SETS = ", ".join(f"{name} = ?" for name in RECORDED)
# carecall_meta, written by migration calls_0003 when it found calls: the first id after
# them (calls from there on were written by a carecall that records its values), and the
# lowest id the paced backfill (calls.recorded) has not looked at yet. No such rows: no
# calls from before the migration to record (none, or the migration recorded them itself,
# as it did until 2026-12-04).
RECORDED_BELOW = "calls_recorded_below"
RECORDED_FROM = "calls_recorded_from"


def recorded_ids(store: Store) -> tuple[int, int]:
    """(the first call id the backfill has still to look at, the last one it is to look
    at); the first is past the last when there is nothing left."""
    first, below = unrecorded_ids(store.db.conn)
    return first, below - 1


def unrecorded_ids(conn) -> tuple[int, int]:
    """The ids [from, below) of the calls from before calls_0003 that the backfill has
    not looked at yet (those that may have recorded nothing), read on ``conn``; from is
    not below it when there are none."""
    got = dict(conn.execute(
        "SELECT key, value FROM carecall_meta WHERE key IN (?, ?)",
        (RECORDED_FROM, RECORDED_BELOW)).fetchall())
    if RECORDED_BELOW not in got:
        return 0, 0
    return int(got.get(RECORDED_FROM, 0)), int(got[RECORDED_BELOW])


def fill_recorded_step(store: Store, size: int, top: int, local: LocalTimes
                       ) -> tuple[int, int, int]:
    """One step of the paced backfill, in the caller's write transaction: the ``size``
    ids from where the last step (of any process) ended, up to ``top``, filled
    (:func:`fill_recorded_range`), and where it ended stored. Returns (first id looked
    at, the id after the last, calls filled)."""
    low, _last = recorded_ids(store)
    high = max(low, min(low + size, top + 1))
    filled = fill_recorded_range(store.db.conn, low, high, local)
    store.db.conn.execute(
        "INSERT INTO carecall_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (RECORDED_FROM, high))
    return low, high, filled


def _zone_of(store: Store, call_id: int) -> str | None:
    row = store.db.conn.execute("SELECT time_zone FROM calls WHERE id = ?",
                                (call_id,)).fetchone()
    return row[0] if row else None


def insert_call(store: Store, customer_id: int, caller: str, started_at: str,
                script_id: int | None, reason: str | None, inbound: bool = False) -> int:
    """A new call row (in progress), with its customer's ref and zone and its start's
    local time recorded; returns its id."""
    ref, zone = customer_recorded(store, customer_id)
    cur = store.db.execute(
        "INSERT INTO calls(customer_id, caller, script_id, reason, started_at, inbound, "
        f"{', '.join(RECORDED)}) VALUES (?, ?, ?, ?, ?, ?, {', '.join('?' * len(RECORDED))})",
        (customer_id, caller, script_id, reason, started_at, int(inbound),
         *recorded_values(ref, zone, (started_at, None, None, None))),
    )
    return cur.lastrowid


def call_row(store: Store, call_id: int) -> dict | None:
    """One call row, or None."""
    return store.one("SELECT * FROM calls WHERE id = ?", (call_id,))


def set_connected(store: Store, call_id: int, at: str) -> None:
    """Mark when the customer answered (first time only)."""
    store.db.execute(
        "UPDATE calls SET connected_at = ?, connected_at_local = ? "
        "WHERE id = ? AND connected_at IS NULL",
        (at, local_text(_zone_of(store, call_id), at), call_id),
    )


def set_notes(store: Store, call_id: int, notes: str) -> None:
    """Replace a call's notes."""
    store.db.execute("UPDATE calls SET notes = ? WHERE id = ?", (notes, call_id))


def set_chosen_outcome(store: Store, call_id: int, outcome: str, callback_at: str | None,
                       callback_personal: bool | None) -> None:
    """Keep the outcome the caller picked on a call that has not ended yet."""
    store.db.execute(
        "UPDATE calls SET chosen_outcome = ?, callback_at = ?, callback_at_local = ?, "
        "callback_personal = ? WHERE id = ? AND ended_at IS NULL",
        (outcome, callback_at, local_text(_zone_of(store, call_id), callback_at),
         callback_personal, call_id),
    )


def end_call(store: Store, call_id: int, ended_at: str, outcome: str,
             callback_at: str | None, callback_personal: bool | None,
             notes: str | None) -> None:
    """Close a call with its outcome (notes only replaced when given)."""
    zone = _zone_of(store, call_id)
    store.db.execute(
        "UPDATE calls SET ended_at = ?, ended_at_local = ?, outcome = ?, callback_at = ?, "
        "callback_at_local = ?, callback_personal = ?, notes = coalesce(?, notes) "
        "WHERE id = ?",
        (ended_at, local_text(zone, ended_at), outcome, callback_at,
         local_text(zone, callback_at),
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
