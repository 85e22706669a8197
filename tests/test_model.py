from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pxr import Compensation, Customer, Money, Severity, Signal, ValidationError
from pxr.model import Message

from .conftest import at


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        Signal(customer="c", subject="s", metric="m", value=1, at=dt.datetime(2026, 3, 2, 10))  # noqa: DTZ001
    assert caught.value.where == "signal.at"
    assert "naive" in caught.value.problem


def test_signal_without_subject_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"signal\.subject: must be a non-empty string"):
        Signal(customer="c", subject=" ", metric="m", value=1, at=at())


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, None, [1]])
def test_signal_value_must_be_a_finite_number_or_duration(value: object) -> None:
    with pytest.raises(ValidationError, match=r"signal\.value"):
        Signal(customer="c", subject="s", metric="m", value=value, at=at())


def test_negative_duration_is_rejected() -> None:
    with pytest.raises(ValidationError, match="negative duration"):
        Signal(customer="c", subject="s", metric="m", value=dt.timedelta(hours=-1), at=at())
    with pytest.raises(ValidationError, match="negative duration"):
        Signal(customer="c", subject="s", metric="m", value="-3h", at=at())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26h", dt.timedelta(hours=26)),
        ("1d 2h", dt.timedelta(hours=26)),
        ("90m", dt.timedelta(minutes=90)),
        ("PT3H30M", dt.timedelta(hours=3, minutes=30)),
        ("P1DT2H", dt.timedelta(hours=26)),
    ],
)
def test_duration_strings(text: str, expected: dt.timedelta) -> None:
    assert Signal(customer="c", subject="s", metric="m", value=text, at=at()).value == expected


def test_unknown_duration_text_names_the_forms() -> None:
    with pytest.raises(ValidationError, match='such as "24h"'):
        Signal(customer="c", subject="s", metric="m", value="a while", at=at())


def test_signal_context_is_read_only() -> None:
    signal = Signal(customer="c", subject="s", metric="m", value=1, at=at(), context={"a": 1})
    with pytest.raises(TypeError):
        signal.context["a"] = 2  # type: ignore[index]


def test_unknown_locale_and_timezone_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown locale 'xx'") as caught:
        Customer(id="c", locale="xx")
    assert caught.value.where == "customer.locale"
    with pytest.raises(ValidationError, match="unknown time zone"):
        Customer(id="c", timezone="Mars/Olympus")


def test_locale_is_normalized() -> None:
    assert Customer(id="c", locale="pl-PL").locale == "pl_PL"
    assert Customer(id="c", locale="bg").locale == "bg"


def test_personal_data_stays_out_of_reprs() -> None:
    customer = Customer(
        id="c-1",
        name="Anna Kowalska",
        phone="+48512345678",
        email="anna.kowalska@example.pl",
        messenger="2718281828459045",
    )
    text = repr(customer)
    for secret in ("Kowalska", "+48512345678", "anna.kowalska", "2718281828459045"):
        assert secret not in text
    assert "+48******678" in text
    message = Message(
        channel="sms", to="+48512345678", locale="pl", text="hi", send_at=at(), purpose="notice"
    )
    assert "+48512345678" not in repr(message)
    voucher = Compensation(kind="voucher", amount=Money(Decimal(5), "PLN"), code="ABCDE-FGHJK")
    assert "ABCDE" not in repr(voucher)


def test_compensation_amount_is_never_negative() -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        Compensation(kind="refund", amount=Money(Decimal(-1), "PLN"))


def test_severity_order_and_parsing() -> None:
    assert Severity.MINOR < Severity.MAJOR < Severity.CRITICAL
    assert Severity.parse("Major") is Severity.MAJOR
    assert str(Severity.CRITICAL) == "critical"
    with pytest.raises(ValidationError, match="expected minor, major or critical"):
        Severity.parse("catastrophic")
