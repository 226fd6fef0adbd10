"""Call purpose: scripts declare it, marketing questions raise it and need a basis."""

from __future__ import annotations

import pytest

from calls.models import Customer
from calls.survey import SurveySession, load_script
from calls.survey.script import ScriptError, parse_script

CUSTOMER = Customer(id=1, ref="C1", name="Ada", owner="Dana")

SCRIPT = """
name = "t"
version = "1"
purpose = "care"
call_purpose = "care"
opening = "Hi"
closing = "Bye"

[[questions]]
key = "nps"
type = "nps"
text = "Score?"

[[questions]]
key = "referral_ok"
type = "yes_no"
text = "Anyone you could refer?"
when = "nps >= 9"
marketing = true

[[questions]]
key = "anything_else"
type = "text"
required = false
text = "Anything else?"
"""


def test_shipped_scripts_declare_care_and_mark_referral_and_sales_questions():
    for name in ("quarterly", "thank_you", "recovery", "occasion"):
        assert load_script(name).call_purpose == "care"
    q = load_script("quarterly")
    assert {k for k in q.keys if q.question(k).marketing} == {
        "referral_ok", "referral_name", "need", "need_detail"}


def test_marketing_question_asked_only_when_the_basis_allows_it():
    script = parse_script(SCRIPT)
    allowed = SurveySession(script, CUSTOMER, "ann")
    allowed.answer("nps", 10)
    assert allowed.current().key == "referral_ok"
    assert allowed.call_purpose == "care"
    allowed.answer("referral_ok", True)
    assert allowed.call_purpose == "marketing"

    barred = SurveySession(script, CUSTOMER, "ann", marketing_allowed=False)
    barred.answer("nps", 10)
    assert barred.current().key == "anything_else"
    assert barred.call_purpose == "care"


def test_questions_barred_for_marketing_are_not_counted_in_the_numbers():
    script = parse_script(SCRIPT)
    assert SurveySession(script, CUSTOMER, "ann").question_number("anything_else") == (3, 3)
    barred = SurveySession(script, CUSTOMER, "ann", marketing_allowed=False)
    assert barred.question_number("anything_else") == (2, 2)
    assert barred.question_number("referral_ok") == (0, 2)


def test_marketing_consent_withdrawn_mid_call_drops_the_question_at_once():
    script = parse_script(SCRIPT)
    s = SurveySession(script, CUSTOMER, "ann")
    s.answer("nps", 10)
    s.answer("referral_ok", True)
    assert s.allow_marketing(False) == ("referral_ok",)
    assert s.call_purpose == "care" and "referral_ok" not in s.answers()


def test_bad_purpose_and_marketing_flags_are_refused():
    with pytest.raises(ScriptError, match="call_purpose"):
        parse_script(SCRIPT.replace('call_purpose = "care"', 'call_purpose = "sales"'))
    with pytest.raises(ScriptError, match="marketing"):
        parse_script(SCRIPT.replace("marketing = true", 'marketing = "yes"'))
