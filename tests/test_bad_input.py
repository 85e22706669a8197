"""Regression tests: each input that once crashed pxr now gets a typed error (issue 16).

Every case here was a traceback (RecursionError, OverflowError, TypeError,
ValueError, decimal.InvalidOperation) before the boundary checks; now it is
a :mod:`pxr.errors` exception naming the file, line and key.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pxr import Customer, Recovery, Signal
from pxr.errors import EventError, PolicyError, PxrError, ValidationError
from pxr.events import parse_event, read_events
from pxr.i18n import babel_locale, format_when
from pxr.money import Money, parse_amount
from pxr.policy import loads_policy

from .conftest import at
from .fuzz_strategies import PARCEL_POLICY

SIGNAL = {
    "type": "signal",
    "customer": "c-anna",
    "subject": "PL-1",
    "metric": "delivery_delay",
    "value": 26,
    "at": "2026-03-03T10:15:00+01:00",
}


def read_one(tmp_path: Path, line: str) -> EventError:
    path = tmp_path / "events.jsonl"
    path.write_text(line + "\n" + json.dumps(SIGNAL) + "\n", encoding="utf-8")
    results = list(read_events(path))
    assert len(results) == 2, "one bad line costs one line"
    (number, first), (_, second) = results
    assert not isinstance(second, EventError)
    assert isinstance(first, EventError)
    assert (number, first.line, first.path) == (1, 1, str(path))
    return first


def with_(**changes: Any) -> str:
    return json.dumps({**SIGNAL, **changes})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"type": "signal", "context": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
        (with_(context={"a": json.loads("[" * 40 + "]" * 40)}), "nested more than 32"),
        ('{"type": "signal", "value": 1' + "0" * 5000 + "}", "a number too long"),
        (with_(value=None).replace("null", "NaN"), "not valid JSON"),
        (with_(value=None).replace("null", "1e999999"), "signal.value: expected a number"),
        (with_(value="1e400"), "signal.value: expected a finite number"),
        (with_(value=10**30), "signal.value: expected a number below"),
        (with_(value="99999999999d"), "signal.value: longer than"),
        (with_(at="9999-12-31T23:59:59+00:00"), "signal.at: expected a time from 1970"),
        (with_(at="0001-01-01T00:00:00+14:00"), "signal.at: expected a time from 1970"),
        (with_(type=["signal"]), "type: expected one of"),
        (with_(type={"a": 1}), "type: expected one of"),
        (with_(customer=["c-anna"]), "signal.customer: must be a non-empty string"),
        (with_(context={"x": "y" * 20_000}), "signal.context.x: longer than"),
        (with_(context={"x": "\ud800"}), "not valid Unicode"),
        (with_(context={"\r": 1e15}), "signal.context.'\\r': expected a number below"),
        (with_(**{"a\nb": 1}), "signal.'a\\nb': unknown key"),
        (
            json.dumps({"type": "customer", "id": "c", "name": ["Anna", 1]}),
            "customer.name: must be a non-empty string",
        ),
        (
            json.dumps({"type": "customer", "id": "c", "channels": "sms"}),
            "customer.channels",
        ),
        (
            json.dumps({"type": "resolved", "subject": "PL-1", "at": SIGNAL["at"], "threshold": 1}),
            "resolved.threshold",
        ),
    ],
)
def test_a_hostile_events_line_is_one_error_naming_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    assert problem in read_one(tmp_path, line).problem


def test_a_delay_beyond_timedelta_in_the_thresholds_unit_is_a_validation_error() -> None:
    """48,512,345,678 hours (a phone number in the value column) is no duration."""
    recovery = Recovery(loads_policy(PARCEL_POLICY), customers=[Customer(id="c-anna")])
    signal = Signal(
        customer="c-anna",
        subject="PL-1",
        metric="delivery_delay",
        value="+48512345678",
        at=at(),
        context={"order_total": "100.00"},
    )
    with pytest.raises(ValidationError, match=r"^signal\.value: longer than"):
        recovery.observe(signal)


def test_a_line_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"type": "\xff"}\n' + json.dumps(SIGNAL).encode() + b"\n")
    (_, first), (_, second) = list(read_events(path))
    assert isinstance(first, EventError)
    assert first.problem == "not UTF-8 text"
    assert not isinstance(second, EventError)


@pytest.mark.parametrize(
    ("replace", "by", "where"),
    [
        ('locale = "en"', "locale = " + "[" * 5000 + "]" * 5000, ""),
        ('locale = "en"', "locale = " + "{ a = " * 3000 + "1" + " }" * 3000, ""),
        ("survey_quiet_days = 14", "survey_quiet_days = " + "9" * 5000, ""),
        ("survey_quiet_days = 14", "survey_quiet_days = 9223372036854775807", "survey_quiet_days"),
        ("minor = 1, major = 24", "minor = 1, major = inf", "above.major"),
        ("minor = 1, major = 24", "minor = 1, major = nan", "above.major"),
        ("minor = 1, major = 24", '"a\\nb" = 1, major = 24', "above.'a\\nb'"),
        ('max = "50.00"', 'max = "1e999999"', "compensation.major.max"),
        ('max = "50.00"', 'max = "' + "9" * 5000 + '"', "compensation.major.max"),
        ("valid_days = 90", "valid_days = 9223372036854775807", "valid_days"),
        ('topic = "delivery"', 'topic = ["delivery"]', "topic"),
        ('stage = "delivery"', 'stage = ["delivery"]', "stage"),
        ('stage = "delivery"', "stage = { a = 1 }", "stage"),
        ('name = "checkout"', "name = 1", "stages[0].name"),
        ("messages_per_day = 3", "messages_per_day = 2147483648", "messages_per_day"),
        ('within = "24h"', 'within = "99999999999d"', "within"),
    ],
)
def test_a_hostile_policy_value_is_a_policy_error(replace: str, by: str, where: str) -> None:
    assert replace in PARCEL_POLICY
    with pytest.raises(PolicyError) as caught:
        loads_policy(PARCEL_POLICY.replace(replace, by, 1), name="p.toml")
    assert caught.value.path == "p.toml"
    assert where in caught.value.where


@pytest.mark.parametrize(
    "changes",
    [
        {"value": float("inf")},
        {"value": float("nan")},
        {"value": 10**5000},
        {"value": Decimal("1e999999")},
        {"value": dt.timedelta.max},
        {"value": "1" * 5000},
        {"value": ["26"]},
        {"at": dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC)},
        {"at": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))},
        {"at": dt.datetime(2026, 3, 2, 10)},  # noqa: DTZ001 - naive on purpose
        {"customer": ["c-anna"]},
        {"subject": {"a": 1}},
        {"metric": 7},
        {"context": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
        {"context": ["order_total"]},
    ],
)
def test_signal_rejects_hostile_arguments_with_a_validation_error(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "customer": "c-anna",
        "subject": "PL-1",
        "metric": "delivery_delay",
        "value": 26,
        "at": at(),
    }
    with pytest.raises(ValidationError, match=r"^signal\."):
        Signal(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"id": ["c"]},
        {"name": ["Anna"]},
        {"locale": ["pl"]},
        {"locale": "x" * 10_000},
        {"timezone": ["Europe/Warsaw"]},
        {"timezone": "../../etc/passwd"},
        {"timezone": "Europe"},
        {"timezone": "\x00"},
        {"phone": 48512345678},
        {"channels": "sms"},
        {"channels": [["sms"]]},
        {"opt_out": [1]},
        {"contacts": {"webhook": ["U1"]}},
    ],
)
def test_customer_rejects_hostile_arguments_with_a_validation_error(
    changes: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError, match=r"^customer\."):
        Customer(**{"id": "c-anna", **changes})


@pytest.mark.parametrize("value", ["1e999999", "sNaN", "9" * 5000, 10**20, Decimal("1e-40")])
def test_money_parsing_refuses_amounts_rounding_cannot_hold(value: object) -> None:
    with pytest.raises(ValidationError, match=r"^max:"):
        parse_amount(value, "max")


def test_money_refuses_an_amount_beyond_decimal_precision() -> None:
    with pytest.raises(ValidationError, match="amount"):
        Money(Decimal("1e30"), "EUR")


def test_parse_event_checks_depth_before_anything_else() -> None:
    nested: object = 1
    for _ in range(100):
        nested = [nested]
    with pytest.raises(ValidationError, match="nested more than 32 levels deep"):
        parse_event({**SIGNAL, "context": {"a": nested}})


@pytest.mark.parametrize(
    ("field", "value", "hidden"),
    [
        ("timezone", "+48512345678", "512345"),
        ("timezone", "anna.k@example.pl", "anna.k"),
        ("locale", "anna.k@example.pl", "anna.k"),
        ("locale", "+48 512 345 678", "512 345"),
        ("timezone", "Anna Kowalska", "Kowalska"),
    ],
)
def test_errors_name_the_field_and_mask_a_personal_value(
    field: str, value: str, hidden: str
) -> None:
    """Issue 17: an e-mail or phone number typed into the wrong column is not echoed."""
    fields: dict[str, Any] = {"id": "c-anna", field: value}
    with pytest.raises(ValidationError) as caught:
        Customer(**fields)
    message = str(caught.value)
    assert message.startswith(f"customer.{field}:")
    assert hidden not in message


def test_a_personal_value_is_masked_in_events_errors_too(tmp_path: Path) -> None:
    line = json.dumps({"type": "customer", "id": "c", "timezone": "+48512345678"})
    error = read_one(tmp_path, line)
    assert "customer.timezone" in str(error)
    assert "512345" not in str(error)


def test_customer_repr_masks_contacts() -> None:
    customer = Customer(
        id="c-anna", name="Anna Kowalska", phone="+48512345678", email="anna.k@example.pl"
    )
    text = repr(customer)
    assert "Kowalska" not in text
    assert "512345" not in text
    assert "anna.k" not in text


def test_pxr_errors_are_the_only_kind_raised_by_the_time_checks() -> None:
    """check_aware is what the engine's public calls use for their times."""
    from pxr.model import check_aware  # noqa: PLC0415

    for value in (dt.datetime(9999, 12, 31, tzinfo=dt.UTC), "2026-01-01", None):
        with pytest.raises(PxrError):
            check_aware(value, "at")


@pytest.mark.parametrize("locale", [["pl"], "", "anna.k@example.pl", "x" * 1000, "pl_PL_x_y_z"])
def test_a_locale_lookup_refuses_what_babel_cannot_parse(locale: object) -> None:
    with pytest.raises(ValidationError, match=r"^locale:") as caught:
        babel_locale(locale)  # type: ignore[arg-type]
    assert "anna.k" not in str(caught.value)


@pytest.mark.parametrize("zone", [["UTC"], "", "+48512345678", "../../etc/passwd", "Europe"])
def test_a_zone_lookup_refuses_unknown_names_masked(zone: object) -> None:
    with pytest.raises(ValidationError, match=r"^timezone:") as caught:
        format_when(at(), zone, "en")  # type: ignore[arg-type]
    assert "512345" not in str(caught.value)
