from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from pxr import EventError, ValidationError
from pxr.events import Complaint, CustomerEvent, Resolved, SignalEvent, parse_event, read_events


def test_customer_event() -> None:
    event = parse_event(
        {
            "type": "customer",
            "id": "c",
            "locale": "ro-RO",
            "channels": ["email"],
            "opt_out": ["sms"],
        }
    )
    assert isinstance(event, CustomerEvent)
    assert event.customer.locale == "ro_RO"
    assert event.customer.opt_out == frozenset({"sms"})


def test_signal_event_keeps_decimal_context(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"type": "signal", "customer": "c", "subject": "s", "metric": "m", "value": 2.5,'
        ' "at": "2026-03-02T10:00:00+01:00", "context": {"order_total": 249.99}}\n',
        encoding="utf-8",
    )
    ((line, event),) = list(read_events(path))
    assert line == 1
    assert isinstance(event, SignalEvent)
    assert event.signal.context["order_total"] == Decimal("249.99")
    assert event.signal.at.utcoffset() == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "type": "signal",
                "customer": "c",
                "subject": "s",
                "metric": "m",
                "at": "2026-03-02T10:00:00Z",
            },
            "signal.value: required",
        ),
        (
            {"type": "resolved", "subject": "s", "at": "yesterday"},
            "resolved.at: expected an ISO 8601 time",
        ),
        (
            {
                "type": "complaint",
                "customer": "c",
                "subject": "s",
                "at": "2026-03-02T10:00:00Z",
                "mood": "angry",
            },
            "complaint.mood: unknown key",
        ),
        ({"type": "customer", "id": "c", "channels": "sms"}, "customer.channels: expected a list"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_events_say_what_and_where(data: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(data)
    assert message in str(caught.value)


def test_read_events_reports_each_bad_line_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        "{oops\n\n"
        '{"type": "complaint", "customer": "c", "subject": "s", "at": "2026-03-02T10:00:00Z"}\n'
        '{"type": "resolved", "subject": "s", "at": "2026-03-02T11:00:00Z", "threshold": "t"}\n',
        encoding="utf-8",
    )
    items = list(read_events(path))
    assert [line for line, _ in items] == [1, 3, 4]
    assert isinstance(items[0][1], EventError)
    assert str(items[0][1]).startswith(f"{path}:1: not valid JSON")
    assert isinstance(items[1][1], Complaint)
    assert items[2][1] == Resolved("s", dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC), "t")
