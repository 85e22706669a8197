"""The copy as customers read it: every message kind, form and locale, rendered.

Each test renders the whole matrix (purpose x topic x delay x compensation x
form) for every shipped locale and checks one rule a native copywriter would
hold the text to: the apology first and without a calqued colon, one full
stop, the currency and the year as locals write them, one reassurance, and
SMS that cost what they should.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

import attrs
import pytest

from pxr import Compensation, Customer, Money
from pxr.channels.gsm import normalize_spaces, sms_encoding, sms_segments, to_gsm7
from pxr.messages import FORMS, TOPICS, render

AT = dt.datetime(2026, 3, 3, 9, 15, tzinfo=dt.UTC)


@attrs.frozen
class Locale:
    """A customer's locale with what its copy must look like."""

    name: str
    timezone: str
    currency: str
    #: The words an apology opens with; never followed by a colon.
    apology: str
    #: How locals write the currency, and what they never write.
    symbol: str
    not_symbol: str | None
    #: The stem of "you need do nothing": said once per message.
    reassurance: str
    #: A gift as a policy would name it, in this language.
    item: str


LOCALES = [
    Locale(
        "en_GB",
        "Europe/London",
        "GBP",
        r"(?:we're )?sorry",
        "£",
        None,
        r"need to",
        "free delivery",
    ),
    Locale(
        "pl_PL",
        "Europe/Warsaw",
        "PLN",
        r"przepraszamy",
        "zł",
        "PLN",
        r"nie musisz",
        "darmowa dostawa",
    ),
    Locale(
        "bg_BG",
        "Europe/Sofia",
        "EUR",
        r"съжаляваме|извинение",
        "€",
        "EUR",
        r"не е нужно",
        "безплатна доставка",
    ),
    Locale(
        "nl_NL",
        "Europe/Amsterdam",
        "EUR",
        r"sorry|het spijt ons|(?:onze )?excuses",
        "€",
        "EUR",
        r"hoeft",
        "gratis verzending",
    ),
    Locale(
        "nl_BE",
        "Europe/Brussels",
        "EUR",
        r"(?:onze )?excuses|het spijt ons",
        "€",
        "EUR",
        r"hoeft",
        "gratis levering",
    ),
    Locale(
        "ro_RO",
        "Europe/Bucharest",
        "RON",
        r"ne pare rău|ne cerem scuze|regretăm",
        "lei",
        "RON",
        r"nu trebuie|nimic de făcut",
        "livrare gratuită",
    ),
    Locale(
        "ro_MD",
        "Europe/Chisinau",
        "MDL",
        r"ne pare rău|ne cerem scuze|regretăm",
        "lei",
        "\u00a0L",
        r"nu trebuie|nimic de făcut",
        "livrare gratuită",
    ),
]
DELAYS = (None, dt.timedelta(hours=2), dt.timedelta(days=1, hours=2))


def compensations(locale: Locale) -> dict[str, list[Compensation]]:
    """No compensation, then each kind alone, in the customer's currency."""
    money = Money(Decimal("24.90"), locale.currency)
    return {
        "none": [],
        "refund": [Compensation(kind="refund", amount=money)],
        "voucher": [
            Compensation(
                kind="voucher",
                amount=Money(Decimal("250"), locale.currency),
                code="KBRTT-JG2YS",
                expires_at=AT + dt.timedelta(days=90),
            )
        ],
        "gift": [Compensation(kind="gift", item=locale.item)],
        "eu261": [Compensation(kind="eu261", amount=Money(Decimal("250"), "EUR"))],
        "contact": [Compensation(kind="contact", due_at=AT + dt.timedelta(hours=1))],
    }


@attrs.frozen
class Case:
    locale: Locale
    purpose: str
    topic: str
    form: str
    kind: str
    title: str | None
    text: str

    @property
    def body(self) -> str:
        """The text without the e-mail greeting."""
        return self.text.split("\n\n", 1)[1] if self.form == "email" else self.text


def rendered(locale: Locale, forms: tuple[str, ...] = FORMS) -> Iterator[Case]:
    customer = Customer(id="c", locale=locale.name, timezone=locale.timezone, name="Anna")
    for purpose in (
        "notice",
        "escalation",
        "resolution",
        "forecast",
        "all_clear",
        "confirmation",
        "offer",
    ):
        for topic in TOPICS:
            subject = "K7QX2Z" if topic == "flight" else "PL-1001"
            for delay in DELAYS:
                for kind, given in compensations(locale).items():
                    if purpose in {"resolution", "forecast", "all_clear"} and given:
                        continue
                    for form in forms:
                        message = render(
                            purpose,
                            customer,
                            subject,
                            form=form,
                            topic=topic,
                            delay=delay,
                            compensations=given,
                        )
                        yield Case(locale, purpose, topic, form, kind, message.title, message.text)


def by_locale() -> pytest.MarkDecorator:
    return pytest.mark.parametrize("locale", LOCALES, ids=[locale.name for locale in LOCALES])


@by_locale()
def test_no_apology_is_followed_by_a_calqued_colon(locale: Locale) -> None:
    """``Przepraszamy: Twoje…``, ``Ne pare rău: comanda…`` copy the English ``Sorry:``."""
    colon = re.compile(rf"\b({locale.apology})\s*:", re.IGNORECASE)
    for case in rendered(locale):
        for text in (case.title or "", case.text):
            assert not colon.search(text), f"{case}: {text!r}"


@by_locale()
def test_a_notice_opens_with_the_apology(locale: Locale) -> None:
    """Subject and first sentence say sorry first (a survey thanks first, then says sorry)."""
    opener = re.compile(rf"^({locale.apology})", re.IGNORECASE)
    for case in rendered(locale):
        if case.purpose != "notice" or case.topic == "survey":
            continue
        assert opener.match(case.body), f"{case}"
        if case.title is not None:
            assert opener.match(case.title), f"{case}"


@by_locale()
def test_a_subject_says_more_than_a_code(locale: Locale) -> None:
    for case in rendered(locale, ("email",)):
        assert case.title is not None
        words = re.findall(r"[^\W\d]{3,}", case.title.replace("PL-1001", "").replace("K7QX2Z", ""))
        assert len(words) >= 2, f"{case}"


@by_locale()
def test_a_short_escalation_says_what_the_code_is(locale: Locale) -> None:
    """Not ``PL-1001: now 1 day late``: the customer is told it is their order or flight."""
    for case in rendered(locale, ("short",)):
        if case.purpose != "escalation":
            continue
        code = "K7QX2Z" if case.topic == "flight" else "PL-1001"
        before = case.text.split(code, 1)[0]
        assert re.search(r"[^\W\d]{3,}", before), f"{case}"


@by_locale()
def test_no_sentence_ends_in_two_full_stops(locale: Locale) -> None:
    for case in rendered(locale):
        for text in (case.title or "", case.text):
            assert not re.search(r"(?<!\.)\.\.(?!\.)", text), f"{case}"


@by_locale()
def test_the_customer_is_told_once_that_they_need_do_nothing(locale: Locale) -> None:
    reassurance = re.compile(locale.reassurance, re.IGNORECASE)
    for case in rendered(locale):
        assert len(reassurance.findall(case.text)) <= 1, f"{case}"


@by_locale()
def test_amounts_use_the_currency_as_locals_write_it(locale: Locale) -> None:
    for case in rendered(locale):
        if case.kind not in {"refund", "voucher"}:
            continue
        assert locale.symbol in case.text, f"{case}"
        if locale.not_symbol is not None:
            assert locale.not_symbol not in case.text, f"{case}"


@by_locale()
def test_every_year_has_four_digits(locale: Locale) -> None:
    numeric = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-](\d+)")
    for case in rendered(locale):
        if case.kind not in {"voucher", "contact"}:
            continue
        years = numeric.findall(case.text) or re.findall(r"\b(20\d\d)\b", case.text)
        assert years, f"{case}"
        assert all(len(year) == 4 for year in years), f"{case}"


@pytest.mark.parametrize("name", ["nl_NL", "nl_BE"])
def test_dutch_running_text_says_om_before_a_time(name: str) -> None:
    (locale,) = [locale for locale in LOCALES if locale.name == name]
    for case in rendered(locale):
        if case.kind == "contact":
            assert re.search(r"\b2026 om \d\d:\d\d\b", case.text), f"{case}"


def test_belgian_customers_are_addressed_formally() -> None:
    (belgian,) = [locale for locale in LOCALES if locale.name == "nl_BE"]
    for case in rendered(belgian):
        assert not re.search(r"\b(je|jij|jou|jouw)\b", case.text, re.IGNORECASE), f"{case}"
        assert "tegoedbon" not in case.text.lower(), f"{case}"


def test_a_locale_without_a_catalog_reads_wholly_in_the_fallback_language() -> None:
    """A de_AT customer of a Romanian policy: no "2 Stunden" inside Romanian words."""
    lena = Customer(id="c", locale="de_AT", timezone="Europe/Vienna")
    voucher = Compensation(
        kind="voucher",
        amount=Money(Decimal("1234.5"), "EUR"),
        code="ABCDE-FGHJK",
        expires_at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC),
    )
    text = render(
        "notice",
        lena,
        "AT-1",
        topic="delivery",
        delay=dt.timedelta(hours=2),
        compensations=[voucher],
        fallback_locale="ro",
    ).text
    assert "întârzie cu 2 ore" in text
    assert "1.234,50\u00a0EUR" in text  # Romanian layout, not German "1.234,50 €"
    assert "până la 31.05.2026 inclusiv" in text


# ------------------------------------------------------------------ SMS budget


def sms_notices(locale: Locale) -> Iterator[tuple[Case, str]]:
    """Every short message, as the SMS channel sends it (no-break spaces made plain)."""
    for case in rendered(locale, ("short",)):
        yield case, normalize_spaces(case.text)


@by_locale()
def test_every_sms_fits_two_ucs2_segments_without_transliteration(locale: Locale) -> None:
    for case, text in sms_notices(locale):
        assert sms_segments(text) <= 2, f"{case}: {len(text)} characters"


@by_locale()
def test_every_sms_fits_one_gsm7_segment_with_transliteration(locale: Locale) -> None:
    for case, text in sms_notices(locale):
        cheap = to_gsm7(text)
        assert sms_encoding(cheap) == "GSM-7", f"{case}: {cheap!r}"
        assert sms_segments(cheap) == 1, f"{case}: {len(cheap)} septets"


@pytest.mark.parametrize("name", ["en_GB", "nl_NL", "nl_BE"])
def test_english_and_dutch_sms_are_one_gsm7_segment_as_written(name: str) -> None:
    (locale,) = [locale for locale in LOCALES if locale.name == name]
    for case, text in sms_notices(locale):
        assert sms_encoding(text) == "GSM-7", f"{case}"
        assert sms_segments(text) == 1, f"{case}"


@pytest.mark.parametrize("form", FORMS)
def test_leva_at_the_end_of_a_sentence_take_one_full_stop(form: str) -> None:
    """``Възстановихме Ви 10,00 лв.. Не е нужно…``: the abbreviation's point ends the sentence."""
    ivan = Customer(id="c", locale="bg_BG", timezone="Europe/Sofia", name="Иван")
    refund = Compensation(kind="refund", amount=Money(Decimal("10"), "BGN"))
    text = render("notice", ivan, "BG-1", form=form, compensations=[refund]).text
    assert "10,00\u00a0лв." in text
    assert ".." not in text
