"""Forecasts: a heads-up before a threshold is crossed, and no second first word."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxr import Recovery, Severity, Signal, SQLiteLedger, ValidationError
from pxr.events import SignalEvent, parse_event, read_events
from pxr.journey import journey
from pxr.metrics import compute_metrics
from pxr.model import BreachOpened, CompensationIssued, ForecastConfirmed, MessageQueued

from .conftest import ANNA, PARCEL, at, policy_from

MakeRecovery = Callable[..., Recovery]

FORECASTS = PARCEL.replace(
    'metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = true'
)
ALL_CLEAR = PARCEL.replace(
    'metric = "delivery_delay"',
    'metric = "delivery_delay"\nforecast = { notice = true, all_clear = true }',
)
QUIET = PARCEL.replace(
    'metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = { notice = false }'
)


def late(hours: float, when: dt.datetime, *, forecast: bool = False) -> Signal:
    return Signal(
        customer="c-anna",
        subject="PL-1",
        metric="delivery_delay",
        value=hours,
        at=when,
        context={"order_total": "249.00", "currency": "PLN"},
        forecast=forecast,
    )


def kinds(actions: object) -> list[str]:
    return [a.action for a in actions]  # type: ignore[attr-defined]


def messages(recovery: Recovery) -> list[str]:
    return [entry.purpose for entry in recovery.ledger.outbox()]


def test_a_threshold_without_forecast_ignores_forecasts(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery()
    assert recovery.observe(late(30, at(2), forecast=True)) == ()
    assert list(recovery.ledger.breaches()) == []


def test_a_forecast_crossing_sends_a_heads_up_without_compensation(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(FORECASTS)
    actions = recovery.observe(late(30, at(2), forecast=True))
    assert kinds(actions) == ["breach", "message"]
    opened, message = actions
    assert isinstance(opened, BreachOpened)
    assert opened.forecast is True
    assert opened.severity is Severity.MAJOR
    assert isinstance(message, MessageQueued)
    assert message.content.purpose == "forecast"
    assert message.content.compensations == ()
    assert list(recovery.ledger.compensations()) == []
    (breach,) = recovery.ledger.breaches()
    assert breach.forecast is True
    assert breach.confirmed_at is None


def test_the_heads_up_speaks_of_a_probable_delay(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS.replace('stage = "delivery"', 'topic = "delivery"'))
    (_, message) = recovery.observe(late(30, at(2), forecast=True))
    assert isinstance(message, MessageQueued)
    text = message.message.text
    assert text.startswith("Paczka PL-1 prawdopodobnie się spóźni – szacujemy: 1 dzień i 6 godzin.")
    assert "Przepraszamy" not in text


def test_the_actual_crossing_compensates_without_a_second_notice(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    actions = recovery.observe(late(26, at(3)))
    assert kinds(actions) == ["confirmed", "compensation", "message"]
    confirmed, compensation, message = actions
    assert isinstance(confirmed, ForecastConfirmed)
    assert confirmed.previous is Severity.MAJOR
    assert confirmed.severity is Severity.MAJOR
    assert confirmed.lead_time == dt.timedelta(days=1)
    assert isinstance(compensation, CompensationIssued)
    assert str(compensation.compensation.amount) == "24.90 PLN"
    assert isinstance(message, MessageQueued)
    assert message.content.purpose == "confirmation"  # an update with the refund
    assert messages(recovery) == ["forecast", "confirmation"]
    assert "notice" not in messages(recovery)


def test_the_update_after_a_heads_up_pays_in_full_not_a_top_up(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    message = recovery.observe(late(26, at(3)))[-1]
    assert isinstance(message, MessageQueued)
    assert "Zwróciliśmy 24,90 zł." in message.message.text
    assert "dodatkowo" not in message.message.text


def test_compensation_follows_the_actual_severity(make_recovery: MakeRecovery) -> None:
    """A forecast of a week late that turns out two hours late gets the apology tier."""
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(200, at(2), forecast=True))
    actions = recovery.observe(late(2, at(3)))
    assert kinds(actions) == ["confirmed", "compensation"]  # told already; an apology adds nothing
    (breach,) = recovery.ledger.breaches()
    assert breach.severity is Severity.MINOR
    assert [r.compensation.kind for r in recovery.ledger.compensations()] == ["apology"]
    assert messages(recovery) == ["forecast"]


def test_a_confirmed_breach_escalates_as_usual(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    recovery.observe(late(26, at(3)))
    actions = recovery.observe(late(200, at(10)))
    assert kinds(actions) == ["escalation", "compensation", "message"]
    assert messages(recovery) == ["forecast", "confirmation", "escalation"]


def test_the_lead_time_is_kept_on_the_breach(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2, 10), forecast=True))
    recovery.observe(late(26, at(2, 16)))
    (breach,) = recovery.ledger.breaches()
    assert breach.forecast is False
    assert breach.confirmed_at == at(2, 16)
    assert breach.lead_time == dt.timedelta(hours=6)


def test_replaying_the_actual_signal_does_nothing(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    recovery.observe(late(26, at(3)))
    assert recovery.observe(late(26, at(3))) == []
    assert recovery.observe(late(30, at(2), forecast=True)) == []
    assert messages(recovery) == ["forecast", "confirmation"]


def test_a_later_forecast_after_the_actual_crossing_is_ignored(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(26, at(2)))
    assert recovery.observe(late(200, at(3), forecast=True)) == []
    assert messages(recovery) == ["notice"]


def test_without_a_heads_up_the_actual_crossing_is_the_notice(
    make_recovery: MakeRecovery,
) -> None:
    """``notice = false`` records the forecast (for the lead time) but says nothing."""
    recovery = make_recovery(QUIET)
    assert kinds(recovery.observe(late(30, at(2), forecast=True))) == ["breach"]
    actions = recovery.observe(late(2, at(3)))
    assert kinds(actions) == ["confirmed", "compensation", "message"]
    assert messages(recovery) == ["notice"]


def test_a_forecast_that_did_not_come_true_gets_an_all_clear(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(ALL_CLEAR)
    recovery.observe(late(30, at(2), forecast=True))
    actions = recovery.resolve("PL-1", at(3))
    assert kinds(actions) == ["resolved", "message"]
    message = actions[1]
    assert isinstance(message, MessageQueued)
    assert message.content.purpose == "all_clear"
    assert message.message.text == "Dobra wiadomość: w sprawie PL-1 jednak wszystko w porządku."
    assert messages(recovery) == ["forecast", "all_clear"]


def test_without_all_clear_a_forecast_that_did_not_come_true_ends_quietly(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    assert kinds(recovery.resolve("PL-1", at(3))) == ["resolved"]
    assert messages(recovery) == ["forecast"]


def test_a_confirmed_forecast_is_resolved_with_the_usual_good_news(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(ALL_CLEAR)
    recovery.observe(late(30, at(2), forecast=True))
    recovery.observe(late(26, at(3)))
    recovery.resolve("PL-1", at(4))
    assert messages(recovery) == ["forecast", "confirmation", "resolution"]


def test_forecast_policy_syntax_is_checked() -> None:
    bad = PARCEL.replace(
        'metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = { loud = true }'
    )
    with pytest.raises(ValidationError, match=r"thresholds\[0\]\.forecast"):
        policy_from(bad)
    worse = PARCEL.replace('metric = "delivery_delay"', 'metric = "delivery_delay"\nforecast = 1')
    with pytest.raises(ValidationError, match=r"thresholds\[0\]\.forecast"):
        policy_from(worse)


def test_forecast_true_means_a_notice_and_no_all_clear() -> None:
    (rule,) = policy_from(FORECASTS).rules
    assert rule.forecast is not None
    assert (rule.forecast.notice, rule.forecast.all_clear) == (True, False)


def test_an_events_file_marks_a_forecast_with_its_confidence() -> None:
    event = parse_event(
        {
            "type": "signal",
            "customer": "c",
            "subject": "PL-1",
            "metric": "delivery_delay",
            "value": 30,
            "at": "2026-03-02T10:00:00+01:00",
            "forecast": True,
            "confidence": 0.8,
        }
    )
    assert isinstance(event, SignalEvent)
    assert event.signal.forecast is True
    assert event.signal.confidence == 0.8


def test_a_confidence_read_as_a_decimal_is_a_float(tmp_path: Path) -> None:
    """The events file reads numbers as Decimal; a confidence is a plain share."""
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"type": "signal", "customer": "c", "subject": "PL-1", "metric": "delivery_delay",'
        ' "value": 30, "at": "2026-03-02T10:00:00+01:00", "forecast": true, "confidence": 0.8}\n'
    )
    ((_, event),) = read_events(path)
    assert isinstance(event, SignalEvent)
    assert event.signal.confidence == 0.8


@pytest.mark.parametrize(
    ("key", "value"), [("forecast", "yes"), ("confidence", 1.5), ("confidence", True)]
)
def test_a_bad_forecast_field_names_its_key(key: str, value: object) -> None:
    data = {
        "type": "signal",
        "customer": "c",
        "subject": "PL-1",
        "metric": "delivery_delay",
        "value": 30,
        "at": "2026-03-02T10:00:00+01:00",
        key: value,
    }
    with pytest.raises(ValidationError, match=rf"signal\.{key}"):
        parse_event(data)


def test_a_forecast_not_come_true_is_no_breach_in_the_metrics(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    assert compute_metrics(recovery.ledger).breaches == {}
    recovery.observe(late(26, at(3)))
    assert compute_metrics(recovery.ledger).breaches == {("delivery", "parcel-late", "major"): 1}


def test_a_forecast_not_come_true_is_no_breach_in_the_journey(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(FORECASTS)
    recovery.observe(late(30, at(2), forecast=True))
    (row,) = journey(recovery.policy, recovery.ledger)
    assert row.breaches == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=200), st.booleans()), min_size=1, max_size=8
    )
)
def test_a_subject_gets_at_most_one_first_word_whatever_the_order(
    stream: list[tuple[int, bool]],
) -> None:
    """Forecasts and actual values in any order: one heads-up or one notice, never
    both, and replaying the stream queues nothing more."""
    recovery = Recovery(policy_from(ALL_CLEAR), customers=(ANNA,))
    signals = [
        late(hours, at(2) + dt.timedelta(hours=n), forecast=forecast)
        for n, (hours, forecast) in enumerate(stream)
    ]
    for signal in signals:
        recovery.observe(signal)
    first = [p for p in messages(recovery) if p in {"notice", "forecast"}]
    assert len(first) <= 1
    queued = len(messages(recovery))
    for signal in signals:
        recovery.observe(signal)
    assert len(messages(recovery)) == queued


def test_a_ledger_from_pxr_0_1_takes_forecasts_after_migration(tmp_path: Path) -> None:
    """Its breaches are actual ones; a forecast and its confirmation are kept."""
    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "ledger-v1.db", path)
    ledger = SQLiteLedger(path)
    try:
        assert all(not b.forecast and b.confirmed_at is None for b in ledger.breaches())
        recovery = Recovery(policy_from(FORECASTS), ledger, customers=(ANNA,))
        recovery.observe(late(30, at(2), forecast=True))
        recovery.observe(late(26, at(3)))
        (breach,) = [b for b in ledger.breaches() if b.subject == "PL-1"]
        assert breach.lead_time == dt.timedelta(days=1)
    finally:
        ledger.close()
