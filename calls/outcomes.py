"""Call outcome codes and the AAPOR disposition family each one counts as (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What happened on one call attempt."""

    COMPLETED = "completed"
    PARTIAL = "partial"
    CALLBACK = "callback"
    REFUSED = "refused"
    DO_NOT_CALL = "do_not_call"
    OTHER_CONTACT = "other_contact"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    DISCONNECTED = "disconnected"


# AAPOR families: I complete, P partial, R refusal (incl. appointments, as queXS counts
# them), O other contact, NC non-contact, UO unknown other.
FAMILY: dict[Outcome, str] = {
    Outcome.COMPLETED: "I",
    Outcome.PARTIAL: "P",
    Outcome.CALLBACK: "R",
    Outcome.REFUSED: "R",
    Outcome.DO_NOT_CALL: "R",
    Outcome.OTHER_CONTACT: "O",
    Outcome.NO_ANSWER: "NC",
    Outcome.BUSY: "NC",
    Outcome.VOICEMAIL: "NC",
    Outcome.WRONG_NUMBER: "UO",
    Outcome.DISCONNECTED: "UO",
}

# Best disposition first: a case takes the best family among its attempts.
FAMILY_ORDER = ("I", "P", "R", "O", "NC", "UO")

# Outcomes where the caller spoke with the customer (the script may be read).
CONTACT = frozenset(
    {Outcome.COMPLETED, Outcome.PARTIAL, Outcome.CALLBACK, Outcome.REFUSED, Outcome.DO_NOT_CALL}
)

LABEL: dict[Outcome, str] = {
    Outcome.COMPLETED: "Completed",
    Outcome.PARTIAL: "Partial",
    Outcome.CALLBACK: "Callback",
    Outcome.REFUSED: "Refused (not now)",
    Outcome.DO_NOT_CALL: "Do not call",
    Outcome.OTHER_CONTACT: "Other person",
    Outcome.NO_ANSWER: "No answer",
    Outcome.BUSY: "Busy",
    Outcome.VOICEMAIL: "Voicemail",
    Outcome.WRONG_NUMBER: "Wrong number",
    Outcome.DISCONNECTED: "Disconnected",
}


def parse_outcome(text: str) -> Outcome:
    """An outcome from its code; ValueError names the valid codes."""
    try:
        return Outcome(text.strip().lower())
    except ValueError:
        codes = ", ".join(o.value for o in Outcome)
        raise ValueError(f"unknown outcome {text!r}; use one of: {codes}") from None
