"""Money: a ``Decimal`` amount in an ISO 4217 currency, rounded in one place.

Babel knows each currency's minor units (2 for PLN and EUR, 0 for JPY, 3 for
BHD); :func:`round_to_minor_units` is the only function in pxr that rounds
money.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

import attrs
from babel.numbers import get_currency_precision, get_territory_currencies, list_currencies

from pxr._bounds import MAX_NUMBER, shown
from pxr.errors import ValidationError

__all__ = [
    "BGN_PER_EUR",
    "BG_EURO_ADOPTION",
    "Money",
    "check_amount",
    "check_currency",
    "in_euro_if_bulgarian_lev",
    "parse_amount",
    "parse_money",
    "round_to_minor_units",
    "territory_currency",
]

#: Bulgaria adopted the euro on this day at 1.95583 BGN/EUR. CLDR 47 (Babel
#: 2.18) still lists BGN with no end date, so pxr states the fact itself.
BG_EURO_ADOPTION = dt.date(2026, 1, 1)


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: object, where: str = "currency") -> str:
    """Return ``code`` if it is an ISO 4217 code Babel knows, else raise."""
    if isinstance(code, str) and code in _known_currencies():  # the usual case, first
        return code
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise ValidationError(where, f"expected a three-letter ISO 4217 code, got {shown(code)}")
    if code not in _known_currencies():
        raise ValidationError(where, f"unknown currency {code!r}")
    return code


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_to_minor_units(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor units (``2.345 PLN`` → ``2.35``)."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(value: object, where: str) -> Decimal:
    """A finite ``Decimal`` from a string, int or Decimal (never a float)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int | Decimal)
        or (isinstance(value, str) and len(value) > 100)
    ):
        raise ValidationError(
            where, f'expected an amount as a string such as "25.00", got {shown(value)}'
        )
    if isinstance(value, int) and not -MAX_NUMBER < value < MAX_NUMBER:
        raise ValidationError(where, f"expected an amount below {MAX_NUMBER:.0e}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationError(
            where, f'expected an amount such as "25.00", got {shown(value)}'
        ) from None
    return check_amount(amount, where)


#: The largest amount a Money holds: sums of parsed amounts still fit, and
#: rounding stays within Decimal's 28 digits.
_MAX_MONEY = Decimal(10) ** 24


def check_amount(amount: Decimal, where: str, limit: Decimal | int = MAX_NUMBER) -> Decimal:
    """``amount`` if it is finite, below ``limit`` in size and not finer than 1e-30."""
    if not amount.is_finite():
        raise ValidationError(where, f"expected a finite amount, got {shown(amount)}")
    if not -limit < amount < limit:
        raise ValidationError(where, f"expected an amount below {limit:.0e}")
    if amount.as_tuple().exponent < -30:  # type: ignore[operator]
        raise ValidationError(where, "expected at most 30 decimal places")
    return amount


def _currency_field(_inst: object, _attr: object, value: Any) -> None:
    check_currency(value)


@attrs.frozen(order=False)
class Money:
    """An amount in a currency, always rounded to the currency's minor units.

    Arithmetic is only defined between amounts of the same currency; mixing
    currencies raises :class:`~pxr.errors.ValidationError` rather than
    guessing an exchange rate.
    """

    amount: Decimal = attrs.field()
    currency: str = attrs.field(validator=_currency_field)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise ValidationError("amount", f"expected a Decimal, got {shown(self.amount)}")
        check_amount(self.amount, "amount", _MAX_MONEY)
        object.__setattr__(self, "amount", round_to_minor_units(self.amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money, in ``currency``."""
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationError(
                "currency", f"cannot combine {self.currency} with {other.currency}"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def percent(self, percent: Decimal) -> Money:
        """``percent`` % of this amount, rounded to minor units."""
        return Money(self.amount * percent / 100, self.currency)

    def minor_units_str(self) -> str:
        """The amount with exactly the currency's minor units: ``"25.00"``."""
        return str(self.amount)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def parse_money(value: Any, default_currency: str, where: str) -> Money:
    """Read ``"25.00"``, ``"25.00 EUR"``, ``25`` or ``{amount, currency}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"amount", "currency"}
        if unknown:
            raise ValidationError(where, f"unexpected keys {sorted(unknown)}")
        if "amount" not in value:
            raise ValidationError(where, "missing 'amount'")
        currency = check_currency(value.get("currency", default_currency), f"{where}.currency")
        return Money(parse_amount(value["amount"], f"{where}.amount"), currency)
    if isinstance(value, str) and " " in value.strip():
        number, _, code = value.strip().rpartition(" ")
        return Money(parse_amount(number, where), check_currency(code, where))
    return Money(parse_amount(value, where), check_currency(default_currency, where))


#: The fixed conversion rate: 1 EUR = 1.95583 BGN.
BGN_PER_EUR = Decimal("1.95583")


def in_euro_if_bulgarian_lev(money: Money, on: dt.date) -> Money:
    """Leva on or after Bulgaria's euro day, converted at the fixed rate; else unchanged.

    A refund of an order recorded in BGN after 2026-01-01 is paid, and told
    to the customer, in euros.
    """
    if money.currency != "BGN" or on < BG_EURO_ADOPTION:
        return money
    return Money(money.amount / BGN_PER_EUR, "EUR")


def territory_currency(territory: str, on: dt.date) -> str:
    """The currency in use in ``territory`` on day ``on``.

    Babel's answer, corrected for Bulgaria's adoption of the euro.
    """
    territory = territory.upper()
    if territory == "BG" and on >= BG_EURO_ADOPTION:
        return "EUR"
    currencies = get_territory_currencies(territory, on)
    if not currencies:
        raise ValidationError("territory", f"no currency known for {territory!r} on {on}")
    return str(currencies[0])
