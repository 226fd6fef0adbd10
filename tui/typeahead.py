"""Keys typed ahead never answer a question the caller has not seen (issue 15).

The call screen handles keys one by one in typing order (:mod:`tui.keys`), so a key always
meets the question the keys before it led to. That is what a burst needs (keys that SSH or
a paste delivers together land in order, #12), but a key can also meet a question, a
customer or an outcome bar the caller never saw: typed while the app was still busy, typed
on the queue before the call screen was up, or the rest of a sentence running on from a
typed answer into a yes/no question ("slow delivery⏎no thanks" must not answer "No").

:class:`TypeAhead` decides, key by key, from the time Textual stamps on each key when it is
read (``event.time``) and the moments the call screen showed each *view* (the customer,
the phase and the question):

1. A key read before the current view was shown is not used, unless the view was reached
   by a key of the same burst (keys read together, at machine speed): the caller typed the
   burst knowing the script, and it lands in order.
2. A view that no key led to (a new customer, the screen coming back from a dialog) takes
   no key read before it, burst or not, nor one read in the first moment it is up
   (``LOOK_SECONDS``: nobody reads a new customer's card that fast; a "c" typed 50 ms
   after the wrap-up's Enter must not connect the next customer).
3. Keys that run on from typing in a text field, without a pause, answer nothing and pick
   no outcome: letters never, digits and Enter only inside the same burst.
4. Typing into a text field (a typed answer, the notes) is always kept: it answers nothing
   until Enter, and the caller sees it.

A key that is not used is named in a quiet hint under the answer (see the call screen).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable
from dataclasses import field

from calls.records import record

# Keys read closer together than this came in one burst (SSH, a paste): nobody types two
# keys 20 ms apart while reading a new question.
BURST_SECONDS = 0.02
# Typing that goes on with gaps shorter than this has not stopped to read a new question.
PAUSE_SECONDS = 0.5
# A view no key led to (a new customer) takes no key for this long after it came up.
LOOK_SECONDS = 0.3

# Textual stamps keys with this clock (textual._time: perf_counter on Windows, else
# monotonic); the views are timed with the same one.
key_clock: Callable[[], float] = time.perf_counter if sys.platform == "win32" else time.monotonic

TYPED = "typed"      # a character typed into a text field (starts or goes on with a run)
FIELD = "field"      # another key in a text field (editing keys): no typing
LEAVE = "leave"      # Esc or Tab out of a text field: the caller stopped typing on purpose
SUBMIT = "submit"    # Enter in a typed-answer field: takes the answer
LETTER = "letter"
DIGIT = "digit"
OTHER = "other"      # Enter, arrows, Esc on a pad or the script


def key_kind(key: str, character: str | None, in_field: bool, submits: bool = False) -> str:
    """How a key counts for the rules above (``submits``: Enter takes the field's answer)."""
    if in_field:
        if submits and key == "enter":
            return SUBMIT
        if character is not None and len(character) == 1 and character.isprintable():
            return TYPED
        if key in ("escape", "tab", "shift+tab"):
            return LEAVE
        return FIELD
    if character is not None and len(character) == 1 and character.isdigit():
        return DIGIT
    if character is not None and len(character) == 1 and character.isalpha():
        return LETTER
    return OTHER


@record
class TypeAhead:
    """What the call screen shows and which keys may act on it (see the module text)."""

    clock: Callable[[], float] = key_clock
    view: Hashable = None
    shown_at: float = float("inf")        # nothing shown yet: every key waits for it
    reached_by: int | None = None         # the burst whose key led to this view
    _burst: int = 0
    _last_key: float | None = None
    _handling: int | None = None          # the burst of the key being handled now
    _text_until: float | None = None      # typing runs on until this moment
    _text_burst: int | None = None
    dropped: list[str] = field(default_factory=list)   # keys not used on this view

    # -- views --------------------------------------------------------------------------

    def show(self, view: Hashable) -> bool:
        """The screen shows ``view`` now; True when it is a new one."""
        if view == self.view:
            return False
        self.view = view
        self.shown_at = self.clock()
        self.reached_by = self._handling
        self.dropped = []
        return True

    def restart(self) -> None:
        """What the screen shows counts as shown from now on, and no key led to it (a new
        customer, the screen back from a dialog): keys read before it are not used."""
        self.shown_at = self.clock()
        self.reached_by = None
        self.dropped = []
        self._text_until = None

    # -- keys ---------------------------------------------------------------------------

    def check(self, read_at: float, kind: str) -> str | None:
        """Whether a key read at ``read_at`` may act now: None if so, else why not (a few
        words for the hint). Call :meth:`done` after handling a key that was allowed."""
        if self._last_key is None or read_at - self._last_key > BURST_SECONDS:
            self._burst += 1
        self._last_key = max(read_at, self._last_key or read_at)
        burst = self._burst
        self._handling = None
        if kind == TYPED:
            self._typing(read_at, burst)
            return None
        if kind == FIELD:
            return None
        if kind == LEAVE:
            self._text_until = None          # leaving the field ends the run of typing
            return None
        if read_at < self.shown_at and self.reached_by != burst:
            return "typed before this was on screen"
        if self.reached_by is None and read_at < self.shown_at + LOOK_SECONDS:
            return "typed as this came up"
        running = self._text_until is not None and read_at < self._text_until
        if kind == SUBMIT:
            if running:                  # Enter after typing: the run goes on past it
                self._typing(read_at, burst)
        else:
            if running and (kind == LETTER or burst != self._text_burst):
                self._typing(read_at, self._text_burst)   # still typing: the run goes on
                return "typed straight on from your typed answer"
            self._text_until = None                       # a key that acts ends the run
        self._handling = burst
        return None

    def done(self) -> None:
        """The key that :meth:`check` allowed has been handled."""
        self._handling = None

    def _typing(self, read_at: float, burst: int | None) -> None:
        self._text_until = read_at + PAUSE_SECONDS
        self._text_burst = burst

    def drop(self, key: str, character: str | None) -> str:
        """Remember a key that was not used; the keys dropped on this view, as shown."""
        self.dropped.append(character if character and character.isprintable() else f"[{key}]")
        return "".join(self.dropped)
