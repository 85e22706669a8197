"""Properties of the whole engine over generated event streams, on every ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxr import MemoryLedger, Recovery, Severity, Signal, SQLiteLedger
from pxr.ledger import Ledger
from pxr.money import round_to_minor_units

from .conftest import ANNA, PARCEL, at, policy_from

ESCALATING = PARCEL.replace(
    'compensation.minor = { kind = "apology" }',
    'compensation.minor = { kind = "refund", percent = 5 }',
)
SUBJECTS = ["A", "B", "C"]

#: An order's total does not change between signals about it.
TOTALS = {"A": Decimal("1.03"), "B": Decimal("249.00"), "C": Decimal("4999.99")}

signals = st.builds(
    lambda subject, hours, day, hour: Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=hours,
        at=at(day, hour),
        context={"order_total": str(TOTALS[subject]), "currency": "PLN"},
    ),
    st.sampled_from(SUBJECTS),
    st.floats(min_value=0, max_value=400, allow_nan=False),
    st.integers(min_value=1, max_value=28),
    st.integers(min_value=0, max_value=23),
)
resolutions = st.tuples(st.sampled_from(SUBJECTS), st.integers(min_value=1, max_value=28))
events = st.lists(st.one_of(signals, resolutions), max_size=25)


#: ``fresh(name)``: an empty ledger; the same name empties the same one again.
Fresh = Callable[[str], Ledger]


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest) -> Iterator[Fresh]:
    """Empty ledgers of each kind in turn, cheap enough for every example."""
    opened: dict[str, Ledger] = {}
    if request.param == "postgres":
        from pxr.ledger.postgres import PostgresLedger  # noqa: PLC0415

        from . import pg  # noqa: PLC0415

        base = request.getfixturevalue("postgres_url")

        def make(name: str) -> Ledger:
            if name not in opened:
                opened[name] = PostgresLedger(pg.schema_url(base, f"properties_{name}"))
            ledger = opened[name]
            assert isinstance(ledger, PostgresLedger)
            ledger.clear()
            return ledger

    else:

        def make(name: str) -> Ledger:
            if name in opened:
                opened.pop(name).close()
            ledger = opened[name] = (
                MemoryLedger() if request.param == "memory" else SQLiteLedger(":memory:")
            )
            return ledger

    yield make
    for ledger in opened.values():
        ledger.close()


def run(recovery: Recovery, stream: list[Any]) -> None:
    for event in stream:
        if isinstance(event, Signal):
            recovery.observe(event)
        else:
            subject, day = event
            recovery.resolve(subject, at(day, 12))


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Everything the ledger holds, without the random voucher codes."""
    compensations = [
        (r.threshold, r.subject, r.severity, r.compensation.kind, r.compensation.amount)
        for r in ledger.compensations()
    ]
    outbox = [(e.key, e.send_at) for e in ledger.outbox()]
    return (list(ledger.breaches()), compensations, outbox, list(ledger.suppressions()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.integers(min_value=0, max_value=25))
def test_replaying_any_prefix_twice_leaves_the_ledger_as_replaying_it_once(
    fresh: Fresh, stream: list[Any], cut: int
) -> None:
    policy = policy_from(ESCALATING)
    once, twice = fresh("once"), fresh("twice")
    run(Recovery(policy, once, customers=[ANNA]), stream[:cut])
    replayed = Recovery(policy, twice, customers=[ANNA])
    run(replayed, stream[:cut])
    run(replayed, stream[:cut])
    assert snapshot(once) == snapshot(twice)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_a_breach_never_pays_more_than_its_highest_tier(fresh: Fresh, stream: list[Any]) -> None:
    policy = policy_from(ESCALATING)
    recovery = Recovery(policy, fresh("ledger"), customers=[ANNA])
    run(recovery, stream)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for record in recovery.ledger.compensations():
        assert record.compensation.amount is not None
        paid[record.subject] += record.compensation.amount.amount
    worth = {
        Severity.MINOR: lambda t: round_to_minor_units(t * Decimal("0.05"), "PLN"),
        Severity.MAJOR: lambda t: min(
            round_to_minor_units(t * Decimal("0.10"), "PLN"), Decimal(50)
        ),
        Severity.CRITICAL: lambda t: round_to_minor_units(t * Decimal("0.20"), "PLN"),
    }
    for breach in recovery.ledger.breaches():
        highest = max(worth[s](TOTALS[breach.subject]) for s in Severity if s <= breach.severity)
        assert paid[breach.subject] <= highest


@settings(max_examples=100, deadline=None)
@given(events)
def test_amounts_are_never_negative_and_always_in_minor_units(
    fresh: Fresh, stream: list[Any]
) -> None:
    recovery = Recovery(policy_from(ESCALATING), fresh("ledger"), customers=[ANNA])
    run(recovery, stream)
    for record in recovery.ledger.compensations():
        amount = record.compensation.amount
        assert amount is not None
        assert amount.amount > 0
        assert amount.amount == round_to_minor_units(amount.amount, amount.currency)
        assert amount.amount.as_tuple().exponent == -2


def test_time_does_not_matter_for_identity() -> None:
    """Two signals for one subject at different times are one breach."""
    recovery = Recovery(policy_from(PARCEL), MemoryLedger(), customers=[ANNA])
    for day in (2, 3):
        recovery.observe(
            Signal(
                customer="c-anna",
                subject="A",
                metric="delivery_delay",
                value=dt.timedelta(hours=30),
                at=at(day),
                context={"order_total": "10.00"},
            )
        )
    assert len(list(recovery.ledger.breaches())) == 1
