"""A script version as a call used it: the store keeps the text, the survey parses it."""

from __future__ import annotations

from calls.errors import UserError
from calls.store import Store
from calls.store.scripts import get_stored_script
from calls.survey.script import Script, parse_script


def stored_script(store: Store, script_id: int) -> Script:
    """The script a call used, parsed from its stored text (UserError if unknown)."""
    stored = get_stored_script(store, script_id)
    if stored is None:
        raise UserError(f"no stored script with id {script_id}")
    return parse_script(stored.text, stored.source)
