"""GSM 03.38 figures from shared/research/domain-facts.md §3."""

from __future__ import annotations

import pytest

from pxr.channels.gsm import normalize_spaces, sms_encoding, sms_segments


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Your parcel is late. Sorry!", "GSM-7"),
        ("Przepraszamy, paczka się spóźnia", "UCS-2"),  # ę, ó
        ("Ne pare rău, coletul întârzie", "UCS-2"),  # ă, â, î
        ("Ne pare rau, ş", "UCS-2"),  # cedilla forms too
        ("Съжаляваме", "UCS-2"),
        ("Het spijt ons, café", "GSM-7"),  # é is GSM
        ("Het spijt ons, ë", "UCS-2"),
        ("ç", "UCS-2"),  # lowercase ç is not GSM (capital Ç is)
        ("Ç €", "GSM-7"),
    ],
)
def test_encoding(text: str, encoding: str) -> None:
    assert sms_encoding(text) == encoding


def test_segment_limits() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_segments("ą" * 70) == 1
    assert sms_segments("ą" * 71) == 2
    assert sms_segments("ą" * 134) == 2
    assert sms_segments("ą" * 135) == 3


def test_extension_characters_cost_two_septets_and_are_not_split() -> None:
    assert sms_segments("€" * 80) == 1
    assert sms_segments("€" * 81) == 2
    # 152 septets, then a two-septet € that must move whole to part two.
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3
    assert sms_segments("a" * 151 + "€" + "a" * 153) == 2


def test_no_break_spaces_from_babel_would_force_ucs2_unless_normalized() -> None:
    babel_amount = "€\u00a025,00"
    assert sms_encoding(babel_amount) == "UCS-2"
    assert sms_encoding(normalize_spaces(babel_amount)) == "GSM-7"
