from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxr.errors import ValidationError
from pxr.money import Money, parse_money, round_to_minor_units, territory_currency


def test_amounts_are_rounded_half_up_to_the_currency_minor_units() -> None:
    assert Money(Decimal("2.345"), "PLN").amount == Decimal("2.35")
    assert Money(Decimal("1234.5"), "JPY").amount == Decimal("1235")
    assert Money(Decimal("1.2345"), "BHD").amount == Decimal("1.235")


def test_unknown_currency_is_rejected_with_its_code() -> None:
    with pytest.raises(ValidationError, match="unknown currency 'ZZZ'"):
        Money(Decimal(1), "ZZZ")
    with pytest.raises(ValidationError, match="three-letter"):
        Money(Decimal(1), "pln")


def test_floats_are_refused_as_amounts() -> None:
    with pytest.raises(ValidationError, match="as a string"):
        parse_money(0.1, "PLN", "max")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25", Money(Decimal(25), "PLN")),
        ("25.00 EUR", Money(Decimal(25), "EUR")),
        ({"amount": "9.99", "currency": "RON"}, Money(Decimal("9.99"), "RON")),
        (7, Money(Decimal(7), "PLN")),
    ],
)
def test_parse_money_forms(raw: object, expected: Money) -> None:
    assert parse_money(raw, "PLN", "x") == expected


def test_mixing_currencies_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValidationError, match="cannot combine PLN with EUR"):
        _ = Money(Decimal(1), "PLN") + Money(Decimal(1), "EUR")


def test_bulgaria_uses_the_euro_from_2026_although_cldr_says_bgn() -> None:
    assert territory_currency("BG", dt.date(2025, 12, 31)) == "BGN"
    assert territory_currency("BG", dt.date(2026, 1, 1)) == "EUR"
    assert territory_currency("PL", dt.date(2026, 1, 1)) == "PLN"


@given(st.decimals(min_value=0, max_value=10**9, allow_nan=False, places=6))
def test_rounding_is_idempotent_and_within_half_a_minor_unit(value: Decimal) -> None:
    rounded = round_to_minor_units(value, "EUR")
    assert round_to_minor_units(rounded, "EUR") == rounded
    assert abs(rounded - value) <= Decimal("0.005")
    assert rounded.as_tuple().exponent == -2
