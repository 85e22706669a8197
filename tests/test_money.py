from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pytest
from babel.numbers import get_currency_precision
from hypothesis import given, settings
from hypothesis import strategies as st

from pxr.errors import CurrencyMismatchError, ValidationError
from pxr.money import (
    EuroChangeover,
    Money,
    Rates,
    budget_allows,
    budget_left,
    currency_on,
    in_euro_after_changeover,
    in_euro_if_bulgarian_lev,
    parse_money,
    round_to_minor_units,
    still_due,
    territory_currency,
    total_in,
)

from .money_strategies import amounts, any_rates, currencies, reference_factor, worth


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


# ------------------------------------------------------------ typed mixing


@pytest.mark.parametrize(
    "mix",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_every_mix_of_currencies_raises_the_typed_error(mix: Any) -> None:
    with pytest.raises(CurrencyMismatchError, match="cannot combine PLN with EUR"):
        mix(Money(Decimal(1), "PLN"), Money(Decimal(1), "EUR"))


def test_amounts_in_two_currencies_are_simply_unequal() -> None:
    """Equality is not arithmetic: it answers, it does not guess."""
    assert Money(Decimal(1), "PLN") != Money(Decimal(1), "EUR")


# ------------------------------------------------------------ rates

PLN_RATES = Rates("PLN", {"EUR": Decimal("4.25"), "RON": Decimal("0.85")})


def test_rates_convert_to_and_from_the_policy_currency() -> None:
    assert PLN_RATES.convert(Money(Decimal(10), "EUR"), "PLN") == Money(Decimal("42.50"), "PLN")
    assert PLN_RATES.convert(Money(Decimal(50), "PLN"), "EUR") == Money(Decimal("11.76"), "EUR")


def test_rates_convert_between_two_other_currencies_through_the_policy_currency() -> None:
    """1 EUR = 4.25 / 0.85 = 5 RON, exactly."""
    assert PLN_RATES.convert(Money(Decimal(3), "EUR"), "RON") == Money(Decimal(15), "RON")


def test_a_limit_is_converted_rounding_down() -> None:
    """0.15 PLN = 0.03529… EUR: 0.04 as an amount, 0.03 as a limit."""
    assert PLN_RATES.convert(Money(Decimal("0.15"), "PLN"), "EUR", down=True) == Money(
        Decimal("0.03"), "EUR"
    )  # 0.03529… rounded down
    assert PLN_RATES.convert(Money(Decimal("0.15"), "PLN"), "EUR") == Money(Decimal("0.04"), "EUR")


def test_a_currency_without_a_rate_raises_the_typed_error() -> None:
    with pytest.raises(
        CurrencyMismatchError,
        match=r"cannot convert GBP to PLN: \[recovery\] rates has no rate for GBP",
    ):
        PLN_RATES.convert(Money(Decimal(1), "GBP"), "PLN")
    assert not PLN_RATES.can_convert("GBP", "EUR")


def test_the_fixed_rate_converts_leva_and_euros_without_a_host_rate() -> None:
    none = Rates("PLN")
    assert none.convert(Money(Decimal(100), "BGN"), "EUR") == Money(Decimal("51.13"), "EUR")
    assert none.convert(Money(Decimal(100), "EUR"), "BGN") == Money(Decimal("195.58"), "BGN")
    assert not none.can_convert("BGN", "PLN")


def test_a_euro_rate_also_prices_the_currencies_tied_to_the_euro() -> None:
    """1 BGN = 4.25 / 1.95583 PLN: no separate BGN rate is needed (or allowed)."""
    assert PLN_RATES.convert(Money(Decimal("1955.83"), "BGN"), "PLN") == Money(
        Decimal("4250.00"), "PLN"
    )


def test_rates_name_only_one_of_the_euro_and_a_currency_tied_to_it() -> None:
    with pytest.raises(ValidationError, match="tied by law"):
        Rates("BGN", {"EUR": Decimal(2)})


def test_conversion_results_carry_the_target_minor_units() -> None:
    yen = Rates("JPY", {"EUR": Decimal("161.5")})
    assert yen.convert(Money(Decimal("1.01"), "EUR"), "JPY") == Money(Decimal(163), "JPY")


# ------------------------------------------------------------ euro changeovers


def test_croatia_uses_the_euro_from_2023_although_babel_lists_kuna_first() -> None:
    assert territory_currency("HR", dt.date(2022, 12, 31)) == "HRK"
    assert territory_currency("HR", dt.date(2023, 1, 2)) == "EUR"


def test_the_next_country_to_adopt_the_euro_is_one_row() -> None:
    """A made-up changeover: the mechanism needs a row, not code."""
    table = (EuroChangeover("RON", Decimal("4.97"), dt.date(2031, 1, 1)),)
    lei = Money(Decimal("100.00"), "RON")
    assert currency_on("RON", dt.date(2030, 12, 31), table) == "RON"
    assert currency_on("RON", dt.date(2031, 1, 1), table) == "EUR"
    assert in_euro_after_changeover(lei, dt.date(2030, 12, 31), table) == lei
    assert in_euro_after_changeover(lei, dt.date(2031, 1, 1), table) == Money(
        Decimal("20.12"), "EUR"
    )


def test_the_old_name_still_converts_leva() -> None:
    leva = Money(Decimal("195.58"), "BGN")
    assert in_euro_if_bulgarian_lev(leva, dt.date(2026, 1, 1)) == Money(Decimal("100.00"), "EUR")


# ------------------------------------------------------------ budgets


def test_a_budget_allows_up_to_its_limit_exactly() -> None:
    limit = Money(Decimal(100), "PLN")
    spent = [Money(Decimal(10), "EUR")]  # 42.50 PLN
    assert budget_allows(spent, Money(Decimal("57.50"), "PLN"), limit, PLN_RATES)
    assert not budget_allows(spent, Money(Decimal("57.51"), "PLN"), limit, PLN_RATES)


def test_a_budget_without_a_rate_raises_instead_of_skipping() -> None:
    with pytest.raises(CurrencyMismatchError):
        budget_allows([], Money(Decimal(1), "GBP"), Money(Decimal(100), "PLN"), PLN_RATES)


def test_what_is_left_of_a_budget_is_rounded_down() -> None:
    """100 PLN - 42.50 PLN = 57.50 PLN = 13.5294… EUR: 13.52 EUR may still be given."""
    left = budget_left([Money(Decimal(10), "EUR")], Money(Decimal(100), "PLN"), "EUR", PLN_RATES)
    assert left == Money(Decimal("13.52"), "EUR")
    assert total_in([Money(Decimal(10), "EUR"), Money(Decimal(1), "PLN")], "PLN", PLN_RATES) == (
        Money(Decimal("43.50"), "PLN")
    )


def test_a_top_up_credits_what_was_paid_in_another_currency() -> None:
    """A breach paid 10.00 BGN in December; January's 20.00 EUR tier owes 14.88 EUR more."""
    paid = [Money(Decimal(10), "BGN")]  # 5.1129… EUR
    owed = still_due(paid, Money(Decimal(20), "EUR"), Rates("BGN"))
    assert owed == Money(Decimal("14.88"), "EUR")  # 14.8870… rounded down
    assert still_due(paid, Money(Decimal(5), "EUR"), Rates("BGN")) == Money.zero("EUR")


# ------------------------------------------------------------ properties


@settings(deadline=None)  # no wall-clock limit in tests
@given(rates=any_rates(), amount=amounts(), target=currencies)
def test_a_conversion_rounds_once_or_raises_without_a_rate(
    rates: Rates, amount: Money, target: str
) -> None:
    """Against a reference computed apart, at 60 digits, rounded half up once."""
    factor = reference_factor(rates, amount.currency, target)
    if factor is None:
        with pytest.raises(CurrencyMismatchError):
            rates.convert(amount, target)
        return
    with localcontext() as context:
        context.prec = 60
        exact = amount.amount * factor.numerator / factor.denominator
        expected = exact.quantize(Decimal(1).scaleb(-get_currency_precision(target)), ROUND_HALF_UP)
    assert rates.convert(amount, target).amount == expected


@settings(deadline=None)  # no wall-clock limit in tests
@given(codes=st.lists(currencies, min_size=2, max_size=2, unique=True), units=st.integers(0, 99))
def test_mixing_two_currencies_always_raises(codes: list[str], units: int) -> None:
    a, b = (Money(Decimal(units), code) for code in codes)
    with pytest.raises(CurrencyMismatchError):
        _ = a + b
    with pytest.raises(CurrencyMismatchError):
        _ = a <= b


@settings(deadline=None)  # no wall-clock limit in tests
@given(data=st.data(), rates=any_rates())
def test_a_budget_is_never_exceeded_in_any_currency(data: st.DataObject, rates: Rates) -> None:
    """Offers in any convertible currencies, each given only if the budget allows it:
    what is given never exceeds the limit, counted exactly in any currency."""
    value = worth(rates)
    known = sorted(value)
    limit = data.draw(amounts(data.draw(st.sampled_from(known)), 10**6))
    offers = data.draw(st.lists(amounts(data.draw(st.sampled_from(known)), 10**6), max_size=8))
    given: list[Money] = []
    for offer in offers:
        allowed = budget_allows(given, offer, limit, rates)
        total = sum(Fraction(m.amount) * value[m.currency] for m in [*given, offer])
        assert allowed == (total <= Fraction(limit.amount) * value[limit.currency])
        if allowed:
            given.append(offer)
    for code in known:
        total = sum(
            (Fraction(m.amount) * value[m.currency] / value[code] for m in given), Fraction(0)
        )
        assert total <= Fraction(limit.amount) * value[limit.currency] / value[code]
