"""The holiday cache answers exactly what the holidays package does, and survives a
broken cache folder."""

from __future__ import annotations

from datetime import date

import pytest

from calls import holiday_dates as hd


@pytest.fixture(autouse=True)
def _fresh_memo():
    hd.holidays_in.cache_clear()
    yield
    hd.holidays_in.cache_clear()


@pytest.mark.parametrize(("country", "region", "year"), [
    ("US", None, 2026), ("US", "TX", 2026), ("DE", "BY", 2026), ("DE", None, 2027),
    ("FR", None, 2026), ("CA", "QC", 2026), ("GB", None, 2026), ("AU", "NSW", 2026),
])
def test_cached_equals_computed(country, region, year):
    first = hd.holidays_in(country, region, year)          # computed, written
    hd.holidays_in.cache_clear()
    second = hd.holidays_in(country, region, year)         # read back from the file
    assert first == second == hd.compute_holidays(country, region, year)
    assert first  # every one of these countries has holidays


def test_christmas_and_regional_days():
    assert "Christmas" in hd.holidays_in("US", None, 2026)[date(2026, 12, 25)]
    # Epiphany is a holiday in Bavaria, not in Berlin.
    assert date(2026, 1, 6) in hd.holidays_in("DE", "BY", 2026)
    assert date(2026, 1, 6) not in hd.holidays_in("DE", "BE", 2026)


def test_unknown_country_and_region():
    assert hd.holidays_in("XX", None, 2026) is None
    hd.holidays_in.cache_clear()
    assert hd.holidays_in("XX", None, 2026) is None            # the "unknown" is cached too
    assert hd.holidays_in("US", "ZZ", 2026) == hd.holidays_in("US", None, 2026)


def test_a_damaged_cache_file_is_recomputed():
    good = hd.holidays_in("FR", None, 2026)
    path = hd._cache_file("FR", None, 2026)
    path.write_text("{not json")
    hd.holidays_in.cache_clear()
    assert hd.holidays_in("FR", None, 2026) == good


def test_an_unwritable_cache_folder_still_answers(monkeypatch, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert date(2026, 12, 25) in hd.holidays_in("GB", None, 2026)
