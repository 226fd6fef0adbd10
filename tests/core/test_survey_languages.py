"""Scripts in the customer's language: translations, salutations, fill-ins, fallbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from calls.models import Customer
from calls.survey import SurveySession, load_script
from calls.survey.script import ScriptError, parse_script, shipped_script_names

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

SCRIPT = """
name = "mini"
version = "1"
purpose = "care"
opening = "Hello {customer.salutation}, this is {caller.first_name}."
closing = "Thanks, {customer.salutation}."

[[questions]]
key = "area"
type = "choice"
text = "Which area?"
options = [{ value = "delivery", label = "Delivery" }, { value = "price", label = "Price" }]

[[questions]]
key = "why"
type = "text"
text = "You said {area}. Why?"

[[rules]]
kind = "fix_problem"
owner = "caller"
note = "Problem with {area}: {why}"

[translations.de]
opening = "Guten Tag {customer.salutation}, hier spricht {caller.first_name}."

[translations.de.questions]
area.text = "Welcher Bereich?"
area.options = { delivery = "Lieferung" }
why.text = "Sie sagten {area}. Warum?"
"""


def customer(**fields) -> Customer:
    base = {"id": 1, "ref": "K1", "name": "Klaus Becker", "first_name": "Klaus",
            "last_name": "Becker", "salutation": "mr", "country": "DE", "phone_region": "DE"}
    base.update(fields)
    return Customer(**base)


def test_a_german_customer_is_greeted_in_german_with_the_right_salutation():
    s = SurveySession(parse_script(SCRIPT), customer(), "olga.berg", now=NOW)
    assert s.language == "de"
    assert s.opening_text() == "Guten Tag Herr Becker, hier spricht Olga."
    # No German closing in the script: the script's own words, still "Herr Becker"
    # because the call is in German.
    assert s.closing_text() == "Thanks, Herr Becker."


def test_labels_are_translated_and_answers_keep_their_values():
    s = SurveySession(parse_script(SCRIPT), customer(), "olga", now=NOW)
    q = s.current()
    assert q.text == "Welcher Bereich?"
    assert [o.label for o in q.options] == ["Lieferung", "Price"]    # one label untranslated
    assert s.answer("area", "Lieferung").value == "delivery"          # typed as the caller reads it
    assert s.question_text("why") == "Sie sagten Lieferung. Warum?"
    s.answer("why", "zu spät")
    [spec] = s.followups(NOW)
    assert spec.note == "Problem with Delivery: zu spät"              # notes for the team: own words


@pytest.mark.parametrize(("fields", "language", "opening"), [
    ({"country": "US", "phone_region": "US", "salutation": None, "first_name": "Jane",
      "last_name": "Doe", "name": "Jane Doe"}, "en", "Hello Jane, this is Olga."),
    ({"country": "US", "phone_region": "US", "salutation": "ms", "first_name": "Jane",
      "last_name": "Doe", "name": "Jane Doe"}, "en", "Hello Ms Doe, this is Olga."),
    # French has no translation in this script: the script's own language, English.
    ({"country": "FR", "phone_region": "FR", "salutation": "ms", "first_name": "Claire",
      "last_name": "Dupont", "name": "Claire Dupont"}, "en", "Hello Ms Dupont, this is Olga."),
    # The list's language wins over the country.
    ({"language": "de", "country": "CH"}, "de", "Guten Tag Herr Becker, hier spricht Olga."),
])
def test_language_falls_back_to_the_script_own(fields, language, opening):
    s = SurveySession(parse_script(SCRIPT), customer(**fields), "olga", now=NOW)
    assert (s.language, s.opening_text()) == (language, opening)


@pytest.mark.parametrize(("name", "language", "greeting", "salutation"), [
    ("quarterly", "de", "Guten Tag Frau Schmidt, hier spricht Olga", "de"),
    ("quarterly", "fr", "Bonjour Madame Schmidt, Olga du service client", "fr"),
    ("thank_you", "de", "Guten Tag Frau Schmidt", "de"),
    ("recovery", "fr", "Bonjour Madame Schmidt", "fr"),
    ("occasion", "de", "Guten Tag Frau Schmidt", "de"),
])
def test_shipped_scripts_speak_german_and_french(name, language, greeting, salutation):
    anna = customer(name="Anna Schmidt", first_name="Anna", last_name="Schmidt",
                    salutation="ms", language=language,
                    customer_since=date(2015, 1, 1), last_purchase=date(2026, 3, 1))
    s = SurveySession(load_script(name), anna, "olga", now=NOW)
    assert s.language == language
    assert s.opening_text().startswith(greeting)


@pytest.mark.parametrize("name", shipped_script_names())
def test_shipped_scripts_translate_every_text_and_label(name):
    script = load_script(name)
    assert script.languages == ("en", "de", "fr")
    for lang in ("de", "fr"):
        t = script.translations[lang]
        assert t.opening and t.closing and (t.consent or not script.consent)
        for q in script.questions:
            words = t.questions[q.key]
            assert words.text and words.text != q.text, (lang, q.key)
            assert set(words.labels) == {o.value for o in q.options}, (lang, q.key)


@pytest.mark.parametrize(("table", "message"), [
    ('[translations.deu]\nopening = "x"', "two-letter code"),
    ('[translations.en]\nopening = "x"', "the script's own language"),
    ('[translations.de]\ngreeting = "x"', "unknown key 'greeting'"),
    ('[translations.de.questions]\nwhy_not.text = "x"', "no such question"),
    ('[translations.de.questions]\narea.options = { deliver = "x" }',
     "'deliver' is not an option of 'area'"),
    ('[translations.de.questions]\narea.options = { delivery = "a, b" }', "without a comma"),
    ('[translations.de.questions]\nwhy.options = { x = "y" }', "only apply to choice"),
    ('[translations.de]\nopening = "Hallo {customer.nam}"', "unknown customer field"),
    ('[translations.de]\nopening = "Hallo {area}"', "before the questions"),
    ('[translations.de]\nconsent = "Aufnahme?"', "does not have"),
    ('[translations.de.questions]\narea.text = "Sie sagten {why}"', "not asked before"),
])
def test_broken_translations_are_named(table, message):
    text = SCRIPT.split("[translations.de]")[0] + table + "\n"
    with pytest.raises(ScriptError, match=message) as info:
        parse_script(text, "mini.toml")
    assert "mini.toml" in str(info.value)
