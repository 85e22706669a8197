"""Rendering: exact delays, locale money, no template reach-through."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from babel.localedata import locale_identifiers
from babel.numbers import format_currency, format_decimal, list_currencies
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pxr import Compensation, Customer, Money, ValidationError
from pxr.i18n import exact_duration, format_money, format_when, safe_format
from pxr.messages import render

from .conftest import at


@pytest.mark.parametrize(
    ("delay", "locale", "text"),
    [
        (dt.timedelta(minutes=90), "en", "1 hour and 30 minutes"),  # Babel alone says "2 hours"
        (dt.timedelta(minutes=51), "en", "51 minutes"),  # Babel alone says "1 hour"
        (dt.timedelta(hours=3), "pl", "3 godziny"),
        (dt.timedelta(hours=5), "pl", "5 godzin"),
        (dt.timedelta(hours=22), "pl", "22 godziny"),
        (dt.timedelta(hours=22), "ro", "22 de ore"),
        (dt.timedelta(days=5), "bg", "5 дни"),
        (dt.timedelta(hours=26), "nl", "1 dag en 2 uur"),
        (dt.timedelta(days=10), "en", "10 days"),  # never rounded to "1 week"
        (dt.timedelta(seconds=30), "en", "30 seconds"),
    ],
)
def test_delays_are_said_exactly(delay: dt.timedelta, locale: str, text: str) -> None:
    assert exact_duration(delay, locale) == text


@pytest.mark.parametrize(
    ("money", "locale", "text"),
    [
        (Money(Decimal("1234.5"), "PLN"), "pl_PL", "1\u00a0234,50\u00a0zł"),
        (Money(Decimal("1234.5"), "EUR"), "bg_BG", "1\u00a0234,50\u00a0€"),
        (Money(Decimal("1234.5"), "EUR"), "nl_NL", "€\u00a01.234,50"),
        (Money(Decimal("1234.5"), "RON"), "ro_RO", "1.234,50\u00a0RON"),
    ],
)
def test_money_is_formatted_for_the_locale(money: Money, locale: str, text: str) -> None:
    assert format_money(money, locale) == text


def babel_groups_consistently(locale: str) -> bool:
    """Babel 2.19 writes 1'000 but 1000000 in de_CH (a thousand grouped, a million
    not): there pxr keeps grouping, and Babel is no reference to compare with."""
    small, large = format_decimal(1000, locale=locale), format_decimal(10**6, locale=locale)
    return not (not small.isdigit() and large.isdigit())


def test_babel_groups_consistently_in_the_languages_pxr_speaks() -> None:
    assert all(babel_groups_consistently(locale) for locale in ("pl", "bg", "nl", "ro", "en"))


@settings(max_examples=400)
@given(
    locale=st.sampled_from(sorted(locale_identifiers())),
    currency=st.sampled_from(sorted(list_currencies())),
    units=st.integers(min_value=-(10**12), max_value=10**12),
    exponent=st.integers(min_value=-3, max_value=0),
)
def test_money_reads_exactly_as_babel_says_it(
    locale: str, currency: str, units: int, exponent: int
) -> None:
    """pxr lays amounts out itself for speed; the text must be Babel's, in every
    locale Babel knows (Indian grouping, right-to-left marks, Swiss quotes…)."""
    assume(babel_groups_consistently(locale))
    money = Money(Decimal(units).scaleb(exponent), currency)
    assert format_money(money, locale) == format_currency(money.amount, currency, locale=locale)


@settings(max_examples=300)
@given(
    locale=st.sampled_from(sorted(locale_identifiers())),
    timezone=st.sampled_from(["Europe/Warsaw", "Europe/Sofia", "America/St_Johns", "Asia/Kolkata"]),
    moment=st.datetimes(  # Hypothesis takes naive bounds; the values carry UTC
        min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_dates_read_exactly_as_babel_says_them(
    locale: str, timezone: str, moment: dt.datetime
) -> None:
    expected = format_datetime(moment, "short", tzinfo=ZoneInfo(timezone), locale=locale)
    assert format_when(moment, timezone, locale) == expected


@pytest.mark.parametrize("template", ["{customer.__class__}", "{x[0]}", "{x!r}", "{x:>10}"])
def test_templates_cannot_reach_into_values(template: str) -> None:
    with pytest.raises(ValidationError, match="only plain"):
        safe_format(template, {"x": "1", "customer": "c"})


def test_unknown_template_field_is_an_error() -> None:
    with pytest.raises(ValidationError, match="unknown field"):
        safe_format("{missing}", {})


def test_notice_apologises_first_and_never_asks_for_a_survey() -> None:
    customer = Customer(id="c", locale="en-GB", timezone="Europe/London")
    voucher = Compensation(
        kind="voucher",
        amount=Money(Decimal(20), "EUR"),
        code="ABCDE-FGHJK",
        expires_at=at(30),
    )
    rendered = render(
        "notice", customer, "order 1001", delay=dt.timedelta(hours=26), compensations=[voucher]
    )
    assert rendered.text.startswith("We are sorry")
    assert "1 day and 2 hours" in rendered.text
    assert "ABCDE-FGHJK" in rendered.text
    assert "€20.00" in rendered.text
    assert "survey" not in rendered.text.lower()
