"""Hypothesis strategies for money across currencies, and a reference for rates.

The reference (:func:`reference_factor`) is written apart from
:class:`pxr.money.Rates`, so that properties compare two implementations.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from babel.numbers import get_currency_precision
from hypothesis import strategies as st

from pxr.money import EURO_CHANGEOVERS, Money, Rates

#: Minor units 2, 0 (JPY) and 3 (BHD); the euro and two currencies tied to it.
POOL = ("PLN", "EUR", "RON", "GBP", "BGN", "HRK", "JPY", "BHD")
PER_EURO = {"EUR": Fraction(1)} | {c.currency: Fraction(c.per_euro) for c in EURO_CHANGEOVERS}

currencies = st.sampled_from(POOL)
rate_values = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10000), places=4)


@st.composite
def any_rates(draw: st.DrawFn) -> Rates:
    """A base currency and rates for some others, at most one of the euro family."""
    base = draw(currencies)
    tied = base in PER_EURO
    per_unit: dict[str, Decimal] = {}
    for code in draw(st.lists(st.sampled_from([c for c in POOL if c != base]), unique=True)):
        if code in PER_EURO:
            if tied:
                continue
            tied = True
        per_unit[code] = draw(rate_values)
    return Rates(base, per_unit)


@st.composite
def amounts(draw: st.DrawFn, currency: str | None = None, high: int = 10**8) -> Money:
    """An amount in the currency's own minor units (0 to ``high`` of them)."""
    code = currency or draw(currencies)
    units = draw(st.integers(min_value=0, max_value=high))
    return Money(Decimal(units).scaleb(-get_currency_precision(code)), code)


def worth(rates: Rates) -> dict[str, Fraction]:
    """One unit of each convertible currency in the base currency."""
    known = {rates.currency: Fraction(1)} | {c: Fraction(r) for c, r in rates.per_unit.items()}
    family = next((c for c in PER_EURO if c in known), None)
    if family is not None:
        euro = known[family] * PER_EURO[family]
        known |= {c: euro / per for c, per in PER_EURO.items()}
    return known


def reference_factor(rates: Rates, source: str, target: str) -> Fraction | None:
    """Units of ``target`` per unit of ``source``, or ``None`` without a rate."""
    if source == target:
        return Fraction(1)
    if {source, target} <= PER_EURO.keys() and "EUR" in (source, target):
        return PER_EURO[target] / PER_EURO[source]
    known = worth(rates)
    if source in known and target in known:
        return known[source] / known[target]
    return None
