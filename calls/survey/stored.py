"""A script version as a call used it: the store keeps the text, the survey parses it."""

from __future__ import annotations

from calls.errors import UserError
from calls.store import Store
from calls.store.scripts import get_stored_script
from calls.survey.script import Script, parse_script


def stored_script(store: Store, script_id: int) -> Script:
    """The script a call used, parsed from its stored text (UserError if unknown)."""
    stored = get_stored_script(store, script_id, count_calls=False)
    if stored is None:
        raise UserError(f"no stored script with id {script_id}")
    return parse_script(stored.text, stored.source)


def past_answer_words(store: Store, record, customer, language: str | None,
                      scripts: dict[int, Script] | None = None) -> tuple[tuple[str, str], ...]:
    """A past call's scores as a caller reads them: (the question's words in ``language``
    where the script has them, the answer), never the question's key.

    ``record`` is a ``calls.calling.CallRecord``; ``scripts`` caches parsed scripts by id
    across the calls of one history.
    """
    from calls.survey.engine import SurveySession
    from calls.survey.script import format_value

    if not record.scores:
        return ()
    script = None
    if record.script_id is not None:
        cache = scripts if scripts is not None else {}
        if record.script_id not in cache:
            try:
                cache[record.script_id] = stored_script(store, record.script_id)
            except UserError:
                cache[record.script_id] = None  # type: ignore[assignment]
        script = cache[record.script_id]
    if script is None:
        # No script to read the words from (an imported history): the value alone.
        return tuple(("Score", format_value(v)) for v in record.scores.values())
    survey = SurveySession(script, customer, record.caller, record.scores, language=language)
    out = []
    for key, value in record.scores.items():
        try:
            words = survey.question_text(key)
        except ValueError:               # a question this version of the script lost
            words = "Score"
        out.append((words, format_value(value)))
    return tuple(out)
