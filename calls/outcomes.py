"""Call outcomes: one table, one entry per outcome (DESIGN.md, "Call outcomes").

Each :class:`OutcomeSpec` says everything carecall does with an outcome: its label, the
AAPOR family it counts as, whether the caller spoke with the customer, the default retry
delay (the policy's ``[retry]`` key is the code), its effects (ends the care cycle,
counts as an attempt, goes on the do-not-call list, needs a callback time, flags the
number, lets the script's rules make follow-ups) and the call screen's key and the call
phases it is offered in. The call screen, the retry and cycle rules, ``record_outcome``,
the reports and ``carecall log-call`` all read it: adding an outcome is one entry in
``TABLE`` (plus its tests).

An :class:`Outcome` is the code as a string (``Outcome.NO_ANSWER == "no_answer"``), one
object per code, so ``is`` works; ``Outcome("busy")`` finds it, ``for o in Outcome``
walks the table in order, ``o.spec`` is its entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import ClassVar

from calls.records import record

# AAPOR families: I complete, P partial, R refusal (incl. appointments, as queXS counts
# them), O other contact, NC non-contact, UO unknown other.
# Best disposition first: a case takes the best family among its attempts.
FAMILY_ORDER = ("I", "P", "R", "O", "NC", "UO")

# The call screen's phases: dialling, the opening read (connected), the questions, the
# closing line (script done).
PHASES = ("ready", "opening", "script", "done")


@record(frozen=True)
class OutcomeSpec:
    """Everything about one outcome; see the module doc."""

    code: str
    label: str
    family: str                          # AAPOR family (FAMILY_ORDER)
    contact: bool = False                # spoke with the customer (the script may be read)
    answered: bool = False               # someone picked up: the call is marked connected
    retry_minutes: int | None = None     # default wait before the next try (policy [retry])
    ends_cycle: bool = False             # the care call counts as made (policy [cycle])
    counts_attempt: bool = False         # one more attempt towards the cap (policy [cycle])
    dnc: bool = False                    # the number goes on the do-not-call list
    needs_callback: bool = False         # needs the time the customer asked to be called
    flags_number: bool = False           # the number is marked (wrong / disconnected)
    rules: bool = False                  # the script's rules make follow-ups
    key: str | None = None               # the call screen's key (None: none of its own)
    phases: tuple[str, ...] = ()         # call phases where the key is offered

    def __post_init__(self) -> None:
        if self.family not in FAMILY_ORDER:
            raise ValueError(f"outcome {self.code}: unknown AAPOR family {self.family!r}")
        if not set(self.phases) <= set(PHASES):
            raise ValueError(f"outcome {self.code}: unknown phase in {self.phases}")

    @property
    def connected(self) -> bool:
        """Someone picked up (the customer or another person)."""
        return self.contact or self.answered


DIALLING = ("ready",)
TALKING = ("ready", "opening", "script", "done")

# In the order the call screen lists the keys: dialling, then talking, then the script.
TABLE: list[OutcomeSpec] = [
    OutcomeSpec("no_answer", "No answer", "NC", retry_minutes=180, counts_attempt=True,
                key="n", phases=DIALLING),
    OutcomeSpec("busy", "Busy", "NC", retry_minutes=30, counts_attempt=True, key="b",
                phases=DIALLING),
    OutcomeSpec("voicemail", "Voicemail", "NC", retry_minutes=1440, counts_attempt=True,
                key="v", phases=DIALLING),
    OutcomeSpec("other_contact", "Other person", "O", answered=True, retry_minutes=240,
                counts_attempt=True, key="o", phases=("ready", "opening")),
    OutcomeSpec("wrong_number", "Wrong number", "UO", flags_number=True, key="w",
                phases=DIALLING),
    OutcomeSpec("disconnected", "Disconnected", "UO", flags_number=True, key="x",
                phases=DIALLING),
    OutcomeSpec("callback", "Callback", "R", contact=True, needs_callback=True, rules=True,
                key="k", phases=TALKING),
    OutcomeSpec("refused", "Refused (not now)", "R", contact=True, retry_minutes=7 * 1440,
                counts_attempt=True, rules=True, key="r", phases=TALKING),
    OutcomeSpec("do_not_call", "Do not call", "R", contact=True, dnc=True, key="d",
                phases=TALKING),
    OutcomeSpec("partial", "Partial", "P", contact=True, ends_cycle=True, rules=True,
                key="p", phases=("script", "done")),
    # Completed has no letter: it is Enter once the script is done.
    OutcomeSpec("completed", "Completed", "I", contact=True, ends_cycle=True, rules=True),
]


class _OutcomeType(type):
    """Lets the class stand for the table: iterate, count, test membership."""

    def __iter__(cls):
        return iter(list(cls._members.values()))

    def __len__(cls) -> int:
        return len(cls._members)

    def __contains__(cls, value: object) -> bool:
        return str(value) in cls._members


class Outcome(str, metaclass=_OutcomeType):
    """An outcome code; one object per entry of ``TABLE`` (see the module doc)."""

    _members: ClassVar[dict[str, Outcome]] = {}
    _specs: ClassVar[dict[str, OutcomeSpec]] = {}

    def __new__(cls, code: object) -> Outcome:  # noqa: PYI034 - returns the one member
        try:
            return cls._members[str(code)]
        except KeyError:
            raise ValueError(f"{code!r} is not a valid Outcome") from None

    @property
    def value(self) -> str:
        """The code (as an enum member's value)."""
        return str.__str__(self)

    @property
    def name(self) -> str:
        """The code in capitals (as an enum member's name)."""
        return self.value.upper()

    @property
    def spec(self) -> OutcomeSpec:
        """This outcome's table entry."""
        return Outcome._specs[self.value]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"<Outcome.{self.name}>"

    def __reduce__(self):
        return (Outcome, (self.value,))

    def __copy__(self) -> Outcome:
        return self

    def __deepcopy__(self, memo) -> Outcome:
        return self

    # Attributes for every entry of the table are set by add() (Outcome.COMPLETED, ...).
    COMPLETED: ClassVar[Outcome]
    PARTIAL: ClassVar[Outcome]
    CALLBACK: ClassVar[Outcome]
    REFUSED: ClassVar[Outcome]
    DO_NOT_CALL: ClassVar[Outcome]
    OTHER_CONTACT: ClassVar[Outcome]
    NO_ANSWER: ClassVar[Outcome]
    BUSY: ClassVar[Outcome]
    VOICEMAIL: ClassVar[Outcome]
    WRONG_NUMBER: ClassVar[Outcome]
    DISCONNECTED: ClassVar[Outcome]


def add(spec: OutcomeSpec) -> Outcome:
    """Make a table entry an outcome (done for ``TABLE`` on import; tests add their own)."""
    if spec.code in Outcome._members:
        raise ValueError(f"outcome {spec.code!r} exists")
    member = str.__new__(Outcome, spec.code)
    Outcome._members[spec.code] = member
    Outcome._specs[spec.code] = spec
    setattr(Outcome, spec.code.upper(), member)
    if spec not in TABLE:
        TABLE.append(spec)
    return member


def remove(code: str) -> None:
    """Take an outcome out of the table again (tests that added one)."""
    spec = Outcome._specs.pop(code)
    del Outcome._members[code]
    delattr(Outcome, code.upper())
    TABLE.remove(spec)


for _spec in tuple(TABLE):
    add(_spec)


def spec(outcome: Outcome | str) -> OutcomeSpec:
    """The table entry of an outcome code (ValueError for an unknown one)."""
    return Outcome(outcome).spec


def parse_outcome(text: str) -> Outcome:
    """An outcome from its code; ValueError names the valid codes."""
    try:
        return Outcome(text.strip().lower())
    except ValueError:
        codes = ", ".join(o.value for o in Outcome)
        raise ValueError(f"unknown outcome {text!r}; use one of: {codes}") from None


def family(outcome: Outcome | str) -> str:
    """The AAPOR family an outcome counts as."""
    return Outcome(outcome).spec.family


def label(outcome: Outcome | str) -> str:
    """An outcome in words."""
    return Outcome(outcome).spec.label


class _Column(Mapping):
    """One field of the table by outcome, live (follows :func:`add`): ``LABEL[o]``."""

    def __init__(self, field: str) -> None:
        self._field = field

    def __getitem__(self, outcome: object):
        if outcome not in Outcome:
            raise KeyError(outcome)
        return getattr(Outcome(outcome).spec, self._field)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(Outcome)

    def __len__(self) -> int:
        return len(Outcome)


class _Where(AbstractSet):
    """The outcomes whose entry has a flag set, live (follows :func:`add`): ``CONTACT``."""

    def __init__(self, test: Callable[[OutcomeSpec], bool]) -> None:
        self._test = test

    @classmethod
    def _from_iterable(cls, it):   # what | & - return: a plain frozenset
        return frozenset(it)

    def __contains__(self, outcome: object) -> bool:
        return outcome in Outcome and self._test(Outcome(outcome).spec)

    def __iter__(self) -> Iterator[Outcome]:
        return (o for o in Outcome if self._test(o.spec))

    def __len__(self) -> int:
        return sum(1 for _ in self)


FAMILY: Mapping[Outcome, str] = _Column("family")
LABEL: Mapping[Outcome, str] = _Column("label")
# Outcomes where the caller spoke with the customer (the script may be read).
CONTACT: AbstractSet[Outcome] = _Where(lambda s: s.contact)
# Outcomes where someone picked up: the call is marked connected.
CONNECTED: AbstractSet[Outcome] = _Where(lambda s: s.connected)
# Outcomes after which the script's rules make follow-ups.
RULES: AbstractSet[Outcome] = _Where(lambda s: s.rules)
