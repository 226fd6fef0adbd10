"""The scripts carecall ships: each one walked for a promoter, a passive and a detractor,
with the follow-ups it creates; and every one passes ``carecall script check``."""

from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from calls.cli import app
from calls.models import Customer
from calls.survey import SurveySession, load_script, shipped_script_names

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
CUSTOMER = Customer(id=1, ref="C1", name="Ada Lovelace", company="Engines Ltd", owner="Dana",
                    tier="A", customer_since=date(2015, 5, 1), last_purchase=date(2026, 2, 1))
FIX = {"fix": {"note": "we replaced the damaged parts and changed carrier", "by": "Dana",
               "score": 3, "date": date(2026, 3, 1)}}


def run(name: str, plan: dict, *, customer=CUSTOMER, context=None):
    """Answer the script from ``plan`` (None = skip); every question asked must be planned."""
    s = SurveySession(load_script(name), customer, "Sam", context=context, now=NOW)
    asked = []
    while (q := s.current()) is not None:
        assert q.key in plan, f"{name}: unplanned question {q.key}"
        asked.append(q.key)
        if plan[q.key] is None:
            s.skip()
        else:
            s.answer(q.key, plan[q.key])
    assert asked == list(plan), f"{name}: asked {asked}"
    result = s.finish(NOW)
    assert result.complete
    return s, result


def kinds(result) -> set[tuple[str, str]]:
    return {(f.kind, f.owner) for f in result.followups}


def test_the_four_scripts_ship():
    assert shipped_script_names() == ["occasion", "quarterly", "recovery", "thank_you"]
    purposes = {name: load_script(name).purpose for name in shipped_script_names()}
    assert purposes == {"occasion": "occasion", "quarterly": "care", "recovery": "recovery",
                        "thank_you": "thank_you"}
    for name in shipped_script_names():
        assert load_script(name).name == name
        assert any(q.key == "nps" and q.type == "nps" for q in load_script(name).questions)


def test_every_shipped_script_passes_script_check():
    result = CliRunner().invoke(app, ["script", "check", *shipped_script_names()])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 4


# -- quarterly ----------------------------------------------------------------------------


def test_quarterly_promoter():
    _s, result = run("quarterly", {
        "nps": "10", "going_well": "quick answers", "last_order_csat": "5", "contact_ok": "y",
        "referral_ok": "y", "referral_name": "Bob Smith at Acme", "need": "n",
        "send_info": "n", "anything_else": None,
    })
    assert kinds(result) == {("referral", "Dana"), ("thank_you_note", "Sam")}
    referral = next(f for f in result.followups if f.kind == "referral")
    assert referral.note.startswith("Promoter (NPS 10) will refer: Bob Smith at Acme. The referred "
                                   "person is not a customer")
    assert referral.due_at == NOW + timedelta(days=3)
    note = next(f for f in result.followups if f.kind == "thank_you_note")
    assert note.note.startswith("Handwritten thank-you: 10 years with us.")


def test_quarterly_passive():
    _, result = run("quarterly", {
        "nps": "7", "going_well": None, "improve": "answer the phone faster",
        "last_order_csat": "4", "contact_ok": "y", "need": "y",
        "need_detail": "new racks for the warehouse in May", "send_info": "y",
        "info_topic": "price list to ada@example.com", "anything_else": None,
    })
    assert kinds(result) == {("thank_you_note", "Sam"), ("sales_lead", "Dana"),
                             ("send_info", "Sam")}
    lead = next(f for f in result.followups if f.kind == "sales_lead")
    assert lead.note == "Need mentioned on a care call: new racks for the warehouse in May"


def test_quarterly_detractor():
    _, result = run("quarterly", {
        "nps": "3", "going_well": None, "improve": "deliveries are always late",
        "problem_area": "1", "last_order_csat": "2", "contact_ok": "y", "need": "n",
        "send_info": "n", "anything_else": "no",
    })
    assert kinds(result) == {("fix_problem", "Dana")}
    fix = result.followups[0]
    assert fix.note == ("Detractor (NPS 3), Delivery / lead times: deliveries are always "
                        "late. May contact: yes.")
    assert fix.due_at == NOW + timedelta(days=2)
    assert result.nps_category == "detractor"


def test_quarterly_without_a_purchase_skips_the_order_question():
    new = Customer(id=2, ref="C2", name="Bo", owner=None, tier="C",
                   customer_since=date(2025, 1, 1))
    _, result = run("quarterly", {
        "nps": "9", "going_well": None, "contact_ok": "n", "referral_ok": "n", "need": "n",
        "send_info": "n", "anything_else": None,
    }, customer=new)
    assert "last_order_csat" not in result.answers
    assert kinds(result) == set()          # promoter, but new and no referral


# -- thank you ----------------------------------------------------------------------------


def test_thank_you_promoter():
    s, result = run("thank_you", {
        "order_ok": "y", "csat": "5", "nps": "10", "referral_ok": "y", "referral_name": None,
        "need": "n",
    })
    assert "thank you for your recent order" in s.opening_text()
    assert kinds(result) == {("referral", "Dana"), ("thank_you_note", "Sam")}
    referral = next(f for f in result.followups if f.kind == "referral")
    assert "will refer: ask for the name. The referred person" in referral.note


def test_thank_you_passive():
    _, result = run("thank_you", {
        "order_ok": "yes", "csat": "4", "nps": "8", "improve": "cheaper shipping",
        "need": "y", "need_detail": "spare filters by April",
    })
    assert kinds(result) == {("thank_you_note", "Sam"), ("sales_lead", "Dana")}


def test_thank_you_detractor_with_a_damaged_order():
    _, result = run("thank_you", {
        "order_ok": "n", "order_problem": "damaged", "problem_detail": "box crushed",
        "csat": "2", "nps": "4", "improve": None, "need": "n",
    })
    assert kinds(result) == {("fix_problem", "Dana")}
    fix = result.followups[0]
    # the order-problem rule and the detractor rule make one follow-up
    assert fix.note == ("Order problem (Damaged): box crushed. CSAT 2, NPS 4; "
                        "Detractor after a purchase (NPS 4): no reason given")
    assert fix.due_at == NOW + timedelta(days=1)


# -- recovery -----------------------------------------------------------------------------


def test_recovery_tells_what_was_fixed():
    s = SurveySession(load_script("recovery"), CUSTOMER, "Sam", context=FIX, now=NOW)
    assert s.opening_text().endswith(
        "what we have done about it: we replaced the damaged parts and changed carrier.")
    assert s.hint_text("fixed_ok") == "The fix was recorded by Dana."
    plain = SurveySession(load_script("recovery"), CUSTOMER, "Sam", now=NOW)
    assert plain.opening_text().endswith("we have looked into it and put it right.")


def test_recovery_promoter_is_won_back():
    _, result = run("recovery", {"fixed_ok": "y", "nps": "9", "referral_ok": "y"},
                    context=FIX)
    assert kinds(result) == {("thank_you_note", "Sam"), ("referral", "Dana")}
    note = next(f for f in result.followups if f.kind == "thank_you_note")
    assert note.note.startswith("Won back (NPS 3 -> 9)")


def test_recovery_passive():
    _, result = run("recovery", {"fixed_ok": "y", "nps": "7"}, context=FIX)
    assert kinds(result) == set()


def test_recovery_detractor_is_escalated_and_reopened():
    _, result = run("recovery", {
        "fixed_ok": "n", "still_wrong": "the carrier is still late", "nps": "2",
        "improve": "deliver on time",
    }, context=FIX)
    assert kinds(result) == {("fix_problem", "Dana"), ("escalate", "Customer care lead")}
    escalate = next(f for f in result.followups if f.kind == "escalate")
    assert escalate.note == "Still a detractor after a fix (NPS 3 -> 2): deliver on time"


# -- occasion -----------------------------------------------------------------------------

OCCASION = {"occasion": {"what": "your birthday", "date": date(2026, 3, 14)}}


def test_occasion_promoter_gets_card_and_gift():
    s, result = run("occasion", {"nps": "10", "card_ok": "y"}, context=OCCASION)
    assert "because your birthday is coming up" in s.opening_text()
    assert kinds(result) == {("thank_you_note", "Sam"), ("gift", "Dana")}
    card = next(f for f in result.followups if f.kind == "thank_you_note")
    assert card.note == "Card for your birthday (14 March 2026)."


def test_occasion_passive_who_declines_the_card():
    _, result = run("occasion", {"nps": "8", "card_ok": "n"}, context=OCCASION)
    assert kinds(result) == set()


def test_occasion_detractor():
    _, result = run("occasion", {"nps": "5", "improve": "call less often", "card_ok": "y"})
    assert kinds(result) == {("fix_problem", "Dana"), ("thank_you_note", "Sam")}
    card = next(f for f in result.followups if f.kind == "thank_you_note")
    assert card.note == "Card for their special day (date not known)."


@pytest.mark.parametrize("name", ["quarterly", "thank_you", "recovery", "occasion"])
def test_every_question_text_renders_without_placeholders(name):
    s = SurveySession(load_script(name), CUSTOMER, "Sam", context={**FIX, **OCCASION},
                      now=NOW)
    texts = [s.opening_text(), s.consent_text() or "", s.closing_text()]
    texts += [s.question_text(q.key) for q in s.script.questions]
    for text in texts:
        assert "{" not in text and "}" not in text


def test_recovery_of_a_former_promoter_is_not_a_win_back():
    was_promoter = {"fix": {**FIX["fix"], "score": 10}}
    _, result = run("recovery", {"fixed_ok": "y", "nps": "9", "referral_ok": "n"},
                    context=was_promoter)
    assert kinds(result) == set()
    _, result = run("recovery", {"fixed_ok": "y", "nps": "9", "referral_ok": "n"})
    assert kinds(result) == {("thank_you_note", "Sam")}     # score before not known


def test_a_call_broken_off_after_the_score_still_writes_readable_notes():
    """Regression: a detractor who hangs up after the NPS got "Detractor (NPS 3), : . ..."."""
    from calls.survey.engine import SurveySession

    customer = Customer(id=1, ref="C1", name="Ann Lee", tier="B", owner="olga")
    for name in ("quarterly", "occasion", "recovery", "thank_you"):
        script = load_script(name)
        session = SurveySession(script, customer, "bob", now=NOW)
        first = session.current()
        assert first is not None
        if first.key != "nps":  # reach the score through the script's own path
            continue
        session.answer("nps", "3")
        result = session.finish(NOW)
        assert not result.complete
        for f in result.followups:
            assert ": ." not in f.note and "()" not in f.note and not f.note.endswith(": "), f.note
    quarterly = SurveySession(load_script("quarterly"), customer, "bob", now=NOW)
    quarterly.answer("nps", "3")
    [fix] = [f for f in quarterly.finish(NOW).followups if f.kind == "fix_problem"]
    assert fix.note == ("Detractor (NPS 3), area not given: no reason given. "
                        "May contact: not asked.")
