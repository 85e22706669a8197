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

from pxr._durations import parse_duration
from pxr._privacy import mask_address, mask_email, mask_phone, redacted
from pxr.errors import ValidationError
from pxr.money import Money

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
        raise ValidationError(where, f"expected minor, major or critical, got {value!r}")


class Purpose(enum.StrEnum):
    """Why a message is sent."""

    NOTICE = "notice"  #: a breach was opened: the first word to the customer
    ESCALATION = "escalation"  #: the breach's severity rose
    RESOLUTION = "resolution"  #: the host said the problem is fixed
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


def check_aware(value: object, where: str) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise."""
    if not isinstance(value, dt.datetime):
        raise ValidationError(where, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(where, "a naive datetime is ambiguous; give it a time zone")
    return value


def normalize_locale(value: object, where: str = "locale") -> str:
    """``"pl-PL"`` or ``"pl_PL"`` → ``"pl_PL"``, if Babel knows the locale."""
    if not isinstance(value, str) or not value:
        raise ValidationError(where, f"expected a locale such as 'pl' or 'pl-PL', got {value!r}")
    try:
        return str(Locale.parse(value.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        raise ValidationError(where, f"unknown locale {value!r}") from None


def _check_timezone(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError("timezone", f"expected an IANA zone name, got {value!r}")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError("timezone", f"unknown time zone {value!r}") from None


def _nonempty_str(where: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(where, "must be a non-empty string")

    return check


def _optional_str(where: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValidationError(where, "must be a non-empty string or absent")

    return check


def _names_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _names_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _contacts(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ValidationError("customer.contacts", "expected an object of channel: address")
    return MappingProxyType(dict(value))


def _masked_contacts(value: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k!r}: {mask_address(v)!r}" for k, v in value.items()) + "}"


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
    timezone: str = attrs.field(default="UTC", validator=_check_timezone)
    name: str | None = attrs.field(default=None, repr=redacted)
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

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The customer's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)


SignalValue = int | float | Decimal | dt.timedelta


def _signal_value(value: object) -> SignalValue:
    if isinstance(value, str):
        stripped = value.strip()
        try:
            return float(stripped) if "." in stripped or "e" in stripped.lower() else int(stripped)
        except ValueError:
            return parse_duration(value, "signal.value")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | dt.timedelta):
        raise ValidationError("signal.value", f"expected a number or a duration, got {value!r}")
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            raise ValidationError("signal.value", f"a negative duration is not allowed: {value}")
    elif (isinstance(value, float) and not math.isfinite(value)) or (
        isinstance(value, Decimal) and not value.is_finite()
    ):
        raise ValidationError("signal.value", f"expected a finite number, got {value!r}")
    return value


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ValidationError("signal.context", f"expected an object, got {type(value).__name__}")
    return MappingProxyType(dict(value))


def _signal_at(_inst: object, _attr: object, value: Any) -> None:
    check_aware(value, "signal.at")


@attrs.frozen
class Signal:
    """One measurement about one subject (an order, a booking, a ticket).

    ``value`` is a number in the unit the threshold declares, or a duration
    (a :class:`datetime.timedelta`, or a string such as ``"26h"``).
    ``context`` carries what compensation needs: ``order_total``,
    ``currency``, ``distance_km``…
    """

    customer: str = attrs.field(validator=_nonempty_str("signal.customer"))
    subject: str = attrs.field(validator=_nonempty_str("signal.subject"))
    metric: str = attrs.field(validator=_nonempty_str("signal.metric"))
    value: SignalValue = attrs.field(converter=_signal_value)
    at: dt.datetime = attrs.field(validator=_signal_at)
    context: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


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

    purpose: Purpose = attrs.field(converter=Purpose)
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

    def _extra(self) -> dict[str, Any]:
        return {"stage": self.stage, "holdout": self.holdout}


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
