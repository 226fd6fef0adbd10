"""Property tests: printing a condition and parsing it back gives the same tree, and no
input (text or values) makes the parser or the evaluator raise anything but our error."""

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.survey.conditions import (
    COMPARE_OPS,
    KEYWORDS,
    And,
    Compare,
    ConditionError,
    ListLit,
    Literal,
    Name,
    Not,
    Or,
    evaluate,
    parse,
    to_source,
)

identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in KEYWORDS)
names = st.builds(
    lambda head, rest: Name((head, *rest)),
    identifiers,
    st.lists(identifiers, max_size=2),
)
literals = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6).map(Literal),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(Literal),
    st.text(max_size=8).map(Literal),
    st.booleans().map(Literal),
)
atoms = st.one_of(names, literals)
operands = st.one_of(atoms, st.lists(atoms, max_size=3).map(lambda xs: ListLit(tuple(xs))))


def _extend(children):
    return st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        st.builds(Compare, st.sampled_from(COMPARE_OPS), children, children),
    )


trees = st.recursive(
    st.one_of(atoms, st.builds(Compare, st.sampled_from(COMPARE_OPS), operands, operands)),
    _extend,
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_round_trip(tree):
    text = to_source(tree)
    assert parse(text) == tree


TOKENS = ["nps", "customer.tier", "a", "b", "x", "and", "or", "not", "in", "true",
          "false", "==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", ".", "-",
          "1", "2.5", '"s"', "'t'", "&&", "=", "!", '"', "\\", "@", " "]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(TOKENS), max_size=15).map(" ".join))
def test_token_soup_only_raises_condition_error(text):
    try:
        parse(text)
    except ConditionError as exc:
        assert 0 <= exc.position <= len(text)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_only_raises_condition_error(text):
    try:
        parse(text)
    except ConditionError:
        pass


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.lists(st.text(max_size=3), max_size=3),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.dictionaries(st.sampled_from(["a", "b", "x", "nps"]), values))
def test_evaluate_never_raises(tree, env):
    result = evaluate(tree, lambda parts: env.get(parts[0]))
    assert isinstance(result, bool)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(st.sampled_from(TOKENS + ["customer.nope", "fix.score", "why",
                                                   "topics", '"late"', "customer"]),
                          max_size=12).map(" ".join),
                 trees.map(to_source)))
def test_the_validator_only_reports_problems(text):
    """Any condition in a script gives a valid script or problems, never an exception."""
    import json

    from calls.survey.script import check_script_text

    script = f"""
name = "t"
version = "1"
purpose = "care"
opening = "Hi"
closing = "Bye"
[[questions]]
key = "why"
type = "choice"
text = "?"
options = ["late", "broken"]
[[questions]]
key = "topics"
type = "multi_choice"
text = "?"
options = ["a", "b"]
[[questions]]
key = "x"
type = "text"
text = "?"
when = {json.dumps(text, ensure_ascii=False)}
[[rules]]
kind = "gift"
when = {json.dumps(text, ensure_ascii=False)}
"""
    problems, parsed = check_script_text(script, "t.toml")
    assert (parsed is None) == bool(problems)
    for problem in problems:
        assert problem.file == "t.toml"
