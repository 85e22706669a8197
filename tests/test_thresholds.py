from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxr import Severity
from pxr.errors import ValidationError
from pxr.thresholds import Tiered

LATE = Tiered(
    name="parcel-late",
    metric="delivery_delay",
    direction="above",
    tiers={Severity.MINOR: 1, Severity.MAJOR: 24, Severity.CRITICAL: 168},
    unit="hours",
)
LOW = Tiered(name="survey-low", metric="survey_score", direction="below", tiers={Severity.MAJOR: 3})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, None),
        (0.99, None),
        (1, Severity.MINOR),
        (23.5, Severity.MINOR),
        (24, Severity.MAJOR),
        (168, Severity.CRITICAL),
        (dt.timedelta(hours=26), Severity.MAJOR),
        (dt.timedelta(minutes=59), None),
    ],
)
def test_above_is_inclusive_and_takes_the_most_severe_tier(
    value: float | dt.timedelta, expected: Severity | None
) -> None:
    assert LATE.evaluate(value) == expected


def test_below_is_inclusive_so_scores_0_to_3_are_low() -> None:
    assert [LOW.evaluate(score) for score in range(6)] == [Severity.MAJOR] * 4 + [None, None]


def test_negative_duration_is_rejected() -> None:
    with pytest.raises(ValidationError, match="negative duration"):
        LATE.evaluate(-2)


def test_duration_without_unit_is_rejected() -> None:
    with pytest.raises(ValidationError, match="has no unit"):
        LOW.evaluate(dt.timedelta(hours=1))


def test_tiers_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="must increase"):
        Tiered("t", "m", "above", {Severity.MINOR: 24, Severity.MAJOR: 1})
    with pytest.raises(ValidationError, match="must decrease"):
        Tiered("t", "m", "below", {Severity.MINOR: 1, Severity.MAJOR: 3})


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6))
def test_severity_never_falls_as_the_delay_grows(a: float, b: float) -> None:
    low, high = sorted((a, b))
    rank = {None: 0, Severity.MINOR: 1, Severity.MAJOR: 2, Severity.CRITICAL: 3}
    assert rank[LATE.evaluate(low)] <= rank[LATE.evaluate(high)]
