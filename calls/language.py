"""The customer's language and how to address them: pure functions, no database.

A customer's language is the list's language column when it has one, else the main
language of the customer's country (or of their number's country). Scripts carry
translations; the survey engine asks :func:`customer_language` which one to read.

How a caller addresses a customer depends on that language: "Herr Müller", "Madame
Dupont", "Mr Smith", or (in English, when the list says nothing of Mr or Ms) the first
name. Where neither a salutation nor a last name is known the full name is used.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "LANGUAGE_NAMES",
    "address",
    "caller_first_name",
    "country_language",
    "customer_language",
    "parse_language",
    "parse_salutation",
    "split_name",
]

# Languages carecall knows by name (ISO 639-1 code -> English name). Scripts may carry a
# translation for any two-letter code; these are the ones a list may spell out in words.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "da": "Danish", "sv": "Swedish", "nb": "Norwegian",
    "fi": "Finnish", "pl": "Polish", "cs": "Czech", "el": "Greek", "tr": "Turkish",
    "ja": "Japanese", "zh": "Chinese",
}

# The words a list uses for a language (folded: lower case, no accents).
_LANGUAGE_WORDS: dict[str, str] = {
    "english": "en", "englisch": "en", "anglais": "en",
    "german": "de", "deutsch": "de", "allemand": "de",
    "french": "fr", "franzosisch": "fr", "francais": "fr",
    "spanish": "es", "spanisch": "es", "espagnol": "es", "espanol": "es",
    "italian": "it", "italienisch": "it", "italien": "it", "italiano": "it",
    "dutch": "nl", "niederlandisch": "nl", "neerlandais": "nl", "nederlands": "nl",
    "portuguese": "pt", "portugiesisch": "pt", "portugais": "pt", "portugues": "pt",
    "danish": "da", "swedish": "sv", "norwegian": "nb", "no": "nb", "finnish": "fi",
    "polish": "pl", "czech": "cs", "greek": "el", "turkish": "tr", "japanese": "ja",
    "chinese": "zh",
}

# The main language of a country (ISO 3166 alpha-2). Countries with several official
# languages get the one most of their customers speak (CH German, BE Dutch, CA English,
# LU French); a list's language column says otherwise for the others.
_COUNTRY_LANGUAGE: dict[str, str] = {
    "DE": "de", "AT": "de", "CH": "de", "LI": "de",
    "FR": "fr", "MC": "fr", "LU": "fr", "BE": "nl",
    "GB": "en", "IE": "en", "US": "en", "CA": "en", "AU": "en", "NZ": "en", "ZA": "en",
    "ES": "es", "MX": "es", "AR": "es", "CL": "es", "CO": "es", "PE": "es",
    "IT": "it", "SM": "it", "NL": "nl", "PT": "pt", "BR": "pt", "DK": "da", "SE": "sv",
    "NO": "nb", "FI": "fi", "PL": "pl", "CZ": "cs", "GR": "el", "CY": "el", "TR": "tr",
    "JP": "ja", "CN": "zh", "TW": "zh",
}

_CODE = re.compile(r"^([a-z]{2})(?:[-_][a-z]{2})?$")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_language(text: str | None) -> str | None:
    """A language cell ("de", "de-DE", "German", "Deutsch", "Français") as a two-letter
    code, or None when empty. Raises ``ValueError`` for a value it cannot read."""
    if text is None or not text.strip():
        return None
    folded = _fold(text)
    if folded in _LANGUAGE_WORDS:
        return _LANGUAGE_WORDS[folded]
    m = _CODE.match(folded)
    if m:
        return m.group(1)
    raise ValueError(f"{text.strip()!r} is not a language (write a code such as de, fr, en)")


def country_language(country: str | None) -> str | None:
    """The main language of a country (ISO alpha-2), or None when carecall does not know."""
    return _COUNTRY_LANGUAGE.get((country or "").upper())


def customer_language(customer, default: str = "en") -> str:
    """The language to speak with a customer: theirs from the list, else their country's
    (the country column, else the number's), else ``default``."""
    return (
        getattr(customer, "language", None)
        or country_language(getattr(customer, "country", None))
        or country_language(getattr(customer, "phone_region", None))
        or default
    )


# Salutation cells -> "mr" / "ms". Lists write Mr, Mrs, Herr, Frau, M., Mme, or a gender.
_SALUTATION_WORDS: dict[str, str] = {
    "mr": "mr", "mister": "mr", "sir": "mr", "herr": "mr", "hr": "mr", "m": "mr",
    "monsieur": "mr", "male": "mr", "man": "mr", "mannlich": "mr", "masculin": "mr",
    "homme": "mr", "sr": "mr", "senor": "mr", "signor": "mr", "dhr": "mr",
    "ms": "ms", "mrs": "ms", "miss": "ms", "madam": "ms", "frau": "ms", "fr": "ms",
    "mme": "ms", "madame": "ms", "mlle": "ms", "mademoiselle": "ms", "female": "ms",
    "woman": "ms", "weiblich": "ms", "w": "ms", "f": "ms", "feminin": "ms", "femme": "ms",
    "sra": "ms", "senora": "ms", "signora": "ms", "mevr": "ms",
}


def parse_salutation(text: str | None) -> str | None:
    """A salutation or gender cell as ``"mr"`` or ``"ms"``; None when empty or neither
    (a "Dr" alone, "divers", ...: the caller then uses the name without Mr or Ms)."""
    if text is None:
        return None
    folded = _fold(text).replace(".", " ").split()
    return _SALUTATION_WORDS.get(folded[0]) if folded else None


# How each language puts a salutation before the last name.
_SALUTATIONS: dict[str, dict[str, str]] = {
    "en": {"mr": "Mr", "ms": "Ms"},
    "de": {"mr": "Herr", "ms": "Frau"},
    "fr": {"mr": "Monsieur", "ms": "Madame"},
    "es": {"mr": "Sr.", "ms": "Sra."},
    "it": {"mr": "Signor", "ms": "Signora"},
    "nl": {"mr": "meneer", "ms": "mevrouw"},
    "pt": {"mr": "Sr.", "ms": "Sra."},
}
# Languages in which a care call addresses a customer by first name when the list gives
# no salutation (elsewhere the full name is the polite fallback).
_FIRST_NAME_LANGUAGES = {"en", "da", "sv", "nb", "fi", "nl"}


def salutation_word(salutation: str | None, language: str) -> str:
    """A stored salutation (``mr`` / ``ms``) as ``language`` writes it ("Madame"); empty
    for none."""
    if not salutation:
        return ""
    return _SALUTATIONS.get(language, _SALUTATIONS["en"]).get(salutation, salutation)


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """A full name's first and last name ("Jane van der Berg" -> ("Jane", "van der Berg")
    is beyond this: the last word is the last name; lists with both columns are better)."""
    words = (name or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return words[0], words[-1]


def address(customer, language: str) -> str:
    """How the caller addresses the customer in ``language``: "Herr Müller", "Madame
    Dupont", "Mr Smith"; without a known salutation the first name (English and the
    Nordic languages) or the full name."""
    first = getattr(customer, "first_name", None)
    last = getattr(customer, "last_name", None)
    name = (getattr(customer, "name", None) or "").strip()
    if not first and not last:
        first, last = split_name(name)
    salutation = getattr(customer, "salutation", None)
    words = _SALUTATIONS.get(language, _SALUTATIONS["en"])
    if salutation in words and last:
        return f"{words[salutation]} {last}"
    if language in _FIRST_NAME_LANGUAGES and first:
        return first
    return name or " ".join(p for p in (first, last) if p)


def caller_first_name(caller: str) -> str:
    """The caller's first name from their name or login ("olga" -> "Olga", "Ben Ode" ->
    "Ben", "b.ode" -> "B")."""
    word = re.split(r"[\s._@]+", caller.strip())[0] if caller.strip() else ""
    return word[:1].upper() + word[1:] if word.islower() else word
