"""Amounts, dates and ids as people write them in lists."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from calls.ingest.values import (
    clean_ref,
    detect_day_first,
    parse_amount,
    parse_date_text,
    parse_datetime_text,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.56", 1234.56), ("1,234.56", 1234.56), ("1.234,56", 1234.56), ("$1,200", 1200.0),
        ("€ 1.200,50", 1200.5), ("1 200,50", 1200.5), ("12,5", 12.5), ("1,234", 1234.0),
        ("(12.50)", -12.5), ("-3", -3.0), ("3-", -3.0), ("GBP 10", 10.0), ("", None),
        ("1.234.567", 1234567.0), ("+7", 7.0),
    ],
)
def test_amounts(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["abc", "12a", "1..2,3,4x", "$"])
def test_bad_amounts(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


def test_dates():
    assert parse_date_text("2021-04-05") == date(2021, 4, 5)
    assert parse_date_text("2021/04/05") == date(2021, 4, 5)
    assert parse_date_text("05.04.2021") == date(2021, 4, 5)         # German: day first
    assert parse_date_text("04/05/2021") == date(2021, 4, 5)         # US default
    assert parse_date_text("04/05/2021", day_first=True) == date(2021, 5, 4)
    assert parse_date_text("26-08-2020", day_first=True) == date(2020, 8, 26)
    assert parse_date_text("5 April 2021") == date(2021, 4, 5)
    assert parse_date_text("Apr 5, 2021") == date(2021, 4, 5)
    assert parse_date_text("") is None
    assert parse_date_text("03-14", allow_no_year=True) == date(1900, 3, 14)
    assert parse_date_text("14.03", allow_no_year=True) == date(1900, 3, 14)
    with pytest.raises(ValueError):
        parse_date_text("31/02/2021", day_first=True)
    with pytest.raises(ValueError):
        parse_date_text("soon")
    with pytest.raises(ValueError):
        parse_date_text("03-14")


def test_datetimes():
    assert parse_datetime_text("12/1/10 8:26") == datetime(2010, 12, 1, 8, 26)
    assert parse_datetime_text("2011-10-06 16:20:00") == datetime(2011, 10, 6, 16, 20)
    assert parse_datetime_text("1/2/2011 1:05 PM") == datetime(2011, 1, 2, 13, 5)


def test_day_first_detection():
    assert detect_day_first(["26-08-2020", "01-02-2020"]) is True
    assert detect_day_first(["12/13/10", "12/1/10"]) is False
    assert detect_day_first(["01/02/2020", ""]) is None


def test_clean_ref():
    assert clean_ref(" 12923.0 ") == "12923"
    assert clean_ref("12923") == "12923"
    assert clean_ref("C-12.5") == "C-12.5"
