"""Thresholds turn a signal's value into a severity, or nothing.

The built-in kind is :class:`Tiered`: ``above = {minor = 1, major = 24}`` or
``below = {major = 3}``. Bounds are inclusive: a delay of exactly 180 minutes
is *at* the 180-minute tier, and a survey score of exactly 3 is *at* the
"below 3" tier (the seed's "answers 0–3").
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import attrs

from pxr._bounds import MAX_SIGNAL_DURATION, check_number, seconds_to_duration
from pxr._durations import UNIT_SECONDS
from pxr.errors import ValidationError
from pxr.model import Severity, SignalValue

__all__ = ["Threshold", "Tiered", "as_duration", "value_in_unit"]


@runtime_checkable
class Threshold(Protocol):
    """Turns a signal value into a :class:`~pxr.model.Severity` or ``None``.

    ``metric`` routes signals to the threshold; ``stage`` names the journey
    stage for reports; ``unit`` (``None`` or ``"seconds"``…``"days"``) says
    what a plain number means, so compensation can read a delay.
    """

    @property
    def name(self) -> str: ...

    @property
    def metric(self) -> str: ...

    @property
    def stage(self) -> str | None: ...

    @property
    def unit(self) -> str | None: ...

    def evaluate(self, value: SignalValue) -> Severity | None:
        """The severity reached by ``value``, or ``None`` when all is well."""
        ...


def value_in_unit(value: SignalValue, unit: str | None, where: str = "signal.value") -> float:
    """A signal value as a plain number in ``unit`` (timedeltas converted)."""
    if isinstance(value, dt.timedelta):
        if unit is None:
            raise ValidationError(where, "a duration was given but the threshold has no unit")
        return value.total_seconds() / UNIT_SECONDS[unit]
    number = float(check_number(value, where))
    if unit is not None and number < 0:
        raise ValidationError(where, f"a negative duration is not allowed: {value} {unit}")
    return number


def _check_tiers(
    instance: Tiered, _attribute: object, tiers: Mapping[Severity, float | int | Decimal]
) -> None:
    if not tiers:
        raise ValidationError(instance.direction, "needs at least one of minor, major, critical")
    for severity, bound in tiers.items():
        check_number(bound, f"{instance.direction}.{severity}")
    ordered = [float(tiers[s]) for s in sorted(tiers)]
    increasing = instance.direction == "above"
    for low, high in itertools.pairwise(ordered):
        if (increasing and not low < high) or (not increasing and not low > high):
            word = "increase" if increasing else "decrease"
            raise ValidationError(
                instance.direction, f"bounds must {word} from minor to critical, got {ordered}"
            )


@attrs.frozen
class Tiered:
    """A tiered threshold: the most severe tier whose bound the value reaches.

    ``direction="above"``: value ≥ bound (delays, queue lengths);
    ``direction="below"``: value ≤ bound (scores).
    """

    name: str
    metric: str
    direction: Literal["above", "below"]
    tiers: Mapping[Severity, float | int | Decimal] = attrs.field(validator=_check_tiers)
    unit: str | None = None
    stage: str | None = None
    _checks: tuple[tuple[float, Severity], ...] = attrs.field(init=False, repr=False, eq=False)
    _above: bool = attrs.field(init=False, repr=False, eq=False)
    _mildest: float = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # Most severe first, as plain floats: evaluation is a few comparisons,
        # and one when the value is fine (the usual case).
        checks = tuple((float(self.tiers[s]), s) for s in sorted(self.tiers, reverse=True))
        object.__setattr__(self, "_checks", checks)
        object.__setattr__(self, "_above", self.direction == "above")
        object.__setattr__(self, "_mildest", checks[-1][0])

    def evaluate(self, value: SignalValue) -> Severity | None:
        """The most severe tier reached, or ``None``."""
        kind = type(value)
        if (kind is float or kind is int) and (self.unit is None or value >= 0):  # type: ignore[operator]
            number: float = value  # type: ignore[assignment]
        else:
            number = value_in_unit(value, self.unit)
        if self._above:
            if number < self._mildest:
                return None
            for bound, severity in self._checks:
                if number >= bound:
                    return severity
        else:
            if number > self._mildest:
                return None
            for bound, severity in self._checks:
                if number <= bound:
                    return severity
        return None


def as_duration(value: SignalValue, unit: str | None) -> dt.timedelta | None:
    """A signal value as a duration: itself if a timedelta, else via ``unit`` (``None`` if none)."""
    if isinstance(value, dt.timedelta):
        return value
    if unit is None:
        return None
    seconds = value_in_unit(value, unit) * UNIT_SECONDS[unit]
    return seconds_to_duration(seconds, "signal.value", MAX_SIGNAL_DURATION)
