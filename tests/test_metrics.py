"""Metrics from the ledger: first contact, speed, deliveries, cost, follow-ups, control groups."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxr import Customer, Recovery, Signal, SQLiteLedger
from pxr.channels import DeliveryStatus
from pxr.cli import main
from pxr.ledger import Ledger
from pxr.metrics import (
    MIN_GROUP,
    OutcomeRate,
    compute_metrics,
    delivered_first_contacts,
    deliveries,
    difference_interval,
)
from pxr.testing import RecordingNotifier

from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from


def late(subject: str, when: dt.datetime, customer: str = "c-anna", hours: float = 26) -> Signal:
    return Signal(
        customer=customer,
        subject=subject,
        metric="delivery_delay",
        value=hours,
        at=when,
        context={"order_total": "100.00"},
    )


def test_first_contact_rate_counts_who_reached_whom_first(ledger: Ledger) -> None:
    sms = RecordingNotifier("sms")
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA], notifiers={"sms": sms})
    recovery.observe(late("A", at(2, 10)))
    recovery.dispatch_pending(at(2, 10))
    recovery.complaint("c-anna", "A", at(2, 11))  # after our message went out: first
    recovery.complaint("c-anna", "B", at(2, 9))  # they wrote first...
    recovery.observe(late("B", at(2, 10, 30)))  # ...then we noticed
    recovery.observe(late("C", at(2, 10, 30)))  # no complaint at all: still first
    recovery.dispatch_pending(at(2, 10, 30))
    recovery.complaint("c-anna", "Z", at(2, 12))  # a problem monitoring never flagged
    metrics = compute_metrics(ledger)
    assert metrics.first_contact == (2, 3)
    assert metrics.first_contact_rate == pytest.approx(2 / 3)
    assert metrics.unflagged_complaints == 1
    assert metrics.to_dict()["first_contact"]["complaints_never_flagged"] == 1


def test_time_to_first_message_median_and_p90(ledger: Ledger) -> None:
    text = PARCEL.replace(
        'currency = "PLN"', 'currency = "PLN"\nquiet_hours = { start = "21:00", end = "08:00" }'
    )
    sms = RecordingNotifier("sms")
    recovery = Recovery(policy_from(text), ledger, customers=[ANNA], notifiers={"sms": sms})
    for i in range(9):
        recovery.observe(late(f"D{i}", at(2, 10)))  # told at once
    recovery.dispatch_pending(at(2, 10))
    recovery.observe(late("N", at(2, 23)))  # at night: told at 08:00, 9 hours later
    recovery.dispatch_pending(at(2, 23, 30))  # held by quiet hours: nothing goes out
    recovery.dispatch_pending(at(3, 8))
    median, p90 = compute_metrics(ledger).time_to_first_message()
    assert median == 0
    assert p90 == 0
    assert max(compute_metrics(ledger).seconds_to_first_message) == 9 * 3600


def test_deliveries_per_channel_with_failures_and_fallbacks(ledger: Ledger) -> None:
    # Anna's number is refused for good; Jan's fails once, then works.
    jan = attrs.evolve(ANNA, id="c-jan", phone="+48601234567", email="jan@example.pl")
    sms = RecordingNotifier("sms", [DeliveryStatus.PERMANENT, DeliveryStatus.TRANSIENT])
    email = RecordingNotifier("email")
    recovery = Recovery(
        policy_from(PARCEL), ledger, customers=[ANNA, jan], notifiers={"sms": sms, "email": email}
    )
    recovery.observe(late("A", at(2, 10)))
    recovery.observe(late("B", at(2, 12), "c-jan"))
    recovery.observe(late("C", at(2, 14), "c-jan"))
    for hour in range(3, 10):
        recovery.dispatch_pending(at(3, hour))
    channels = compute_metrics(ledger).channels
    assert channels["sms"].queued == 3
    assert channels["sms"].moved_on == 1
    assert channels["sms"].transient_failures == 1
    assert channels["sms"].sent == 2
    assert channels["sms"].segments == sum(m.segments or 0 for m in sms.sent[2:])
    assert channels["email"].sent == 1


def test_cost_per_currency_and_kind(ledger: Ledger) -> None:
    ivan = Customer(id="c-ivan", locale="bg", email="ivan@example.bg")
    # The PLN cap applies to the EUR order at the policy's rate (1 EUR = 4.25 PLN).
    text = PARCEL.replace('currency = "PLN"', 'currency = "PLN"\nrates = { EUR = "4.25" }')
    recovery = Recovery(policy_from(text), ledger, customers=[ANNA, ivan])
    recovery.observe(late("A", at(2)))
    recovery.observe(attrs.evolve(late("B", at(2), "c-ivan"), context={"order_total": "50.00 EUR"}))
    recovery.observe(late("C", at(2), hours=200))
    metrics = compute_metrics(ledger)
    assert metrics.cost_by_currency == {"PLN": Decimal("30.00"), "EUR": Decimal("5.00")}
    assert metrics.cost_by_kind[("voucher", "PLN")] == Decimal("20.00")
    assert metrics.compensations_by_kind[("refund", "PLN")] == 1


def test_follow_ups_done_vs_planned_and_on_time(ledger: Ledger) -> None:
    text = """
    [[thresholds]]
    name = "survey-low"
    metric = "survey_score"
    below = { major = 3 }
    compensation.major = { kind = "contact", within = "24h", team = "care" }
    """
    recovery = Recovery(policy_from(text), ledger, customers=[ANNA])
    for subject in ("S1", "S2", "S3"):
        recovery.observe(
            Signal(customer="c-anna", subject=subject, metric="survey_score", value=1, at=at(2))
        )
    recovery.contacted("c-anna", "S1", at(2, 16))  # 6 hours: on time
    recovery.contacted("c-anna", "S2", at(4, 10))  # 48 hours: late
    follow_ups = compute_metrics(ledger).follow_ups
    assert (follow_ups.planned, follow_ups.done, follow_ups.on_time) == (3, 2, 1)
    assert follow_ups.median_hours_to_contact == pytest.approx(27)


def test_newcombe_interval_matches_the_published_examples() -> None:
    """Newcombe (1998), method 10: 56/70 vs 48/80 and 9/10 vs 3/10."""
    low, high = difference_interval(OutcomeRate(70, 56), OutcomeRate(80, 48)) or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = difference_interval(OutcomeRate(10, 9), OutcomeRate(10, 3)) or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
    ),
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n))
    ),
)
def test_the_interval_holds_the_observed_difference(
    treated: tuple[int, int], control: tuple[int, int]
) -> None:
    t, c = OutcomeRate(*treated), OutcomeRate(*control)
    interval = difference_interval(t, c)
    assert interval is not None
    assert -1 - 1e-9 <= interval[0] <= t.rate - c.rate + 1e-9
    assert t.rate - c.rate - 1e-9 <= interval[1] <= 1 + 1e-9


def holdout_text(share: float) -> str:
    return PARCEL.replace('name = "parcel-late"', f'name = "parcel-late"\nholdout = {share}')


def test_control_group_comparison_and_its_verdict(ledger: Ledger) -> None:
    customers = [attrs.evolve(ANNA, id=f"c{i:03d}") for i in range(200)]
    recovery = Recovery(policy_from(holdout_text(0.3)), ledger, customers=customers)
    for customer in customers:
        recovery.observe(late(f"O-{customer.id}", at(2), customer.id))
    held = {s.customer for s in ledger.suppressions()}
    assert 40 < len(held) < 80
    for i, customer in enumerate(customers):
        # Compensated customers come back three times in four; held-out ones one in four.
        comes_back = i % 4 != 0 if customer.id not in held else i % 4 == 0
        recovery.outcome(customer.id, "repurchase" if comes_back else "churn", at(28))
    (churn, repurchase) = compute_metrics(ledger).comparisons
    assert repurchase.outcome == "repurchase"
    assert repurchase.treated.customers == 200 - len(held)
    assert repurchase.control.customers == len(held)
    assert repurchase.difference > 0.3
    assert repurchase.verdict == "more common among customers who got compensation"
    assert churn.verdict == "less common among customers who got compensation"


def test_small_groups_are_said_to_be_too_small(ledger: Ledger) -> None:
    customers = [attrs.evolve(ANNA, id=f"c{i:03d}") for i in range(20)]
    recovery = Recovery(policy_from(holdout_text(0.5)), ledger, customers=customers)
    for customer in customers:
        recovery.observe(late(f"O-{customer.id}", at(2), customer.id))
        recovery.outcome(customer.id, "repurchase", at(28))
    (comparison,) = compute_metrics(ledger).comparisons
    assert comparison.verdict.startswith("too few customers to conclude anything")
    assert str(MIN_GROUP) in comparison.verdict


def test_pxr_metrics_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "ledger.db")
    quarter = EXAMPLES / "quarter"
    assert (
        main(
            [
                "simulate",
                str(quarter / "policy.toml"),
                str(quarter / "events.jsonl"),
                "--store",
                store,
                "--json",
            ]
        )
        == 0
    )
    transports = tmp_path / "transports.toml"
    transports.write_text("".join(f'[{c}]\ntransport = "console"\n' for c in ("sms", "email")))
    dispatch = ["dispatch", "--store", store, "--transports", str(transports)]
    assert main([*dispatch, "--now", "2026-12-31T00:00:00+00:00", "--limit", "100000"]) == 0
    capsys.readouterr()
    assert main(["metrics", "--store", store]) == 0
    text = capsys.readouterr().out
    assert "We were first:" in text
    assert "Control group, parcel-late, repurchase" in text
    assert main(["metrics", "--store", store, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["first_contact"]["total"] > 100
    assert {c["outcome"] for c in data["control_groups"]} == {"churn", "repurchase"}
    assert main(["metrics", "--store", str(tmp_path / "nope.db")]) == 2


def test_replaying_the_quarter_keeps_the_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "ledger.db")
    quarter = EXAMPLES / "quarter"
    args = [
        "simulate",
        str(quarter / "policy.toml"),
        str(quarter / "events.jsonl"),
        "--store",
        store,
        "--json",
    ]
    main(args)
    ledger = SQLiteLedger(store)
    before = compute_metrics(ledger).to_dict()
    ledger.close()
    main(args)
    capsys.readouterr()
    ledger = SQLiteLedger(store)
    assert compute_metrics(ledger).to_dict() == before
    ledger.close()


def delivered_rate(ledger: Ledger) -> tuple[int, int]:
    contacts = delivered_first_contacts(
        list(ledger.breaches()),
        list(ledger.outbox()),
        ledger.attempts(),
        ledger.events("complaint"),
    )
    counted = [c for c in contacts if c.counted]
    return sum(c.we_were_first for c in counted), len(counted)


def test_delivered_first_contact_counts_from_the_providers_acceptance(ledger: Ledger) -> None:
    """A message planned before a complaint but sent after it was not first;
    a message never sent is no first contact at all."""
    recovery = Recovery(
        policy_from(PARCEL), ledger, customers=[ANNA], notifiers={"sms": RecordingNotifier("sms")}
    )
    recovery.observe(late("A", at(2, 10)))
    recovery.observe(late("B", at(2, 10)))
    recovery.complaint("c-anna", "A", at(2, 10, 15))  # before our dispatcher ran
    recovery.dispatch_pending(at(2, 10, 30))
    recovery.complaint("c-anna", "B", at(2, 11))  # after it
    recovery.observe(late("C", at(2, 12)))  # queued, never sent
    recovery.complaint("c-anna", "C", at(2, 13))
    assert compute_metrics(ledger).first_contact == (1, 3)  # by the provider's acceptance
    assert delivered_rate(ledger) == (1, 3)


def test_deliveries_count_messages_by_status_and_attempts_by_outcome(ledger: Ledger) -> None:
    sms = RecordingNotifier("sms", [DeliveryStatus.TRANSIENT, DeliveryStatus.PERMANENT])
    jan = attrs.evolve(ANNA, id="c-jan", phone="+48601234567", email="jan@example.pl")
    recovery = Recovery(
        policy_from(PARCEL),
        ledger,
        customers=[ANNA, jan],
        notifiers={"sms": sms, "email": RecordingNotifier("email")},
    )
    recovery.observe(late("A", at(2, 10)))
    recovery.dispatch_pending(at(2, 10))  # transient: waits for a retry
    recovery.observe(late("B", at(3, 10), "c-jan"))  # another number: not refused
    recovery.observe(late("C", at(5, 10)))  # not due yet
    found = deliveries(ledger.outbox(), ledger.attempts())
    assert found["sms"].failed == 1
    assert found["sms"].waiting == 3
    assert sum(d.messages for d in found.values()) == len(list(ledger.outbox()))
    recovery.dispatch_pending(at(3, 12))  # the retry is refused: on to e-mail
    found = deliveries(ledger.outbox(), ledger.attempts())
    assert (found["sms"].failed, found["sms"].refused) == (1, 1)
    assert found["email"].waiting == 1  # the refused message, moved on to e-mail
