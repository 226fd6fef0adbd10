"""Phone numbers: parse what people type into E.164, with region, type and time zones.

A number that is not valid is refused with a reason (:class:`PhoneError`); it is never
"fixed". In particular a value that a spreadsheet turned into a negative integer (Excel
evaluates ``+1-696-155-3546`` as a formula and keeps ``-4396``) is reported as such.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    PhoneMetadata,
    is_number_type_geographical,
    national_significant_number,
)
from phonenumbers.re_util import enable_pattern_cache, re_compile

# phonenumbers compiles its metadata patterns through re's small LRU cache unless told to
# keep them: a dict lookup instead of a cache probe on every pattern of every number.
enable_pattern_cache()

__all__ = [
    "Phone",
    "PhoneError",
    "country_name",
    "is_known_region",
    "normalise_phone",
    "phone_parts",
    "region_for_country",
]


class PhoneError(ValueError):
    """A value that is not a valid phone number; the message is the reason."""


@dataclass(frozen=True)
class Phone:
    """A valid phone number, normalised."""

    e164: str                      # +14155550100
    ext: str | None                # extension digits, if any
    region: str                    # ISO 3166 alpha-2 of the number (e.g. "US")
    number_type: str               # mobile, fixed_line, fixed_line_or_mobile, toll_free, ...
    time_zones: tuple[str, ...]    # IANA zones the number maps to (may be several)
    raw: str                       # the text it came from

    @cached_property
    def national(self) -> str:
        """The number in national format, for display ("(415) 555-0100 ext. 12")."""
        number = phonenumbers.parse(self.e164)
        if self.ext:
            number.extension = self.ext
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

# Excel keeps the result of "+1-696-155-3546" read as a formula: a small negative integer.
_NEGATIVE_INTEGER = re.compile(r"^\s*-\s*\d+(\.0+)?\s*$")
# Excel numbers in scientific notation (a long number stored as a float): 4.15555E+09.
_SCIENTIFIC = re.compile(r"^\s*\d+(\.\d+)?[eE]\+?\d+\s*$")
_DIGITS = re.compile(r"\d")
_DOUBLE_ZERO = re.compile(r"^00[-.\s]*(?=[1-9])")


def build_country_aliases() -> dict[str, str]:
    """Lower-cased country names (English, German, French, ...) and codes -> region.

    Built from phonenumbers' locale data plus common aliases; the result ships as
    ``calls/data/country_names.json`` because importing that locale data takes most of a
    second (once per import worker). A test checks the shipped file matches.
    """
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for region, by_lang in LOCALE_DATA.items():
        if len(region) != 2:
            continue
        for text in by_lang.values():
            if text.startswith("*"):
                continue
            names.setdefault(_fold(text), region)
        names[region.lower()] = region
    extra = {
        "usa": "US", "u.s.a.": "US", "u.s.": "US", "us": "US", "america": "US",
        "united states of america": "US", "the united states": "US",
        "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB",
        "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
        "united kingdom of great britain and northern ireland": "GB",
        "el": "GR", "eire": "IE", "holland": "NL", "the netherlands": "NL",
        "south korea": "KR", "korea": "KR", "north korea": "KP", "russia": "RU",
        "czech republic": "CZ", "czechia": "CZ", "ivory coast": "CI",
        "vietnam": "VN", "viet nam": "VN", "iran": "IR", "syria": "SY", "laos": "LA",
        "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD",
        "macedonia": "MK", "brunei": "BN", "cape verde": "CV", "swaziland": "SZ",
        "burma": "MM", "palestine": "PS", "vatican": "VA", "holy see": "VA",
        "micronesia": "FM", "taiwan": "TW", "hong kong": "HK", "macau": "MO",
        "macao": "MO", "turkey": "TR", "turkiye": "TR", "uae": "AE", "kosovo": "XK",
        "bosnia and herzegovina": "BA", "st. lucia": "LC", "saint lucia": "LC",
        "east timor": "TL", "timor-leste": "TL", "congo": "CG", "dr congo": "CD",
        "democratic republic of the congo": "CD", "republic of the congo": "CG",
        "libyan arab jamahiriya": "LY", "slovakia (slovak republic)": "SK",
        "svalbard & jan mayen islands": "SJ", "svalbard & jan mayen": "SJ",
        "holy see (vatican city state)": "VA", "korea, republic of": "KR",
        "korea, democratic people's republic of": "KP", "saint barthelemy": "BL",
        "saint martin": "MF", "reunion": "RE", "curacao": "CW",
        "united states minor outlying islands": "UM", "bouvet island (bouvetoya)": "BV",
        "antarctica (the territory south of 60 deg s)": "AQ",
        "british indian ocean territory (chagos archipelago)": "IO",
        "falkland islands (malvinas)": "FK", "pitcairn islands": "PN",
        "heard island and mcdonald islands": "HM", "netherlands antilles": "CW",
        "french southern territories": "TF", "south georgia and the south sandwich islands":
        "GS", "united states virgin islands": "VI", "us virgin islands": "VI",
        "british virgin islands": "VG", "saint helena": "SH",
        "saint kitts and nevis": "KN", "saint vincent and the grenadines": "VC",
        "saint pierre and miquelon": "PM", "wallis and futuna": "WF",
        "lao people's democratic republic": "LA", "sao tome and principe": "ST",
        "cote d'ivoire": "CI", "turks and caicos islands": "TC",
        "deutschland": "DE", "allemagne": "DE", "frankreich": "FR",
        "grossbritannien": "GB", "royaume-uni": "GB", "etats-unis": "US", "kanada": "CA",
    }
    for alias, region in extra.items():
        names[_fold(alias)] = region
    return names


def build_country_names() -> dict[str, str]:
    """Region code -> the country's English name ("DE" -> "Germany"), from phonenumbers'
    locale data; ships as ``calls/data/country_names_en.json`` (a test checks it matches)."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for region, by_lang in LOCALE_DATA.items():
        if len(region) != 2:
            continue
        name = by_lang.get("en")
        if name and name.startswith("*"):        # "*aa": the same as language aa
            name = by_lang.get(name[1:])
        if name and not name.startswith("*"):
            names[region] = name
    return dict(sorted(names.items()))


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import json
    from importlib import resources

    text = (resources.files("calls") / "data" / "country_names_en.json").read_text("utf-8")
    return json.loads(text)


def country_name(region: str | None) -> str:
    """The English name of a region code ("FR" -> "France"); the code itself when unknown,
    '' for none."""
    if not region:
        return ""
    return _country_names().get(region.upper(), region)


def _fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed: 'Côte d’Ivoire' -> "cote d'ivoire"."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


_ALIASES: dict[str, str] | None = None


def _load_aliases() -> dict[str, str]:
    import json
    from importlib import resources

    text = (resources.files("calls") / "data" / "country_names.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1024)
def region_for_country(value: str | None) -> str | None:
    """The ISO 3166 alpha-2 region for a country cell ("DE", "Germany", "France"), or None.

    Unknown names give None (the caller then falls back to the default region).
    """
    global _ALIASES
    if not value:
        return None
    folded = _fold(value)
    if not folded:
        return None
    if _ALIASES is None:
        _ALIASES = _load_aliases()
    region = _ALIASES.get(folded)
    if region is None and len(folded) == 3 and folded.isalpha():
        region = _ISO3.get(folded.upper())
    return region


# The alpha-3 codes of the countries a care programme meets most; lists rarely use others.
_ISO3 = {
    "USA": "US", "CAN": "CA", "GBR": "GB", "DEU": "DE", "FRA": "FR", "AUT": "AT",
    "CHE": "CH", "BEL": "BE", "NLD": "NL", "LUX": "LU", "IRL": "IE", "ESP": "ES",
    "PRT": "PT", "ITA": "IT", "DNK": "DK", "SWE": "SE", "NOR": "NO", "FIN": "FI",
    "POL": "PL", "AUS": "AU", "NZL": "NZ", "MEX": "MX", "BRA": "BR", "JPN": "JP",
}


def is_known_region(region: str) -> bool:
    """True for a region code phonenumbers knows ("US", "GB", ...)."""
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def normalise_phone(
    raw: str | float | None, default_region: str = "US", country: str | None = None
) -> Phone:
    """Parse ``raw`` into a valid :class:`Phone`, or raise :class:`PhoneError` with the reason.

    The number is read in the region given by ``country`` (an ISO code or a country name,
    typically the row's country column) when that is known, else in ``default_region``.
    A number written in international form (``+44 ...``, ``00 44 ...``) speaks for itself.
    """
    if raw is None:
        raise PhoneError("no phone number")
    text = raw if isinstance(raw, str) else _number_cell_text(raw)
    region = region_for_country(country) if country else None
    return _normalise(text, (region or default_region or "US").upper())


def _number_cell_text(value: float) -> str:
    """A numeric spreadsheet cell as the digits it held (12345.0 -> '12345')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@lru_cache(maxsize=4096)
def _normalise(text: str, region: str) -> Phone:
    e164, ext, number_region, number_type, zones = phone_parts(text, region)
    return Phone(e164=e164, ext=ext, region=number_region, number_type=number_type,
                 time_zones=zones, raw=text)


def phone_parts(text: str, region: str) -> tuple[str, str | None, str, str, tuple[str, ...]]:
    """``(e164, extension, region, number type, time zones)`` of ``text`` read in
    ``region`` (an upper-case ISO code), or :class:`PhoneError` with the reason.

    What :func:`normalise_phone` returns, without building a :class:`Phone` or caching:
    for bulk imports, where every number is new and each microsecond counts a million
    times.
    """
    stripped = text.strip()
    if not stripped:
        raise PhoneError("no phone number")
    if _NEGATIVE_INTEGER.match(stripped):
        raise PhoneError(
            f"{stripped!r} is a negative number, not a phone number "
            "(a spreadsheet probably evaluated '+..-..' as a formula; the original is lost)"
        )
    if _SCIENTIFIC.match(stripped):
        raise PhoneError(
            f"{stripped!r} is a number in scientific notation "
            "(a spreadsheet rounded it; the original digits are lost)"
        )
    if not _DIGITS.search(stripped):
        raise PhoneError(f"{stripped!r} has no digits")
    candidate = stripped
    match = _DOUBLE_ZERO.match(candidate)
    if match:
        # "0049 30 ...", "001-808-617-6467": 00 is the international prefix in most of the
        # world (phonenumbers only accepts the default region's own prefix, 011 for NANP).
        candidate = "+" + candidate[match.end():]
    simple = _fast_parse(candidate, region)
    if simple is not None:
        country_code, nsn, ext = simple
    else:
        try:
            number = phonenumbers.parse(candidate, region, keep_raw_input=False)
        except NumberParseException as exc:
            reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
            raise PhoneError(f"{stripped!r}: {reason}") from None
        country_code = number.country_code
        nsn = national_significant_number(number)
        ext = number.extension or None
    number_region, ntype = _region_and_type(country_code, nsn)
    if ntype == PhoneNumberType.UNKNOWN:
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(nsn))
        if nsn.startswith("0"):
            number.italian_leading_zero = True
            number.number_of_leading_zeros = len(nsn) - len(nsn.lstrip("0"))
        reason = _invalid_reason(number, region, candidate.startswith("+"))
        raise PhoneError(f"{stripped!r}: {reason}")
    e164 = f"+{country_code}{nsn}"
    return (e164, ext, number_region, _TYPE_NAMES.get(ntype, "unknown"),
            _zones(e164, ntype, country_code))


# The common shapes of numbers in lists, read without phonenumbers' general parser (which
# is about a third of the cost): digits with the usual separators, an optional leading +,
# an optional extension. Anything else goes through phonenumbers.parse.
_SIMPLE = re.compile(
    r"^(\+)?[\d\s().\-/]+?(?:\s*(?:x|ext\.?|extension|#)\s*(\d{1,7}))?$", re.IGNORECASE
)
_NON_DIGITS = re.compile(r"\D+")
# Calling codes whose numbers the fast path reads: NANP, and the trunk-prefix-0 countries
# of the lists we see most (the UK, Germany, France).
_FAST_CODES = {"1": 1, "44": 44, "49": 49, "33": 33}
_FAST_REGIONS = {"US": 1, "CA": 1, "GB": 44, "DE": 49, "FR": 33}


def _fast_parse(text: str, region: str) -> tuple[int, str, str | None] | None:
    """``(country code, national significant number, extension)`` or None (use the slow path).

    Gives the same number as ``phonenumbers.parse`` for the shapes it accepts (a test
    compares the two on many generated numbers).
    """
    match = _SIMPLE.match(text)
    if not match:
        return None
    body = text[: match.start(2)] if match.group(2) else text
    if body.count("(") > 1 or body.count(")") > 1:
        return None
    digits = _NON_DIGITS.sub("", body)
    ext = match.group(2)
    if match.group(1):  # +CC...
        for code in ("1", "44", "49", "33"):
            if digits.startswith(code):
                nsn = digits[len(code):]
                break
        else:
            return None
        cc = _FAST_CODES[code]
        if cc != 1 and nsn.startswith("0"):
            nsn = nsn[1:]          # "+44 (0)20 ...": the trunk 0 written in brackets
    else:
        cc = _FAST_REGIONS.get(region)
        if cc is None:
            return None
        if cc == 1:
            if len(digits) == 11 and digits[0] == "1":
                nsn = digits[1:]
            elif len(digits) == 10 and digits[0] in "23456789":
                nsn = digits
            else:
                return None
        elif digits.startswith("0") and not digits.startswith("00"):
            nsn = digits[1:]
        else:
            return None
    if cc == 1 and (len(nsn) != 10 or nsn[0] in "01"):
        return None
    if not nsn or nsn[0] == "0" or not 6 <= len(nsn) <= 13:
        return None
    return cc, nsn, ext


# The special number types in the order phonenumbers tests them (before fixed / mobile).
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE), ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST), ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER), ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN), ("voicemail", PhoneNumberType.VOICEMAIL),
)
_TYPE_PLANS: dict[tuple[int, int], tuple] = {}


def _desc_matcher(desc, length: int):
    """The ``fullmatch`` of a number description's pattern for numbers of ``length``
    digits, or None when such a number can never match it (phonenumbers'
    ``_is_number_matching_desc``: no pattern, or a length the description rules out)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return re.compile(desc.national_number_pattern).fullmatch


def _type_plan(metadata: PhoneMetadata, length: int) -> tuple:
    """What :func:`_number_type` checks for a ``length``-digit number of a region: the
    general pattern, the special types as one alternation (tried in order, the first that
    matches the whole number wins: phonenumbers' order), fixed line and mobile."""
    general = _desc_matcher(metadata.general_desc, length)
    alternatives, types = [], []
    for name, ntype in _SPECIAL_TYPES:
        desc = getattr(metadata, name)
        if _desc_matcher(desc, length) is not None:
            alternatives.append(f"(?P<t{len(types)}>{desc.national_number_pattern})")
            types.append(ntype)
    special = re.compile("|".join(alternatives)).fullmatch if alternatives else None
    return (general, special, types, _desc_matcher(metadata.fixed_line, length),
            _desc_matcher(metadata.mobile, length), metadata.same_mobile_and_fixed_line_pattern)


def _number_type(nsn: str, metadata: PhoneMetadata) -> int:
    """phonenumbers' ``_number_type_helper``, with its patterns compiled per region and
    length once: one regular expression for the eight special types instead of eight
    calls (a test compares the two on many numbers)."""
    key = (id(metadata), len(nsn))
    plan = _TYPE_PLANS.get(key)
    if plan is None:
        plan = _TYPE_PLANS[key] = _type_plan(metadata, len(nsn))
    general, special, types, fixed, mobile, same = plan
    if general is None or not general(nsn):
        return PhoneNumberType.UNKNOWN
    if special is not None:
        match = special(nsn)
        if match:
            groups = match.groupdict()
            return next(types[i] for i in range(len(types)) if groups[f"t{i}"] is not None)
    if fixed is not None and fixed(nsn):
        if same or (mobile is not None and mobile(nsn)):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and mobile is not None and mobile(nsn):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _region_and_type(country_code: int, nsn: str) -> tuple[str, int]:
    """The number's region and type; type UNKNOWN means "not a valid number".

    What ``is_valid_number`` + ``number_type`` compute, done once: both would find the
    region among those sharing the calling code (25 for +1) by typing the number in each.
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return "", PhoneNumberType.UNKNOWN
    if len(regions) == 1:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
        if metadata is None:
            return regions[0], PhoneNumberType.UNKNOWN
        return regions[0], _number_type(nsn, metadata)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(nsn):
                return region, _number_type(nsn, metadata)
        else:
            ntype = _number_type(nsn, metadata)
            if ntype != PhoneNumberType.UNKNOWN:
                return region, ntype
    return "", PhoneNumberType.UNKNOWN


@lru_cache(maxsize=1)
def _zone_table() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[int, ...]],
                           tuple[int, ...]]:
    """phonenumbers' zone table (prefix -> zones); for each two leading digits, the lengths
    of its prefixes that start with them (one-digit prefixes included), longest first; and
    every length, longest first.

    Loaded at the first number that needs its zones (an import, a number typed), not when
    this module is imported: the table and ``phonenumbers.timezone`` are ~1.3 MB that a
    seat, which only shows numbers, never uses (issue 18: a seat's memory)."""
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    lengths: dict[str, set[int]] = {}
    for prefix in TIMEZONE_DATA:
        for lead in ([prefix[:2]] if len(prefix) > 1 else [prefix + d for d in "0123456789"]):
            lengths.setdefault(lead, set()).add(len(prefix))
    by_lead = {lead: tuple(sorted(found, reverse=True)) for lead, found in lengths.items()}
    return TIMEZONE_DATA, by_lead, tuple(range(TIMEZONE_LONGEST_PREFIX, 0, -1))


def _zones(e164: str, ntype: int, country_code: int) -> tuple[str, ...]:
    """IANA zones for a valid number (phonenumbers.timezone without re-validating it)."""
    if is_number_type_geographical(ntype, country_code):
        digits = e164[1:]
        table, by_lead, every_length = _zone_table()
        # Only the prefix lengths the zone table has for the number's first two digits
        # can match: longest first, as phonenumbers looks them up.
        for length in by_lead.get(digits[:2], every_length):
            if length <= len(digits):
                zones = table.get(digits[:length])
                if zones is not None:
                    return tuple(z for z in zones if z != "Etc/Unknown")
        return ()
    if country_code == 1 and ntype == PhoneNumberType.TOLL_FREE:
        # A North American toll-free number rings anywhere from the Caribbean to Guam: the
        # US states' zones (the queue narrows them to the list's state; docs/lawful.md).
        from calls.rules import region_zones

        return region_zones("US")
    from phonenumbers import timezone as pn_timezone

    return tuple(
        z for z in pn_timezone._country_level_time_zones_for_number(
            phonenumbers.PhoneNumber(country_code=country_code)
        )
        if z != "Etc/Unknown"
    )


def _invalid_reason(number: phonenumbers.PhoneNumber, region: str, international: bool) -> str:
    """Why phonenumbers refuses a parsed number, in words a supervisor can act on."""
    possible = phonenumbers.is_possible_number_with_reason(number)
    where = (
        f"+{number.country_code}"
        if international
        else f"{region} (+{number.country_code})"
    )
    if possible == phonenumbers.ValidationResult.TOO_SHORT:
        return f"too short for {where}"
    if possible == phonenumbers.ValidationResult.TOO_LONG:
        return f"too long for {where}"
    if possible == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return "unknown country calling code"
    return f"not a valid number for {where}"
