"""Rendering messages in the customer's language.

Every customer-facing sentence goes through :func:`render`, which takes the
locale; the catalogs behind it are gettext catalogs (domain ``pxr``) loaded
with Babel. Amounts, delays and dates are formatted by Babel for the locale;
delays are said *exactly* ("26 hours", never a rounded "1 day").
"""

from __future__ import annotations

import datetime as dt
import gettext
import string
import zoneinfo
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.lists import format_list
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from pxr.errors import ValidationError
from pxr.money import Money

__all__ = [
    "LOCALE_DIR",
    "exact_duration",
    "format_money",
    "format_when",
    "safe_format",
    "translations",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pxr"


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """pxr's catalog for ``locale``; English text when there is none."""
    found = Translations.load(str(LOCALE_DIR), [locale], DOMAIN)
    return found if isinstance(found, Translations) else NullTranslations()


def safe_format(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``{name}`` fields only: no attribute or item access, no format specs.

    A template that asks for anything else (``{customer.__class__}``,
    ``{x[0]}``, ``{x!r}``) or for a name not given raises
    :class:`~pxr.errors.ValidationError`.
    """
    out: list[str] = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValidationError(
                "template", f"only plain {{name}} fields are allowed, got {{{field}}}"
            )
        if field not in values:
            raise ValidationError("template", f"unknown field {{{field}}}")
        out.append(values[field])
    return "".join(out)


@cache
def babel_locale(locale: str) -> Locale:
    """The parsed Babel locale, once per name (Babel re-parses strings on every call)."""
    return Locale.parse(locale)


def format_money(money: Money, locale: str) -> str:
    """``25,00 zł`` for pl, ``€ 25,00`` for nl; always in the money's own currency."""
    return format_currency(money.amount, money.currency, locale=babel_locale(locale))


_PARTS: tuple[tuple[Literal["day", "hour", "minute"], int], ...] = (
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def exact_duration(delay: dt.timedelta, locale: str) -> str:
    """The delay to the minute, with the locale's plural forms: ``1 day and 2 hours``.

    Babel's ``format_timedelta`` rounds (90 minutes → "2 hours"); this does not.
    """
    seconds = int(delay.total_seconds())
    return _exact_duration(seconds if seconds < 60 else seconds - seconds % 60, locale)


@lru_cache(maxsize=4096)
def _exact_duration(seconds: int, locale: str) -> str:
    # Delays repeat (many parcels are "1 day and 2 hours" late): cache the text.
    if seconds < 60:
        return _unit(seconds, "second", 1, locale)
    parts = []
    for unit, size in _PARTS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(_unit(count, unit, size, locale))
    return format_list(parts, locale=babel_locale(locale))


def _unit(
    count: int, unit: Literal["day", "hour", "minute", "second"], size: int, locale: str
) -> str:
    return format_timedelta(
        dt.timedelta(seconds=count * size),
        granularity=unit,
        threshold=1e9,
        locale=babel_locale(locale),
    )


def format_when(moment: dt.datetime, timezone: str, locale: str) -> str:
    """A date and time in the customer's own zone and the locale's short form."""
    return format_datetime(
        moment, "short", tzinfo=zoneinfo.ZoneInfo(timezone), locale=babel_locale(locale)
    )


def language(locale: str) -> str:
    """The language part: ``pl_PL`` → ``pl``."""
    return babel_locale(locale).language
