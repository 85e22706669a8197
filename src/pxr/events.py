"""The events file: JSON Lines, one object a line, ``type`` first.

Types: ``customer``, ``signal``, ``resolved``, ``complaint``, ``contacted``,
``outcome``, ``opt_out``. A bad line raises :class:`~pxr.errors.EventError` with its line
number; :func:`read_events` yields it in place so the caller can report it
and go on with the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from pxr._bounds import MAX_LINE, check_text, key_name, shown
from pxr.errors import EventError, ValidationError
from pxr.model import Customer, Signal, check_aware

__all__ = [
    "Complaint",
    "Contacted",
    "CustomerEvent",
    "Event",
    "OptOut",
    "Outcome",
    "Resolved",
    "SignalEvent",
    "parse_event",
    "read_events",
]


@attrs.frozen
class CustomerEvent:
    """Introduces (or updates) a customer."""

    customer: Customer


@attrs.frozen
class SignalEvent:
    """A measurement."""

    signal: Signal


@attrs.frozen
class Resolved:
    """The host fixed the problem with ``subject`` (one threshold, or all)."""

    subject: str
    at: dt.datetime
    threshold: str | None = None


@attrs.frozen
class Complaint:
    """The customer reached us about ``subject``."""

    customer: str
    subject: str
    at: dt.datetime


@attrs.frozen
class Contacted:
    """A person contacted the customer about ``subject``."""

    customer: str
    subject: str
    at: dt.datetime


@attrs.frozen
class Outcome:
    """How things ended for a customer: ``repurchase``, ``churn``, …"""

    customer: str
    outcome: str
    at: dt.datetime


@attrs.frozen
class OptOut:
    """The customer does not want to be contacted on ``channel`` (see :mod:`pxr.consent`)."""

    customer: str
    channel: str
    at: dt.datetime


Event = CustomerEvent | SignalEvent | Resolved | Complaint | Contacted | Outcome | OptOut

_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required, optional)
    "customer": (
        {"id"},
        {
            "name",
            "locale",
            "timezone",
            "phone",
            "email",
            "messenger",
            "contacts",
            "channels",
            "opt_out",
            "segment",
            "lifetime_value",
        },
    ),
    "signal": (
        {"customer", "subject", "metric", "value", "at"},
        {"context", "forecast", "confidence"},
    ),
    "resolved": ({"subject", "at"}, {"threshold"}),
    "complaint": ({"customer", "subject", "at"}, set()),
    "contacted": ({"customer", "subject", "at"}, set()),
    "outcome": ({"customer", "outcome", "at"}, set()),
    "opt_out": ({"customer", "channel", "at"}, set()),
}


def _time(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError(where, f"expected an ISO 8601 time, got {shown(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(where, f"expected an ISO 8601 time, got {shown(value)}") from None
    return check_aware(parsed, where)


def _str(data: Mapping[str, Any], key: str, kind: str) -> str:
    return check_text(data[key], f"{kind}.{key}")


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(where, f"expected true or false, got {value!r}")
    return value


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(where, "expected a list of channel names")
    return value


def parse_event(data: object) -> Event:
    """One event from a decoded JSON object. Raises :class:`ValidationError`."""
    if not isinstance(data, dict):
        raise ValidationError("", f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ValidationError("type", f"expected one of {', '.join(_FIELDS)}, got {shown(kind)}")
    required, optional = _FIELDS[kind]
    missing = sorted(required - set(data))
    if missing:
        raise ValidationError(f"{kind}.{missing[0]}", "required")
    unknown = sorted(set(data) - required - optional - {"type"})
    if unknown:
        raise ValidationError(f"{kind}.{key_name(unknown[0])}", "unknown key")
    match kind:
        case "customer":
            fields = {k: v for k, v in data.items() if k != "type"}
            for key in ("channels", "opt_out"):
                if key in fields:
                    fields[key] = _str_list(fields[key], f"customer.{key}")
            return CustomerEvent(Customer(**fields))
        case "signal":
            return SignalEvent(
                Signal(
                    customer=data["customer"],
                    subject=data["subject"],
                    metric=data["metric"],
                    value=data["value"],
                    at=_time(data["at"], "signal.at"),
                    context=data.get("context"),
                    forecast=_flag(data.get("forecast", False), "signal.forecast"),
                    confidence=data.get("confidence"),
                )
            )
        case "resolved":
            threshold = data.get("threshold")
            if threshold is not None:
                check_text(threshold, "resolved.threshold", "a threshold name")
            return Resolved(
                _str(data, "subject", kind), _time(data["at"], "resolved.at"), threshold
            )
        case "complaint":
            return Complaint(
                _str(data, "customer", kind),
                _str(data, "subject", kind),
                _time(data["at"], "complaint.at"),
            )
        case "contacted":
            return Contacted(
                _str(data, "customer", kind),
                _str(data, "subject", kind),
                _time(data["at"], "contacted.at"),
            )
        case "opt_out":
            return OptOut(
                _str(data, "customer", kind),
                check_text(data["channel"], "opt_out.channel", "a channel name"),
                _time(data["at"], "opt_out.at"),
            )
        case _:
            return Outcome(
                _str(data, "customer", kind),
                _str(data, "outcome", kind),
                _time(data["at"], "outcome.at"),
            )


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def read_events(path: str | os.PathLike[str]) -> Iterator[tuple[int, Event | EventError]]:
    """``(line number, event or error)`` for each non-blank line of a JSON Lines file."""
    name = os.fspath(path)
    # surrogateescape: a line that is not UTF-8 is one bad line, not the end of the file.
    with open(path, encoding="utf-8", errors="surrogateescape") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                yield number, EventError(name, number, "not UTF-8 text")
                continue
            if len(line) > MAX_LINE:
                yield number, EventError(name, number, f"longer than {MAX_LINE:,} characters")
                continue
            try:
                data = json.loads(line, parse_float=Decimal, parse_constant=_no_constant)
            except json.JSONDecodeError as error:
                yield number, EventError(name, number, f"not valid JSON: {error.msg}")
                continue
            except RecursionError:
                yield number, EventError(name, number, "not valid JSON: nested too deeply")
                continue
            except ValueError:
                # int() refuses more than 4300 digits (and NaN is refused above).
                yield (
                    number,
                    EventError(name, number, "not valid JSON: a number too long or not finite"),
                )
                continue
            try:
                event = parse_event(data)
            except ValidationError as error:
                yield number, EventError(name, number, str(error))
                continue
            except Exception as error:  # noqa: BLE001 - a bug in pxr costs one line, named
                problem = f"internal error ({type(error).__name__}) on this line; please report it"
                yield number, EventError(name, number, problem)
                continue
            yield number, event
