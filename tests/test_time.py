"""Time as it really is: daylight-saving changes in both directions, and
producers whose clocks disagree a little (or a lot)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pxr import Customer, MemoryLedger, Recovery, Signal
from pxr.model import BreachResolved, Suppressed
from pxr.policy import QuietHours

from .conftest import PARCEL, policy_from

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
ZONES = ["Europe/Warsaw", "America/St_Johns", "Australia/Lord_Howe", "America/Santiago"]


@given(
    moment=st.datetimes(
        min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001 - Hypothesis takes naive bounds
        max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
    zone=st.sampled_from(ZONES),
    start=st.times(),
    end=st.times(),
)
def test_quiet_hours_never_send_before_the_decision_nor_inside_them(
    moment: dt.datetime, zone: str, start: dt.time, end: dt.time
) -> None:
    """Whatever the zone's daylight-saving rules (Lord Howe moves by half an hour)."""
    quiet = QuietHours(start, end)
    where = zoneinfo.ZoneInfo(zone)
    wake = quiet.defer(moment, where)
    assert wake.astimezone(dt.UTC) >= moment
    assert wake - moment <= dt.timedelta(days=2)
    if start != end:
        assert not quiet.contains(wake.astimezone(where).time())


def test_in_the_hour_that_repeats_a_message_waits_for_the_second_end() -> None:
    """Warsaw, 2026-10-25: 02:00-03:00 happens twice. Decided at the second
    02:10, a message held until 02:30 goes at the second 02:30, not an hour ago."""
    quiet = QuietHours(dt.time(21, 0), dt.time(2, 30))
    decided = dt.datetime(2026, 10, 25, 2, 10, tzinfo=WARSAW, fold=1)
    wake = quiet.defer(decided, WARSAW)
    assert wake.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    first_pass = dt.datetime(2026, 10, 25, 2, 10, tzinfo=WARSAW, fold=0)
    assert quiet.defer(first_pass, WARSAW).astimezone(dt.UTC) == dt.datetime(
        2026, 10, 25, 0, 30, tzinfo=dt.UTC
    )


def test_when_the_end_falls_in_the_skipped_hour_it_is_read_before_the_change() -> None:
    """Warsaw, 2026-03-29: 02:00-03:00 does not exist; 02:30 becomes 03:30 summer time."""
    quiet = QuietHours(dt.time(21, 0), dt.time(2, 30))
    wake = quiet.defer(dt.datetime(2026, 3, 28, 23, 0, tzinfo=WARSAW), WARSAW)
    local = wake.astimezone(WARSAW)
    assert (local.date(), local.time(), local.utcoffset()) == (
        dt.date(2026, 3, 29),
        dt.time(3, 30),
        dt.timedelta(hours=2),
    )


ANNA = Customer(id="c-anna", locale="pl-PL", timezone="Europe/Warsaw", phone="+48512345678")


def late(when: dt.datetime) -> Signal:
    return Signal(
        customer="c-anna",
        subject="PL-1",
        metric="delivery_delay",
        value=26,
        at=when,
        context={"order_total": "100.00"},
    )


@pytest.mark.parametrize("early", [dt.timedelta(seconds=1), dt.timedelta(seconds=59)])
def test_a_resolution_stamped_a_little_before_the_breach_resolves_it(
    early: dt.timedelta,
) -> None:
    """Producers' clocks drift: the default tolerance is a minute."""
    recovery = Recovery(policy_from(PARCEL), MemoryLedger(), customers=[ANNA])
    opened = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    recovery.observe(late(opened))
    actions = recovery.resolve("PL-1", opened - early)
    assert [type(a) for a in actions][:1] == [BreachResolved]
    assert recovery.observe(late(opened + dt.timedelta(hours=1))) == []


def test_a_resolution_too_far_before_the_breach_is_reported_not_dropped() -> None:
    text = PARCEL.replace('currency = "PLN"', 'currency = "PLN"\nclock_skew = "5m"')
    ledger = MemoryLedger()
    recovery = Recovery(policy_from(text), ledger, customers=[ANNA])
    opened = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    recovery.observe(late(opened))
    (reported,) = recovery.resolve("PL-1", opened - dt.timedelta(minutes=20))
    assert isinstance(reported, Suppressed)
    assert reported.what == "resolution"
    assert reported.reason.startswith("out of order: stamped 0:20:00 before the breach")
    assert "0:05:00" in reported.reason
    (breach,) = ledger.breaches()
    assert breach.resolved_at is None, "nothing was closed on a guess"
    assert [s.kind for s in ledger.suppressions()] == ["out of order"]


def test_a_customer_without_a_time_zone_gets_the_policy_zone() -> None:
    """Not a silent UTC: the policy says, and the message shows which zone it used."""
    text = PARCEL.replace(
        'currency = "PLN"',
        'currency = "PLN"\ntimezone = "Europe/Warsaw"\n'
        'quiet_hours = { start = "21:00", end = "08:00" }',
    )
    nameless = Customer(id="c-anna", locale="pl-PL", phone="+48512345678")
    assert nameless.timezone is None
    recovery = Recovery(policy_from(text), MemoryLedger(), customers=[nameless])
    # 21:30 UTC is 22:30 in Warsaw: quiet hours there, not in UTC.
    actions = recovery.observe(late(dt.datetime(2026, 3, 2, 21, 30, tzinfo=dt.UTC)))
    (message,) = [a for a in actions if a.action == "message"]
    record = message.to_dict()
    assert record["timezone"] == "Europe/Warsaw"
    assert record["send_at"] == "2026-03-03T07:00:00+00:00"  # 08:00 in Warsaw
