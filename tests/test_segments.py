"""Customer value: a segment chooses the gesture, within the policy's caps."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest

from pxr import Customer, Money, Recovery, Signal, ValidationError
from pxr.events import CustomerEvent, parse_event
from pxr.model import CompensationIssued

from .conftest import ANNA, PARCEL, at, policy_from

MakeRecovery = Callable[..., Recovery]

SEGMENTS = PARCEL.replace(
    'compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }',
    'compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00",'
    ' segments = { gold = { percent = 20 }, platinum = { percent = 40, max = "80.00" } } }',
)


def refund_for(recovery: Recovery, total: str = "249.00") -> str:
    signal = Signal(
        customer="c-anna",
        subject="PL-1",
        metric="delivery_delay",
        value=26,
        at=at(),
        context={"order_total": total, "currency": "PLN"},
    )
    (issued,) = [a for a in recovery.observe(signal) if isinstance(a, CompensationIssued)]
    return str(issued.compensation.amount)


def test_a_customer_without_a_segment_gets_the_base(make_recovery: MakeRecovery) -> None:
    assert refund_for(make_recovery(SEGMENTS)) == "24.90 PLN"


def test_a_gold_customer_gets_the_gold_percent(make_recovery: MakeRecovery) -> None:
    gold = attrs.evolve(ANNA, segment="gold")
    assert refund_for(make_recovery(SEGMENTS, gold)) == "49.80 PLN"


def test_a_segment_keeps_the_base_cap(make_recovery: MakeRecovery) -> None:
    """20 % of 400.00 is 80.00, but gold did not override ``max = "50.00"``."""
    gold = attrs.evolve(ANNA, segment="gold")
    assert refund_for(make_recovery(SEGMENTS, gold), "400.00") == "50.00 PLN"


def test_a_segment_may_set_its_own_cap(make_recovery: MakeRecovery) -> None:
    platinum = attrs.evolve(ANNA, segment="platinum")
    assert refund_for(make_recovery(SEGMENTS, platinum), "400.00") == "80.00 PLN"


def test_an_unknown_segment_gets_the_base(make_recovery: MakeRecovery) -> None:
    bronze = attrs.evolve(ANNA, segment="bronze")
    assert refund_for(make_recovery(SEGMENTS, bronze)) == "24.90 PLN"


def test_a_segment_cannot_change_the_kind() -> None:
    text = SEGMENTS.replace("gold = { percent = 20 }", 'gold = { kind = "voucher" }')
    with pytest.raises(ValidationError, match=r"segments\.gold\.kind"):
        policy_from(text)


def test_a_segments_bad_key_names_the_segment() -> None:
    text = SEGMENTS.replace("gold = { percent = 20 }", 'gold = { percent = "lots" }')
    with pytest.raises(ValidationError, match=r"segments\.gold"):
        policy_from(text)


def test_a_segments_cap_must_convert_to_the_policy_currency() -> None:
    from pxr.policy import check_amounts  # noqa: PLC0415

    text = SEGMENTS.replace('max = "80.00"', 'max = "80.00 USD"')
    with pytest.raises(ValidationError, match=r"segments\.platinum\.max"):
        check_amounts(policy_from(text))


def test_an_events_file_gives_segment_and_lifetime_value() -> None:
    event = parse_event(
        {"type": "customer", "id": "c", "segment": "gold", "lifetime_value": "1200.00 PLN"}
    )
    assert isinstance(event, CustomerEvent)
    assert event.customer.segment == "gold"
    assert event.customer.lifetime_value == Money(Decimal("1200.00"), "PLN")


@pytest.mark.parametrize("value", ["1200.00", {"amount": "1200"}, 1200])
def test_a_lifetime_value_needs_a_currency(value: object) -> None:
    with pytest.raises(ValidationError, match=r"customer\.lifetime_value"):
        Customer(id="c", lifetime_value=value)


def test_the_lifetime_value_stays_out_of_the_repr() -> None:
    customer = Customer(id="c", lifetime_value="98765.43 PLN")
    assert "98765" not in repr(customer)
