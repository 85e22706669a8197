"""Durations: units, and strings such as ``"24h"``, ``"90m"``, ``"1d 2h"``, ``"PT3H"``."""

from __future__ import annotations

import datetime as dt
import re

from pxr._bounds import MAX_DURATION, seconds_to_duration, shown
from pxr.errors import ValidationError

UNIT_SECONDS: dict[str, float] = {
    "seconds": 1.0,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
}

_SHORT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d|w)\s*", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


_ISO_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def check_unit(unit: object, where: str) -> str | None:
    """``None`` (a plain number) or one of :data:`UNIT_SECONDS`."""
    if unit is None:
        return None
    if not isinstance(unit, str) or unit not in UNIT_SECONDS:
        raise ValidationError(
            where, f"expected one of {', '.join(UNIT_SECONDS)}, got {shown(unit)}"
        )
    return unit


def parse_duration(text: str, where: str, longest: dt.timedelta = MAX_DURATION) -> dt.timedelta:
    """A non-negative duration from ``"24h"``, ``"1d 2h"``, ``"90m"`` or ISO 8601 ``"PT3H"``.

    At most ``longest`` (a policy's durations: about a hundred years).
    """
    if not isinstance(text, str) or len(text) > 100:
        raise ValidationError(
            where, f'expected a duration such as "24h", "90m", "1d 2h" or "PT3H", got {shown(text)}'
        )
    raw = text.strip()
    if raw.startswith("-"):
        raise ValidationError(where, "a negative duration is not allowed")
    iso = _ISO.match(raw.upper()) if raw.upper().startswith("P") else None
    if iso and any(iso.groupdict().values()):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        seconds = sum(parts.get(k, 0.0) * size for k, size in _ISO_SECONDS.items())
        return seconds_to_duration(seconds, where, longest)
    position = 0
    seconds = 0.0
    for match in _PART.finditer(raw):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _SHORT[match.group(2).lower()]
        position = match.end()
    if position != len(raw) or not raw:
        raise ValidationError(
            where, f'expected a duration such as "24h", "90m", "1d 2h" or "PT3H", got {shown(text)}'
        )
    return seconds_to_duration(seconds, where, longest)
