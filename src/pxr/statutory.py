"""Compensation owed by regulation. First: EU Regulation (EC) 261/2004.

As the Court of Justice reads it (Sturgeon, C-402/07 and C-432/07; Nelson,
C-581/10): a passenger who reaches the final destination 3 hours or more
late is owed the Article 7(1) amount, unless the delay was caused by
extraordinary circumstances (Article 5(3)).

* Article 7(1): €250 up to 1500 km; €400 for intra-Community flights over
  1500 km and for all other flights of 1500–3500 km; €600 otherwise.
* Article 7(2): when the passenger was re-routed and arrived no more than
  2 / 3 / 4 hours late (for the 250 / 400 / 600 bands), the amount may be
  halved. pxr halves it.
* Article 7(4): distances by the great-circle method (:func:`great_circle_km`).

Context keys read from the signal: ``distance_km`` (or ``origin`` and
``destination`` as ``[lat, lon]`` pairs), ``intra_eu`` (bool), ``rerouted``
(bool), ``extraordinary`` (bool).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from pxr.compensation import CompensationRequest
from pxr.errors import ValidationError
from pxr.model import Compensation
from pxr.money import Money

__all__ = ["EU261", "eu261_amount", "great_circle_km"]

_EARTH_RADIUS_KM = 6371.0
_MIN_DELAY = dt.timedelta(hours=3)


def great_circle_km(origin: tuple[float, float], destination: tuple[float, float]) -> float:
    """The great-circle distance in km between two ``(lat, lon)`` points (haversine)."""
    lat1, lon1 = map(math.radians, origin)
    lat2, lon2 = map(math.radians, destination)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def eu261_amount(
    delay: dt.timedelta,
    distance_km: float,
    *,
    intra_eu: bool,
    rerouted: bool = False,
    extraordinary: bool = False,
) -> Decimal:
    """The EUR amount owed for an arrival ``delay`` (0 when none is owed)."""
    if distance_km < 0:
        raise ValidationError("distance_km", f"must not be negative, got {distance_km}")
    if extraordinary or delay < _MIN_DELAY:
        return Decimal(0)
    if distance_km <= 1500:
        amount, halving_limit = Decimal(250), dt.timedelta(hours=2)
    elif intra_eu or distance_km <= 3500:
        amount, halving_limit = Decimal(400), dt.timedelta(hours=3)
    else:
        amount, halving_limit = Decimal(600), dt.timedelta(hours=4)
    if rerouted and delay <= halving_limit:
        amount /= 2
    return amount


def _flag(context: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = context.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError(f"signal.context.{key}", f"expected true or false, got {value!r}")
    return value


def _point(context: Mapping[str, Any], key: str) -> tuple[float, float]:
    value = context[key]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(x, int | float | Decimal) and not isinstance(x, bool) for x in value)
    ):
        raise ValidationError(f"signal.context.{key}", "expected [latitude, longitude]")
    return (float(value[0]), float(value[1]))


def _distance(context: Mapping[str, Any]) -> float:
    if "distance_km" in context:
        value = context["distance_km"]
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValidationError("signal.context.distance_km", f"expected a number, got {value!r}")
        try:
            distance = float(value)
        except ValueError:
            raise ValidationError(
                "signal.context.distance_km", f"expected a number, got {value!r}"
            ) from None
        if not math.isfinite(distance) or distance < 0:
            raise ValidationError("signal.context.distance_km", f"expected ≥ 0, got {value!r}")
        return distance
    if "origin" in context and "destination" in context:
        return great_circle_km(_point(context, "origin"), _point(context, "destination"))
    raise ValidationError(
        "signal.context.distance_km", "needed by 'eu261' (or 'origin' and 'destination')"
    )


@attrs.frozen
class EU261:
    """Regulation (EC) 261/2004 compensation for a late arrival. Always in EUR."""

    kind: str = "eu261"
    statutory: bool = True

    def compensate(self, request: CompensationRequest) -> Compensation | None:
        """The amount owed, or ``None`` (under 3 h, or extraordinary circumstances)."""
        delay = request.delay()
        if delay is None:
            raise ValidationError(
                "threshold.unit", "'eu261' needs a threshold with a time unit (the arrival delay)"
            )
        context = request.context
        amount = eu261_amount(
            delay,
            _distance(context),
            intra_eu=_flag(context, "intra_eu"),
            rerouted=_flag(context, "rerouted"),
            extraordinary=_flag(context, "extraordinary"),
        )
        if amount == 0:
            return None
        return Compensation(kind=self.kind, amount=Money(amount, "EUR"), statutory=True)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], where: str, currency: str) -> EU261:
        """``{ kind = "eu261" }``."""
        unknown = set(config) - {"kind"}
        if unknown:
            raise ValidationError(where, f"unknown keys {sorted(unknown)}; 'eu261' takes none")
        return cls()
