"""Queries for theme tags on open answers and follow-ups (tables from ``themes_0001``)."""

from __future__ import annotations

from collections.abc import Iterable

from calls.store import Store

# The NPS answer of a call: the question keyed ``nps`` wins, else the first answered.
_CALL_NPS = """
    (SELECT n.value FROM answers n WHERE n.call_id = a.call_id AND n.qtype = 'nps'
      ORDER BY n.key = 'nps' DESC, n.answered_at, n.key LIMIT 1)
"""


def text_answer_rows(store: Store, start: str, end: str) -> list[dict]:
    """Open (text) answers given in ``[start, end)``, each with its call's NPS answer."""
    return store.all(
        f"""
        SELECT a.call_id, a.key, a.value, a.answered_at, {_CALL_NPS} AS nps
        FROM answers a
        WHERE a.qtype = 'text' AND a.answered_at >= ? AND a.answered_at < ?
        ORDER BY a.answered_at, a.call_id, a.key
        """,
        (start, end),
    )


def call_text_answers(store: Store, call_id: int) -> list[dict]:
    """A call's open (text) answers, in the order given."""
    return store.all(
        "SELECT call_id, key, value, answered_at FROM answers "
        "WHERE call_id = ? AND qtype = 'text' ORDER BY answered_at, rowid",
        (call_id,),
    )


def nps_answer_rows(store: Store, start: str, end: str) -> list[dict]:
    """Calls with an NPS answer given in ``[start, end)``: call id, score text, when."""
    return store.all(
        """
        SELECT a.call_id, a.value AS nps, min(a.answered_at) AS answered_at
        FROM answers a WHERE a.qtype = 'nps' AND a.answered_at >= ? AND a.answered_at < ?
        GROUP BY a.call_id
        """,
        (start, end),
    )


def _chunks(ids: Iterable[int], size: int = 500):
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), size):
        yield wanted[i:i + size]


def answer_reviews(store: Store, call_ids: Iterable[int]) -> dict[tuple[int, str], dict]:
    """Reviews of these calls' answers, by (call id, answer key): ``themes`` (confirmed),
    ``reviewed_at``, ``reviewed_by``."""
    out: dict[tuple[int, str], dict] = {}
    for chunk in _chunks(call_ids):
        marks = ", ".join("?" for _ in chunk)
        for row in store.all(
            f"SELECT call_id, answer_key, reviewed_at, reviewed_by FROM theme_reviews "
            f"WHERE call_id IN ({marks})", chunk):
            out[(row["call_id"], row["answer_key"])] = {**row, "themes": []}
        for row in store.all(
            f"SELECT call_id, answer_key, theme FROM theme_tags "
            f"WHERE source = 'confirmed' AND call_id IN ({marks}) ORDER BY id", chunk):
            review = out.get((row["call_id"], row["answer_key"]))
            if review is not None:
                review["themes"].append(row["theme"])
    return out


def followup_reviews(store: Store, followup_ids: Iterable[int]) -> dict[int, dict]:
    """Reviews of these follow-ups, by id: ``themes`` (confirmed), ``root_cause``."""
    out: dict[int, dict] = {}
    for chunk in _chunks(followup_ids):
        marks = ", ".join("?" for _ in chunk)
        for row in store.all(
            f"SELECT followup_id, root_cause, reviewed_at, reviewed_by FROM theme_reviews "
            f"WHERE followup_id IN ({marks})", chunk):
            out[row["followup_id"]] = {**row, "themes": []}
        for row in store.all(
            f"SELECT followup_id, theme FROM theme_tags "
            f"WHERE source = 'confirmed' AND followup_id IN ({marks}) ORDER BY id", chunk):
            review = out.get(row["followup_id"])
            if review is not None:
                review["themes"].append(row["theme"])
    return out


def stored_tags(store: Store, *, call_id: int | None = None, answer_key: str | None = None,
                followup_id: int | None = None, source: str | None = None) -> list[str]:
    """The themes stored for one answer or one follow-up (of one source, or all)."""
    if followup_id is not None:
        sql, params = "SELECT theme FROM theme_tags WHERE followup_id = ?", [followup_id]
    else:
        sql = "SELECT theme FROM theme_tags WHERE call_id = ? AND answer_key = ?"
        params = [call_id, answer_key]
    if source is not None:
        sql += " AND source = ?"
        params.append(source)
    return [r["theme"] for r in store.all(sql + " ORDER BY id", params)]


def replace_tags(store: Store, themes: Iterable[str], source: str, at: str, by: str | None, *,
                 call_id: int | None = None, answer_key: str | None = None,
                 followup_id: int | None = None) -> None:
    """Replace the ``source`` tags of one answer or follow-up. Call inside store.write()."""
    if followup_id is not None:
        store.db.execute("DELETE FROM theme_tags WHERE followup_id = ? AND source = ?",
                         (followup_id, source))
    else:
        store.db.execute(
            "DELETE FROM theme_tags WHERE call_id = ? AND answer_key = ? AND source = ?",
            (call_id, answer_key, source))
    for theme in themes:
        store.db.execute(
            "INSERT INTO theme_tags (call_id, answer_key, followup_id, theme, source, "
            "tagged_at, tagged_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (call_id, answer_key, followup_id, theme, source, at, by))


def put_review(store: Store, at: str, by: str | None, *, call_id: int | None = None,
               answer_key: str | None = None, followup_id: int | None = None,
               root_cause: bool = False) -> None:
    """Record (or renew) that a person confirmed the tags. Call inside store.write()."""
    if followup_id is not None:
        store.db.execute("DELETE FROM theme_reviews WHERE followup_id = ?", (followup_id,))
    else:
        store.db.execute("DELETE FROM theme_reviews WHERE call_id = ? AND answer_key = ?",
                         (call_id, answer_key))
    store.db.execute(
        "INSERT INTO theme_reviews (call_id, answer_key, followup_id, root_cause, "
        "reviewed_at, reviewed_by) VALUES (?, ?, ?, ?, ?, ?)",
        (call_id, answer_key, followup_id, int(root_cause), at, by))


def fix_rows(store: Store, start: str, end: str) -> list[dict]:
    """fix_problem follow-ups done in ``[start, end)``: id, problem, fix note, when."""
    return store.all(
        "SELECT id, details, close_note, closed_at FROM followups "
        "WHERE kind = 'fix_problem' AND status = 'done' AND closed_at >= ? AND closed_at < ? "
        "ORDER BY closed_at, id",
        (start, end),
    )
