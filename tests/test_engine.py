from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest

from pxr import Customer, Recovery, Severity, Signal, ValidationError
from pxr.engine import in_holdout
from pxr.ledger import Ledger
from pxr.model import (
    BreachEscalated,
    BreachOpened,
    BreachResolved,
    CompensationIssued,
    ComplaintRecorded,
    MessageQueued,
    Suppressed,
)
from pxr.testing import RecordingNotifier

from .conftest import ANNA, PARCEL, at

MakeRecovery = Callable[..., Recovery]


def late(
    hours: float, when: dt.datetime | None = None, subject: str = "PL-1", **context: object
) -> Signal:
    return Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=hours,
        at=when or at(),
        context={"order_total": "249.00", "currency": "PLN", **context},
    )


def kinds(actions: object) -> list[str]:
    return [a.action for a in actions]  # type: ignore[attr-defined]


def test_a_signal_below_every_threshold_does_nothing(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    assert recovery.observe(late(0.5)) == ()
    assert list(recovery.ledger.breaches()) == []


def test_an_unrouted_metric_does_nothing(make_recovery: MakeRecovery) -> None:
    signal = attrs.evolve(late(500), metric="temperature")
    assert make_recovery().observe(signal) == ()


def test_first_crossing_opens_compensates_and_queues_a_message(make_recovery: MakeRecovery) -> None:
    actions = make_recovery().observe(late(26))
    assert kinds(actions) == ["breach", "compensation", "message"]
    breach, compensation, message = actions
    assert isinstance(breach, BreachOpened)
    assert breach.severity is Severity.MAJOR
    assert breach.stage == "delivery"
    assert isinstance(compensation, CompensationIssued)
    assert compensation.compensation.kind == "refund"
    assert str(compensation.compensation.amount) == "24.90 PLN"
    assert isinstance(message, MessageQueued)
    assert message.message.channel == "sms"
    assert message.message.to == "+48512345678"


def test_repeat_at_same_or_lower_severity_does_nothing(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    recovery.observe(late(26))
    assert recovery.observe(late(30, at(3))) == []
    assert recovery.observe(late(2, at(4))) == []
    assert len(list(recovery.ledger.compensations())) == 1


def test_escalation_to_the_same_kind_pays_only_the_difference(make_recovery: MakeRecovery) -> None:
    text = PARCEL.replace(
        'compensation.minor = { kind = "apology" }',
        'compensation.minor = { kind = "refund", percent = 5 }',
    )
    recovery = make_recovery(text)
    recovery.observe(late(2))
    actions = recovery.observe(late(26, at(3)))
    assert kinds(actions) == ["escalation", "compensation", "message"]
    escalation, compensation, message = actions
    assert isinstance(escalation, BreachEscalated)
    assert escalation.previous is Severity.MINOR
    assert isinstance(compensation, CompensationIssued)
    assert str(compensation.compensation.amount) == "12.45 PLN"  # 24.90 - 12.45
    assert isinstance(message, MessageQueued)
    assert "Zwróciliśmy dodatkowo 12,45 zł" in message.message.text  # Polish; SMS plain spaces
    paid = recovery.ledger.load("c-anna", [("parcel-late", "PL-1")]).paid["parcel-late", "PL-1"]
    assert paid == {("PLN", False): Decimal("24.90")}


def test_escalation_to_another_kind_is_credited_with_what_was_paid(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery()
    recovery.observe(late(26))  # refund 24.90
    actions = recovery.observe(late(200, at(10)))  # voucher 20 % = 49.80
    (compensation,) = [a for a in actions if isinstance(a, CompensationIssued)]
    assert compensation.compensation.kind == "voucher"
    assert str(compensation.compensation.amount) == "24.90 PLN"
    assert compensation.compensation.code is not None


def test_resolved_breach_is_closed_once_and_the_customer_told(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    recovery.observe(late(26))
    actions = recovery.resolve("PL-1", at(4))
    assert kinds(actions) == ["resolved", "message"]
    assert isinstance(actions[0], BreachResolved)
    assert isinstance(actions[1], MessageQueued)
    assert actions[1].message.purpose == "resolution"
    assert recovery.resolve("PL-1", at(5)) == []
    # A later, worse signal for a resolved breach does not reopen it.
    assert recovery.observe(late(300, at(20))) == []


def test_complaint_knows_whether_we_were_first(make_recovery: MakeRecovery) -> None:
    """First means a provider accepted our message before the complaint: a
    message still waiting in the outbox is no first contact."""
    recovery = make_recovery()
    recovery.notifiers["sms"] = RecordingNotifier("sms")
    recovery.observe(late(26, at(2, 10), "PL-1"))
    recovery.observe(late(26, at(2, 10), "PL-3"))
    (queued_only,) = recovery.complaint("c-anna", "PL-3", at(2, 10, 5))
    assert isinstance(queued_only, ComplaintRecorded)
    assert not queued_only.we_were_first
    recovery.dispatch_pending(at(2, 10, 30))
    (first,) = recovery.complaint("c-anna", "PL-1", at(2, 11))
    assert isinstance(first, ComplaintRecorded)
    assert first.we_were_first
    (second,) = recovery.complaint("c-anna", "PL-2", at(2, 11))
    assert isinstance(second, ComplaintRecorded)
    assert not second.we_were_first
    assert recovery.complaint("c-anna", "PL-1", at(2, 11)) == ()


def test_no_survey_within_the_quiet_days_after_a_recovery(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    assert recovery.may_survey("c-anna", at(2))
    recovery.observe(late(26, at(2)))
    assert not recovery.may_survey("c-anna", at(15))
    assert recovery.may_survey("c-anna", at(16))


def test_quiet_hours_defer_the_message_instead_of_dropping_it(make_recovery: MakeRecovery) -> None:
    text = PARCEL.replace(
        'currency = "PLN"', 'currency = "PLN"\nquiet_hours = { start = "21:00", end = "08:00" }'
    )
    actions = make_recovery(text).observe(late(26, at(2, 22, 30)))
    (message,) = [a for a in actions if isinstance(a, MessageQueued)]
    assert message.message.send_at == at(3, 8, 0)


def test_over_the_daily_limit_a_message_is_deferred_not_dropped(
    make_recovery: MakeRecovery,
) -> None:
    """The customer was paid: they must be told, a day later if need be."""
    text = PARCEL.replace('currency = "PLN"', 'currency = "PLN"\nlimits = { messages_per_day = 2 }')
    recovery = make_recovery(text)
    recovery.observe(late(26, subject="A"))
    recovery.observe(late(26, subject="B"))
    actions = recovery.observe(late(26, subject="C"))
    assert not any(isinstance(a, Suppressed) for a in actions)
    (held,) = [a for a in actions if isinstance(a, MessageQueued)]
    assert held.deferred
    assert held.send_at == at(3)  # a day on, outside quiet hours
    assert held.to_dict()["deferred"] is True
    assert any(a.action == "compensation" for a in actions)


def test_compensation_budget_suppresses_with_a_reason(make_recovery: MakeRecovery) -> None:
    text = PARCEL.replace(
        'currency = "PLN"', 'currency = "PLN"\nlimits = { compensation_per_30_days = "40.00" }'
    )
    recovery = make_recovery(text)
    recovery.observe(late(26, subject="A"))  # 24.90
    actions = recovery.observe(late(26, subject="B"))  # would reach 49.80
    (suppressed,) = [a for a in actions if isinstance(a, Suppressed)]
    assert suppressed.what == "compensation"
    assert suppressed.reason.startswith("budget: 40.00 PLN per 30 days")
    assert any(isinstance(a, MessageQueued) for a in actions)  # still an apology


def test_unreachable_customer_is_suppressed_not_dropped(make_recovery: MakeRecovery) -> None:
    silent = Customer(
        id="c-anna", locale="pl", opt_out=frozenset({"sms", "email"}), phone="+48512345678"
    )
    actions = make_recovery(PARCEL, silent).observe(late(26))
    (suppressed,) = [a for a in actions if isinstance(a, Suppressed)]
    assert "sms: opted out" in suppressed.reason
    assert "email: opted out" in suppressed.reason


def test_landline_falls_back_to_the_next_channel(make_recovery: MakeRecovery) -> None:
    landline = attrs.evolve(ANNA, phone="+48123456789")
    actions = make_recovery(PARCEL, landline).observe(late(26))
    (message,) = [a for a in actions if isinstance(a, MessageQueued)]
    assert message.message.channel == "email"


def test_unknown_customer_is_a_clear_error(make_recovery: MakeRecovery) -> None:
    signal = attrs.evolve(late(26), customer="nobody")
    with pytest.raises(ValidationError, match="unknown customer"):
        make_recovery().observe(signal)


def test_a_failing_compensation_leaves_nothing_half_recorded(
    make_recovery: MakeRecovery, ledger: Ledger
) -> None:
    recovery = make_recovery()
    signal = Signal(customer="c-anna", subject="X", metric="delivery_delay", value=26, at=at())
    with pytest.raises(ValidationError, match="order_total"):
        recovery.observe(signal)  # no order_total in the context: the refund cannot be computed
    assert list(ledger.breaches()) == []
    assert list(ledger.outbox()) == []


def test_observe_many_rolls_back_only_the_bad_signal(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    bad = Signal(customer="c-anna", subject="X", metric="delivery_delay", value=26, at=at())
    failures: list[str] = []
    actions = recovery.observe_many(
        [late(26, subject="A"), bad, late(26, subject="B")],
        batch_size=2,
        on_error=lambda signal, error: failures.append(signal.subject),
    )
    assert failures == ["X"]
    assert sorted(b.subject for b in recovery.ledger.breaches()) == ["A", "B"]
    assert kinds(actions).count("breach") == 2


def test_observe_many_without_on_error_rolls_back_the_whole_batch(
    make_recovery: MakeRecovery, ledger: Ledger
) -> None:
    """Without ``on_error`` there is no savepoint per signal: the failing
    signal's batch goes as a whole, earlier batches stay, and replaying the
    corrected stream finishes the job without doubling anything."""
    recovery = make_recovery()
    bad = Signal(customer="c-anna", subject="X", metric="delivery_delay", value=26, at=at())
    stream = [late(26, subject="A"), late(26, subject="B"), late(26, subject="C"), bad]
    with pytest.raises(ValidationError, match="order_total"):
        recovery.observe_many(stream, batch_size=2)
    assert sorted(b.subject for b in ledger.breaches()) == ["A", "B"]
    assert len(list(ledger.outbox())) == 2
    actions = recovery.observe_many([*stream[:3], late(26, subject="X")], batch_size=2)
    assert sorted(a.subject for a in actions if a.action == "breach") == ["C", "X"]
    assert len(list(ledger.compensations())) == 4


HOLDOUT = PARCEL.replace('name = "parcel-late"', 'name = "parcel-late"\nholdout = 0.5')


def test_holdout_customers_get_the_apology_without_compensation(
    make_recovery: MakeRecovery,
) -> None:
    ids = [f"c-{i}" for i in range(40)]
    held = [i for i in ids if in_holdout(i, "parcel-late", 0.5)]
    assert 5 < len(held) < 35  # roughly half, deterministically
    customer = attrs.evolve(ANNA, id=held[0])
    recovery = make_recovery(HOLDOUT, customer)
    actions = recovery.observe(attrs.evolve(late(26), customer=held[0]))
    assert kinds(actions) == ["breach", "suppressed", "message"]
    assert isinstance(actions[0], BreachOpened)
    assert actions[0].holdout


def test_holdout_assignment_is_stable() -> None:
    assert [in_holdout(f"c{i}", "t", 0.1) for i in range(100)] == [
        in_holdout(f"c{i}", "t", 0.1) for i in range(100)
    ]
    assert not in_holdout("c1", "t", 0)


def test_statutory_compensation_ignores_the_budget(make_recovery: MakeRecovery) -> None:
    text = """
    [recovery]
    currency = "EUR"
    limits = { compensation_per_30_days = "10.00" }
    [[thresholds]]
    name = "flight-late"
    metric = "arrival_delay"
    unit = "minutes"
    above = { major = 180 }
    compensation.major = { kind = "eu261" }
    """
    signal = Signal(
        customer="c-anna",
        subject="LO-1",
        metric="arrival_delay",
        value=200,
        at=at(),
        context={"distance_km": 1200, "intra_eu": True},
    )
    actions = make_recovery(text).observe(signal)
    (compensation,) = [a for a in actions if isinstance(a, CompensationIssued)]
    assert str(compensation.compensation.amount) == "250.00 EUR"
    assert compensation.compensation.statutory


SURVEY = """
[[thresholds]]
name = "survey-low"
metric = "survey_score"
below = { major = 3 }
compensation.major = { kind = "contact", within = "24h", team = "care" }
"""


@pytest.mark.parametrize(
    ("extra", "comment", "priority"),
    [
        ("", "The courier was rude.", 1),  # a low score with a comment: priority 1
        ("", None, 2),  # without one: priority 2
        ("", "   ", 2),
        (", priority = 3", "Anything", 3),
        (", priority = { with_comment = 2, without_comment = 4 }", None, 4),
    ],
)
def test_survey_follow_up_priority(
    make_recovery: MakeRecovery, extra: str, comment: str | None, priority: int
) -> None:
    text = SURVEY.replace('team = "care" }', f'team = "care"{extra} }}')
    context = {"comment": comment} if comment is not None else {}
    signal = Signal(
        customer="c-anna", subject="S", metric="survey_score", value=2, at=at(), context=context
    )
    (task,) = [a for a in make_recovery(text).observe(signal) if isinstance(a, CompensationIssued)]
    assert task.compensation.priority == priority
    assert task.compensation.team == "care"
    assert task.compensation.due_at == at() + dt.timedelta(hours=24)


def test_a_held_out_customer_at_an_apology_only_tier_is_not_counted_as_withheld(
    make_recovery: MakeRecovery,
) -> None:
    held = next(f"c-{i}" for i in range(100) if in_holdout(f"c-{i}", "parcel-late", 0.5))
    customer = attrs.evolve(ANNA, id=held)
    recovery = make_recovery(HOLDOUT, customer)
    minor = recovery.observe(attrs.evolve(late(2), customer=held))  # apology tier
    assert [a.action for a in minor] == ["breach", "compensation", "message"]
    assert recovery.ledger.suppressions() == []
    major = recovery.observe(attrs.evolve(late(26, at(3)), customer=held))  # refund tier
    assert [a.action for a in major] == ["escalation", "suppressed", "message"]
