"""GSM 03.38 figures from shared/research/domain-facts.md §3."""

from __future__ import annotations

import pytest

from pxr.channels.gsm import normalize_spaces, sms_encoding, sms_segments, to_gsm7


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


@pytest.mark.parametrize(
    ("text", "gsm7"),
    [
        (
            "Przepraszamy, paczka się spóźnia. Zwróciliśmy 24,90 zł.",
            "Przepraszamy, paczka sie spoznia. Zwrocilismy 24,90 zl.",
        ),
        (
            "Ne pare rău, întârziere de 22 de ore. Şi ţara",
            "Ne pare rau, intarziere de 22 de ore. Si tara",
        ),
        (
            "Съжаляваме: поръчката закъснява с 5 часа.",
            "Sazhalyavame: porachkata zakasnyava s 5 chasa.",
        ),
        ("Щастие, ЖИВОТ, България, Юлия", "Shtastie, ZhIVOT, Balgaria, Yulia"),
        ("Het spijt ons – geen ‘probleem’", "Het spijt ons - geen 'probleem'"),
        ("café € 25", "café € 25"),  # already GSM-7: unchanged
    ],
)
def test_transliteration_to_gsm7(text: str, gsm7: str) -> None:
    assert to_gsm7(text) == gsm7
    assert sms_encoding(to_gsm7(text)) == "GSM-7"


def test_transliteration_is_opt_in_and_halves_a_polish_sms() -> None:
    from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy  # noqa: PLC0415

    from .conftest import at  # noqa: PLC0415

    text = """
    [recovery]
    {sms}
    [[thresholds]]
    name = "late"
    topic = "delivery"
    metric = "delay"
    unit = "hours"
    above = {{ major = 24 }}
    compensation.major = {{ kind = "refund", amount = "24.90" }}
    """
    anna = Customer(id="c", locale="pl-PL", phone="+48512345678")
    signal = Signal(customer="c", subject="PL-1001", metric="delay", value=26, at=at())

    def sms_of(option: str) -> dict[str, object]:
        policy = loads_policy(text.format(sms=option).replace("\n    ", "\n"), name="t")
        actions = Recovery(policy, MemoryLedger(), customers=[anna]).observe(signal)
        (message,) = [a.to_dict() for a in actions if a.action == "message"]
        return message

    plain, cheap = sms_of(""), sms_of("sms = { transliterate = true }")
    assert (plain["encoding"], plain["segments"]) == ("UCS-2", 2)
    assert (cheap["encoding"], cheap["segments"]) == ("GSM-7", 1)
    assert str(cheap["text"]).startswith("Przepraszamy, paczka PL-1001 jest opozniona")
