"""Themes: suggestions in English, German and French; confirmed tags win; the themes
report on the Sudzilla survey with a vocabulary whose answer was counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from calls import followups as fu
from calls.errors import UserError
from calls.policy import DEFAULT_POLICY, policy_from_dict
from calls.themes import (
    build_theme_report,
    check_themes,
    confirm_answer_themes,
    suggest,
    suggest_for_call,
    tag_followup,
)
from tests.support.followups import add_customer
from tests.support.loop import add_answered_call, read_rows

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    # English
    ("The parcel arrived two weeks late", ["delivery"]),
    ("You charged me twice and the invoice is wrong", ["billing"]),
    ("Your website login never works", ["website"]),
    ("Far too expensive for what it is", ["price"]),
    # German: umlauts and ß folded, compounds found inside words
    ("Die Lieferung kam zu spät, der Paketversand ist eine Katastrophe", ["delivery"]),
    ("Die Qualität ist schlecht, das Gerät war kaputt", ["product_quality"]),
    ("Kundenservice nicht erreichbar, ewig in der Warteschleife", ["support"]),
    ("Die Rechnung war falsch und viel zu teuer", ["billing", "price"]),
    # French: accents folded; a short keyword matches whole words only
    ("La livraison était en retard et le colis abîmé", ["delivery", "product_quality"]),
    ("Le prix est trop cher", ["price"]),
    ("Je vais chercher ailleurs", []),          # "cher" is not inside "chercher"
    ("Le personnel était très aimable", ["staff"]),
    ("Impossible de joindre le service client", ["support"]),
])
def test_suggestions_in_three_languages(text, expected):
    assert suggest(text) == expected


def test_most_hits_first_and_capped():
    text = "late delivery, the parcel was late again; also the invoice"
    assert suggest(text)[:2] == ["delivery", "billing"]
    policy = policy_from_dict({"themes": {"max_suggestions": 1}})
    assert suggest("late parcel and a wrong invoice and rude staff", policy.themes) == [
        "delivery"]


def test_check_themes_accepts_labels_and_refuses_unknown_ones():
    assert check_themes(["Product quality", "BILLING", "delivery,price"],
                        DEFAULT_POLICY.themes) == ["product_quality", "billing", "delivery",
                                                   "price"]
    with pytest.raises(UserError, match="unknown theme 'weather'.*delivery"):
        check_themes(["weather"], DEFAULT_POLICY.themes)


def test_policy_vocabulary_adds_and_drops_themes():
    policy = policy_from_dict({"themes": {"drop": ["website"], "words": {
        "packaging": {"label": "Packaging", "en": ["box", "packaging"], "de": ["verpackung"]}}}})
    assert suggest("Die Verpackung war eingedrückt", policy.themes) == ["packaging"]
    assert suggest("the website is slow", policy.themes) == []


def test_confirmed_tags_win_over_suggestions(store):
    call = add_answered_call(store, "C1", NOW, {"nps": ("nps", 3),
                                                "why": ("text", "The parcel arrived late")})
    [tagged] = suggest_for_call(store, call, NOW, by="kim")
    assert tagged.suggested == ["delivery"] and tagged.confirmed is None
    assert tagged.themes == ["delivery"]
    stored = store.all("SELECT theme, source FROM theme_tags WHERE call_id = ?", (call,))
    assert stored == [{"theme": "delivery", "source": "suggested"}]
    first, last = date(2026, 3, 1), date(2026, 3, 31)
    report = build_theme_report(store, first, last)
    assert [t.theme for t in report.categories[0].themes] == ["delivery"]
    # the caller says it was really about billing: the report follows the person
    assert confirm_answer_themes(store, call, "why", ["billing"], NOW, "kim") == ["billing"]
    [tagged] = suggest_for_call(store, call, NOW, by="kim")
    assert tagged.suggested == ["delivery"] and tagged.themes == ["billing"]
    report = build_theme_report(store, first, last)
    assert [t.theme for t in report.categories[0].themes] == ["billing"]
    assert report.confirmed == 1
    # confirming no theme at all is a choice too
    confirm_answer_themes(store, call, "why", [], NOW + timedelta(minutes=1), "kim")
    report = build_theme_report(store, first, last)
    assert report.categories[0].themes == [] and report.untagged == 1
    with pytest.raises(UserError, match="no open answer 'nope'"):
        confirm_answer_themes(store, call, "nope", ["billing"], NOW, "kim")


def test_fix_tags_and_root_causes_in_the_report(store):
    ann = add_customer(store, "C1", "Ann Able", owner="olga")
    bo = add_customer(store, "C2", "Bo Beck", owner="olga")
    a = fu.add_followup(store, kind="fix_problem", customer_id=ann, owner="olga", due_at=None,
                        details="parcel arrived late", now=NOW)
    b = fu.add_followup(store, kind="fix_problem", customer_id=bo, owner="olga", due_at=None,
                        details="charged twice", now=NOW)
    fu.close_followup(store, a.id, by="olga", note="changed courier for the region",
                      now=NOW + timedelta(days=1))
    tagged = tag_followup(store, a.id, NOW, "olga", chosen=["delivery"], root_cause=True)
    assert tagged.themes == ["delivery"] and tagged.root_cause
    fu.close_followup(store, b.id, by="olga", note="refunded the second payment",
                      now=NOW + timedelta(days=1))
    suggested = tag_followup(store, b.id, NOW, "olga")   # not confirmed: suggestions count
    assert suggested.confirmed is None and suggested.themes == ["billing"]
    report = build_theme_report(store, date(2026, 3, 1), date(2026, 3, 31))
    fixed = {f.theme: (f.fixes, f.root_cause, f.one_customer) for f in report.fixed}
    assert fixed == {"delivery": (1, 1, 0), "billing": (1, 0, 1)}


def _sudzilla(store):
    for i, row in enumerate(read_rows("sudzilla_nps.csv")):
        when = datetime.fromisoformat(row["timestamp"][:19]).replace(tzinfo=UTC)
        add_answered_call(store, f"S{i:02d}", when, {"nps": ("nps", int(row["nps"])),
                                                     "why": ("text", row["why"])})


def test_themes_report_on_the_sudzilla_survey(store):
    # A vocabulary for a conference; the answer below was counted by hand from the 39
    # "why?" answers in tests/data/sudzilla_nps.csv.
    defaults = [t.key for t in DEFAULT_POLICY.themes.vocabulary]
    policy = policy_from_dict({"themes": {"drop": defaults, "words": {
        "content": {"en": ["content", "talk", "session", "speaker", "keynote"]},
        "safety": {"en": ["injur", "slipp", "sue", "cannon"]},
    }}})
    _sudzilla(store)
    report = build_theme_report(store, date(2019, 11, 1), date(2019, 11, 30), policy)
    by = {c.category: c for c in report.categories}
    assert (by["detractor"].respondents, by["passive"].respondents,
            by["promoter"].respondents) == (22, 9, 8)
    assert [(t.theme, t.calls, t.share) for t in by["detractor"].themes] == [
        ("content", 7, 31.8), ("safety", 4, 18.2)]
    assert [(t.theme, t.calls) for t in by["passive"].themes] == [("content", 1)]
    assert by["promoter"].themes == []
    assert report.answers == 37            # two respondents left "why?" empty
    assert report.months == ["2019-11"] and report.monthly == {"content": [8], "safety": [4]}
    assert report.monthly_respondents == [39]


def test_wrap_up_stores_suggestions_and_what_the_caller_confirmed(store):
    from calls.themes import record_wrap_up_themes, wrap_up_items

    answers = [("nps", "nps", 3), ("why", "text", "Rechnung doppelt abgebucht"),
               ("else", "text", "Le livreur était très impoli"), ("skipped", "text", None)]
    items = wrap_up_items(answers)
    assert [(i.answer_key, i.suggested) for i in items] == [
        ("why", ["billing"]), ("else", ["staff"])]
    call = add_answered_call(store, "C9", NOW, {k: (t, v) for k, t, v in answers})
    tagged = record_wrap_up_themes(store, call, answers, {"else": ["delivery", "staff"]},
                                   "kim", NOW)
    assert [(t.answer_key, t.themes, t.confirmed) for t in tagged] == [
        ("why", ["billing"], None), ("else", ["delivery", "staff"], ["delivery", "staff"])]
    report = build_theme_report(store, date(2026, 3, 1), date(2026, 3, 31))
    [detractors] = [c for c in report.categories if c.category == "detractor"]
    assert sorted(t.theme for t in detractors.themes) == ["billing", "delivery", "staff"]
    assert report.confirmed == 1
