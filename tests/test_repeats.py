"""Repeat failures: the third late parcel in 90 days is not the first."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pxr import Recovery, Severity, Signal, SQLiteLedger, ValidationError
from pxr.decide import decide
from pxr.ledger import BreachChange, Snapshot
from pxr.plugins import get_plugins

from .conftest import ANNA, PARCEL, at, policy_from

MakeRecovery = Callable[..., Recovery]
CHANNELS = get_plugins().registry.channels

REPEAT = PARCEL.replace(
    'metric = "delivery_delay"',
    'metric = "delivery_delay"\nrepeat = { count = 3, within_days = 90, severity = "critical" }',
)


def late(subject: str, hours: float, when: dt.datetime, *, forecast: bool = False) -> Signal:
    return Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=hours,
        at=when,
        context={"order_total": "249.00", "currency": "PLN"},
        forecast=forecast,
    )


def severity_of(recovery: Recovery, subject: str) -> Severity:
    (breach,) = [b for b in recovery.ledger.breaches() if b.subject == subject]
    return breach.severity


def test_the_third_breach_in_the_window_takes_the_repeat_severity(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(REPEAT)
    recovery.observe(late("PL-1", 2, at(1)))
    recovery.observe(late("PL-2", 2, at(10)))
    actions = recovery.observe(late("PL-3", 2, at(20)))
    assert [severity_of(recovery, s) for s in ("PL-1", "PL-2", "PL-3")] == [
        Severity.MINOR,
        Severity.MINOR,
        Severity.CRITICAL,
    ]
    kinds = [(a.action, getattr(a, "compensation", None)) for a in actions]
    assert [k for k, _ in kinds] == ["breach", "compensation", "message"]
    (voucher,) = [c for _, c in kinds if c is not None]
    assert voucher.kind == "voucher"  # the critical tier's gesture, not an apology


def test_breaches_outside_the_window_do_not_count(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(REPEAT)
    start = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    recovery.observe(late("PL-1", 2, start))
    recovery.observe(late("PL-2", 2, start + dt.timedelta(days=60)))
    recovery.observe(late("PL-3", 2, start + dt.timedelta(days=91)))
    assert severity_of(recovery, "PL-3") is Severity.MINOR


def test_a_forecast_that_never_came_true_is_not_a_failure(make_recovery: MakeRecovery) -> None:
    text = REPEAT.replace('metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = true')
    recovery = make_recovery(text)
    recovery.observe(late("PL-1", 2, at(1)))
    recovery.observe(late("PL-2", 30, at(5), forecast=True))
    recovery.resolve("PL-2", at(6))
    recovery.observe(late("PL-3", 2, at(10)))
    assert severity_of(recovery, "PL-3") is Severity.MINOR


def test_a_confirmed_forecast_counts_and_can_be_raised(make_recovery: MakeRecovery) -> None:
    text = REPEAT.replace('metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = true')
    recovery = make_recovery(text)
    recovery.observe(late("PL-1", 2, at(1)))
    recovery.observe(late("PL-2", 2, at(5)))
    recovery.observe(late("PL-3", 2, at(9), forecast=True))
    assert severity_of(recovery, "PL-3") is Severity.MINOR  # a forecast is not raised
    recovery.observe(late("PL-3", 2, at(10)))
    assert severity_of(recovery, "PL-3") is Severity.CRITICAL


def test_a_higher_actual_severity_is_kept(make_recovery: MakeRecovery) -> None:
    text = REPEAT.replace('severity = "critical" }', 'severity = "major" }')
    recovery = make_recovery(text)
    recovery.observe(late("PL-1", 2, at(1)))
    recovery.observe(late("PL-2", 2, at(5)))
    recovery.observe(late("PL-3", 200, at(10)))
    assert severity_of(recovery, "PL-3") is Severity.CRITICAL


def test_other_customers_breaches_do_not_count(make_recovery: MakeRecovery) -> None:
    from pxr import Customer  # noqa: PLC0415

    bea = Customer(id="c-bea", locale="pl", phone="+48512000000")
    recovery = make_recovery(REPEAT, ANNA, bea)
    recovery.observe(late("PL-1", 2, at(1)))
    recovery.observe(late("PL-2", 2, at(5)))
    other = Signal(customer="c-bea", subject="PL-9", metric="delivery_delay", value=2, at=at(10))
    recovery.observe(other)
    assert severity_of(recovery, "PL-9") is Severity.MINOR


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('{ count = 1, within_days = 90, severity = "critical" }', "count"),
        ('{ count = 3, within_days = 0, severity = "critical" }', "within_days"),
        ('{ count = 3, within_days = 90, severity = "dire" }', "severity"),
        ("{ count = 3, within_days = 90 }", "severity"),
        ('{ count = 3, within_days = 90, severity = "major", when = 1 }', ""),
    ],
)
def test_a_bad_repeat_table_names_its_key(table: str, key: str) -> None:
    text = PARCEL.replace(
        'metric = "delivery_delay"', f'metric = "delivery_delay"\nrepeat = {table}'
    )
    where = r"thresholds\[0\]\.repeat" + (rf"\.{key}" if key else "")
    with pytest.raises(ValidationError, match=where):
        policy_from(text)


def test_concurrent_breaches_raise_exactly_one_to_the_repeat_severity(tmp_path: Path) -> None:
    """One breach already, and two new ones at once from two threads: the
    count is read under the customer's lock, so exactly one is third."""
    path = tmp_path / "l.db"
    setup = Recovery(policy_from(REPEAT), SQLiteLedger(path), customers=(ANNA,))
    setup.observe(late("PL-1", 2, at(1)))
    setup.ledger.close()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(subject: str) -> None:
        recovery = Recovery(policy_from(REPEAT), SQLiteLedger(path), customers=(ANNA,))
        try:
            barrier.wait()
            recovery.observe(late(subject, 2, at(3)))
        except Exception as error:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(error)
        finally:
            recovery.ledger.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in ("PL-3", "PL-4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = SQLiteLedger(path)
    severities = sorted(b.severity for b in check.breaches() if b.subject in {"PL-3", "PL-4"})
    check.close()
    assert severities == [Severity.MINOR, Severity.CRITICAL]


def test_the_decision_says_which_count_it_relied_on() -> None:
    """The pure step: two breaches in the snapshot make the third critical, and
    the decision carries the window and the count for the ledger to check."""
    policy = policy_from(REPEAT)
    (rule,) = policy.rules
    signal = late("PL-3", 2, at(20))
    snapshot = Snapshot(repeats={"parcel-late": 2})
    decision = decide(
        [(rule, Severity.MINOR)], signal, ANNA, snapshot, policy=policy, channels=CHANNELS
    )
    change = decision.items[0]
    assert isinstance(change, BreachChange)
    assert change.breach.severity is Severity.CRITICAL
    assert decision.repeats == {"parcel-late": 2}
    assert decision.repeats_since == {"parcel-late": at(20) - dt.timedelta(days=90)}


def test_one_breach_short_of_the_count_keeps_its_severity() -> None:
    policy = policy_from(REPEAT)
    (rule,) = policy.rules
    decision = decide(
        [(rule, Severity.MINOR)],
        late("PL-2", 2, at(20)),
        ANNA,
        Snapshot(repeats={"parcel-late": 1}),
        policy=policy,
        channels=CHANNELS,
    )
    change = decision.items[0]
    assert isinstance(change, BreachChange)
    assert change.breach.severity is Severity.MINOR
