"""Queries on script versions and call answers.

The store keeps a script's text; ``calls.survey.stored_script`` parses it.

Every script version a call used is stored once (by the sha256 of its text), so old
answers stay readable after the file changes. Answers are stored per (call, question
key) the moment they are given, as JSON.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Protocol

from calls.clock import now_utc, to_iso
from calls.records import record
from calls.store import Store


class ScriptVersion(Protocol):
    """What the store keeps of a script (``calls.survey.Script`` has it)."""

    name: str
    version: str
    purpose: str | None
    hash: str
    text: str


@record(frozen=True)
class StoredScript:
    """A script version the database knows."""

    id: int
    name: str
    version: str
    purpose: str | None
    hash: str
    stored_at: str
    calls: int = 0            # how many calls used it
    text: str = ""

    @property
    def source(self) -> str:
        """How error messages name this version."""
        return f"stored script {self.id} ({self.name} v{self.version})"



def store_script(store: Store, script: ScriptVersion, now: datetime | None = None, *,
                 by: str) -> int:
    """The id of this script version in the store, storing it the first time it is seen
    (with an audit row ``script.load`` by ``by``: the caller, account or OS login)."""
    from calls.store.audit import insert_entry

    digest = script.hash
    with store.write() as db:
        row = store.one("SELECT id FROM scripts WHERE hash = ?", (digest,))
        if row:
            return row["id"]
        stamp = to_iso(now or now_utc())
        cursor = db.execute(
            "INSERT INTO scripts (name, version, purpose, hash, text, stored_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (script.name, script.version, script.purpose, digest, script.text, stamp),
        )
        insert_entry(store, stamp, by, "script.load", f"{script.name} v{script.version}",
                     json.dumps({"hash": digest, "script_id": cursor.lastrowid}))
        return cursor.lastrowid


def get_stored_script(store: Store, script_id: int, *,
                      count_calls: bool = True) -> StoredScript | None:
    """A stored script version with its text, or None. ``count_calls=False``: without
    counting the calls that used it (``calls`` is 0 then): the count reads every call
    (no index on ``calls.script_id``), ~10 ms at 80,000 calls, and a call that only needs
    the script's text (a take showing past answers in the script's words) has no use
    for it."""
    if not 0 < script_id < 2**63:  # no SQLite row id can be this: not an error, just none
        return None
    calls = ("(SELECT count(*) FROM calls c WHERE c.script_id = s.id)" if count_calls
             else "0")
    row = store.one(f"SELECT s.*, {calls} AS calls FROM scripts s WHERE s.id = ?",
                    (script_id,))
    return _stored(row, with_text=True) if row else None


def list_scripts(store: Store) -> list[StoredScript]:
    """Every stored script version, newest first per name, with how many calls used it."""
    rows = store.all(
        "SELECT s.id, s.name, s.version, s.purpose, s.hash, s.stored_at, "
        "(SELECT count(*) FROM calls c WHERE c.script_id = s.id) AS calls "
        "FROM scripts s ORDER BY s.name, s.stored_at DESC, s.id DESC"
    )
    return [_stored(row, with_text=False) for row in rows]


def _stored(row: dict, *, with_text: bool) -> StoredScript:
    return StoredScript(
        id=row["id"], name=row["name"], version=row["version"], purpose=row.get("purpose"),
        hash=row["hash"], stored_at=row["stored_at"], calls=row.get("calls") or 0,
        text=row.get("text", "") if with_text else "",
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store an answer of type {type(value).__name__}")


def save_answer(store: Store, call_id: int, key: str, qtype: str, value: Any,
                now: datetime) -> None:
    """Store (or replace) the answer to one question of a call; ``None`` records a skip."""
    text = json.dumps(value, default=_json_default, ensure_ascii=False)
    with store.write() as db:
        db.execute(
            "INSERT INTO answers (call_id, key, qtype, value, answered_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (call_id, key) DO UPDATE SET qtype = excluded.qtype, "
            "value = excluded.value, answered_at = excluded.answered_at",
            (call_id, key, qtype, text, to_iso(now)),
        )


def delete_answer(store: Store, call_id: int, key: str) -> None:
    """Remove a call's answer to a question (it left the path when an answer changed)."""
    with store.write() as db:
        db.execute("DELETE FROM answers WHERE call_id = ? AND key = ?", (call_id, key))


def answers_for_call(store: Store, call_id: int) -> dict[str, Any]:
    """A call's stored answers, key -> JSON value (None = skipped), in the order given."""
    rows = store.all(
        "SELECT key, value FROM answers WHERE call_id = ? ORDER BY answered_at, rowid",
        (call_id,),
    )
    return {row["key"]: _load(row["value"]) for row in rows}


@record(frozen=True)
class AnswerRow:
    """One stored answer with its type and time."""

    call_id: int
    key: str
    qtype: str
    value: Any
    answered_at: str


def answer_rows(store: Store, call_id: int) -> list[AnswerRow]:
    """A call's stored answers with their question types and times, in the order given."""
    rows = store.all(
        "SELECT call_id, key, qtype, value, answered_at FROM answers WHERE call_id = ? "
        "ORDER BY answered_at, rowid",
        (call_id,),
    )
    return [AnswerRow(r["call_id"], r["key"], r["qtype"], _load(r["value"]), r["answered_at"])
            for r in rows]


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # A value written by hand or by an old version: keep the text rather than fail.
        return text
