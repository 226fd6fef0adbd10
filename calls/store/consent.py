"""Queries for consent records and the customer's current basis columns."""

from __future__ import annotations

from calls.store import Store

# The consents that have a current-state column on customers (the queue reads them).
COLUMNS = {"calls": "consent_calls", "marketing": "consent_marketing",
           "recording": "consent_recording"}


def insert_consent(store: Store, customer_id: int, what: str, state: str, at: str, how: str,
                   proof: str | None, call_id: int | None, by: str, now: str) -> int:
    """Append one consent record and update the customer's current state when it is the
    newest for ``what``. Call inside ``store.write()``."""
    cursor = store.db.execute(
        "INSERT INTO consents (customer_id, what, state, at, how, proof, call_id, "
        "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (customer_id, what, state, at, how, proof, call_id, by, now),
    )
    column = COLUMNS.get(what)
    if column is not None:
        newest = store.one(
            "SELECT state FROM consents WHERE customer_id = ? AND what = ? "
            "ORDER BY at DESC, id DESC LIMIT 1", (customer_id, what))
        store.db.execute(f"UPDATE customers SET {column} = ? WHERE id = ?",
                         (newest["state"], customer_id))
    return cursor.lastrowid


def state_in_force(store: Store, customer_id: int, what: str) -> str | None:
    """given / withdrawn: the customer's newest record for ``what`` (None: none)."""
    return store.scalar(
        "SELECT state FROM consents WHERE customer_id = ? AND what = ? "
        "ORDER BY at DESC, id DESC LIMIT 1", (customer_id, what))


def consents_of(store: Store, customer_id: int) -> list[dict]:
    """Every consent record of a customer, oldest first."""
    return store.all("SELECT * FROM consents WHERE customer_id = ? ORDER BY at, id",
                     (customer_id,))


def consents_of_call(store: Store, call_id: int) -> list[dict]:
    """The consent records made during one call, oldest first."""
    return store.all("SELECT what, state FROM consents WHERE call_id = ? ORDER BY id",
                     (call_id,))


def set_customer_basis(store: Store, customer_id: int, *, customer_type: str | None = None,
                       contract: bool | None = None) -> None:
    """Set a customer's type (consumer / business) and contract flag. Inside store.write()."""
    if customer_type is not None:
        store.db.execute("UPDATE customers SET customer_type = ? WHERE id = ?",
                         (customer_type, customer_id))
    if contract is not None:
        store.db.execute("UPDATE customers SET contract = ? WHERE id = ?",
                         (1 if contract else 0, customer_id))


def set_call_recording(store: Store, call_id: int, answer: str | None) -> None:
    """Store the recording notice's answer (yes / no) on a call. Inside store.write()."""
    store.db.execute("UPDATE calls SET recording_ok = ? WHERE id = ?", (answer, call_id))


def customers_with_extra(store: Store, headers: list[str]):
    """(id, ref, current basis columns, {header: value}) of customers whose extra data
    holds any of ``headers`` (the lawful columns a list brought)."""
    picks = ", ".join(f"json_extract(extra, ?) AS h{i}" for i in range(len(headers)))
    paths = [f'$."{h}"' for h in headers]
    any_of = " OR ".join(f"h{i} IS NOT NULL" for i in range(len(headers)))
    sql = (f"SELECT * FROM (SELECT id, ref, region, customer_type, contract, consent_calls, "
           f"consent_marketing, consent_recording, {picks} FROM customers "
           f"WHERE extra IS NOT NULL) WHERE {any_of}")
    for row in store.db.query(sql, paths):
        values = {h: row[f"h{i}"] for i, h in enumerate(headers)}
        yield row, values


def set_region(store: Store, customer_id: int, region: str | None) -> None:
    """The list's state / province / Land code. Inside store.write()."""
    store.db.execute("UPDATE customers SET region = ? WHERE id = ?", (region, customer_id))


def set_call_purpose(store: Store, call_id: int, purpose: str) -> None:
    """The call's purpose for the law (care / survey / marketing). Inside store.write()."""
    store.db.execute("UPDATE calls SET purpose = ? WHERE id = ?", (purpose, call_id))


def voicemails_this_cycle(store: Store, customer_id: int) -> int:
    """Voicemails left since the customer's last care cycle ended (ever, if none)."""
    return store.scalar(
        "SELECT count(*) FROM calls c JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.customer_id = ? AND c.outcome = 'voicemail' "
        "AND c.started_at > ifnull(cu.cycle_ended_at, '')", (customer_id,)) or 0
