"""Phone normalisation: formats people type, extensions, invalid numbers, country columns."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import pytest

from calls.ingest.phones import PhoneError, normalise_phone, region_for_country

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("415-555-2671", "US", "+14155552671"),
        ("4155552671", "US", "+14155552671"),
        ("1 (415) 555-2671", "US", "+14155552671"),
        ("+1-415-555-2671", "DE", "+14155552671"),       # international speaks for itself
        ("001-415-555-2671", "US", "+14155552671"),      # 00 + country code
        ("011 44 20 8366 1177", "US", "+442083661177"),  # US international prefix
        ("020 8366 1177", "GB", "+442083661177"),
        ("+44 (0)20 8366 1177", "US", "+442083661177"),
        ("0044 20 8366 1177", "FR", "+442083661177"),
        ("030 12345678", "DE", "+493012345678"),
        ("+49 30 12345678", "US", "+493012345678"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("(604) 555-1234", "CA", "+16045551234"),
    ],
)
def test_formats_people_type(raw, region, e164):
    assert normalise_phone(raw, region).e164 == e164


def test_region_type_and_time_zones():
    us = normalise_phone("(212) 555-0100", "US")
    assert us.region == "US"
    assert us.time_zones == ("America/New_York",)
    assert us.number_type == "fixed_line_or_mobile"
    ca = normalise_phone("604 555 1234", "US")  # a Canadian area code inside +1
    assert ca.region == "CA" and ca.time_zones == ("America/Vancouver",)
    de_mobile = normalise_phone("0151 23456789", "DE")
    assert de_mobile.number_type == "mobile"
    assert de_mobile.time_zones == ("Europe/Berlin",)
    assert normalise_phone("0800 123 4567", "GB").number_type == "toll_free"


def test_extensions_are_kept():
    for raw in ("(415) 555-2671 x123", "415.555.2671 ext. 123", "+1 415 555 2671 #123"):
        phone = normalise_phone(raw, "US")
        assert phone.e164 == "+14155552671"
        assert phone.ext == "123"
        assert phone.raw == raw
    assert normalise_phone("(415) 555-2671 x123", "US").national == "(415) 555-2671 ext. 123"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "no phone number"),
        ("   ", "no phone number"),
        ("n/a", "no digits"),
        ("-4396", "negative number"),      # Excel evaluated +1-696-155-3546 as a formula
        ("-5361", "negative number"),
        ("4.15555E+09", "scientific notation"),
        ("555-0100", "not a valid number"),  # 7 digits: no area code
        ("(123) 456-7890", "not a valid number"),  # area codes never start with 1
        ("12", "too short"),
        ("+999 1234 5678", "country calling code"),
        ("415555267100000000", "too long"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw, words):
    with pytest.raises(PhoneError) as info:
        normalise_phone(raw, "US")
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_country_column_decides_the_region():
    assert normalise_phone("030 12345678", country="Germany").e164 == "+493012345678"
    assert normalise_phone("030 12345678", country="DE").e164 == "+493012345678"
    assert normalise_phone("030 12345678", country="Deutschland").e164 == "+493012345678"
    assert normalise_phone("01 42 68 53 00", country="France").region == "FR"
    assert normalise_phone("020 8366 1177", country="United Kingdom").region == "GB"
    assert normalise_phone("020 8366 1177", country="UK").region == "GB"
    # A US number in a row whose country is Chile is not a Chilean number: refused.
    with pytest.raises(PhoneError, match="CL"):
        normalise_phone("229.077.5154", country="Chile")
    # Unknown country text: the default region applies.
    assert normalise_phone("(415) 555-2671", "US", country="Atlantis").e164 == "+14155552671"


def test_region_for_country_names_and_codes():
    assert region_for_country("United States") == "US"
    assert region_for_country("usa") == "US"
    assert region_for_country("Côte d'Ivoire") == "CI"
    assert region_for_country("GBR") == "GB"
    assert region_for_country("Allemagne") == "DE"
    assert region_for_country("ca") == "CA"
    assert region_for_country("") is None
    assert region_for_country("Nowhere") is None


def test_libphonenumber_example_numbers():
    """Google's example number for each type agrees with phonenumbers' own validation."""
    with open(DATA / "libphonenumber_examples.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 100
    for row in rows:
        expected_valid = phonenumbers.is_valid_number(
            phonenumbers.parse(row["national_number"], row["region"])
        )
        if expected_valid:
            phone = normalise_phone(row["national_number"], row["region"])
            assert phone.e164 == row["expected_e164"], row
            parsed = phonenumbers.parse(row["national_number"], row["region"])
            expected_type = phonenumbers.number_type(parsed)
            assert phonenumbers.PhoneNumberType.to_string(expected_type).lower() == (
                phone.number_type
            ), row
        else:
            with pytest.raises(PhoneError):
                normalise_phone(row["national_number"], row["region"])


def test_numeric_cells():
    assert normalise_phone(4155552671.0, "US").e164 == "+14155552671"
    assert normalise_phone(4155552671, "US").e164 == "+14155552671"
    with pytest.raises(PhoneError, match="negative"):
        normalise_phone(-4396, "US")
    with pytest.raises(PhoneError):
        normalise_phone(None)


def test_shipped_country_names_match_phonenumbers_locale_data():
    import json
    from importlib import resources

    from calls.ingest.phones import build_country_aliases

    shipped = json.loads(
        (resources.files("calls") / "data" / "country_names.json").read_text("utf-8")
    )
    assert shipped == build_country_aliases()


def test_shipped_english_country_names_match_phonenumbers_locale_data():
    import json
    from importlib import resources

    from calls.ingest.phones import build_country_names, country_name

    shipped = json.loads(
        (resources.files("calls") / "data" / "country_names_en.json").read_text("utf-8")
    )
    assert shipped == build_country_names()
    assert (country_name("DE"), country_name("gb"), country_name(None)) == (
        "Germany", "United Kingdom", "")
    assert country_name("ZZ") == "ZZ"


def _reference(raw: str, region: str):
    """phonenumbers' public API only: what normalise_phone must agree with."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:].lstrip(" -.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        number.extension or None,
        phonenumbers.region_code_for_number(number),
        phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(number)).lower(),
    )


def test_fast_path_agrees_with_phonenumbers_on_generated_numbers():
    import random

    rng = random.Random(11)
    seps = [" ", "-", ".", "", "/"]
    samples = []
    for _ in range(4000):
        region = rng.choice(["US", "CA", "GB", "DE", "FR"])
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 12)))
        if rng.random() < 0.5:
            digits = rng.choice(["0", "1", "", "00", "+1", "+44", "+49", "+33", "+44 (0)"]) + digits
        sep = rng.choice(seps)
        cut = rng.randint(1, 4)
        text = digits[:cut] + sep + digits[cut:cut + 3] + sep + digits[cut + 3:]
        if rng.random() < 0.3:
            text = f"({text[:3]}) {text[3:]}"
        if rng.random() < 0.1:
            text += rng.choice([" x12", " ext. 345", "#9", " ext 7"])
        samples.append((text, region))
    # Real numbers in every shape, so the valid side is well covered too.
    for _ in range(1500):
        area = rng.choice(["212", "415", "604", "416", "907", "808"])
        line = f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        samples.append((rng.choice([f"({area}) {line[:3]}-{line[3:]}", f"1-{area}-{line}",
                                    f"+1 {area} {line}", f"{area}.{line[:3]}.{line[3:]}"]), "US"))
        samples.append((rng.choice(["020 7946 0", "0161 496 0", "07911 1", "+44 7400 3"])
                        + f"{rng.randint(0, 99999):05d}"[: rng.randint(3, 5)], "GB"))
        samples.append((rng.choice(["030 ", "0151 ", "+49 89 ", "(040) "])
                        + str(rng.randint(100000, 99999999)), "DE"))
        samples.append((rng.choice(["01 ", "06 ", "+33 7 ", "04."])
                        + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4)), "FR"))
    valid = 0
    for text, region in samples:
        expected = _reference(text, region)
        try:
            phone = normalise_phone(text, region)
            got = (phone.e164, phone.ext, phone.region, phone.number_type)
        except PhoneError:
            got = None
        assert got == expected, (text, region)
        valid += got is not None
    assert valid > 2000


def test_number_type_agrees_with_phonenumbers_in_every_region():
    """The compiled type check gives phonenumbers' answer: each region's example numbers
    of every type, and neighbours of them (a digit changed, one dropped or added)."""
    from phonenumbers.phonenumberutil import PhoneMetadata, _number_type_helper

    from calls.ingest.phones import _SPECIAL_TYPES, _number_type

    descs = ["general_desc", "fixed_line", "mobile", *(name for name, _ in _SPECIAL_TYPES)]
    compared = 0
    regions = [PhoneMetadata.metadata_for_region(r) for r in sorted(
        phonenumbers.SUPPORTED_REGIONS)]
    non_geographic = [PhoneMetadata.metadata_for_nongeo_region(code) for code in sorted(
        phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    for metadata in regions + non_geographic:
        region = metadata.id
        for name in descs:
            desc = getattr(metadata, name)
            example = desc.example_number if desc is not None else None
            if not example:
                continue
            variants = {example, example[:-1], example + "5"}
            for i in range(len(example)):
                for digit in "0159":
                    variants.add(example[:i] + digit + example[i + 1:])
            for nsn in variants:
                assert _number_type(nsn, metadata) == _number_type_helper(nsn, metadata), (
                    region, name, nsn)
                compared += 1
    assert compared > 20_000


def test_time_zones_agree_with_phonenumbers_for_example_numbers():
    from phonenumbers import timezone

    from calls.ingest.phones import phone_parts

    compared = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None or not phonenumbers.is_valid_number(number):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            want = tuple(z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown")
            assert phone_parts(e164, region)[4] == want, (region, e164)
            compared += 1
    assert compared > 300
