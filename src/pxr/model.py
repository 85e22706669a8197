"""The values pxr passes around: customers, signals, breaches, compensations,
messages, and the actions the engine emits.

All are frozen, slotted attrs classes, validated when they are made. Times are
timezone-aware; money is :class:`~pxr.money.Money`; phone numbers, e-mail
addresses and Messenger ids are masked in every ``repr``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any, ClassVar

import attrs
from babel import Locale, UnknownLocaleError

from pxr._bounds import (
    MAX_SIGNAL_DURATION,
    check_duration,
    check_number,
    check_text,
    check_time,
    check_tree,
    shown,
)
from pxr._durations import parse_duration
from pxr._privacy import mask_address, mask_email, mask_phone, redacted
from pxr.errors import ValidationError
from pxr.money import Money, parse_money

__all__ = [
    "Action",
    "Breach",
    "BreachEscalated",
    "BreachOpened",
    "BreachResolved",
    "Compensation",
    "CompensationIssued",
    "ComplaintRecorded",
    "Content",
    "Customer",
    "ForecastConfirmed",
    "Message",
    "MessageQueued",
    "Purpose",
    "Reason",
    "Severity",
    "Signal",
    "Suppressed",
    "check_aware",
    "normalize_locale",
]


class Severity(enum.IntEnum):
    """How bad a breach is. Ordered: ``MINOR < MAJOR < CRITICAL``."""

    MINOR = 1
    MAJOR = 2
    CRITICAL = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object, where: str = "severity") -> Severity:
        """``"minor"``, ``"major"`` or ``"critical"`` (or a Severity)."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise ValidationError(where, f"expected minor, major or critical, got {shown(value)}")


class Purpose(enum.StrEnum):
    """Why a message is sent."""

    NOTICE = "notice"  #: a breach was opened: the first word to the customer
    ESCALATION = "escalation"  #: the breach's severity rose
    RESOLUTION = "resolution"  #: the host said the problem is fixed
    FORECAST = "forecast"  #: a problem is predicted: a heads-up before it happens
    ALL_CLEAR = "all_clear"  #: a predicted problem did not happen after all
    #: a predicted problem happened: the update after the heads-up, with what it gives
    CONFIRMATION = "confirmation"
    GROUP = "group"  #: several due messages sent as one
    OFFER = "offer"  #: a person's offer on a complaint, issued
    REFERRAL = "referral"  #: a complaint ended unresolved: where the customer may turn


class Reason(enum.StrEnum):
    """Why a rule stopped something (a compensation or a message)."""

    CONTROL_GROUP = "control group"
    ALREADY_COMPENSATED = "already compensated"
    BUDGET = "budget"
    RATE_LIMIT = "rate limit"
    UNREACHABLE = "unreachable"
    UNKNOWN_CUSTOMER = "unknown customer"
    VETOED = "vetoed"
    OUT_OF_ORDER = "out of order"


def check_aware(value: object, where: str) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime from 1970 up to the year 9000."""
    return check_time(value, where)


def normalize_locale(value: object, where: str = "locale") -> str:
    """``"pl-PL"`` or ``"pl_PL"`` → ``"pl_PL"``, if Babel knows the locale."""
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValidationError(
            where, f"expected a locale such as 'pl' or 'pl-PL', got {shown(value)}"
        )
    try:
        return str(Locale.parse(value.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        # The value may be personal (an e-mail typed into the wrong column): masked.
        raise ValidationError(where, f"unknown locale {shown(value)}") from None


def _check_timezone(_inst: Any, _attr: Any, value: Any) -> None:
    if value is None:
        return  # the policy's zone applies (``[recovery] timezone``)
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValidationError(
            "customer.timezone", f"expected an IANA zone name, got {shown(value)}"
        )
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # The value may be personal (a phone number in the wrong column): masked.
        raise ValidationError("customer.timezone", f"unknown time zone {shown(value)}") from None


def _nonempty_str(where: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        check_text(value, where)

    return check


def _optional_str(where: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is not None:
            check_text(value, where, "a non-empty string or absent")

    return check


def _names(value: object, where: str) -> list[str]:
    # A bare string is refused: tuple("sms") would be three one-letter channels.
    if not isinstance(value, list | tuple | set | frozenset) or len(value) > 100:
        raise ValidationError(where, "expected a list of channel names")
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ValidationError(f"{where}[{i}]", "expected a channel name")
    return list(value)


def _names_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(_names(value, "customer.channels"))


def _names_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(_names(value, "customer.opt_out"))


def _contacts(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if (
        not isinstance(value, Mapping)
        or len(value) > 100
        or not all(
            isinstance(k, str) and 0 < len(k) <= 100 and isinstance(v, str) and v
            for k, v in value.items()
        )
    ):
        raise ValidationError("customer.contacts", "expected an object of channel: address")
    for key, address in value.items():
        check_text(address, f"customer.contacts.{key}", "an address")
    return MappingProxyType(dict(value))


def _masked_contacts(value: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k!r}: {mask_address(v)!r}" for k, v in value.items()) + "}"


def _lifetime_value(value: object) -> Money | None:
    """A :class:`Money`, or ``"1200.00 PLN"`` / ``{amount, currency}``: never without a currency."""
    if value is None or isinstance(value, Money):
        return value
    where = "customer.lifetime_value"
    if isinstance(value, dict) and "currency" not in value:
        raise ValidationError(where, "give the currency: {amount, currency}")
    if isinstance(value, str) and " " not in value.strip():
        raise ValidationError(where, f'give the currency, as in "1200.00 PLN", got {value!r}')
    if not isinstance(value, str | dict):
        raise ValidationError(where, f'expected an amount such as "1200.00 PLN", got {value!r}')
    return parse_money(value, "EUR", where)


def _customer_locale(value: object) -> str:
    return normalize_locale(value, "customer.locale")


@attrs.frozen
class Customer:
    """Someone pxr may contact: who they are and how to reach them.

    ``channels`` is the customer's own preference order (empty: the policy's
    default); ``opt_out`` names channels they refused. ``contacts`` holds
    addresses for plugin channels (``{"webhook": "U024BE7LH"}``).
    """

    id: str = attrs.field(validator=_nonempty_str("customer.id"))
    locale: str = attrs.field(default="en", converter=_customer_locale)
    timezone: str | None = attrs.field(default=None, validator=_check_timezone)
    name: str | None = attrs.field(
        default=None, repr=redacted, validator=_optional_str("customer.name")
    )
    phone: str | None = attrs.field(
        default=None, repr=mask_phone, validator=_optional_str("customer.phone")
    )
    email: str | None = attrs.field(
        default=None, repr=mask_email, validator=_optional_str("customer.email")
    )
    messenger: str | None = attrs.field(
        default=None, repr=mask_address, validator=_optional_str("customer.messenger")
    )
    contacts: Mapping[str, str] = attrs.field(
        factory=dict, converter=_contacts, repr=_masked_contacts, hash=False
    )
    channels: tuple[str, ...] = attrs.field(default=(), converter=_names_tuple)
    opt_out: frozenset[str] = attrs.field(default=frozenset(), converter=_names_set)
    #: The host's segment for the customer (``gold``); a policy may choose
    #: compensation by it (``segments = { gold = { … } }``).
    segment: str | None = attrs.field(default=None, validator=_optional_str("customer.segment"))
    #: What the customer is worth to the host, for the host's own rules and hooks.
    lifetime_value: Money | None = attrs.field(default=None, converter=_lifetime_value, repr=False)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The customer's time zone."""
        return zoneinfo.ZoneInfo(self.timezone or "UTC")


SignalValue = int | float | Decimal | dt.timedelta


def _signal_value(value: object) -> SignalValue:
    where = "signal.value"
    kind = type(value)
    if kind is int or kind is float:  # the usual case
        return check_number(value, where)
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) > 100:
            raise ValidationError(where, f"expected a number or a duration, got {shown(value)}")
        try:
            number = (
                float(stripped) if "." in stripped or "e" in stripped.lower() else int(stripped)
            )
        except ValueError:
            return parse_duration(value, where, MAX_SIGNAL_DURATION)
        return check_number(number, where)
    if isinstance(value, dt.timedelta):
        return check_duration(value, where, MAX_SIGNAL_DURATION)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(where, f"expected a number or a duration, got {shown(value)}")
    return check_number(value, where)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ValidationError("signal.context", f"expected an object, got {type(value).__name__}")
    copied = dict(value)
    check_tree(copied, "signal.context")
    return MappingProxyType(copied)


def _as_float(value: object) -> object:
    """A Decimal (as JSON numbers are read) becomes a float; anything else is checked as is."""
    return float(value) if isinstance(value, Decimal) and value.is_finite() else value


def _confidence(_inst: object, _attr: object, value: object) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= 1
        or not math.isfinite(value)
    ):
        raise ValidationError("signal.confidence", f"expected a number in [0, 1], got {value!r}")


def _signal_at(_inst: object, _attr: object, value: Any) -> None:
    check_aware(value, "signal.at")


@attrs.frozen
class Signal:
    """One measurement about one subject (an order, a booking, a ticket).

    ``value`` is a number in the unit the threshold declares, or a duration
    (a :class:`datetime.timedelta`, or a string such as ``"26h"``).
    ``context`` carries what compensation needs: ``order_total``,
    ``currency``, ``distance_km``…

    ``forecast`` marks a predicted value (a carrier's new ETA), not a
    measured one; ``confidence`` is the forecaster's own, in [0, 1].
    Thresholds act on forecasts only when their policy says ``forecast``.
    """

    customer: str = attrs.field(validator=_nonempty_str("signal.customer"))
    subject: str = attrs.field(validator=_nonempty_str("signal.subject"))
    metric: str = attrs.field(validator=_nonempty_str("signal.metric"))
    value: SignalValue = attrs.field(converter=_signal_value)
    at: dt.datetime = attrs.field(validator=_signal_at)
    context: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )
    forecast: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    confidence: float | None = attrs.field(default=None, converter=_as_float)

    @confidence.validator
    def _check_confidence(self, _attr: object, value: float | None) -> None:
        _confidence(self, _attr, value)


@attrs.frozen
class Breach:
    """A threshold crossed for one subject; identity is ``(threshold, subject)``."""

    threshold: str
    subject: str
    customer: str
    severity: Severity
    opened_at: dt.datetime
    updated_at: dt.datetime
    stage: str | None = None
    resolved_at: dt.datetime | None = None
    holdout: bool = False
    #: Opened from a forecast and not (yet) seen in an actual value.
    forecast: bool = False
    #: When an actual value confirmed a breach opened from a forecast.
    confirmed_at: dt.datetime | None = None

    @property
    def lead_time(self) -> dt.timedelta | None:
        """How long before the actual crossing a forecast told us (``None``
        for a breach not opened from a forecast, or one not yet confirmed)."""
        if self.confirmed_at is None:
            return None
        return self.confirmed_at - self.opened_at

    @property
    def key(self) -> tuple[str, str]:
        """The breach's identity."""
        return (self.threshold, self.subject)


@attrs.frozen
class Compensation:
    """What the customer gets for a breach.

    ``amount`` is ``None`` for kinds with no money value (an apology, a
    follow-up task, a gift with no declared value). ``code`` is a voucher's
    code; ``expires_at`` its expiry; ``due_at``/``team``/``priority`` describe
    a human follow-up.
    """

    kind: str
    amount: Money | None = None
    code: str | None = attrs.field(default=None, repr=redacted)
    expires_at: dt.datetime | None = None
    item: str | None = None
    team: str | None = None
    due_at: dt.datetime | None = None
    priority: int | None = None
    statutory: bool = False
    note: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.amount is not None and self.amount.amount < 0:
            raise ValidationError("compensation.amount", "must not be negative")


def _purpose(value: str) -> Purpose:
    # Enum look-ups cost microseconds; most values are members already.
    return value if type(value) is Purpose else Purpose(value)


def _compensations(value: Iterable[Compensation]) -> tuple[Compensation, ...]:
    return tuple(value)


@attrs.frozen
class Referral:
    """The ADR body a referral names (Directive 2013/11/EU Art. 13(3)): its
    name, its website, and whether the trader takes part in its procedure."""

    name: str
    website: str
    participates: bool


@attrs.frozen
class Content:
    """What a message says, before it is put into words.

    The outbox keeps this, not text: the dispatcher renders it when it sends,
    in the customer's language and time zone at that moment, so a message
    held overnight is worded for the morning and grouped messages are joined
    part by part.
    """

    purpose: Purpose = attrs.field(converter=_purpose)
    subject: str
    topic: str = "generic"
    delay: dt.timedelta | None = None
    compensations: tuple[Compensation, ...] = attrs.field(default=(), converter=_compensations)
    #: For a referral: the ADR body named.
    referral: Referral | None = None


@attrs.frozen
class Message:
    """One rendered message, ready for a channel."""

    channel: str
    to: str = attrs.field(repr=mask_address)
    locale: str
    text: str = attrs.field(repr=False)
    send_at: dt.datetime
    purpose: str
    title: str | None = None
    encoding: str | None = None
    segments: int | None = None


# ---------------------------------------------------------------- actions


@attrs.frozen(kw_only=True)
class Action:
    """Something the engine did. ``action`` names the kind in JSON output."""

    action: ClassVar[str] = "action"
    customer: str
    subject: str
    threshold: str | None
    severity: Severity | None
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of DESIGN.md: ``action`` first, then the common fields."""
        out: dict[str, Any] = {
            "action": self.action,
            "customer": self.customer,
            "subject": self.subject,
            "threshold": self.threshold,
            "severity": str(self.severity) if self.severity is not None else None,
            "at": self.at.isoformat(),
        }
        out.update(self._extra())
        return out

    def _extra(self) -> dict[str, Any]:
        return {}


@attrs.frozen(kw_only=True)
class BreachOpened(Action):
    """A threshold was crossed for a subject for the first time."""

    action: ClassVar[str] = "breach"
    stage: str | None = None
    holdout: bool = False
    #: Opened from a forecast: a heads-up, not (yet) an actual crossing.
    forecast: bool = False

    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"stage": self.stage, "holdout": self.holdout}
        if self.forecast:
            extra["forecast"] = True
        return extra


@attrs.frozen(kw_only=True)
class ForecastConfirmed(Action):
    """An actual value crossed a threshold that a forecast had crossed first.

    ``severity`` is the actual one, ``previous`` the forecast's;
    ``lead_time`` how much earlier the forecast let us speak.
    """

    action: ClassVar[str] = "confirmed"
    previous: Severity
    lead_time: dt.timedelta

    def _extra(self) -> dict[str, Any]:
        return {
            "previous": str(self.previous),
            "lead_time_seconds": self.lead_time.total_seconds(),
        }


@attrs.frozen(kw_only=True)
class BreachEscalated(Action):
    """An open breach reached a higher severity."""

    action: ClassVar[str] = "escalation"
    previous: Severity

    def _extra(self) -> dict[str, Any]:
        return {"previous": str(self.previous)}


@attrs.frozen(kw_only=True)
class CompensationIssued(Action):
    """A compensation was recorded in the ledger (paid once, ever)."""

    action: ClassVar[str] = "compensation"
    compensation: Compensation

    def _extra(self) -> dict[str, Any]:
        c = self.compensation
        return {
            "kind": c.kind,
            "amount": c.amount.minor_units_str() if c.amount else None,
            "currency": c.amount.currency if c.amount else None,
            "code": c.code,
            "expires_at": c.expires_at.isoformat() if c.expires_at else None,
            "item": c.item,
            "team": c.team,
            "due_at": c.due_at.isoformat() if c.due_at else None,
            "priority": c.priority,
            "statutory": c.statutory,
        }


@attrs.frozen(kw_only=True)
class MessageQueued(Action):
    """A message was put in the outbox, to be sent at ``send_at``.

    The outbox holds its :class:`Content`; ``message`` is that content
    rendered for display (what the customer would read if it went out now),
    worked out only when asked for.
    """

    action: ClassVar[str] = "message"
    channel: str
    to: str = attrs.field(repr=mask_address)
    send_at: dt.datetime
    content: Content
    renderer: Callable[[], Message] = attrs.field(eq=False, repr=False)
    #: The customer's time zone the message is timed and worded in (the
    #: policy's ``timezone`` when the customer has none).
    timezone: str = "UTC"
    #: Held back by the daily message limit: it goes out at ``send_at``, a day on.
    deferred: bool = False

    @cached_property
    def message(self) -> Message:
        """The message as the customer would read it."""
        return self.renderer()

    def _extra(self) -> dict[str, Any]:
        m = self.message
        out: dict[str, Any] = {
            "channel": m.channel,
            "to": m.to,
            "locale": m.locale,
            "title": m.title,
            "text": m.text,
            "send_at": m.send_at.isoformat(),
            "purpose": str(m.purpose),
            "timezone": self.timezone,
            "deferred": self.deferred,
        }
        if m.encoding is not None:
            out["encoding"] = m.encoding
            out["segments"] = m.segments
        return out


@attrs.frozen(kw_only=True)
class Suppressed(Action):
    """Something the engine would have done, stopped by a rule (``reason``)."""

    action: ClassVar[str] = "suppressed"
    reason: str
    what: str
    kind: Reason | None = None

    def _extra(self) -> dict[str, Any]:
        return {"reason": self.reason, "what": self.what}


@attrs.frozen(kw_only=True)
class BreachResolved(Action):
    """The host said the problem is fixed; the breach is closed."""

    action: ClassVar[str] = "resolved"


@attrs.frozen(kw_only=True)
class ComplaintRecorded(Action):
    """The customer reached us; ``we_were_first`` says if our message went out before."""

    action: ClassVar[str] = "complaint"
    we_were_first: bool

    def _extra(self) -> dict[str, Any]:
        return {"we_were_first": self.we_were_first}
