"""``record``: ``dataclasses.dataclass`` with its per-class repr and frozen guards shared.

``dataclass`` writes each class's ``__repr__``, ``__eq__``, ``__hash__`` and, when frozen,
``__setattr__`` and ``__delattr__`` as source text and compiles it: about 7 KB of code
objects a frozen class, ~1 MB for the 142 classes a shift app imports (issue 18: a seat's
private memory <= 50 MB). ``record`` takes the same arguments and makes the same dataclass
(``dataclasses.fields``, ``replace``, ``asdict``, ``__init__``, ``__eq__``, ``__hash__`` and
``__match_args__`` are dataclass's own), then puts one shared function in place of each of
``__setattr__`` and ``__delattr__`` that it generated and of the ``__repr__`` it would have
(it is asked for none) (~5 KB of the 7), reading the class's fields from a tuple kept on
the class: the same answers
(tests/core/test_records.py holds each to the generated one), one set of code for all.
``__eq__`` and ``__hash__`` stay generated: they run in the keys' paths (compares of the
dashboard's figures, caches keyed by a policy), where a shared one reading the fields
through ``attrgetter`` took 1.6-2.2x the time. Methods a class writes itself are left
alone, as dataclass leaves them.
"""

from __future__ import annotations

import _thread
import dataclasses

_SHARED = ("__repr__", "__setattr__", "__delattr__")


def record(cls=None, /, **options):
    """``@record``, ``@record(frozen=True)``, ...: as ``@dataclass`` (same options)."""
    def wrap(cls):
        own = {name for name in _SHARED if name in cls.__dict__}
        if cls.__dict__.get("__doc__") is None:
            # A seat runs under ``python -OO`` (no docstrings): dataclass would write one
            # from ``inspect.signature`` for each class (~150 µs each, ~20 ms of a start).
            cls.__doc__ = cls.__qualname__
        # The shared repr goes in after: dataclass need not write (and compile) one.
        shared_repr = options.get("repr", True) and "__repr__" not in own
        cls = dataclasses.dataclass(cls, **{**options, "repr": False} if shared_repr
                                    else options)
        _share(cls, own, shared_repr)
        return cls
    return wrap if cls is None else wrap(cls)


def _share(cls, own: set[str], shared_repr: bool) -> None:
    fields = dataclasses.fields(cls)
    if shared_repr:
        cls.__record_repr__ = tuple(f.name for f in fields if f.repr)
        cls.__repr__ = _repr
    if "__setattr__" not in own and callable(cls.__dict__.get("__setattr__")):  # frozen
        cls.__record_fields__ = frozenset(f.name for f in fields)
        type.__setattr__(cls, "__setattr__", _setattr)
        type.__setattr__(cls, "__delattr__", _delattr)


_repr_running: set[tuple[int, int]] = set()


def _repr(self) -> str:
    key = id(self), _thread.get_ident()
    if key in _repr_running:
        return "..."
    _repr_running.add(key)
    try:
        return self.__class__.__qualname__ + "(" + ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__class__.__record_repr__) + ")"
    finally:
        _repr_running.discard(key)


def _frozen_class(self):
    """The frozen record class whose guard runs: the nearest in the instance's MRO."""
    for cls in type(self).__mro__:
        if cls.__dict__.get("__setattr__") is _setattr:
            return cls
    raise TypeError(f"{type(self).__qualname__} is not a frozen record")


def _setattr(self, name: str, value) -> None:
    cls = _frozen_class(self)
    if type(self) is cls or name in cls.__record_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    super(cls, self).__setattr__(name, value)


def _delattr(self, name: str) -> None:
    cls = _frozen_class(self)
    if type(self) is cls or name in cls.__record_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
    super(cls, self).__delattr__(name)
