#!/usr/bin/env python3
"""Benchmark carecall's phone parsing against phonenumbers' public API on the same numbers.

``calls.ingest.phones.phone_parts`` reads common number shapes without phonenumbers'
general parser and types a number with one compiled pattern per region and length (the
"internals" path). This script measures what that buys over the plain path, which uses
only phonenumbers' public functions (parse, is_valid_number, number_type,
region_code_for_number, time_zones_for_number), on the numbers of ``bench_import.py``'s
list, and checks both give the same answers (the tests in ``tests/core/test_phones.py``
compare them on many more).

Usage: python scripts/bench_phones.py [--numbers N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def plain_parts(text: str, region: str):
    """The plain path: phonenumbers' public API only (None for an invalid number)."""
    import phonenumbers
    from phonenumbers import timezone

    candidate = text.strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:].lstrip(" -.")
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            number.extension or None, phonenumbers.region_code_for_number(number),
            phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(number)).lower(),
            tuple(z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=50_000)
    args = parser.parse_args()
    import make_demo_list as demo

    from calls.ingest.phones import PhoneError, phone_parts

    rng = random.Random(7)
    areas = {"US": demo.US_AREAS, "CA": demo.CA_AREAS, "GB": demo.GB_AREAS,
             "DE": demo.DE_AREAS, "FR": demo.FR_AREAS}
    makers = {"US": lambda p: demo.us_number(rng, p, "US"),
              "CA": lambda p: demo.us_number(rng, p, "CA"),
              "GB": lambda p: demo.gb_number(rng, p), "DE": lambda p: demo.de_number(rng, p),
              "FR": lambda p: demo.fr_number(rng, p)}
    countries = [c for c, _ in demo.MIX]
    weights = [w for _, w in demo.MIX]
    numbers = []
    for _ in range(args.numbers):
        country = rng.choices(countries, weights)[0]
        numbers.append((makers[country](rng.choice(areas[country])[1]), country))

    def fast(text, region):
        try:
            return phone_parts(text, region)
        except PhoneError:
            return None

    start = time.perf_counter()
    got = [fast(t, r) for t, r in numbers]
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    want = [plain_parts(t, r) for t, r in numbers]
    plain_s = time.perf_counter() - start
    agree = sum(a == b for a, b in zip(got, want, strict=True))
    print(f"{len(numbers):,} numbers ({sum(g is not None for g in got):,} valid)")
    print(f"phone_parts (internals): {fast_s:6.2f}s  {len(numbers) / fast_s:10,.0f} numbers/s")
    print(f"public API (plain):      {plain_s:6.2f}s  {len(numbers) / plain_s:10,.0f} numbers/s")
    print(f"speed-up {plain_s / fast_s:.2f}x; same answer for {agree:,} of {len(numbers):,}")


if __name__ == "__main__":
    main()
