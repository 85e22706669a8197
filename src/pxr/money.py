"""Money: a ``Decimal`` amount in an ISO 4217 currency, rounded in one place.

Babel knows each currency's minor units (2 for PLN and EUR, 0 for JPY, 3 for
BHD); :func:`round_to_minor_units` is the only function in pxr that rounds
money.

Amounts in two currencies never meet without a rate: :class:`Money` raises
:class:`~pxr.errors.CurrencyMismatchError` instead. Rates come from the host
(:class:`Rates`, the policy's ``[recovery] rates``) or from the law (the
fixed rates of :data:`EURO_CHANGEOVERS`). A conversion is computed exactly,
as a fraction, and rounded once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from typing import Any

import attrs
from babel.numbers import get_currency_precision, get_territory_currencies, list_currencies

from pxr._bounds import MAX_NUMBER, shown
from pxr.errors import CurrencyMismatchError, ValidationError

__all__ = [
    "BGN_PER_EUR",
    "BG_EURO_ADOPTION",
    "EURO_CHANGEOVERS",
    "EuroChangeover",
    "Money",
    "Rates",
    "budget_allows",
    "budget_left",
    "check_amount",
    "check_currency",
    "currency_on",
    "in_euro_after_changeover",
    "in_euro_if_bulgarian_lev",
    "local_symbol",
    "parse_amount",
    "parse_money",
    "round_to_minor_units",
    "still_due",
    "territory_currency",
    "total_in",
]


#: Where CLDR's symbol is not how local shops write an amount, ``(language,
#: territory or "", currency)`` → the symbol they use: Romanian prices read
#: "84,00 lei", not "84,00 RON", and Moldovan ones "24,90 lei", never CLDR's "L".
_LOCAL_SYMBOLS = {
    ("ro", "", "RON"): "lei",
    ("ro", "RO", "RON"): "lei",
    ("ro", "MD", "MDL"): "lei",
}
#: CLDR symbols no customer would recognise, whatever the language.
_UNREADABLE_SYMBOLS = {("MDL", "L"): "MDL"}


def local_symbol(currency: str, language: str, territory: str | None, cldr_symbol: str) -> str:
    """The currency symbol as locals write it, where it differs from CLDR's.

    ``local_symbol("RON", "ro", "RO", "RON")`` → ``"lei"``; a Moldovan amount
    in another language gets ``"MDL"`` instead of CLDR's bare ``"L"``.
    """
    found = _LOCAL_SYMBOLS.get((language, territory or "", currency))
    if found is not None:
        return found
    return _UNREADABLE_SYMBOLS.get((currency, cldr_symbol), cldr_symbol)


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
def _places(currency: str) -> int:
    return int(get_currency_precision(currency))


@cache
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_places(currency))


def round_to_minor_units(
    amount: Decimal | Fraction, currency: str, *, down: bool = False
) -> Decimal:
    """Round half up to the currency's minor units (``2.345 PLN`` → ``2.35``).

    With ``down``, round towards zero instead: a limit converted to another
    currency must never grow. An exact :class:`~fractions.Fraction` (the
    result of a conversion) is rounded once, with no intermediate step.
    """
    if isinstance(amount, Decimal):
        return amount.quantize(_quantum(currency), rounding=ROUND_DOWN if down else ROUND_HALF_UP)
    places = _places(currency)
    scaled = abs(amount) * 10**places
    units = math.floor(scaled) if down else math.floor(scaled + Fraction(1, 2))
    return Decimal(units if amount >= 0 else -units).scaleb(-places)


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

    Arithmetic and comparisons are only defined between amounts of the same
    currency; mixing currencies raises
    :class:`~pxr.errors.CurrencyMismatchError` rather than guessing an
    exchange rate (convert first, with :meth:`Rates.convert`).
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
            raise CurrencyMismatchError(
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
        if not code.isalpha():
            raise ValidationError(
                where, f'expected an amount and a currency such as "50.00 PLN", got {value!r}'
            )
        return Money(parse_amount(number, where), check_currency(code, where))
    return Money(parse_amount(value, where), check_currency(default_currency, where))


# ------------------------------------------------------------ the euro


@attrs.frozen
class EuroChangeover:
    """A country's move to the euro: from ``on``, ``per_euro`` units of
    ``currency`` are one euro, irrevocably, and amounts are paid in euros.
    """

    currency: str = attrs.field(validator=_currency_field)
    per_euro: Decimal
    on: dt.date


_BULGARIA = EuroChangeover("BGN", Decimal("1.95583"), dt.date(2026, 1, 1))

#: Every changeover pxr applies, by law and without a host's rate. Babel's
#: CLDR data lags (CLDR 47 lists BGN with no end date, and HRK before EUR for
#: Croatia in 2023), so pxr states the facts itself. The next country to
#: adopt the euro is one more row.
EURO_CHANGEOVERS: tuple[EuroChangeover, ...] = (
    # The rates of Council Regulation (EC) No 2866/98, as amended for each country.
    EuroChangeover("HRK", Decimal("7.53450"), dt.date(2023, 1, 1)),
    _BULGARIA,
)

#: The fixed conversion rate: 1 EUR = 1.95583 BGN.
BGN_PER_EUR = _BULGARIA.per_euro
#: Bulgaria adopted the euro on this day.
BG_EURO_ADOPTION = _BULGARIA.on


def _changeover(currency: str, changeovers: Iterable[EuroChangeover]) -> EuroChangeover | None:
    return next((c for c in changeovers if c.currency == currency), None)


def currency_on(
    currency: str, on: dt.date, changeovers: Iterable[EuroChangeover] = EURO_CHANGEOVERS
) -> str:
    """The currency an amount in ``currency`` is paid and shown in on day ``on``:
    ``EUR`` from a changeover's day, else ``currency`` itself."""
    changeover = _changeover(currency, changeovers)
    return "EUR" if changeover is not None and on >= changeover.on else currency


def in_euro_after_changeover(
    money: Money, on: dt.date, changeovers: Iterable[EuroChangeover] = EURO_CHANGEOVERS
) -> Money:
    """``money`` in euros at the fixed rate (rounded once) if its currency has
    changed over to the euro by ``on``; else unchanged.

    A refund of an order recorded in BGN after 2026-01-01 is paid, and told
    to the customer, in euros.
    """
    changeover = _changeover(money.currency, changeovers)
    if changeover is None or on < changeover.on:
        return money
    exact = Fraction(money.amount) / Fraction(changeover.per_euro)
    return Money(round_to_minor_units(exact, "EUR"), "EUR")


def in_euro_if_bulgarian_lev(money: Money, on: dt.date) -> Money:
    """The earlier name of :func:`in_euro_after_changeover`, kept for callers."""
    return in_euro_after_changeover(money, on)


def territory_currency(territory: str, on: dt.date) -> str:
    """The currency in use in ``territory`` on day ``on``.

    Babel's answer, corrected by :data:`EURO_CHANGEOVERS`.
    """
    territory = territory.upper()
    currencies = get_territory_currencies(territory, on)
    if not currencies:
        raise ValidationError("territory", f"no currency known for {territory!r} on {on}")
    return currency_on(str(currencies[0]), on)


# ------------------------------------------------------------ rates


def _rate_table(value: Mapping[str, Decimal | str | int]) -> dict[str, Decimal]:
    """Rates as Decimals, from Decimals, ints or strings (never floats)."""
    table: dict[str, Decimal] = {}
    for code, raw in value.items():
        where = f"recovery.rates.{code}"
        check_currency(code, where)
        if isinstance(raw, float):
            raise ValidationError(where, f'expected a rate as a string such as "4.25", got {raw!r}')
        table[code] = parse_amount(raw, where)
    return table


@attrs.frozen
class Rates:
    """What one unit of each currency is worth in ``currency`` (the policy's).

    ``Rates("PLN", {"EUR": "4.25", "RON": "0.85"})`` says
    1 EUR = 4.25 PLN and 1 RON = 0.85 PLN. They convert between any two of
    ``currency`` and the currencies listed, and, by the fixed rates of
    :data:`EURO_CHANGEOVERS`, the euro and a currency that changed over to it
    (a rate may name only one of the two). Anything else raises
    :class:`~pxr.errors.CurrencyMismatchError`.
    """

    currency: str = attrs.field(validator=_currency_field)
    per_unit: Mapping[str, Decimal] = attrs.field(factory=dict, converter=_rate_table, hash=False)

    def __attrs_post_init__(self) -> None:
        for code, rate in self.per_unit.items():
            where = f"recovery.rates.{code}"
            if code == self.currency:
                raise ValidationError(where, "is the policy's own currency; its rate is 1")
            if rate <= 0:
                raise ValidationError(where, f"expected a positive rate, got {rate}")
        # The euro and the currencies that changed over to it are tied by law:
        # a rate for more than one of them could contradict the fixed rate.
        euro = {"EUR", *(c.currency for c in EURO_CHANGEOVERS)}
        tied = sorted(euro & self.currencies)
        if len(tied) > 1:
            legacy = next(c for c in tied if c != "EUR") if "EUR" in tied else tied[1]
            fixed = next(c for c in EURO_CHANGEOVERS if c.currency == legacy)
            raise ValidationError(
                f"recovery.rates.{next(c for c in tied if c in self.per_unit)}",
                f"{' and '.join(tied)} are tied by law (1 EUR = {fixed.per_euro} {legacy}"
                f" from {fixed.on}): give a rate for one of them only",
            )

    @classmethod
    def parse(cls, table: object, currency: str) -> Rates:
        """Rates from the policy's table, such as ``{ EUR = "4.25", RON = "0.85" }``."""
        if not isinstance(table, dict):
            raise ValidationError(
                "recovery.rates", f'expected a table such as {{ EUR = "4.25" }}, got {table!r}'
            )
        return cls(currency, table)

    @property
    def currencies(self) -> frozenset[str]:
        """The currencies these rates are given for, the policy's own included."""
        return frozenset({self.currency, *self.per_unit})

    @staticmethod
    def _fixed(a: str, b: str) -> Decimal | None:
        """The legal rate if ``a`` and ``b`` are a changed-over currency and the euro."""
        for x, y in ((a, b), (b, a)):
            changeover = _changeover(x, EURO_CHANGEOVERS)
            if changeover is not None and y == "EUR":
                return changeover.per_euro
        return None

    def _given(self, code: str) -> Fraction | None:
        if code == self.currency:
            return Fraction(1)
        rate = self.per_unit.get(code)
        return None if rate is None else Fraction(rate)

    def _worth(self, code: str) -> Fraction | None:
        """One unit of ``code`` in ``self.currency``, through a fixed rate if need be."""
        given = self._given(code)
        if given is not None:
            return given
        if code == "EUR":
            for changeover in EURO_CHANGEOVERS:
                worth = self._given(changeover.currency)
                if worth is not None:
                    return worth * Fraction(changeover.per_euro)
            return None
        legacy = _changeover(code, EURO_CHANGEOVERS)
        euro = self._worth("EUR") if legacy is not None else None
        if legacy is None or euro is None:
            return None
        return euro / Fraction(legacy.per_euro)

    def can_convert(self, source: str, target: str) -> bool:
        """Whether an amount in ``source`` can be expressed in ``target``."""
        return (
            source == target
            or self._fixed(source, target) is not None
            or (self._worth(source) is not None and self._worth(target) is not None)
        )

    def factor(self, source: str, target: str) -> Fraction:
        """How many units of ``target`` one unit of ``source`` is worth, exactly."""
        if source == target:
            return Fraction(1)
        fixed = self._fixed(source, target)
        if fixed is not None:
            return Fraction(fixed) if source == "EUR" else 1 / Fraction(fixed)
        worth, into = self._worth(source), self._worth(target)
        if worth is None or into is None:
            missing = ", ".join(c for c, w in ((source, worth), (target, into)) if w is None)
            raise CurrencyMismatchError(
                "recovery.rates",
                f"cannot convert {source} to {target}: [recovery] rates has no rate"
                f" for {missing} (what one unit is worth in {self.currency})",
            )
        return worth / into

    def exact(self, money: Money, target: str) -> Fraction:
        """``money`` in ``target``, exactly (not rounded)."""
        return Fraction(money.amount) * self.factor(money.currency, target)

    def convert(self, money: Money, target: str, *, down: bool = False) -> Money:
        """``money`` in ``target``, rounded once: half up, or towards zero with
        ``down`` (for a cap or a budget, which must never grow)."""
        if money.currency == target:
            return money
        return Money(round_to_minor_units(self.exact(money, target), target, down=down), target)


# ------------------------------------------------------------ budgets


def total_in(amounts: Iterable[Money], currency: str, rates: Rates) -> Money:
    """The sum of ``amounts`` in ``currency``: converted exactly, rounded once."""
    exact = sum((rates.exact(m, currency) for m in amounts), Fraction(0))
    return Money(round_to_minor_units(exact, currency), currency)


def budget_allows(spent: Iterable[Money], new: Money, limit: Money, rates: Rates) -> bool:
    """Whether ``new`` fits in the budget ``limit``.

    Everything already given (``spent``, in any currencies) and ``new`` are
    converted exactly into the limit's currency and summed, with no rounding
    at all: the budget is never exceeded, in its currency or, at the same
    rates, in any other. Raises :class:`~pxr.errors.CurrencyMismatchError`
    when an amount has no rate to the limit's currency.
    """
    target = limit.currency
    total = rates.exact(new, target) + sum((rates.exact(m, target) for m in spent), Fraction(0))
    return total <= Fraction(limit.amount)


def budget_left(spent: Iterable[Money], limit: Money, target: str, rates: Rates) -> Money:
    """What may still be given, in ``target``, rounded down (never more than is left)."""
    left = Fraction(limit.amount) - sum(
        (rates.exact(m, limit.currency) for m in spent), Fraction(0)
    )
    exact = max(Fraction(0), left) * rates.factor(limit.currency, target)
    return Money(round_to_minor_units(exact, target, down=True), target)


def still_due(paid: Iterable[Money], amount: Money, rates: Rates) -> Money:
    """What of ``amount`` is not yet covered by ``paid`` (in any currencies).

    For an escalation that tops up what a breach already paid, even when the
    earlier payment was in another currency (leva before the euro, say):
    converted exactly, rounded down, never below zero.
    """
    covered = sum((rates.exact(m, amount.currency) for m in paid), Fraction(0))
    left = max(Fraction(0), Fraction(amount.amount) - covered)
    return Money(round_to_minor_units(left, amount.currency, down=True), amount.currency)
