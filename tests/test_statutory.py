"""EU 261/2004 against the regulation's own bands (domain-facts.md §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxr.errors import ValidationError
from pxr.statutory import eu261_amount, great_circle_km

H = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("distance", "intra_eu", "amount"),
    [
        (500, True, 250),
        (1500, True, 250),  # "1500 km or less"
        (1501, True, 400),
        (5000, True, 400),  # intra-Community over 1500 km: always 400
        (1501, False, 400),
        (3500, False, 400),
        (3501, False, 600),
        (9000, False, 600),
    ],
)
def test_article_7_1_bands(distance: float, intra_eu: bool, amount: int) -> None:
    assert eu261_amount(3 * H, distance, intra_eu=intra_eu) == Decimal(amount)


def test_nothing_under_three_hours_sturgeon() -> None:
    assert eu261_amount(3 * H - dt.timedelta(seconds=1), 800, intra_eu=True) == 0
    assert eu261_amount(3 * H, 800, intra_eu=True) == 250


def test_nothing_under_extraordinary_circumstances() -> None:
    assert eu261_amount(10 * H, 800, intra_eu=True, extraordinary=True) == 0


@pytest.mark.parametrize(
    ("distance", "intra_eu", "delay_h", "amount"),
    [
        (800, True, 3, 250),  # 250 band halves only within 2 h: never once 3 h are reached
        (2000, False, 3, 200),  # within 3 h: halved
        (2000, False, 3.5, 400),
        (6000, False, 4, 300),  # within 4 h: halved
        (6000, False, 4.01, 600),
    ],
)
def test_article_7_2_halving_when_rerouted(
    distance: float, intra_eu: bool, delay_h: float, amount: int
) -> None:
    delay = dt.timedelta(hours=delay_h)
    assert eu261_amount(delay, distance, intra_eu=intra_eu, rerouted=True) == Decimal(amount)


def test_great_circle_london_to_new_york() -> None:
    # LHR (51.4700, -0.4543) → JFK (40.6413, -73.7781): 5,540 km is the published figure.
    assert great_circle_km((51.4700, -0.4543), (40.6413, -73.7781)) == pytest.approx(5540, abs=15)


def test_negative_distance_is_rejected() -> None:
    with pytest.raises(ValidationError):
        eu261_amount(4 * H, -1, intra_eu=True)


@given(
    st.floats(min_value=0, max_value=20000),
    st.booleans(),
    st.booleans(),
    st.integers(min_value=0, max_value=48 * 60),
)
def test_amount_is_always_one_of_the_regulation_values(
    distance: float, intra_eu: bool, rerouted: bool, minutes: int
) -> None:
    amount = eu261_amount(
        dt.timedelta(minutes=minutes), distance, intra_eu=intra_eu, rerouted=rerouted
    )
    assert amount in {0, 125, 200, 300, 250, 400, 600}
    if minutes < 180:
        assert amount == 0
