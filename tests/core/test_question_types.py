"""Question types: one unit each in one registry; a new type is one new unit."""

from __future__ import annotations

import pytest

from calls.models import Customer
from calls.survey import AnswerError, SurveySession, parse_script
from calls.survey import types as qt
from calls.survey.engine import answer_help, display_answer, parse_answer

SCRIPT = """
name = "contact"
version = "1"
purpose = "care"
opening = "Hello"
closing = "Bye"

[[questions]]
key = "mail"
type = "email"
text = "Which address should we write to?"

[[questions]]
key = "ok"
type = "yes_no"
text = "Newsletter?"
when = "mail"
"""


def _email(q, raw):
    text = str(raw).strip().lower()
    if "@" not in text or "." not in text.rsplit("@", 1)[-1]:
        raise AnswerError(f"'{raw}' is not an e-mail address", q.key)
    return text


@pytest.fixture
def email_type():
    unit = qt.register(qt.QuestionType("email", "text", _email, lambda _q: "an e-mail address",
                                       placeholder="name@example.com, Enter"))
    yield unit
    del qt.TYPES["email"]


def test_a_new_type_is_one_unit(email_type):
    script = parse_script(SCRIPT, "contact.toml")          # the validator knows it
    q = script.question("mail")
    assert answer_help(q) == "an e-mail address"
    with pytest.raises(AnswerError, match="not an e-mail address"):
        parse_answer(q, "nobody")
    session = SurveySession(script, Customer(id=1, ref="R1", name="Ada"), "ann")
    change = session.answer("mail", " Ada@Example.org ")
    assert change.stored == "ada@example.org" and change.qtype == "email"
    assert display_answer(q, change.value) == "ada@example.org"
    assert session.current().key == "ok"                  # conditions compare it as text


def test_an_unknown_type_is_refused_naming_the_registered_ones():
    with pytest.raises(Exception, match="unknown type 'email'.*one of nps, rating"):
        parse_script(SCRIPT, "contact.toml")


def test_every_shipped_type_is_a_unit_with_a_pad():
    assert qt.type_names() == ("nps", "rating", "yes_no", "choice", "multi_choice", "text",
                               "number", "date")
    pads = {name: unit.pad for name, unit in qt.TYPES.items()}
    assert pads == {"nps": "scale", "rating": "scale", "yes_no": "yes_no", "choice": "choice",
                    "multi_choice": "choice", "text": "typed", "number": "typed",
                    "date": "typed"}
    assert qt.question_type("nps").scale == (0, 10)
    assert qt.question_type("rating").scale == (1, 5)
    with pytest.raises(ValueError, match="unknown pad"):
        qt.register(qt.QuestionType("odd", "text", _email, lambda _q: "", pad="wheel"))
