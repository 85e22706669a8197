"""Compensation policies turn a breach into what the customer gets.

Built-in kinds: ``apology``, ``refund``, ``voucher``, ``gift``, ``contact``
(and ``eu261`` in :mod:`pxr.statutory`). Each is built from its policy-file
table by a factory registered under its kind name.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import attrs

from pxr._bounds import MAX_DURATION, shown
from pxr._durations import parse_duration
from pxr.errors import ValidationError
from pxr.model import Breach, Compensation, Signal
from pxr.money import (
    Money,
    Rates,
    check_currency,
    currency_on,
    in_euro_after_changeover,
    parse_amount,
    parse_money,
    round_to_minor_units,
)
from pxr.thresholds import as_duration

__all__ = [
    "VOUCHER_ALPHABET",
    "Apology",
    "BySegment",
    "CompensationFactory",
    "CompensationPolicy",
    "CompensationRequest",
    "Contact",
    "Gift",
    "NamesAmounts",
    "Refund",
    "Voucher",
    "new_voucher_code",
]

#: Voucher codes avoid characters people confuse: no 0/O, 1/I/L.
VOUCHER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_voucher_code(length: int = 10) -> str:
    """A random voucher code from :data:`VOUCHER_ALPHABET`, grouped ``XXXXX-XXXXX``."""
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(length))
    return f"{raw[:5]}-{raw[5:]}" if length == 10 else raw


@attrs.frozen
class CompensationRequest:
    """Everything a policy may read: the breach, the signal that raised it,
    the policy's default currency, the threshold's unit, and the rates that
    convert between currencies.
    """

    breach: Breach
    signal: Signal
    currency: str
    unit: str | None = None
    #: The customer's locale, for anything the compensation names in words.
    locale: str = "en"
    #: The policy's rates; ``None`` converts only by the euro's fixed rates.
    rates: Rates | None = None
    #: The customer's segment (``gold``), if the host gave one.
    segment: str | None = None

    @property
    def conversion(self) -> Rates:
        """The rates to convert with (the policy's, or none beyond the law's)."""
        return self.rates if self.rates is not None else Rates(self.currency)

    @property
    def context(self) -> Mapping[str, Any]:
        """The signal's context (order total, distance, …)."""
        return self.signal.context

    def delay(self) -> dt.timedelta | None:
        """The signal's value as a duration, if the threshold has a unit."""
        return as_duration(self.signal.value, self.unit)

    def order_money(self, key: str, kind: str) -> Money:
        """A money value from the context, as the order states it: in its own
        currency, else the context's ``currency``, else the policy's."""
        if key not in self.context:
            raise ValidationError(f"signal.context.{key}", f"needed by {kind!r} compensation")
        currency = self.context.get("currency", self.currency)
        return parse_money(self.context[key], str(currency), f"signal.context.{key}")

    def context_money(self, key: str, kind: str) -> Money:
        """A money value from the context, in euros if its currency has changed over."""
        return in_euro_after_changeover(self.order_money(key, kind), self.signal.at.date())

    def payout_currency(self, order: str | None = None) -> str:
        """The currency the customer is paid in: the order's (``order``, else the
        context's ``currency``, else the policy's), in euros after a changeover."""
        if order is None:
            order = check_currency(
                self.context.get("currency", self.currency), "signal.context.currency"
            )
        return currency_on(order, self.signal.at.date())

    def pay(self, money: Money) -> Money:
        """``money`` converted to the payout currency, rounded once."""
        return self.conversion.convert(money, self.payout_currency())


@runtime_checkable
class CompensationPolicy(Protocol):
    """Decides the compensation for one breach at one severity.

    ``statutory`` policies (EU 261) are owed by law: they ignore budgets and
    refuse control-group holdouts. ``compensate`` returns ``None`` when
    nothing is owed.
    """

    @property
    def kind(self) -> str: ...

    @property
    def statutory(self) -> bool: ...

    def compensate(self, request: CompensationRequest) -> Compensation | None:
        """The compensation for ``request``, or ``None``."""
        ...


@runtime_checkable
class NamesAmounts(Protocol):
    """A compensation policy that names fixed amounts (a value, a cap).

    The policy loader checks that each converts to the policy's currency
    (``pxr check`` refuses it otherwise); a plugin kind may implement it too.
    """

    def amounts(self) -> Mapping[str, Money]:
        """The fixed amounts, by their key in the policy table (``"max"``)."""
        ...


@attrs.frozen
class BySegment:
    """A compensation chosen by the customer's segment: ``segments = { gold =
    { percent = 20 } }`` beside a compensation's keys. Each segment's table
    overrides the base keys (a cap not overridden still applies); a customer
    without a segment, or in another one, gets the base."""

    base: CompensationPolicy
    segments: Mapping[str, CompensationPolicy]

    @property
    def kind(self) -> str:
        """The base's kind: every segment gives the same kind."""
        return self.base.kind

    @property
    def statutory(self) -> bool:
        """Whether the base is owed by law."""
        return self.base.statutory

    def compensate(self, request: CompensationRequest) -> Compensation | None:
        """The segment's compensation, else the base's."""
        chosen = self.segments.get(request.segment or "", self.base)
        return chosen.compensate(request)

    def amounts(self) -> Mapping[str, Money]:
        """The fixed amounts of the base and of each segment (``segments.gold.max``)."""
        named: dict[str, Money] = {}
        for prefix, policy in (
            ("", self.base),
            *((f"segments.{n}.", p) for n, p in self.segments.items()),
        ):
            if isinstance(policy, NamesAmounts):
                named.update({prefix + key: m for key, m in policy.amounts().items()})
        return named


#: Builds a policy from its table in the policy file. ``where`` locates the
#: table for error messages; ``currency`` is the policy's default currency.
CompensationFactory = Callable[[Mapping[str, Any], str, str], CompensationPolicy]


def _reject_unknown(config: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(config) - allowed - {"kind"}
    if unknown:
        raise ValidationError(where, f"unknown keys {sorted(unknown)}; expected {sorted(allowed)}")


def _percent(value: object, where: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    percent = parse_amount(value, where)
    if not 0 < percent <= 100:
        raise ValidationError(where, f"expected a percentage in (0, 100], got {value}")
    return percent


@attrs.frozen
class Apology:
    """A sincere apology and nothing else."""

    kind: str = "apology"
    statutory: bool = False

    def compensate(self, request: CompensationRequest) -> Compensation:
        """Always an apology."""
        return Compensation(kind=self.kind)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> Apology:
        """``{ kind = "apology" }``."""
        _reject_unknown(config, set(), where)
        return cls()


@attrs.frozen
class _Amount:
    """A percentage of a context amount (``basis`` a Decimal), or a fixed amount
    (``basis`` Money); capped by ``max``."""

    basis: Decimal | Money
    of: str
    max: Money | None

    def value(self, request: CompensationRequest, kind: str) -> Money:
        """The amount in the payout currency, converted and rounded once, never over ``max``."""
        rates = request.conversion
        if isinstance(self.basis, Money):
            currency = request.payout_currency()
            exact = rates.exact(self.basis, currency)
        else:
            order = request.order_money(self.of, kind)
            currency = request.payout_currency(order.currency)
            exact = rates.exact(order, currency) * Fraction(self.basis) / 100
        amount = Money(round_to_minor_units(exact, currency), currency)
        if self.max is not None:
            # A cap in another currency is converted, never skipped; rounded
            # down, so that it is not exceeded in its own currency either.
            cap = rates.convert(self.max, currency, down=True)
            amount = min(amount, cap)
        return amount

    def amounts(self) -> dict[str, Money]:
        """The fixed amounts named in the policy, by key."""
        named = {"amount": self.basis} if isinstance(self.basis, Money) else {}
        return named | ({"max": self.max} if self.max is not None else {})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> _Amount:
        has_percent, has_amount = "percent" in config, "amount" in config
        if has_percent == has_amount:
            raise ValidationError(where, "give exactly one of 'percent' or 'amount'")
        of = config.get("of", "order_total")
        if not isinstance(of, str):
            raise ValidationError(f"{where}.of", f"expected a context key, got {of!r}")
        basis = (
            _percent(config["percent"], f"{where}.percent")
            if has_percent
            else parse_money(config["amount"], currency, f"{where}.amount")
        )
        cap = parse_money(config["max"], currency, f"{where}.max") if "max" in config else None
        return cls(basis=basis, of=of, max=cap)


@attrs.frozen
class Refund:
    """An automatic refund: ``percent`` of a context amount (``of``), or a fixed ``amount``."""

    amount: _Amount
    kind: str = "refund"
    statutory: bool = False

    def compensate(self, request: CompensationRequest) -> Compensation:
        """The refund, in the order's currency."""
        return Compensation(kind=self.kind, amount=self.amount.value(request, self.kind))

    def amounts(self) -> dict[str, Money]:
        """The fixed ``amount`` and ``max``, if given."""
        return self.amount.amounts()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> Refund:
        """``{ kind = "refund", percent = 10, of = "order_total", max = "50.00" }``."""
        _reject_unknown(config, {"percent", "amount", "of", "max"}, where)
        return cls(_Amount.from_config(config, where, currency))


@attrs.frozen
class Voucher:
    """A voucher for a future purchase, with a unique code and a validity."""

    amount: _Amount
    valid_days: int = 90
    kind: str = "voucher"
    statutory: bool = False

    def compensate(self, request: CompensationRequest) -> Compensation:
        """A voucher with a fresh code, valid ``valid_days`` from the signal."""
        return Compensation(
            kind=self.kind,
            amount=self.amount.value(request, self.kind),
            code=new_voucher_code(),
            expires_at=request.signal.at + dt.timedelta(days=self.valid_days),
        )

    def amounts(self) -> dict[str, Money]:
        """The fixed ``amount`` and ``max``, if given."""
        return self.amount.amounts()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> Voucher:
        """``{ kind = "voucher", percent = 20, valid_days = 90 }``."""
        _reject_unknown(config, {"percent", "amount", "of", "max", "valid_days"}, where)
        valid_days = config.get("valid_days", 90)
        if (
            isinstance(valid_days, bool)
            or not isinstance(valid_days, int)
            or not 1 <= valid_days <= MAX_DURATION.days
        ):
            raise ValidationError(
                f"{where}.valid_days",
                f"expected a whole number from 1 to {MAX_DURATION.days:,}, got {shown(valid_days)}",
            )
        return cls(_Amount.from_config(config, where, currency), valid_days)


@attrs.frozen
class Gift:
    """Something in kind (a free meal, an upgrade); ``value`` counts against budgets.

    ``item`` is one text, or texts by language (``{ en = "…", pl = "…" }``):
    the customer's language is chosen, then English, then the first given.
    """

    item: str | Mapping[str, str]
    value: Money | None = None
    kind: str = "gift"
    statutory: bool = False

    def item_for(self, locale: str) -> str:
        """The item's name in ``locale``'s language."""
        if isinstance(self.item, str):
            return self.item
        language = locale.split("_", maxsplit=1)[0]
        for key in (locale, language, "en"):
            if key in self.item:
                return self.item[key]
        return next(iter(self.item.values()))

    def compensate(self, request: CompensationRequest) -> Compensation:
        """The gift, named in the customer's language; its value in the payout currency."""
        value = None if self.value is None else request.pay(self.value)
        return Compensation(kind=self.kind, amount=value, item=self.item_for(request.locale))

    def amounts(self) -> dict[str, Money]:
        """The ``value``, if given."""
        return {"value": self.value} if self.value is not None else {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> Gift:
        """``{ kind = "gift", item = "meal", value = "40.00" }``."""
        _reject_unknown(config, {"item", "value"}, where)
        item = config.get("item")
        if isinstance(item, dict):
            if not item or not all(isinstance(v, str) and v.strip() for v in item.values()):
                raise ValidationError(f"{where}.item", 'expected names by language: { en = "…" }')
        elif not isinstance(item, str) or not item.strip():
            raise ValidationError(f"{where}.item", 'expected the gift\'s name, such as "meal"')
        value = (
            parse_money(config["value"], currency, f"{where}.value") if "value" in config else None
        )
        return cls(item, value)


@attrs.frozen
class Contact:
    """A human follow-up: someone from ``team`` contacts the customer ``within`` a time.

    Priority follows the closing-the-loop rule: a low score *with* a comment
    is priority 1, without one priority 2 (override with ``priority``).
    """

    within: dt.timedelta
    team: str | None = None
    priority: int | None = None
    comment_key: str = "comment"
    with_comment: int = 1
    without_comment: int = 2
    kind: str = "contact"
    statutory: bool = False

    def compensate(self, request: CompensationRequest) -> Compensation:
        """A follow-up task due ``within`` after the signal."""
        priority = self.priority
        if priority is None:
            comment = request.context.get(self.comment_key)
            has_comment = isinstance(comment, str) and bool(comment.strip())
            priority = self.with_comment if has_comment else self.without_comment
        return Compensation(
            kind=self.kind,
            team=self.team,
            due_at=request.signal.at + self.within,
            priority=priority,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> Contact:
        """``{ kind = "contact", within = "24h", team = "care" }``.

        ``priority`` is a number (always that priority) or a table
        ``{ with_comment = 1, without_comment = 2 }`` (the default rule).
        """
        _reject_unknown(config, {"within", "team", "priority", "comment_key"}, where)
        within = config.get("within", "24h")
        if not isinstance(within, str):
            raise ValidationError(
                f"{where}.within", f'expected a duration such as "24h", got {within!r}'
            )
        team = config.get("team")
        if team is not None and not isinstance(team, str):
            raise ValidationError(f"{where}.team", f"expected a team name, got {team!r}")
        priority = config.get("priority")
        rules = {"with_comment": 1, "without_comment": 2}
        if isinstance(priority, dict):
            unknown = set(priority) - set(rules)
            if unknown:
                raise ValidationError(f"{where}.priority", f"unknown keys {sorted(unknown)}")
            rules.update(priority)
            priority = None
        for key, value in [("priority", priority), *rules.items()]:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError(f"{where}.{key}", f"expected a whole number, got {value!r}")
        return cls(
            parse_duration(within, f"{where}.within"),
            team,
            priority,
            str(config.get("comment_key", "comment")),
            rules["with_comment"],
            rules["without_comment"],
        )
