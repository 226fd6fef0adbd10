"""Regenerate ``calls/data/rules/area_codes.csv``: NANP area code -> US state / Canadian province.

The table ships as data (the rule packs read it at run time); this script rebuilds it from
the geocoding data of libphonenumber (the ``phonenumbers`` package), which follows the
NANPA area-code assignments. An area code that serves several provinces (902, 867, ...)
lists them all; the queue then applies the stricter of their packs. Toll-free and other
non-geographic codes are not listed: such a number gives no state, and the queue applies
the strictest state pack of the country.

Run: ``python scripts/make_area_codes.py`` (prints how many codes it wrote).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import phonenumbers
from phonenumbers.geodata import GEOCODE_DATA

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI",
    "Wyoming": "WY", "Washington D.C.": "DC", "Washington DC": "DC",
    "District of Columbia": "DC",
}
CA_PROVINCES = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Newfoundland": "NL", "Nova Scotia": "NS",
    "Northwest Territories": "NT", "Nunavut": "NU", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK", "Yukon": "YT",
}
ABBREVIATIONS = set(US_STATES.values()) | set(CA_PROVINCES.values())
OUT = Path(__file__).resolve().parent.parent / "calls" / "data" / "rules" / "area_codes.csv"


def _codes(text: str, country: str) -> set[str]:
    """State / province codes named in one geocoding description."""
    names = US_STATES if country == "US" else CA_PROVINCES
    found = set()
    for part in text.split("/"):
        part = part.strip()
        if part in names:
            found.add(names[part])
            continue
        m = re.search(r",\s*([A-Z]{2})$", part)
        if m and m.group(1) in names.values():
            found.add(m.group(1))
    return found


def build() -> dict[int, tuple[str, set[str]]]:
    """Area code -> (country, state/province codes)."""
    by_npa: dict[int, tuple[str, set[str]]] = {}
    for prefix, descriptions in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        npa = int(prefix[1:4])
        region = phonenumbers.region_code_for_number(
            phonenumbers.PhoneNumber(country_code=1, national_number=npa * 10**7 + 5550100))
        if region not in ("US", "CA"):
            region = "CA" if any(_codes(descriptions.get("en", ""), "CA")) else region
        if region not in ("US", "CA"):
            continue
        codes = _codes(descriptions.get("en", ""), region)
        if not codes:
            continue
        _, known = by_npa.setdefault(npa, (region, set()))
        known.update(codes)
    return by_npa


def main() -> None:
    table = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["area_code", "country", "subdivisions"])
        for npa in sorted(table):
            country, codes = table[npa]
            w.writerow([npa, country, " ".join(sorted(codes))])
    print(f"{len(table)} area codes written to {OUT}")


if __name__ == "__main__":
    main()
