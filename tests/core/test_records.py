"""``calls.records.record`` is ``dataclasses.dataclass`` with shared methods: each class
below is made twice, by ``record`` and by ``dataclass``, from the same body, and every
answer (repr, ==, !=, hash, the frozen guards' errors, what a plain subclass may set) is
held to the generated one's."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, field
from typing import ClassVar

import pytest

from calls import records
from calls.records import record


def twins(options: dict, body):
    """The class ``body`` (a function returning the namespace) made by record and by
    dataclass with ``options``."""
    return (record(**options)(type("C", (), body())),
            dataclasses.dataclass(**options)(type("C", (), body())))


def plain():
    return {"__annotations__": {"a": "int", "b": "str", "c": "list", "d": "float"},
            "b": "x", "c": field(default_factory=list, compare=False, repr=False),
            "d": field(default=0.0, hash=False)}


def one():
    return {"__annotations__": {"a": "object"}}


def none():
    return {"__annotations__": {"k": ClassVar[int]}, "k": 3}


def own_methods():
    return {"__annotations__": {"a": "int"},
            "__repr__": lambda self: "mine", "__eq__": lambda self, o: True,
            "__hash__": lambda self: 7}


def hash_choice():
    return {"__annotations__": {"a": "int", "b": "list", "c": "int"},
            "b": field(default=None, compare=True, hash=False),
            "c": field(default=0, compare=False, hash=True)}


KINDS = [({"frozen": True}, plain), ({}, plain), ({"eq": False}, plain),
         ({"frozen": True}, one), ({"frozen": True}, none), ({"frozen": True}, own_methods),
         ({"frozen": True}, hash_choice), ({"unsafe_hash": True}, hash_choice),
         ({"frozen": True, "repr": False}, plain)]
NAN = float("nan")


def _args(body):
    return {plain: [(1, "x", [1], 0.5), (1, "x", [2], 0.5), (1, "y", [], 0.5), (2, "x", [], 0.5),
                    (1, "x", [], NAN), (1, "x", [], -0.0), (1, "x", [], 0.0)],
            one: [(NAN,), (1,), (1.0,), ("1",), ((1, 2),)],
            none: [()],
            own_methods: [(1,), (2,)],
            hash_choice: [(1, None, 0), (1, None, 5), (2, None, 5)]}[body]


def _answer(f):
    try:
        return ("ok", f())
    except Exception as exc:  # noqa: BLE001 - any error: the same type, the same words
        return (type(exc), str(exc))


@pytest.mark.parametrize(("options", "body"), KINDS)
def test_the_shared_methods_answer_as_the_generated_ones(options, body):
    mine, theirs = twins(options, body)
    assert [f.name for f in dataclasses.fields(mine)] == [f.name for f in dataclasses.fields(theirs)]
    values = _args(body)
    a = [mine(*v) for v in values]
    b = [theirs(*v) for v in values]
    own_repr = options.get("repr", True)            # else object's, by address
    field_hash = theirs.__hash__ not in (object.__hash__, None)
    for x, y in zip(a, b):
        assert (repr(x) == repr(y)) if own_repr else repr(x).startswith("<")
        if field_hash:
            assert _answer(lambda x=x: hash(x)) == _answer(lambda y=y: hash(y))
        else:
            assert (mine.__hash__ is None) == (theirs.__hash__ is None)
        for x2, y2 in zip(a, b):
            assert (x == x2) == (y == y2) and (x != x2) == (y != y2)
        assert (x == 1) == (y == 1) and (x == object()) == (y == object())
    for name in ("a", "zz"):                      # fresh ones: a guard may let it through
        x, y = mine(*values[0]), theirs(*values[0])
        assert _answer(lambda x=x, n=name: setattr(x, n, 5)) == \
            _answer(lambda y=y, n=name: setattr(y, n, 5))
        assert _answer(lambda x=x, n=name: delattr(x, n)) == \
            _answer(lambda y=y, n=name: delattr(y, n))
    if own_repr:
        assert [repr(dataclasses.replace(x)) for x in a] == [repr(y) for y in b]


def test_a_plain_subclass_sets_what_the_generated_guard_lets_it():
    mine, theirs = twins({"frozen": True}, plain)
    for base in (mine, theirs):
        sub = type("Sub", (base,), {})(1)
        sub.extra = 2                       # not a field, not the frozen class itself
        assert sub.extra == 2
        del sub.extra
        with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
            sub.a = 3
    assert repr(type("Sub", (mine,), {})(1)) == repr(type("Sub", (theirs,), {})(1))


def test_frozen_records_inherit_as_dataclasses_do():
    @record(frozen=True)
    class Base:
        a: int

    @record(frozen=True)
    class Child(Base):
        b: int = 2

    @dataclasses.dataclass(frozen=True)
    class PlainBase:
        a: int

    @dataclasses.dataclass(frozen=True)
    class PlainChild(PlainBase):
        b: int = 2

    for child in (Child(1), PlainChild(1)):
        with pytest.raises(FrozenInstanceError):
            child.a = 5
        with pytest.raises(FrozenInstanceError):
            child.zz = 5
    assert repr(Child(1)).replace("Child", "") == repr(PlainChild(1)).replace("PlainChild", "")
    assert hash(Child(1)) == hash(PlainChild(1)) and Child(1) == Child(1) != Base(1)
    assert Child(1).__repr__.__func__ is records._repr
    assert type.__getattribute__(Child, "__setattr__") is records._setattr


def test_a_recursive_repr_stops_as_the_generated_one_does():
    mine, theirs = twins({}, one)
    x, y = mine([]), theirs([])
    x.a.append(x)
    y.a.append(y)
    assert repr(x) == repr(y) == "C(a=[...])"


def test_records_keep_no_generated_code_of_their_own():
    mine, theirs = twins({"frozen": True}, plain)
    for name in ("__repr__", "__setattr__", "__delattr__"):
        assert mine.__dict__[name] is getattr(records, "_" + name.strip("_"))
        assert theirs.__dict__[name] is not mine.__dict__[name]
    for name in ("__init__", "__eq__", "__hash__"):      # dataclass's own (the keys' paths)
        assert mine.__dict__[name].__code__.co_filename == "<string>"


def test_a_record_without_a_docstring_is_named_not_signed(monkeypatch):
    """Under ``python -OO`` (a seat) no class has a docstring: dataclass would write one
    from ``inspect.signature`` at each class's import; a record takes its name instead.
    The repr is the shared one from the start: dataclass is not asked to write one."""
    made: list[str] = []
    plain_create = dataclasses._create_fn

    def create(name, *args, **kwargs):
        made.append(name)
        return plain_create(name, *args, **kwargs)

    # dataclass's own helper up to Python 3.12 (3.13 writes a class's methods at once)
    watched = hasattr(dataclasses, "_create_fn")
    if watched:
        monkeypatch.setattr(dataclasses, "_create_fn", create)
    monkeypatch.setattr(dataclasses.inspect, "signature", None)   # called: a TypeError
    mine = record(type("C", (), {"__doc__": None, "__annotations__": {"a": "int"}}))
    assert mine.__doc__ == "C" and repr(mine(1)) == "C(a=1)"
    assert not watched or ("__repr__" not in made and "__init__" in made)
    documented = record(type("D", (), {"__doc__": "What D is.", "__annotations__": {}}))
    assert documented.__doc__ == "What D is."
