"""Customers by hand: search the whole list, add, correct, several numbers, language."""

from __future__ import annotations

from pathlib import Path

import pytest

from calls import audit
from calls.customers import (
    add_customer,
    add_number,
    customer_regions,
    edit_customer,
    home_region,
    mark_number,
    numbers_for,
    parse_assignments,
    search_customers,
)
from calls.errors import UserError
from calls.ingest.customers import ImportOptions, import_customers
from calls.language import address, customer_language
from calls.store.customers import get_customer

LIST = Path(__file__).resolve().parents[1] / "data" / "customers_languages.csv"
ABROAD = Path(__file__).resolve().parents[1] / "data" / "customers_abroad.csv"


@pytest.fixture
def listed(store, now):
    import_customers(store, LIST, ImportOptions(workers=1), now)
    return store


def test_import_keeps_names_salutation_and_language(listed):
    klaus = get_customer(listed, "DE-1")
    assert (klaus.first_name, klaus.last_name, klaus.salutation) == ("Klaus", "Becker", "mr")
    assert klaus.language is None and customer_language(klaus) == "de"   # from the country
    assert klaus.phone2 == "+491712345678"
    assert get_customer(listed, "DE-2").language == "de"                  # "Deutsch"
    assert customer_language(get_customer(listed, "CH-1")) == "fr"         # the list says so
    assert customer_language(get_customer(listed, "US-2")) == "en"


@pytest.mark.parametrize(("ref", "language", "expected"), [
    ("DE-1", "de", "Herr Becker"),
    ("DE-2", "de", "Frau Schmidt"),
    ("FR-1", "fr", "Madame Dupont"),
    ("FR-2", "fr", "Monsieur Martin"),
    ("US-1", "en", "Ms Doe"),
    ("US-2", "en", "Bob"),            # no salutation: the first name in English
    ("US-2", "de", "Bob Smith"),      # ... and the full name in German
])
def test_address_per_language(listed, ref, language, expected):
    assert address(get_customer(listed, ref), language) == expected


@pytest.mark.parametrize("typed", [
    "030 1234567", "+49 30 1234567", "0049301234567", "(030) 123-4567", "+49-30-1234567",
])
def test_search_by_a_number_in_any_format(listed, typed):
    [found] = search_customers(listed, typed)
    assert found.ref == "DE-1"


def test_search_by_second_number_ref_name_company(listed):
    assert [c.ref for c in search_customers(listed, "0171 2345678")] == ["DE-1"]
    assert [c.ref for c in search_customers(listed, "FR-1")] == ["FR-1"]
    assert [c.ref for c in search_customers(listed, "fr-1")] == ["FR-1"]
    assert [c.ref for c in search_customers(listed, "schmidt")] == ["DE-2"]
    assert [c.ref for c in search_customers(listed, "becker bau")] == ["DE-1"]
    assert {c.ref for c in search_customers(listed, "dupont")} == {"FR-1"}
    assert search_customers(listed, "nobody at all") == []
    assert search_customers(listed, "  ") == []


def test_search_ignores_accents_and_case(listed, now):
    add_customer(listed, {"name": "François Müller", "phone": "+33 1 42 68 53 01"},
                 by="ann", now=now)
    assert [c.name for c in search_customers(listed, "francois muller")] == ["François Müller"]
    assert [c.name for c in search_customers(listed, "MÜLLER")] == ["François Müller"]


def test_add_customer_validates_like_import_and_audits(listed, now):
    c = add_customer(listed, parse_assignments([
        "first_name=Max", "last_name=Mustermann", "salutation=Herr", "country=Germany",
        "phone=040 1234567", "revenue=1.234,50"]), by="ann", now=now, ref="DE-9")
    assert (c.ref, c.name, c.phone, c.country, c.revenue) == (
        "DE-9", "Max Mustermann", "+49401234567", "DE", 1234.5)
    assert c.time_zones == ("Europe/Berlin",) and c.tier is not None
    [entry] = audit.entries(listed, action="customer.add")
    assert (entry.actor, entry.subject) == ("ann", "DE-9")
    with pytest.raises(UserError, match="not a valid phone number"):
        add_customer(listed, {"name": "X", "phone": "12"}, by="ann", now=now)
    with pytest.raises(UserError, match="exists already"):
        add_customer(listed, {"name": "X", "phone": "+4940999999"}, by="ann", now=now,
                     ref="DE-9")
    with pytest.raises(UserError, match="already the number of Klaus Becker"):
        add_customer(listed, {"name": "X", "phone": "+49301234567"}, by="ann", now=now)
    with pytest.raises(UserError, match="needs a name"):
        add_customer(listed, {"phone": "+4940999999"}, by="ann", now=now)
    with pytest.raises(UserError, match="not a salutation"):
        add_customer(listed, {"name": "X", "phone": "+4940999999", "salutation": "Dr"},
                     by="ann", now=now)
    assert len(audit.entries(listed, action="customer.add")) == 1


def test_edit_customer_changes_and_audits_only_what_changed(listed, now):
    c, changed = edit_customer(listed, "US-2", {"salutation": "Mr", "company": ""},
                               by="bo", now=now)
    assert changed == {"salutation": (None, "mr"), "company": ("Beta LLC", None)}
    assert (c.salutation, c.company) == ("mr", None)
    c, changed = edit_customer(listed, "US-2", {"phone": "(212) 555-0100"}, by="bo", now=now)
    assert c.phone == "+12125550100" and c.number_status == "ok"
    assert [e.action for e in audit.entries(listed, subject="US-2")] == [
        "customer.edit", "customer.number"]
    _, changed = edit_customer(listed, "US-2", {"salutation": "mr"}, by="bo", now=now)
    assert changed == {} and len(audit.entries(listed, subject="US-2")) == 2
    with pytest.raises(UserError, match="no customer with ref"):
        edit_customer(listed, "NOPE", {"company": "x"}, by="bo", now=now)
    with pytest.raises(UserError, match="birthday"):
        edit_customer(listed, "US-2", {"birthday": "someday"}, by="bo", now=now)
    with pytest.raises(UserError, match="not a field"):
        parse_assignments(["shoe_size=44"])


def test_first_and_last_name_carry_the_name(listed, now):
    c, _ = edit_customer(listed, "DE-1", {"last_name": "Bäcker"}, by="bo", now=now)
    assert c.name == "Klaus Bäcker"


def test_several_numbers_in_order_with_status(listed, now):
    klaus = get_customer(listed, "DE-1")
    add_number(listed, "DE-1", "0221 987654", by="ann", now=now, label="office")
    numbers = numbers_for(listed, klaus)
    assert [(n.e164, n.label) for n in numbers] == [
        ("+49301234567", "main"), ("+491712345678", "second"), ("+49221987654", "office")]
    mark_number(listed, klaus, "+491712345678", "wrong_number", by="ann", now=now)
    mark_number(listed, klaus, "+49301234567", "disconnected", by="ann", now=now)
    klaus = get_customer(listed, "DE-1")
    assert [n.callable for n in numbers_for(listed, klaus)] == [False, False, True]
    assert search_customers(listed, "0221 987654")[0].ref == "DE-1"
    with pytest.raises(UserError, match="already a number of"):
        add_number(listed, "DE-1", "+49 30 1234567", by="ann", now=now)


@pytest.fixture
def abroad(store, now):
    """A US-based list with customers in Canada, the UK, France and Germany, written
    internationally; one US customer has an Irish mobile as second number (no customer
    lives in Ireland)."""
    import_customers(store, ABROAD, ImportOptions(workers=1), now)
    return store


@pytest.mark.parametrize(("typed", "ref"), [
    ("020 7946 0958", "GB-10"),          # London, as the customer says it
    ("(020) 7946-0958", "GB-10"),
    ("+44 (0)20 7946 0958", "GB-10"),
    ("01 42 68 53 00", "FR-10"),         # Paris
    ("01.42.68.53.00", "FR-10"),
    ("030 1234567", "DE-10"),            # Berlin
    ("(416) 555-0142", "CA-10"),         # Toronto: national format, the NANP
    ("416.555.0142", "CA-10"),
    ("087 123 4567", "US-10"),           # the Irish mobile of a US customer
    ("(312) 555-0101", "US-10"),
])
def test_search_reads_a_national_number_in_every_country_the_customers_are_in(
        abroad, typed, ref):
    # No region given: the floor's own (most numbers are US here) and every other country.
    assert [c.ref for c in search_customers(abroad, typed)] == [ref]


def test_the_regions_come_from_numbers_countries_and_second_numbers(abroad, store, now):
    assert home_region(abroad) == "US"                 # most customers' numbers
    assert home_region(abroad, "de") == "DE"           # the config file says so
    regions = customer_regions(abroad)
    assert regions[0] == "US" and {"CA", "GB", "FR", "DE"} <= set(regions)
    assert "IE" in regions                             # only a second number is there
    # A country only a second number is in counts ("087..." above), and so does
    # a country the list names for a customer whose number is elsewhere.
    add_customer(abroad, {"name": "Ana Costa", "phone": "+1 617 555 0188",
                          "country": "Portugal"}, by="ann", now=now)
    assert "PT" in customer_regions(abroad)
