"""Catalogs and formatting: the customer's language, Babel's conventions.

**Catalogs** are gettext catalogs (``<dir>/<lang>/LC_MESSAGES/<domain>.mo``)
loaded with :class:`babel.support.Translations`. pxr's own domain is
``pxr``; a host registers its own domain through the ``register_catalogs``
hook to add messages or override pxr's wording, locale by locale.

**Fallback** goes locale first, then domain: for ``pl_PL`` the chain is
``pl_PL`` → ``pl`` → the policy's locale → ``en``, and at each step a host
domain wins over pxr's. A message missing everywhere is said in English
(its msgid). Two traps are handled here, not left to callers:
``Translations.merge`` overrides instead of falling back, so domains are
kept apart; and ``pybabel compile`` fills an *untranslated plural* entry
with the English text, so a plural whose forms are just the English
singular and plural counts as missing.

**Formatting** goes through Babel in the locale whose catalog speaks
(:attr:`Translator.locale`): the customer's own where pxr or a host has a
catalog for their language, else the fallback's, so that words, numbers and
dates are never in two languages. Amounts use ``format_currency`` with the
symbols locals write (``84,00 lei``); dates are in the customer's time zone
with four-digit years; delays are said exactly — ``format_timedelta`` alone
rounds 90 minutes to "2 hours".
"""

from __future__ import annotations

import datetime as dt
import gettext
import logging
import re
import string
import zoneinfo
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import attrs
from babel import Locale, UnknownLocaleError
from babel.dates import (
    DateTimePattern,
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from babel.lists import format_list
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from babel.support import Translations

from pxr._bounds import shown
from pxr.errors import ValidationError
from pxr.money import Money, local_symbol

__all__ = [
    "LOCALE_DIR",
    "Translator",
    "babel_locale",
    "coverage",
    "exact_duration",
    "fallback_chain",
    "format_last_day",
    "format_money",
    "format_when",
    "four_digit_years",
    "safe_format",
    "translator",
]

log = logging.getLogger("pxr.i18n")

LOCALE_DIR = Path(__file__).parent / "locale"
#: The locales pxr ships catalogs for.
SHIPPED = ("en", "pl", "bg", "nl", "nl_BE", "ro")


def babel_locale(locale: str) -> Locale:
    """The parsed Babel locale, once per name (Babel re-parses strings on every call).

    Raises :class:`~pxr.errors.ValidationError` for anything but a locale Babel
    knows; the value is masked in the message (it may be an e-mail address).
    """
    if not isinstance(locale, str) or not locale or len(locale) > 100:
        raise ValidationError("locale", f"expected a locale such as 'pl_PL', got {shown(locale)}")
    return _babel_locale(locale)


@cache
def _babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValidationError("locale", f"unknown locale {shown(locale)}") from None


def language(locale: str) -> str:
    """The language part: ``pl_PL`` → ``pl``."""
    return babel_locale(locale).language


def fallback_chain(locale: str, fallback: str = "en") -> tuple[str, ...]:
    """``pl_PL`` → ``("pl_PL", "pl", <fallback>, <its language>, "en")``, without repeats."""
    chain: list[str] = []
    for name in (locale, language(locale), fallback, language(fallback), "en"):
        if name not in chain:
            chain.append(name)
    return tuple(chain)


@lru_cache(maxsize=256)
def _load(directory: Path, domain: str, locale: str) -> Mapping[Any, str]:
    """The entries of one ``.mo`` file (exactly this locale), or ``{}``."""
    found = Translations.load(str(directory), [locale], domain)
    if not isinstance(found, Translations) or _loaded_locale(found) != locale:
        return {}
    # gettext keeps the entries in _catalog: msgid, "ctx\x04msgid" or (msgid, n).
    return found._catalog


def _loaded_locale(found: Translations) -> str:
    # gettext.find expands "pl_PL" to "pl_PL", "pl": keep only an exact match,
    # since the chain asks for "pl" itself next.
    files = getattr(found, "files", None) or []
    path = Path(files[0]) if files else None
    return path.parent.parent.name if path else ""


_warned: set[str] = set()


class Translator:
    """Looks a message up along a fallback chain of locales and domains."""

    def __init__(self, chain: Sequence[str], sources: Sequence[tuple[str, Path]]) -> None:
        self.chain = tuple(chain)
        # Locale first, then domain; later-registered domains override earlier ones.
        self._catalogs: list[tuple[str, Mapping[Any, str]]] = [
            (locale, _load(directory, domain, locale))
            for locale in self.chain
            for domain, directory in reversed(sources)
        ]
        own = {self.chain[0], language(self.chain[0])}
        has_own = any(catalog for locale, catalog in self._catalogs if locale in own)
        speaking = next((locale for locale, catalog in self._catalogs if catalog), self.chain[-1])
        #: The locale to format numbers, amounts and dates in: the customer's own
        #: where a catalog speaks their language, else the fallback that speaks.
        self.locale = self.chain[0] if has_own else speaking
        if not has_own and self.chain[0] not in _warned:
            _warned.add(self.chain[0])
            log.warning(
                "no catalog for locale %r; messages fall back along %s",
                self.chain[0],
                " → ".join(self.chain),
            )

    def gettext(self, message: str) -> str:
        """The translation of ``message``, or ``message`` itself."""
        for _, catalog in self._catalogs:
            found = catalog.get(message)
            if found:
                return found
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form for ``n`` (an ``int``: CLDR forms differ for 1 and 1.0)."""
        for locale, catalog in self._catalogs:
            forms = [catalog.get((singular, i)) for i in range(6)]
            present = {f for f in forms if f is not None}
            if not present or present <= {singular, plural}:
                continue  # missing, or filled with the English text by pybabel compile
            chosen = forms[_plural_index(locale, n)]
            if chosen:
                return chosen
        return singular if n == 1 else plural


@lru_cache(maxsize=64)
def _plural_index(locale: str, n: int) -> int:
    """The gettext plural index for ``n`` in ``locale`` (pl: 0 one, 1 few, 2 many)."""
    from babel.messages.plurals import get_plural  # noqa: PLC0415

    expression = get_plural(locale).plural_expr
    return int(gettext.c2py(expression)(n))


@lru_cache(maxsize=512)
def translator(
    locale: str, fallback: str = "en", sources: tuple[tuple[str, Path], ...] = ()
) -> Translator:
    """The translator for a customer's locale (pxr's catalogs, then ``sources``)."""
    return Translator(fallback_chain(locale, fallback), (("pxr", LOCALE_DIR), *sources))


def coverage(
    sources: Sequence[tuple[str, Path]],
) -> list[tuple[str, str, int, int]]:
    """``(domain, locale, translated, total)`` for every catalog file found.

    ``total`` is the number of messages in the domain's template (``<domain>.pot``
    beside the locale folders) or, without one, the most any locale has.
    """
    from babel.messages.pofile import read_po  # noqa: PLC0415

    rows = []
    for domain, directory in sources:
        counts: dict[str, int] = {}
        for mo in sorted(Path(directory).glob(f"*/LC_MESSAGES/{domain}.mo")):
            catalog = _load(Path(directory), domain, mo.parent.parent.name)
            counts[mo.parent.parent.name] = len(
                {k[0] if isinstance(k, tuple) else k for k in catalog if k}
            )
        template = Path(directory) / f"{domain}.pot"
        if template.exists():
            with template.open("rb") as stream:
                total = sum(1 for message in read_po(stream) if message.id)
        else:
            total = max(counts.values(), default=0)
        rows += [(domain, locale, count, total) for locale, count in counts.items()]
    return rows


def safe_format(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``{name}`` fields only: no attribute or item access, no format specs.

    A value that ends in a full stop (``10,00 лв.``, ``1.06.2026 г.``) swallows
    the full stop that follows it, so a sentence never ends in ``..``.

    A template that asks for anything else (``{customer.__class__}``,
    ``{x[0]}``, ``{x!r}``) or for a name not given raises
    :class:`~pxr.errors.ValidationError`.
    """
    out: list[str] = []
    for literal, field in _parsed(template):
        after_stop = out and out[-1].endswith(".") and out[-1][-2:] != ".."
        out.append(literal[1:] if after_stop and literal.startswith(".") else literal)
        if field is None:
            continue
        if field not in values:
            raise ValidationError("template", f"unknown field {{{field}}}")
        out.append(values[field])
    return "".join(out)


@lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    """A template's literal text and plain field names, checked once per template."""
    parts = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        if field is not None and (not field.isidentifier() or spec or conversion):
            raise ValidationError(
                "template", f"only plain {{name}} fields are allowed, got {{{field}}}"
            )
        parts.append((literal, field))
    return tuple(parts)


def format_money(money: Money, locale: str) -> str:
    """``25,00 zł`` for pl, ``€ 25,00`` for nl, ``84,00 lei`` for ro; always in
    the money's own currency.

    What Babel's ``format_currency`` says, with the symbol locals write where
    CLDR's differs (:func:`pxr.money.local_symbol`), laid out from a pattern
    read once per locale and currency: Babel re-reads its locale data on every
    call, and an amount is formatted for every compensation a message names.
    """
    amount = money.amount
    layout = _money_layout(locale, money.currency)
    if layout is None or amount.is_signed():
        where = babel_locale(locale)
        text = format_currency(amount, money.currency, locale=where)
        symbol = get_currency_symbol(money.currency, where)
        local = local_symbol(money.currency, where.language, where.territory, symbol)
        return text if local == symbol else text.replace(symbol, local, 1)
    return layout.format(amount)


@attrs.frozen
class _MoneyLayout:
    """A currency pattern with the symbols filled in: prefix, number, suffix."""

    prefix: str
    suffix: str
    group: str
    decimal: str
    grouping: tuple[int, int]
    min_integer: int
    quantum: Decimal

    def format(self, amount: Decimal) -> str:
        integer, _, fraction = f"{amount.quantize(self.quantum):f}".partition(".")
        integer = integer.rjust(self.min_integer, "0")
        size, rest = self.grouping
        groups: list[str] = []
        while len(integer) > size:
            groups.append(integer[-size:])
            integer = integer[:-size]
            size = rest
        groups.append(integer)
        number = self.group.join(reversed(groups))
        if fraction:
            number += self.decimal + fraction
        return self.prefix + number + self.suffix


@lru_cache(maxsize=1024)
def _money_layout(locale: str, currency: str) -> _MoneyLayout | None:
    """The layout of Babel's standard currency pattern, or ``None`` where the
    pattern needs Babel's own code (names, quotes, scientific or significant digits)."""
    where = babel_locale(locale)
    pattern = where.currency_formats["standard"]
    prefix, suffix = pattern.prefix[0], pattern.suffix[0]
    affixes = prefix + suffix
    if (
        "¤¤" in affixes
        or "'" in affixes
        or pattern.scale != 0
        or pattern.exp_prec
        or "@" in pattern.pattern
        or not pattern.number_pattern
    ):
        return None
    symbol = get_currency_symbol(currency, where)
    local = local_symbol(currency, where.language, where.territory, symbol)
    if "'" in symbol or "'" in local:
        return None
    digits = get_currency_precision(currency)
    layout = _MoneyLayout(
        prefix=prefix.replace("¤", local),
        suffix=suffix.replace("¤", local),
        group=get_group_symbol(where),
        decimal=get_decimal_symbol(where),
        grouping=pattern.grouping,
        min_integer=pattern.int_prec[0],
        quantum=Decimal(1).scaleb(-digits),
    )
    # Checked once against Babel: some locales group amounts differently from
    # their number pattern (en_CH writes CHF 1000000.00), so Babel keeps those.
    sample = Decimal("1234567.891")
    expected = format_currency(sample, currency, locale=where).replace(symbol, local, 1)
    return layout if layout.format(sample) == expected else None


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


#: How a date and a time are joined in running text where Babel's short form
#: reads like a log line: Dutch says "4-03-2026 om 10:15".
_RUNNING_JOIN = {"nl": "{1} om {0}"}
#: Which of Babel's date forms running text uses, where it is not the short
#: one: Dutch writes "4 maart 2026" in a sentence, not "04-03-2026".
_RUNNING_DATE: dict[str, Literal["long"]] = {"nl": "long"}
#: What follows a time in running text: Bulgarian writes "12:15 ч.".
_TIME_SUFFIX = {"bg": " ч."}


def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    """The zone of this IANA name, or a ValidationError with the name masked."""
    if not isinstance(timezone, str) or not timezone or len(timezone) > 100:
        raise ValidationError("timezone", f"expected an IANA zone name, got {shown(timezone)}")
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError("timezone", f"unknown time zone {shown(timezone)}") from None


def format_when(moment: dt.datetime, timezone: str, locale: str) -> str:
    """A date and time in the customer's own zone, as running text writes it.

    Babel's short form with a four-digit year (Bulgarian's short form has
    ``1.06.26 г.``); Dutch writes "4 maart 2026 om 10:15", Bulgarian "ч."
    after the time.
    The locale's patterns are looked up once rather than on every call.
    """
    local = moment.astimezone(_zone(timezone))
    joined, time_pattern, date_pattern = _when_patterns(locale)
    where = babel_locale(locale)
    time_text = time_pattern.apply(local.timetz(), where, reference_date=local.date())
    return joined.replace("{0}", time_text + _TIME_SUFFIX.get(where.language, "")).replace(
        "{1}", date_pattern.apply(local.date(), where)
    )


def format_last_day(moment: dt.datetime, timezone: str, locale: str) -> str:
    """The last whole day before ``moment`` in the customer's zone, as a date.

    A voucher is valid to the end of a day: one that ends at 11:15 on 1 June
    is honestly "valid until 31 May". A moment at the very end of a day
    (23:59 or later) names that day.
    """
    local = moment.astimezone(_zone(timezone))
    day = local.date() if local.time() >= dt.time(23, 59) else local.date() - dt.timedelta(days=1)
    _, _, date_pattern = _when_patterns(locale)
    return date_pattern.apply(day, babel_locale(locale))


def four_digit_years(pattern: str) -> str:
    """A date pattern with a two-digit year (``yy``) widened to the full year."""
    return re.sub(r"(?<![y'])yy(?!y)", "y", pattern)


@lru_cache(maxsize=256)
def _when_patterns(locale: str) -> tuple[str, DateTimePattern, DateTimePattern]:
    where = babel_locale(locale)
    joined = _RUNNING_JOIN.get(where.language) or str(
        get_datetime_format("short", locale=where)
    ).replace("'", "")
    return (
        joined,
        parse_pattern(get_time_format("short", locale=where)),
        parse_pattern(
            four_digit_years(
                get_date_format(_RUNNING_DATE.get(where.language, "short"), locale=where).pattern
            )
        ),
    )
