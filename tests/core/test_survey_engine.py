"""The survey engine: branching, back-and-change, required answers, types, follow-ups."""

from datetime import UTC, date, datetime, timedelta

import pytest

from calls.models import Customer
from calls.survey import metrics
from calls.survey.engine import AnswerError, SurveySession, answer_help, parse_answer
from calls.survey.script import load_script, parse_script

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

SCRIPT = parse_script("""
name = "test"
version = "2"
purpose = "care"
opening = "Hello {customer.name} of {customer.company|your company}, this is {caller}."
consent = "Recorded since {customer.customer_since}."
closing = "Thanks {customer.name}, you gave {nps}."

[[questions]]
key = "nps"
type = "nps"
text = "Recommend us?"

[[questions]]
key = "improve"
type = "text"
text = "You gave {nps}: what could we do better?"
hint = "Ask {customer.name} for one thing."
when = "nps <= 6"

[[questions]]
key = "reason"
type = "choice"
text = "Which area?"
when = "nps <= 6"
options = [{ value = "late", label = "Delivery" }, { value = "broken", label = "Quality" }, "price"]

[[questions]]
key = "topics"
type = "multi_choice"
text = "Which topics interest you?"
required = false
options = ["catalogue", "prices", "events"]

[[questions]]
key = "referral_ok"
type = "yes_no"
text = "Refer us?"
when = "nps >= 9"

[[questions]]
key = "staff"
type = "number"
text = "How many staff?"
min = 1
max = 100000
required = false

[[questions]]
key = "visit"
type = "date"
text = "When should we visit?"
required = false
when = "customer.tier == \\"A\\""

[[rules]]
name = "detractor"
when = "nps <= 6"
kind = "fix_problem"
owner = "account_owner"
due = "+2d"
note = "NPS {nps} ({reason}): {improve}"

[[rules]]
name = "late"
when = 'reason == "late"'
kind = "fix_problem"
owner = "account_owner"
due = "+1d"
note = "Check the carrier"

[[rules]]
when = "referral_ok"
kind = "referral"
owner = "caller"
due = "+3d"
note = "Refers; interested in {topics|nothing}"

[[rules]]
when = "customer.years_as_customer >= 10"
kind = "thank_you_note"
owner = "Care team"
due = "+4h"
note = "{customer.years_as_customer} years"
""", "test.toml")


def customer(**kw) -> Customer:
    base = {"id": 1, "ref": "C1", "name": "Ada Lovelace", "company": "Engines Ltd", "owner": "Dana",
                "tier": "B", "customer_since": date(2010, 6, 1), "last_purchase": date(2026, 2, 1)}
    base.update(kw)
    return Customer(**base)


def session(answers=None, **kw) -> SurveySession:
    return SurveySession(SCRIPT, customer(**kw), "Sam", answers, now=NOW)


def keys(s: SurveySession) -> list[str]:
    return [step.key for step in s.path()]


# -- walking ------------------------------------------------------------------------------


def test_detractor_branch():
    s = session()
    assert s.current().key == "nps"
    s.answer("nps", "3")
    assert s.current().key == "improve"
    assert s.question_text("improve") == "You gave 3: what could we do better?"
    assert s.hint_text("improve") == "Ask Ada Lovelace for one thing."
    s.answer("improve", "  faster delivery ")
    s.answer("reason", "1")
    assert s.value("reason") == "late"
    assert s.current().key == "topics"
    assert "referral_ok" not in keys(s)


def test_promoter_branch_skips_detractor_questions():
    s = session()
    s.answer("nps", "10")
    assert s.current().key == "topics"
    assert keys(s) == ["nps", "topics", "referral_ok", "staff"]


def test_question_numbers_hold_still_as_branches_open_and_close():
    """"Q4/8" counts the script's questions, not the path so far: answering the NPS must
    not change the number of the question on screen or the total (it read Q1/6, Q2/4)."""
    s = session(tier="A")
    total = len(SCRIPT.questions)
    assert s.question_number("nps") == (1, total)
    s.answer("nps", "10")                        # the detractor branch closes
    assert s.question_number(s.current().key) == (4, total)      # topics, still the 4th
    s.go_to("nps")
    s.answer("nps", "3")                         # ... and opens again
    assert s.question_number(s.current().key) == (2, total)      # improve
    assert s.question_number("no-such-question") == (0, total)


def test_customer_field_condition():
    assert "visit" in keys(session(tier="A"))
    assert "visit" not in keys(session(tier="B"))


def test_changing_an_answer_reruns_branching_and_drops_answers_off_the_path():
    s = session()
    s.answer("nps", 2)
    s.answer("improve", "everything")
    s.answer("reason", "price")
    s.skip()  # topics
    assert s.go_to("nps").key == "nps"
    assert s.current().key == "nps"
    change = s.answer("nps", "9")
    assert set(change.dropped) == {"improve", "reason"}
    assert s.answers() == {"nps": 9, "topics": None}
    # back on the frontier: the first question without an answer
    assert s.current().key == "referral_ok"
    result = s.finish(NOW)
    assert "improve" not in result.answers and "reason" not in result.answers
    assert [f.kind for f in result.followups] == ["thank_you_note"]


def test_back_walks_to_earlier_answered_questions_in_path_order():
    s = session()
    assert s.back() is None                      # nothing to go back to
    s.answer("nps", "4")
    s.answer("improve", "x")
    assert s.back().key == "improve"
    assert s.back().key == "nps"
    assert s.back() is None                      # already at the first
    assert s.current().key == "nps"
    s.answer("nps", "5")                         # same branch: later answers kept
    assert s.answers() == {"nps": 5, "improve": "x"}
    assert s.current().key == "reason"


def test_back_from_the_end_and_forward():
    s = session(tier="B")
    s.answer("nps", "10")
    s.skip()
    s.answer("referral_ok", "y")
    s.skip()
    assert s.current() is None and s.is_finished()
    assert s.back().key == "staff"
    assert s.forward() is None


def test_cannot_answer_questions_off_the_path_or_ahead():
    s = session()
    # Callers read question words, never keys.
    with pytest.raises(AnswerError, match="answer “Recommend us\\?” first"):
        s.answer("topics", "1")
    s.answer("nps", "10")
    with pytest.raises(AnswerError, match="not asked on this call"):
        s.answer("improve", "x")
    with pytest.raises(AnswerError, match="no question 'nope'"):
        s.answer("nope", "x")


def test_required_questions_cannot_be_skipped():
    s = session()
    with pytest.raises(AnswerError, match="this question needs an answer"):
        s.skip()
    s.answer("nps", "8")
    change = s.skip()
    assert change.key == "topics" and change.value is None and change.stored is None
    assert s.path()[1].skipped


def test_missing_and_complete():
    s = session()
    s.answer("nps", "5")
    result = s.finish(NOW)
    assert not result.complete
    assert result.missing == ("improve", "reason")
    assert result.followups[0].kind == "fix_problem"   # a broken-off call still counts


def test_path_steps_show_answers_as_words():
    s = session()
    s.answer("nps", "1")
    s.answer("improve", "x")
    s.answer("reason", "broken")
    s.answer("topics", "3, catalogue")
    steps = {step.key: step for step in s.path()}
    assert steps["reason"].display == "Quality"
    assert steps["topics"].value == ["catalogue", "events"]     # in option order
    assert steps["topics"].display == "catalogue, events"
    assert steps["staff"].state == "open"


# -- answers by type -------------------------------------------------------------------------


def q(key):
    return SCRIPT.question(key)


@pytest.mark.parametrize("raw, value", [("0", 0), (" 10 ", 10), (7, 7), (9.0, 9)])
def test_nps_accepts(raw, value):
    assert parse_answer(q("nps"), raw) == value


@pytest.mark.parametrize("raw, reason", [
    ("11", "11 is out of range"), ("-1", "not a score"), ("9.5", "not a score"),
    ("nine", "not a score: type a whole number from 0 to 10"), (True, "whole number"),
    ("", "no answer given"),
    (3.5, "whole number"),
])
def test_nps_refuses(raw, reason):
    with pytest.raises(AnswerError, match=reason):
        parse_answer(q("nps"), raw)


def test_yes_no():
    for raw in ("y", "Yes", "TRUE", True):
        assert parse_answer(q("referral_ok"), raw) is True
    for raw in ("n", "no", False):
        assert parse_answer(q("referral_ok"), raw) is False
    with pytest.raises(AnswerError, match="'maybe' is not yes or no"):
        parse_answer(q("referral_ok"), "maybe")


def test_choice_by_number_label_value_and_prefix():
    reason = q("reason")
    assert parse_answer(reason, "2") == "broken"
    assert parse_answer(reason, "delivery") == "late"
    assert parse_answer(reason, "LATE") == "late"
    assert parse_answer(reason, "pri") == "price"
    with pytest.raises(AnswerError, match="no option 4: choose 1 to 3"):
        parse_answer(reason, "4")
    with pytest.raises(AnswerError, match="'cost' is not one of the options"):
        parse_answer(reason, "cost")


def test_ambiguous_prefix():
    script = parse_script("""
name = "x"
version = "1"
purpose = "care"
opening = "Hi"
closing = "Bye"
[[questions]]
key = "c"
type = "choice"
text = "?"
options = ["price", "product"]
""")
    with pytest.raises(AnswerError, match="fits several options"):
        parse_answer(script.question("c"), "p")


def test_multi_choice():
    topics = q("topics")
    assert parse_answer(topics, "2,1,2") == ["catalogue", "prices"]
    assert parse_answer(topics, ["events"]) == ["events"]
    with pytest.raises(AnswerError, match="at least one"):
        parse_answer(topics, " , ")
    with pytest.raises(AnswerError, match="no option 9"):
        parse_answer(topics, "1,9")


def test_number_and_bounds():
    staff = q("staff")
    assert parse_answer(staff, "1 200") == 1200
    assert parse_answer(staff, "12.5") == 12.5
    assert parse_answer(staff, "12.0") == 12
    with pytest.raises(AnswerError, match="below the minimum, 1"):
        parse_answer(staff, "0")
    with pytest.raises(AnswerError, match="above the maximum"):
        parse_answer(staff, 100001)
    with pytest.raises(AnswerError, match="'ten' is not a number"):
        parse_answer(staff, "ten")
    with pytest.raises(AnswerError, match="finite"):
        parse_answer(staff, float("nan"))


def test_date():
    visit = q("visit")
    assert parse_answer(visit, "2026-04-01") == date(2026, 4, 1)
    assert parse_answer(visit, datetime(2026, 4, 1, 9, tzinfo=UTC)) == date(2026, 4, 1)
    with pytest.raises(AnswerError, match="YYYY-MM-DD"):
        parse_answer(visit, "1/4/2026")
    with pytest.raises(AnswerError, match="YYYY-MM-DD"):
        parse_answer(visit, "2026-02-30")


def test_text_optional_empty_says_skip():
    with pytest.raises(AnswerError, match="optional: skip it instead"):
        parse_answer(q("topics"), "")


def test_answer_help():
    assert answer_help(q("nps")) == "0-10"
    assert answer_help(q("reason")) == "1 Delivery  2 Quality  3 price"
    assert answer_help(q("staff")) == "a number from 1 to 100000"


def test_stored_values_are_json_ready():
    s = session(tier="A")
    s.answer("nps", "10")
    s.skip()
    s.answer("referral_ok", "y")
    s.skip()
    change = s.answer("visit", "2026-04-01")
    assert change.stored == "2026-04-01" and change.value == date(2026, 4, 1)


# -- resume -------------------------------------------------------------------------------


def test_resume_from_stored_answers():
    stored = {"nps": 3, "improve": "slow", "topics": None, "bogus": 1, "reason": "nope"}
    s = session(stored)
    assert s.ignored == {"bogus": "not a question of this script",
                         "reason": "'nope' is not one of the options: 1 Delivery  2 Quality  "
                                   "3 price"}
    assert s.current().key == "reason"
    assert s.answers() == {"nps": 3, "improve": "slow", "topics": None}


def test_resume_drops_answers_off_the_path_and_keeps_required_open():
    s = session({"nps": 10, "improve": "left over", "referral_ok": None})
    assert s.dropped_on_resume == ("improve",)
    assert s.current().key == "topics"
    assert "referral_ok" not in s.answers()      # a required question stays open


# -- texts and follow-ups -----------------------------------------------------------------


def test_texts_with_fill_ins():
    s = session(company=None)
    assert s.opening_text() == "Hello Ada Lovelace of your company, this is Sam."
    assert s.consent_text() == "Recorded since 1 June 2010."
    s.answer("nps", "9")
    assert s.closing_text() == "Thanks Ada Lovelace, you gave 9."


def test_followups_owner_due_and_merge():
    s = session()
    s.answer("nps", "2")
    s.answer("improve", "late again")
    s.answer("reason", "delivery")
    result = s.finish(NOW)
    by_kind = {f.kind: f for f in result.followups}
    assert set(by_kind) == {"fix_problem", "thank_you_note"}
    fix = by_kind["fix_problem"]
    # two fix_problem rules for the same owner become one follow-up, earliest due
    assert fix.owner == "Dana"
    assert fix.due_at == NOW + timedelta(days=1)
    assert fix.note == "NPS 2 (Delivery): late again; Check the carrier"
    assert fix.rule == "rule 1 (detractor), rule 2 (late)"
    note = by_kind["thank_you_note"]
    assert note.owner == "Care team" and note.note == "15 years"
    assert note.due_at == NOW + timedelta(hours=4)
    assert result.nps == 2 and result.nps_category == "detractor"


def test_account_owner_falls_back_to_the_caller_and_caller_rules():
    s = session(owner="  ", customer_since=None)
    s.answer("nps", "1")
    s.answer("improve", "x")
    s.answer("reason", "price")
    assert [(f.kind, f.owner) for f in s.finish(NOW).followups] == [("fix_problem", "Sam")]
    s = session()
    s.answer("nps", "10")
    s.answer("topics", "prices")
    s.answer("referral_ok", "y")
    referral = next(f for f in s.finish(NOW).followups if f.kind == "referral")
    assert referral.owner == "Sam"
    assert referral.note == "Refers; interested in prices"


def test_years_as_customer_needs_a_moment():
    s = SurveySession(SCRIPT, customer(), "Sam")            # no now given
    s.answer("nps", "8")
    # the rule is evaluated at finish(now), so the derived field is known there
    assert [f.kind for f in s.finish(NOW).followups] == ["thank_you_note"]
    assert [f.kind for f in s.finish(datetime(2019, 1, 1, tzinfo=UTC)).followups] == []


# -- metrics ------------------------------------------------------------------------------


def test_nps_categories_and_score():
    assert [metrics.nps_category(v) for v in (0, 6, 7, 8, 9, 10)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter"]
    assert metrics.nps_category(11) is None and metrics.nps_category(True) is None
    assert metrics.nps_category("9") == "promoter"
    assert metrics.nps_score([10, 9, 8, 3]) == 25.0
    assert metrics.nps_score([0, 1]) == -100.0
    assert metrics.nps_score([]) is None
    assert metrics.nps_counts([10, 7, 2, None, 42]) == {
        "promoter": 1, "passive": 1, "detractor": 1}
    assert metrics.csat_share([5, 4, 3, 1]) == 50.0
    assert metrics.csat_share([]) is None


# -- occasion context ---------------------------------------------------------------------


def test_occasion_context_birthday_anniversary_and_leap_day():
    from calls.survey.context import occasion_context, ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
    birthday = customer(birthday=date(1980, 3, 14), customer_since=None)
    assert occasion_context(birthday, NOW) == {
        "occasion": {"what": "your birthday", "date": date(2026, 3, 14), "years": None}}
    assert occasion_context(birthday, NOW, days_ahead=2) == {}
    # a few days late still counts
    assert occasion_context(customer(birthday=date(1980, 3, 8), customer_since=None),
                            NOW)["occasion"]["date"] == date(2026, 3, 8)
    since = customer(customer_since=date(2016, 3, 20))
    assert occasion_context(since, NOW)["occasion"]["what"] == "your 10th anniversary with us"
    leap = customer(birthday=date(1988, 2, 29), customer_since=None)
    assert occasion_context(leap, datetime(2027, 2, 20, tzinfo=UTC))["occasion"]["date"] == (
        date(2027, 2, 28))
    new_year = customer(birthday=date(1970, 1, 2), customer_since=None)
    assert occasion_context(new_year, datetime(2026, 12, 28, tzinfo=UTC))["occasion"][
        "date"] == date(2027, 1, 2)
    # the nearer of the two wins
    both = customer(birthday=date(1980, 3, 20), customer_since=date(2020, 3, 12))
    assert occasion_context(both, NOW)["occasion"]["years"] == 6
    # and the occasion script reads it
    s = SurveySession(load_script("occasion"), both, "Sam", context=occasion_context(both, NOW))
    assert "because your 6th anniversary with us is coming up" in s.opening_text()


# -- the kept path ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_the_kept_path_is_the_walked_path_after_every_step(seed):
    """The path is kept between keys (``_path_keys``) and worked out again only when an
    answer, the marketing switch or the moment changed: random calls through the shipped
    scripts (answers that open and close branches, skips, going back and changing an
    earlier answer, marketing consent given and withdrawn), the kept path compared with
    the plain walk (``_walk_path``) after every step."""
    import random as _random

    from calls.survey import shipped_script_names
    from calls.survey.script import load_script as _load

    rng = _random.Random(seed)
    name = rng.choice(shipped_script_names())
    customer = Customer(id=1, ref="C1", name="Ada Lovelace", company="Engines Ltd",
                        owner="Dana", tier="A", customer_since=date(2015, 5, 1),
                        last_purchase=date(2026, 2, 1))
    context = {"fix": {"note": "parts replaced", "by": "Dana", "score": 3,
                       "date": date(2026, 3, 1)}}
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    s = SurveySession(_load(name), customer, "Sam", context=context, now=now,
                      marketing_allowed=rng.random() < 0.5)

    def agree():
        assert s._path_keys() == s._walk_path(), (seed, name)

    def a_value(q):
        if q.type in ("nps",):
            return str(rng.randint(0, 10))
        if q.options:
            return str(rng.randint(1, len(q.options)))
        if q.type in ("yes_no",):
            return rng.choice(["y", "n"])
        if q.type in ("rating", "csat"):
            return str(rng.randint(1, 5))
        return rng.choice(["fine", "late delivery", "2026-04-01", "3"])

    agree()
    for _ in range(40):
        op = rng.random()
        q = s.current()
        try:
            if op < 0.55 and q is not None:
                s.answer(q.key, a_value(q))
            elif op < 0.65 and q is not None and not q.required:
                s.skip()
            elif op < 0.8:
                answered = [k for k in s._walk_path() if k in s._values]
                if answered:
                    key = rng.choice(answered)
                    s.answer(key, a_value(s.question(key)))
            elif op < 0.9:
                s.back()
            else:
                s.allow_marketing(not s.marketing_allowed)
        except AnswerError:
            pass
        agree()
        s.current()
        agree()
    if rng.random() < 0.5:
        s.now = now + timedelta(days=400)      # another moment: conditions on dates
        agree()
