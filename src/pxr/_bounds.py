"""The limits every value entering pxr is checked against, in one place.

A policy file, an events line and the arguments of the public API all pass
through these checks before any arithmetic: nesting depth, text and number
sizes, finiteness, times and durations that the ``datetime`` module (and
the durations pxr adds to them) can hold. Errors show a short, masked form
of the value, never a phone number, an e-mail address or a long text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from pxr._privacy import mask_email, mask_phone
from pxr.errors import ValidationError

#: The earliest time pxr accepts.
MIN_TIME = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The first time pxr no longer accepts. Far below ``datetime.max``, so that
#: adding any policy duration (at most :data:`MAX_DURATION`, a few times
#: over) and moving to any time zone stays in range.
MAX_TIME = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
#: The longest duration a policy may set (a voucher's validity, a deadline).
MAX_DURATION = dt.timedelta(days=36_600)
#: The longest duration a signal may carry: what ``timedelta`` holds.
MAX_SIGNAL_DURATION = dt.timedelta(days=999_999_999)
#: How deep objects and arrays (or TOML tables) may nest.
MAX_DEPTH = 32
#: The longest text (a name, an id, a context value), in characters.
MAX_TEXT = 10_000
#: The largest magnitude of a number; also bounds a Decimal's digits and exponent.
MAX_NUMBER = 10**15
#: The longest events line, in characters.
MAX_LINE = 1_000_000
#: The largest policy file, in bytes.
MAX_POLICY_BYTES = 10_000_000

_DAY = dt.timedelta(days=1)
_TOKEN = re.compile(r"[A-Za-z0-9_.:/+-]{1,40}")
_PHONE_CHARS = re.compile(r"[\d\s()+.-]+")


def shown(value: object, *, personal: bool = True) -> str:
    """A short form of ``value`` for an error message, masked if it may be personal.

    E-mail addresses and phone numbers are always masked, as in reprs. Where
    the value may be personal (events, customers: the default), a text that
    is not a short token (a name, a sentence) is described, not shown; in a
    policy, a short text is shown as it is.
    """
    if isinstance(value, str):
        if "@" in value:
            return repr(mask_email(value[:320]))
        if _PHONE_CHARS.fullmatch(value) and sum(c.isdigit() for c in value) >= 7:
            return repr(mask_phone(value[:40]))
        if _TOKEN.fullmatch(value) or (not personal and len(value) <= 40):
            return repr(value)
        return f"a text of {len(value)} characters"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return (
            repr(value)
            if abs(value) < 10**20
            else f"an integer of about {value.bit_length() * 3 // 10 + 1} digits"
        )
    if isinstance(value, float | Decimal):
        text = str(value)
        return text if len(text) <= 40 else f"a number of {len(text)} characters"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    return f"a {type(value).__name__}"


def key_name(key: str) -> str:
    """A key as it appears in a ``where`` path: printable and short, else quoted and cut."""
    return key if key.isprintable() and len(key) <= 40 else repr(key[:40])


def check_text(value: object, where: str, what: str = "a non-empty string") -> str:
    """A non-blank ``str`` of at most :data:`MAX_TEXT` characters, valid Unicode."""
    if (
        type(value) is str
        and value.isascii()
        and 0 < len(value) <= MAX_TEXT
        and not value.isspace()
    ):
        return value  # the usual case
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(where, f"must be {what}")
    if len(value) > MAX_TEXT:
        raise ValidationError(where, f"longer than {MAX_TEXT:,} characters")
    _check_unicode(value, where)
    return value


def _check_unicode(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(where, "not valid Unicode text (a lone surrogate)") from None


def check_number(value: object, where: str) -> int | float | Decimal:
    """A finite int, float or Decimal whose magnitude is below :data:`MAX_NUMBER`."""
    kind = type(value)
    if (kind is int or kind is float) and -MAX_NUMBER < value < MAX_NUMBER:  # type: ignore[operator]
        return value  # type: ignore[return-value]  # NaN fails the comparison, so never here
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(where, f"expected a number, got {shown(value)}")
    if isinstance(value, int):
        if not -MAX_NUMBER < value < MAX_NUMBER:
            raise ValidationError(where, f"expected a number below {MAX_NUMBER:.0e} in size")
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(where, f"expected a finite number, got {value}")
    if isinstance(value, Decimal) and (not value.is_finite() or len(value.as_tuple().digits) > 40):
        raise ValidationError(where, f"expected a finite number, got {shown(value)}")
    if not -MAX_NUMBER < value < MAX_NUMBER:
        raise ValidationError(where, f"expected a number below {MAX_NUMBER:.0e} in size")
    return value


def check_time(value: object, where: str) -> dt.datetime:
    """A timezone-aware datetime from 1970 up to (not including) the year 9000."""
    if type(value) is dt.datetime and 1970 < value.year < 8999 and value.tzinfo is not None:
        # The usual case: a year well inside the range, so only the offset is left to check.
        offset = value.utcoffset()
        if offset is not None and -_DAY < offset < _DAY:
            return value
    if not isinstance(value, dt.datetime):
        raise ValidationError(where, f"expected a datetime, got {type(value).__name__}")
    try:
        offset = value.utcoffset()
    except (ValueError, TypeError, OverflowError):
        raise ValidationError(where, "its time zone gives no usable UTC offset") from None
    if value.tzinfo is None or offset is None:
        raise ValidationError(where, "a naive datetime is ambiguous; give it a time zone")
    if abs(offset) >= dt.timedelta(days=1):
        raise ValidationError(where, "a UTC offset must be less than a day")
    # Compare the wall-clock fields first: ``value - offset`` itself may overflow.
    if not 1969 <= value.year <= 9000 or not MIN_TIME <= value < MAX_TIME:
        raise ValidationError(
            where, f"expected a time from 1970 up to the year 9000, got year {value.year}"
        )
    return value


def check_duration(
    value: dt.timedelta, where: str, longest: dt.timedelta = MAX_DURATION
) -> dt.timedelta:
    """``value`` if it is not negative and at most ``longest``."""
    if value < dt.timedelta(0):
        raise ValidationError(where, "a negative duration is not allowed")
    if value > longest:
        raise ValidationError(where, f"longer than {longest.days:,} days")
    return value


def seconds_to_duration(seconds: float, where: str, longest: dt.timedelta) -> dt.timedelta:
    """A duration of ``seconds`` (finite, not negative, at most ``longest``)."""
    if not math.isfinite(seconds) or seconds > longest.total_seconds():
        raise ValidationError(where, f"longer than {longest.days:,} days")
    if seconds < 0:
        raise ValidationError(where, "a negative duration is not allowed")
    return dt.timedelta(seconds=seconds)


def _flat(data: dict[object, object] | list[object], depth: int = 0) -> bool:
    """The usual case, checked fast: short keys, ASCII texts, numbers, two levels at most."""
    is_dict = type(data) is dict
    items = data.items() if is_dict else enumerate(data)  # type: ignore[union-attr]
    for key, inner in items:
        if is_dict and (
            type(key) is not str or len(key) > 40 or not key.isascii() or not key.isprintable()
        ):
            return False
        kind = type(inner)
        if kind is str:
            if len(inner) > MAX_TEXT or not inner.isascii():  # type: ignore[arg-type,union-attr]
                return False
        elif kind is int or kind is float:
            if not -MAX_NUMBER < inner < MAX_NUMBER:  # type: ignore[operator]
                return False  # NaN too
        elif kind is dict or kind is list:
            if depth >= 2 or not _flat(inner, depth + 1):  # type: ignore[arg-type]
                return False
        elif inner is not None and kind is not bool:
            return False
    return True


def check_tree(value: object, where: str) -> None:
    """Check a decoded JSON or TOML document: depth, text sizes, numbers.

    Iterative, so that a document nested too deeply is an error here rather
    than a ``RecursionError`` later. ``where`` names the top; an error names
    the key path that was wrong.
    """
    if type(value) is dict and _flat(value):
        return
    stack: list[tuple[object, str, int]] = [(value, where, 0)]
    while stack:
        item, at, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise ValidationError(at, f"nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        raise ValidationError(at, "keys must be strings")
                    if len(key) > 200:
                        raise ValidationError(at, "a key longer than 200 characters")
                    _check_unicode(key, at)
                    name = key_name(key)
                    stack.append((inner, f"{at}.{name}" if at else name, depth + 1))
            else:
                stack.extend((inner, f"{at}[{i}]", depth + 1) for i, inner in enumerate(item))
        elif isinstance(item, str):
            if len(item) > MAX_TEXT:
                raise ValidationError(at, f"longer than {MAX_TEXT:,} characters")
            _check_unicode(item, at)
        elif isinstance(item, int | float | Decimal) and not isinstance(item, bool):
            check_number(item, at)
