"""The condition language: parsing, precedence, evaluation and errors with positions."""

from datetime import date

import pytest

from calls.survey.conditions import (
    And,
    Compare,
    ConditionError,
    ListLit,
    Literal,
    Name,
    Not,
    Or,
    evaluate,
    names,
    parse,
    to_source,
)


def ev(source: str, **values) -> bool:
    flat = {k.replace("__", "."): v for k, v in values.items()}
    return evaluate(parse(source), flat)


# -- parsing ------------------------------------------------------------------------------


def test_comparison_tree():
    assert parse("nps <= 6") == Compare("<=", Name(("nps",)), Literal(6))


def test_and_binds_tighter_than_or():
    assert parse("a or b and c") == Or((Name(("a",)), And((Name(("b",)), Name(("c",))))))


def test_parentheses_override_precedence():
    assert parse("(a or b) and c") == And((Or((Name(("a",)), Name(("b",)))), Name(("c",))))


def test_not_binds_tighter_than_and_but_looser_than_comparison():
    assert parse("not a == 1 and b") == And(
        (Not(Compare("==", Name(("a",)), Literal(1))), Name(("b",)))
    )


def test_in_and_not_in_with_lists():
    tree = parse('reason in ["late", "broken"]')
    assert tree == Compare("in", Name(("reason",)), ListLit((Literal("late"), Literal("broken"))))
    assert parse("x not in [1, 2]").op == "not in"


def test_literals():
    assert parse("x == -3.5").right == Literal(-3.5)
    assert parse("x == true").right == Literal(True)
    assert parse("x == False").right == Literal(False)
    assert parse("x == 'it\\'s'").right == Literal("it's")
    assert parse("x == 10").right == Literal(10)
    # true is not the number 1
    assert Literal(True) != Literal(1)


def test_dotted_names():
    assert parse('customer.tier == "A"').left == Name(("customer", "tier"))
    assert [n.dotted for n in names(parse("a and customer.tier == b"))] == [
        "a", "customer.tier", "b"]


def test_positions_are_kept_for_names():
    tree = parse("a and   nps <= 6")
    assert [n.pos for n in names(tree)] == [0, 8]


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("", 1, "empty"),
        ("nps <", 6, "ends too early"),
        ("nps <= 6 &&  x", 10, "use 'and'"),
        ("a || b", 3, "use 'or'"),
        ("nps = 6", 5, "use '=='"),
        ("!a", 1, "use 'not'"),
        ('x == "abc', 6, "not closed"),
        ("1 < a < 3", 7, "cannot be chained"),
        ("a b", 3, "expected 'and', 'or'"),
        ("(a and b", 9, "expected ')'"),
        ("a.", 3, "field name"),
        ("3x == 1", 1, "cannot start with a digit"),
        ("x in [1 2]", 9, "expected ',' or ']'"),
        ("x == @", 6, "unexpected character '@'"),
        ("x AND y", 3, "lower case"),
        ("x == - y", 8, "number after '-'"),
        ('x == "a\\q"', 8, "unknown escape"),
        ("a )", 3, "unexpected ')'"),
    ],
)
def test_syntax_errors_say_where(source, column, fragment):
    with pytest.raises(ConditionError) as info:
        parse(source)
    assert info.value.position == column - 1
    assert fragment in info.value.message
    assert f"column {column}" in str(info.value)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse("not " * 400 + "a")


def test_too_long_is_an_error():
    with pytest.raises(ConditionError, match="longer than"):
        parse("a or " * 1000 + "a")


def test_to_source_round_trips():
    for source in ["nps <= 6", 'tier == "A" and not referral_ok', "not (a or b) and c",
                   'x not in ["a", "b\\"c"]', "(a == 1) == true", "a or (b or c)"]:
        tree = parse(source)
        assert parse(to_source(tree)) == tree


# -- evaluation ---------------------------------------------------------------------------


def test_numbers_compare():
    assert ev("nps <= 6", nps=6)
    assert not ev("nps <= 6", nps=7)
    assert ev("nps > 8.5", nps=9)


def test_missing_values_are_false_in_orderings_and_unequal():
    assert not ev("nps <= 6")
    assert not ev("nps > 6")
    assert ev("nps != 6")
    assert not ev("nps == 6")


def test_bare_name_truthiness():
    assert ev("ok", ok=True)
    assert not ev("ok", ok=False)
    assert not ev("ok")                 # unanswered
    assert ev("not ok")
    assert ev("text", text="hi")
    assert not ev("text", text="")
    assert ev("score", score=0)         # answered with 0 is still an answer


def test_in_list_and_multi_choice_and_text():
    assert ev('reason in ["late", "broken"]', reason="late")
    assert not ev('reason in ["late", "broken"]', reason="price")
    assert ev('reason not in ["late"]', reason="price")
    assert ev('"price" in topics', topics=["price", "service"])
    assert ev('"SLOW" in remark', remark="delivery was slow")
    assert not ev("x in 3", x=3)        # nonsense is false, never an exception


def test_kinds_never_mix():
    assert not ev("x == 1", x=True)     # yes is not the number 1
    assert not ev('x == "3"', x=3)
    assert not ev('x < "a"', x=3)


def test_dates_compare_with_iso_text():
    assert ev('since < "2020-01-01"', since=date(2019, 5, 1))
    assert not ev('since < "2020-01-01"', since=date(2021, 5, 1))
    assert ev('d == "2021-05-01"', d=date(2021, 5, 1))
    assert not ev('d < "garbage"', d=date(2021, 5, 1))


def test_customer_fields_via_lookup_function():
    seen = []

    def lookup(parts):
        seen.append(parts)
        return {"customer": {"tier": "A"}}.get(parts[0], {}).get(parts[1]) if len(
            parts) == 2 else None

    assert evaluate(parse('customer.tier == "A" and not referral_ok'), lookup)
    assert ("customer", "tier") in seen


def test_short_circuit():
    calls = []

    def lookup(parts):
        calls.append(parts)
        return True

    evaluate(parse("a or b"), lookup)
    assert calls == [("a",)]


def test_no_eval_and_no_attribute_access_in_the_condition_module():
    import ast
    from pathlib import Path

    import calls.survey.conditions as module

    tree = ast.parse(Path(module.__file__).read_text())
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "getattr", "__import__", "vars"}
