"""Rendering: exact delays, locale money, no template reach-through."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_time, get_date_format, get_datetime_format
from babel.localedata import locale_identifiers
from babel.numbers import format_currency, format_decimal, get_currency_symbol, list_currencies
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pxr import Compensation, Customer, Money, ValidationError
from pxr.i18n import (
    exact_duration,
    format_last_day,
    format_money,
    format_when,
    four_digit_years,
    safe_format,
)
from pxr.messages import render
from pxr.money import local_symbol

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
        (Money(Decimal("1234.5"), "RON"), "ro_RO", "1.234,50\u00a0lei"),
        (Money(Decimal("24.9"), "MDL"), "ro_MD", "24,90\u00a0lei"),
        (Money(Decimal("24.9"), "MDL"), "ro_RO", "24,90\u00a0MDL"),
        (Money(Decimal("24.9"), "MDL"), "ru_MD", "24,90\u00a0MDL"),
        (Money(Decimal("24.9"), "RON"), "ro_MD", "24,90\u00a0RON"),
        (Money(Decimal("-24.9"), "RON"), "ro_RO", "-24,90\u00a0lei"),
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
    locale Babel knows (Indian grouping, right-to-left marks, Swiss quotes…),
    except for the symbols locals write differently (tested above)."""
    assume(babel_groups_consistently(locale))
    where = Locale.parse(locale)
    symbol = get_currency_symbol(currency, where)
    assume(local_symbol(currency, where.language, where.territory, symbol) == symbol)
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
    """Babel's short form, with the full year where Babel's short form has two digits."""
    where = Locale.parse(locale)
    assume(where.language not in {"nl", "bg"})  # running-text forms, tested by example
    date_pattern = four_digit_years(get_date_format("short", locale=where).pattern)
    date = format_date(moment.astimezone(ZoneInfo(timezone)), date_pattern, locale=where)
    time = format_time(moment, "short", tzinfo=ZoneInfo(timezone), locale=where)
    joined = str(get_datetime_format("short", locale=where)).replace("'", "")
    expected = joined.replace("{0}", time).replace("{1}", date)
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
    assert rendered.text.startswith("We're sorry")
    assert "1 day and 2 hours" in rendered.text
    assert "ABCDE-FGHJK" in rendered.text
    assert "€20.00" in rendered.text
    assert "survey" not in rendered.text.lower()


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("pl_PL", "1.06.2026, 11:15"),
        ("bg_BG", "1.06.2026\u202fг., 12:15 ч."),  # Babel's short form says 1.06.26 г.
        ("nl_NL", "1 juni 2026 om 11:15"),
        ("nl_BE", "1 juni 2026 om 11:15"),
        ("ro_RO", "01.06.2026, 12:15"),
        ("en_GB", "01/06/2026, 10:15"),
        ("de_AT", "01.06.2026, 11:15"),  # Babel's short form says 01.06.26
    ],
)
def test_dates_read_as_running_text_with_four_digit_years(locale: str, text: str) -> None:
    zone = {"bg": "Europe/Sofia", "ro": "Europe/Bucharest", "en": "Europe/London"}
    timezone = zone.get(locale[:2], "Europe/Warsaw")
    moment = dt.datetime(2026, 6, 1, 9, 15, tzinfo=UTC)
    assert format_when(moment, timezone, locale) == text


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (dt.datetime(2026, 6, 1, 9, 15, tzinfo=UTC), "31.05.2026"),  # 11:15 in Warsaw
        (dt.datetime(2026, 5, 31, 22, 0, tzinfo=UTC), "31.05.2026"),  # midnight in Warsaw
        (dt.datetime(2026, 5, 31, 21, 59, 59, tzinfo=UTC), "31.05.2026"),  # 23:59:59
        (dt.datetime(2026, 5, 31, 21, 58, tzinfo=UTC), "30.05.2026"),  # 23:58
    ],
)
def test_a_voucher_names_the_last_whole_day_in_the_customer_zone(
    moment: dt.datetime, day: str
) -> None:
    """A voucher that ends at 11:15 is not valid "until 1 June": the last whole day is 31 May."""
    assert format_last_day(moment, "Europe/Warsaw", "pl_PL") == day


def test_a_value_ending_in_a_full_stop_ends_the_sentence_once() -> None:
    assert safe_format("Refunded {amount}. Thanks.", {"amount": "10,00 лв."}) == (
        "Refunded 10,00 лв. Thanks."
    )
    assert safe_format("{a}... {b}.", {"a": "x", "b": "y."}) == "x... y."
